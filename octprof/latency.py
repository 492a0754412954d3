"""A latency model: per-kernel roofline predictions from the closed-form multiply-accumulates and bytes.

Every op of a planned network becomes one or more kernels (:func:`kernels`): convolutions and linear layers are
*compute* kernels (``macs``, GEMM sizes M = output channels per group, K = input channels per group × kernel
area, N = output pixels × batch), everything else (batch norm, activations, pooling, upsampling, additions,
concatenations, merges) *memory* kernels (bytes read + written); views cost nothing.  A kernel's time is the
roofline plus a fixed cost per kernel::

    compute:  max(macs / (P · e(M) · e(K) · e(N)),  bytes / BW) + overhead,   e(x) = x / (x + x0)
    memory:   bytes / BW + overhead

``P`` is the peak multiply-accumulate rate of the kind of convolution (dense, grouped, depthwise), the three
``e`` factors its loss of efficiency on small GEMM sizes, ``BW`` the memory bandwidth and ``overhead`` the cost
of launching one kernel (dispatch, Python, CUDA launch).  :func:`calibrate` measures micro-benchmarks on the
device (convolutions over a grid of generic shapes, memory-bound ops of several sizes, tiny ops) and fits the
parameters; ``octprof calibrate`` writes them to a device profile (JSON, atomically) that ``octprof bench
--predict`` reads.  Training is predicted as 3 × the forward pass (backward ≈ 2 × forward).

The octave layers are decomposed as the implementation being timed runs them (``impl="fast"``: the fused
kernels of :class:`~octprof.fastconv.FastOctConv2d`; ``"reference"``: one kernel per path and glue op).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from octprof.core.errors import OctprofError, bad
from octprof.core.files import write_atomic
from octprof.latency_fit import (
    COMPUTE_KINDS,
    DeviceParams,
    LatencyModel,
    fit,
    median_abs_rel_error,
    spearman,
)
from octprof.latency_kernels import Kernel, conv_kernel, kernels

__all__ = [
    "COMPUTE_KINDS",
    "DeviceParams",
    "Kernel",
    "LatencyModel",
    "calibrate",
    "check_profile",
    "default_profile_path",
    "fit",
    "kernels",
    "load_profile",
    "median_abs_rel_error",
    "save_profile",
    "spearman",
]

PROFILE_FORMAT = "octprof-device-profile/1"


def _conv_shapes(quick: bool, gpu: bool = False) -> list[tuple[int, int, int, int, int, int]]:
    """(batch, cin, cout, size, kernel, groups): a generic grid, not the layers of any one network.  On a GPU the
    batches reach 256 (a GPU is efficient only on large GEMMs, so its efficiency curve needs them)."""
    if quick:
        return [
            (1, 8, 8, 8, 1, 1),
            (1, 8, 16, 8, 3, 1),
            (1, 16, 16, 8, 3, 4),
            (1, 16, 16, 8, 3, 16),
            (2, 16, 8, 8, 1, 1),
            (1, 16, 32, 4, 3, 1),
        ]
    if gpu:
        return _gpu_conv_shapes()
    shapes = []
    for b, size in ((1, 56), (1, 28), (1, 14), (1, 7), (8, 28), (8, 14), (8, 7)):
        for cin, cout in ((32, 32), (64, 128), (128, 64), (256, 256), (512, 128), (128, 512)):
            for k in (1, 3):
                if b * cin * cout * k * k * size * size <= 600_000_000:
                    shapes.append((b, cin, cout, size, k, 1))
    for b, size in ((1, 28), (1, 14), (8, 14)):
        for c in (64, 128, 256):
            shapes.append((b, c, c, size, 3, 32))
            shapes.append((b, c, c, size, 3, c))
    return shapes


def _gpu_conv_shapes() -> list[tuple[int, int, int, int, int, int]]:
    shapes = []
    for b in (1, 32, 256):
        for size in (56, 28, 14, 7):
            for cin, cout in ((64, 64), (64, 256), (256, 64), (128, 512), (512, 512)):
                for k in (1, 3):
                    if 2_000_000 <= b * cin * cout * k * k * size * size <= 60_000_000_000 or b == 1:
                        shapes.append((b, cin, cout, size, k, 1))
    for b, size in ((1, 28), (32, 28), (256, 14)):
        for c in (128, 256):
            shapes.append((b, c, c, size, 3, 32))
            shapes.append((b, c, c, size, 3, c))
    return shapes


def _memory_sizes(quick: bool, gpu: bool = False) -> list[tuple[int, int, int]]:
    if quick:
        return [(1, 8, 8), (1, 16, 16)]
    if gpu:
        return [(1, 64, 56), (1, 256, 28), (32, 64, 56), (32, 256, 28), (256, 64, 56), (256, 512, 14)]
    return [(1, 32, 28), (1, 64, 56), (1, 256, 28), (8, 64, 56), (8, 256, 28), (1, 512, 14), (8, 128, 56)]


def _samples(
    device: Any,
    dtype: Any,
    threads: int,
    channels_last: bool,
    quick: bool,
    repeats: int,
    progress: Callable[[str], None] | None,
    backend: str = "eager",
) -> list[tuple[Kernel, float]]:
    import torch
    import torch.nn.functional as F

    from octprof.backends import EXPORTED, exported_step
    from octprof.timing import time_round_robin

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    dev = torch.device(device)
    db = torch.tensor([], dtype=dtype).element_size()
    gen = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> Any:
        t = torch.randn(shape, generator=gen).to(device=dev, dtype=dtype)
        return t.contiguous(memory_format=fmt) if t.dim() == 4 else t

    fns: dict[Any, Callable[[], Any]] = {}
    mods: dict[Any, tuple[Any, Any]] = {}  # (module, input) of every micro-benchmark, for exported backends
    ks: dict[Any, Kernel] = {}

    class _Node:
        def __init__(self, name: str) -> None:
            self.name = self.label = name

    for i, (b, cin, cout, size, k, g) in enumerate(_conv_shapes(quick, dev.type == "cuda")):
        x = rand(b, cin, size, size)
        conv = torch.nn.Conv2d(cin, cout, k, padding=k // 2, groups=g, bias=False).to(device=dev, dtype=dtype)
        conv = conv.to(memory_format=fmt).eval()
        key = ("conv", i)
        fns[key] = lambda c=conv, x=x: _infer(c, x)
        mods[key] = (conv, x)
        weights = cout * (cin // g) * k * k
        ks[key] = conv_kernel(
            _Node(f"conv{i}"),
            "conv",
            b * size * size * weights,
            x.numel(),
            (b, cout, size, size),
            weights,
            g,
            cin,
            cout,
            k * k,
            db,
        )
    for i, (b, c, size) in enumerate(_memory_sizes(quick, dev.type == "cuda")):
        x, y = rand(b, c, size, size), rand(b, c, size, size)
        for name, fn, elems in (
            ("add", lambda x=x, y=y: x + y, 3 * x.numel()),
            ("relu", lambda x=x: torch.relu(x), 2 * x.numel()),
            ("pool", lambda x=x: F.avg_pool2d(x, 2), x.numel() * 5 // 4),
            ("upsample", lambda x=x: F.interpolate(x, scale_factor=2.0, mode="nearest"), 5 * x.numel()),
        ):
            key = (name, i)
            fns[key] = lambda fn=fn: _infer(fn)
            mods[key] = (_Fn(fn), x)
            ks[key] = Kernel(f"{name}{i}", f"{name}{i}", name, "memory", bytes=elems * db)
    tiny = rand(1, 1, 2, 2)
    relu = torch.nn.ReLU()
    fns[("tiny", 0)] = lambda: _infer(relu, tiny)
    mods[("tiny", 0)] = (relu, tiny)
    ks[("tiny", 0)] = Kernel("tiny", "tiny", "relu", "memory", bytes=8 * db)
    if backend in EXPORTED:  # the same micro-benchmarks, each exported through torch.onnx and run in the backend
        if progress:
            progress(f"exporting {len(mods)} micro-benchmarks to {backend}")
        fns = {key: exported_step(backend, m, x.contiguous(), threads)[0] for key, (m, x) in mods.items()}
    if progress:
        progress(f"timing {len(fns)} micro-benchmarks on {dev} ({threads} thread(s))")
    # One micro-benchmark at a time (warm-up, then its repeats back to back): interleaved with large ones, a tiny
    # op would pay for the caches they flushed, which is not what a kernel costs inside a network.
    from octprof.progress import progress as bar

    out = []
    steps = bar(
        fns.items(),
        total=len(fns),
        desc=f"calibrate ({threads} thread(s))",
        unit="kernel",
        enabled=None if progress else False,
    )
    for key, fn in steps:
        t = time_round_robin({key: fn}, dev, threads, repeats=repeats, warmup=2)[key]
        out.append((ks[key], t.median / 1000.0))
    return out


class _Fn:
    """A micro-benchmark's function as a module of its first input (the rest are constants), for export."""

    def __new__(cls, fn: Callable[..., Any]) -> Any:
        import torch

        class Wrapped(torch.nn.Module):
            def forward(self, x: Any) -> Any:
                return fn(x)

        return Wrapped()


