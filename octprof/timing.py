"""The timing protocol every measurement of octprof follows: what one timed step is, and how steps are timed.

- :func:`time_round_robin` times several callables in turn (one call of each, ``repeats`` rounds), so that a slow
  spell on a shared machine hits every one alike instead of one of them.  Every callable is warmed up first, the
  thread count is set explicitly for the run and restored after, and CUDA is synchronised before the clock is
  started and read (``torch.utils.benchmark.Timer`` would add two untimed calls to every sample).
- :class:`Timing` keeps the samples and gives their median and interquartile range.
- :func:`make_step` is one step: a forward pass under ``torch.inference_mode``, or forward + backward + an SGD
  step; :func:`make_input` a seeded random input.

:mod:`octprof.bench` (whole networks) and :mod:`octprof.latency` (the calibration's micro-benchmarks) both time
with it.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from octprof.core.errors import bad
from octprof.machine import check_threads

__all__ = ["Timing", "make_input", "make_step", "sync", "time_round_robin", "using_threads"]


@dataclass(frozen=True)
class Timing:
    """Times of one measured callable, in milliseconds."""

    times_ms: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def iqr(self) -> float:
        if len(self.times_ms) < 2:
            return 0.0
        q = statistics.quantiles(self.times_ms, n=4, method="inclusive")
        return q[2] - q[0]


def sync(device: torch.device) -> None:
    """Wait for the device's queued kernels (CUDA); nothing on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def using_threads(n: int) -> Iterator[None]:
    """``torch.set_num_threads(n)`` for the block; the previous count is restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def time_round_robin(
    fns: dict[Any, Callable[[], Any]],
    device: str | torch.device = "cpu",
    threads: int | None = None,
    repeats: int = 7,
    warmup: int = 2,
    number: int = 1,
    on_round: Callable[[int], None] | None = None,
) -> dict[Any, Timing]:
    """Time every callable of ``fns`` in turn, ``repeats`` rounds, each sample the mean of ``number`` calls.

    Each callable is first called ``warmup`` times.  The thread count is set explicitly for the whole run
    (``threads``, default the current setting) and restored after; CUDA is synchronised before the clock is
    started and before it is read (``time.perf_counter``)."""
    dev = torch.device(device)
    nthreads = check_threads(threads)
    if repeats < 1:
        raise bad("repeats", repeats, "expected at least 1")
    samples: dict[Any, list[float]] = {k: [] for k in fns}
    with using_threads(nthreads):
        for fn in fns.values():
            for _ in range(warmup):
                fn()
            sync(dev)
        for r in range(repeats):
            for key, fn in fns.items():
                sync(dev)
                start = time.perf_counter()
                for _ in range(number):
                    fn()
                sync(dev)
                samples[key].append(1000.0 * (time.perf_counter() - start) / number)
            if on_round is not None:
                on_round(r)
    return {k: Timing(tuple(v)) for k, v in samples.items()}


def make_step(model: nn.Module, x: torch.Tensor, mode: str) -> Callable[[], Any]:
    """One timed step of ``model`` on ``x``: a forward pass under ``inference_mode`` (``infer``), or forward +
    backward + an SGD step with momentum 0.9 (``train``; cross-entropy on random labels for a 2-d output)."""
    if mode == "infer":

        def infer() -> Any:
            with torch.inference_mode():
                return model(x)

        return infer
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    target: list[torch.Tensor] = []

    def train() -> None:
        opt.zero_grad(set_to_none=True)
        out = model(x)
        if isinstance(out, torch.Tensor) and out.dim() == 2:
            if not target:
                target.append(torch.randint(0, out.shape[1], (out.shape[0],), device=out.device))
            loss = nn.functional.cross_entropy(out.float(), target[0])
        else:
            loss = sum(t.float().mean() for t in _flat(out))
        loss.backward()
        opt.step()

    return train


def _flat(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return []


def make_input(shape: Sequence[int], batch: int, device: torch.device, dtype: torch.dtype, channels_last: bool):
    """A seeded random input of ``shape`` with batch ``batch`` on ``device``/``dtype`` (channels-last if asked)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((batch, *shape[1:]), generator=gen).to(device=device, dtype=dtype)
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.dim() == 4 else x