def _infer(fn: Callable[..., Any], *args: Any) -> Any:
    import torch

    with torch.inference_mode():
        return fn(*args)


def calibrate(
    device: Any = "cpu",
    dtype: Any = "float32",
    threads: Sequence[int] | int | None = None,
    channels_last: bool | None = None,
    quick: bool = False,
    repeats: int = 5,
    progress: Callable[[str], None] | None = None,
    backend: str = "eager",
) -> list[dict[str, Any]]:
    """Run the micro-benchmarks on ``device`` for each thread count and fit the parameters; one profile entry
    per thread count (see :func:`save_profile`), each with the fit's median absolute relative error.  ``backend``
    (``eager``, ``onnxruntime``, ``openvino``) runs each micro-benchmark where ``bench --backend`` would."""
    from octprof.backends import check_backend
    from octprof.machine import check_device, check_dtype, check_threads, machine_info

    dev = check_device(device)
    dt = check_dtype(dtype, dev)
    if backend == "compile":
        raise bad("--backend", backend, "calibrate times single kernels: eager, onnxruntime or openvino")
    check_backend(backend, dev, dt, "infer")
    if channels_last is None:  # as bench runs it: channels-last on CPU; exported graphs take plain NCHW input
        from octprof.backends import EXPORTED
        from octprof.machine import default_channels_last

        channels_last = default_channels_last(dev) and backend not in EXPORTED
    counts = (
        [check_threads(threads, dev)]
        if threads is None or isinstance(threads, int)
        else [check_threads(t, dev) for t in threads]
    )
    entries = []
    for n in counts:
        samples = _samples(dev, dt, n, channels_last, quick, repeats, progress, backend)
        params = fit(samples)
        pred = [params.kernel_time(k) for k, _ in samples]
        entries.append(
            {
                "key": _key(dev, dt, n, channels_last, backend),
                "params": params.to_dict(),
                "fit": {
                    "samples": len(samples),
                    "median_abs_rel_error": median_abs_rel_error(pred, [t for _, t in samples]),
                },
                "machine": machine_info(dev, n),
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "quick": quick,
            }
        )
    return entries


def _key(device: Any, dtype: Any, threads: int, channels_last: bool, backend: str = "eager") -> dict[str, Any]:
    from octprof.machine import machine_info

    return {
        "device": str(device),
        "device_name": machine_info(device)["device_name"],
        "dtype": str(dtype).replace("torch.", ""),
        "threads": int(threads),
        "channels_last": bool(channels_last),
        "backend": backend,
    }


# -- profiles on disk -----------------------------------------------------------------------------------------------


def default_profile_path() -> str:
    """``$OCTPROF_DEVICE_PROFILE``, else ``~/.cache/octprof/device_profile.json``."""
    env = os.environ.get("OCTPROF_DEVICE_PROFILE")
    if env:
        return env
    return os.path.join(os.path.expanduser("~"), ".cache", "octprof", "device_profile.json")


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {"format": PROFILE_FORMAT, "entries": []}
    except (OSError, json.JSONDecodeError) as e:
        raise bad("--profile", path, f"cannot read a device profile ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
        raise bad("--profile", path, f"not an octprof device profile (expected format {PROFILE_FORMAT!r})")
    return data


def check_profile(path: str | None = None, must_exist: bool = False) -> str:
    """Validate the device profile at ``path`` (default: :func:`default_profile_path`) before anything is timed:
    unreadable, not JSON, another format or entries that do not load are a one-line error naming ``--profile``.
    A missing file is fine unless ``must_exist``.  Returns the path."""
    path = path or default_profile_path()
    if not os.path.exists(path):
        if must_exist:
            raise bad("--profile", path, "no device profile there", "run 'octprof calibrate' first")
        return path
    data = _read(path)
    entries = data.get("entries")
    if not isinstance(entries, list):
        raise bad("--profile", path, "a corrupt device profile ('entries' is not a list)", "calibrate again")
    for i, e in enumerate(entries):
        try:
            if not isinstance(e["key"], dict):
                raise TypeError("key")
            DeviceParams.from_dict(e["params"])
        except Exception as err:  # any damage to an entry is the same finding
            raise bad(
                "--profile", path, f"a corrupt device profile (entry {i}: {type(err).__name__})", "calibrate again"
            ) from None
    return path


def save_profile(entries: Sequence[dict[str, Any]], path: str | None = None) -> str:
    """Merge ``entries`` into the profile at ``path`` (an entry replaces one with the same key) and write it
    atomically; returns the path.  A missing folder under the default location is created."""
    path = path or default_profile_path()
    folder = os.path.dirname(os.path.abspath(path))
    if path == default_profile_path() and not os.path.isdir(folder):
        os.makedirs(folder, exist_ok=True)
    data = _read(path)
    keep = [e for e in data["entries"] if all(e["key"] != n["key"] for n in entries)]
    data["entries"] = keep + list(entries)
    write_atomic(path, json.dumps(data, indent=2) + "\n", param="--profile")
    return path


def load_profile(
    path: str | None = None,
    device: Any = "cpu",
    dtype: Any = "float32",
    threads: int = 1,
    channels_last: bool | None = None,
    backend: str = "eager",
) -> LatencyModel:
    """The calibrated model for exactly this device, dtype, thread count, memory format and backend (``compile``
    reads the eager calibration: the micro-benchmarks are single kernels).  ``channels_last`` None: as
    :func:`calibrate` chooses it (channels-last on CPU, except for exported backends)."""
    if channels_last is None:
        from octprof.backends import EXPORTED
        from octprof.machine import default_channels_last

        channels_last = default_channels_last(device) and backend not in EXPORTED
    path = path or default_profile_path()
    if not os.path.exists(path):
        raise bad("--profile", path, "no device profile there", "run 'octprof calibrate' first")
    data = _read(path)
    want = {
        "device": str(device),
        "dtype": str(dtype).replace("torch.", ""),
        "threads": int(threads),
        "channels_last": bool(channels_last),
    }
    want_backend = "eager" if backend == "compile" else backend
    for e in data["entries"]:
        k = e["key"]
        if all(k.get(f) == v for f, v in want.items()) and k.get("backend", "eager") == want_backend:
            return LatencyModel(DeviceParams.from_dict(e["params"]), k)
    have = (
        "; ".join(
            f"{k['key']['device']} {k['key']['dtype']} threads={k['key']['threads']} "
            f"channels_last={k['key']['channels_last']} backend={k['key'].get('backend', 'eager')}"
            for k in data["entries"]
        )
        or "none"
    )
    flags = f"--device {want['device']} --dtype {want['dtype']} --threads {want['threads']}" + (
        " --channels-last" if channels_last else ""
    )
    if want_backend != "eager":
        want["backend"] = want_backend
        flags += f" --backend {want_backend}"
    raise OctprofError(
        f"--profile: {path} has no calibration for {want}; it has: {have}. Hint: run 'octprof calibrate {flags}'"
    )
