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
import itertools
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from octprof.core.errors import OctprofError, bad
from octprof.core.files import write_atomic
from octprof.core.layer import PATHS, layer_cost
from octprof.core.rules import get_rule

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
COMPUTE_KINDS: tuple[str, ...] = ("conv", "gconv", "dwconv")
_EFF_GRID = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0)
_N_GRID = (0.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0)


# -- kernels --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kernel:
    """One kernel of a forward pass: ``kind`` is ``conv`` (dense convolution or linear layer), ``gconv`` (grouped),
    ``dwconv`` (depthwise) or ``memory``; ``m``, ``k``, ``n`` are the GEMM sizes of a compute kernel."""

    node: str
    layer: str
    path: str
    kind: str
    macs: int = 0
    bytes: int = 0
    m: int = 0
    k: int = 0
    n: int = 0


def _numel(shape: Sequence[int] | None) -> int:
    return 0 if not shape else math.prod(shape)


def _conv_kernel(
    node: Any,
    path: str,
    macs: int,
    in_elems: int,
    out_shape: Sequence[int],
    params: int,
    groups: int,
    cin: int,
    cout: int,
    kernel_area: int,
    db: int,
) -> Kernel:
    dw = groups > 1 and groups == cin == cout
    kind = "dwconv" if dw else ("gconv" if groups > 1 else "conv")
    n, _, *spatial = out_shape
    return Kernel(
        node.name,
        node.label,
        path,
        kind,
        macs,
        (in_elems + _numel(out_shape) + params) * db,
        m=cout // groups,
        k=(cin // groups) * kernel_area,
        n=n * _numel(spatial),
    )


def _mem(node: Any, path: str, elems: int, db: int) -> Kernel:
    return Kernel(node.name, node.label, path, "memory", bytes=elems * db)


def _octave_kernels(node: Any, spec: Any, impl: str, db: int) -> list[Kernel]:
    cost = layer_cost(spec)
    ka = math.prod(spec.kernel_size)

    def conv(rows: list[Any], label: str) -> Kernel:
        r0 = rows[0]
        macs = sum(r.macs for r in rows)
        cin = sum(r.in_shape[1] for r in rows) if label == "in" else r0.in_shape[1]
        cout = sum(r.out_shape[1] for r in rows) if label == "out" else r0.out_shape[1]
        in_elems = sum(r.in_elems for r in rows) if label == "in" else r0.in_elems
        out_shape = (r0.out_shape[0], cout, *r0.out_shape[2:])
        name = "+".join(r.path for r in rows)
        return _conv_kernel(
            node, name, macs, in_elems, out_shape, sum(r.params for r in rows), r0.groups, cin, cout, ka, db
        )

    paths = {r.path: r for r in cost.rows if r.path in ("h2h", "h2l", "l2h", "l2l")}
    # FastOctConv2d's fused kernels run all four paths at even sizes; ablated or ceil-mode layers run path by path
    fast = (
        impl == "fast" and spec.dims == 2 and not spec.depthwise and spec.odd_size == "vanilla" and spec.paths == PATHS
    )
    pool_mode = spec.stride == 2 and spec.stride_rule == "pool"
    ih, il = spec.in_split
    if fast and pool_mode and ih and il:
        out: list[Kernel] = []
        (n, _, h, w) = cost.input_shapes[0]  # type: ignore[misc]
        pooled = n * ih * (h // 2) * (w // 2)
        low = n * il * (h // 2) * (w // 2)
        out.append(_mem(node, "pool", n * ih * h * w + pooled, db))
        out.append(_mem(node, "cat", 2 * (pooled + low), db))
        if "h2h" in paths:
            out.append(conv([paths["h2h"], paths["l2h"]], "in"))
        if "h2l" in paths:
            out.append(_mem(node, "pool", (pooled + low) * 5 // 4, db))
            out.append(conv([paths["h2l"], paths["l2l"]], "in"))
        return out
    if fast and spec.groups == 1 and spec.stride == 1 and "l2h" in paths and "l2l" in paths:
        out = [conv([paths["l2h"], paths["l2l"]], "out")]
        if "h2h" in paths:
            out.append(conv([paths["h2h"]], ""))
            yh, zh = paths["h2h"].act_elems, paths["l2h"].act_elems
            out.append(_mem(node, "add_upsampled", 2 * yh + 3 * zh, db))
        else:
            out.append(_mem(node, "upsample", 5 * paths["l2h"].act_elems, db))
        if "h2l" in paths:
            for r in cost.rows:
                if r.path == "pool" and r.note.startswith("h2l"):
                    out.append(_mem(node, "pool", r.in_elems + r.act_elems, db))
            out.append(conv([paths["h2l"]], ""))
            out.append(_mem(node, "add", 3 * paths["h2l"].act_elems, db))
        return out
    out = []
    for r in cost.rows:
        if r.path in paths:
            out.append(conv([r], ""))
        else:
            out.append(_mem(node, r.path, r.in_elems + r.act_elems, db))
    return out


def _gemm_kernel(node: Any, path: str, g: dict[str, Any], db: int) -> Kernel:
    """A matrix-product op (a vanilla conv, a linear layer, an op FlopCounterMode priced) as one compute kernel."""
    io = sum(_numel(s) for s in node.in_shapes) + _numel(node.out_shape) + g["weights"]
    return Kernel(node.name, node.label, path, g["kind"], g["macs"], io * db, m=g["m"], k=g["k"], n=g["n"])


def kernels(analysis: Any, impl: str = "fast") -> list[Kernel]:
    """The kernels of one forward pass of the octave network of ``analysis`` (an ``Analysis`` or a ``Plan``):
    what each op's rule says (:meth:`octprof.core.rules.Rule.kernel`), octave layers as ``impl`` runs them."""
    plan = getattr(analysis, "plan", analysis)
    graph = plan.graph
    db = graph.dtype_bytes
    out: list[Kernel] = []
    for node in graph:
        r = get_rule(node.kind)
        if node.name in plan.convs:  # an op of the OctaveLayer protocol
            cp = plan.convs[node.name]
            if cp.mode == "octave":
                out += _octave_kernels(node, cp.spec, impl, db)
                continue
            if cp.mode == "vector" and plan.split(node.inputs[0]).split:
                out.append(_mem(node, "merge", 2 * _numel(node.in_shapes[0]), db))
            out.append(_gemm_kernel(node, "conv", r.gemm(node), db))
            continue
        how = r.kernel(node)
        if how == "none":
            continue
        for n_, src in plan.merges:
            if n_ == node.name:
                s = plan.splits[src]
                out.append(_mem(node, "merge", 2 * s.elems + _numel(s.shape), db))
        if how == "gemm":
            out.append(_gemm_kernel(node, "", r.gemm(node), db))
            continue
        outs = plan.splits[node.name].parts() if node.name in plan.splits else [("", node.out_shape)]
        total = sum(_numel(s) for _, s in outs) or 1
        in_elems = sum(_numel(s) for s in node.in_shapes)
        for part, shape in outs:
            if shape is None:
                continue
            share = _numel(shape) / total
            out.append(_mem(node, part, int(in_elems * share) + _numel(shape), db))
    return out


# -- the model ------------------------------------------------------------------------------------------------------


@dataclass
class DeviceParams:
    """Fitted parameters of one device setting (times in seconds, rates per second)."""

    peak_macs: dict[str, float]  # per compute kind: multiply-accumulates per second at full efficiency
    eff: dict[str, tuple[float, float, float]]  # per compute kind: (m0, k0, n0)
    bandwidth: float  # bytes per second
    overhead: float  # seconds per kernel

    def kernel_time(self, k: Kernel) -> float:
        mem = k.bytes / self.bandwidth
        if k.kind == "memory" or k.macs == 0:
            return mem + self.overhead
        kind = k.kind if k.kind in self.peak_macs else "conv"
        m0, k0, n0 = self.eff[kind]
        e = (k.m / (k.m + m0)) * (k.k / (k.k + k0)) * (k.n / (k.n + n0)) if min(k.m, k.k, k.n) > 0 else 1.0
        return max(k.macs / (self.peak_macs[kind] * e), mem) + self.overhead

    def to_dict(self) -> dict[str, Any]:
        return {
            "peak_macs": self.peak_macs,
            "eff": {k: list(v) for k, v in self.eff.items()},
            "bandwidth": self.bandwidth,
            "overhead": self.overhead,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeviceParams:
        return cls(
            {k: float(v) for k, v in d["peak_macs"].items()},
            {k: tuple(float(x) for x in v) for k, v in d["eff"].items()},  # type: ignore[misc]
            float(d["bandwidth"]),
            float(d["overhead"]),
        )


@dataclass
class LatencyModel:
    """Predictions of one calibrated device setting."""

    params: DeviceParams
    key: dict[str, Any] = field(default_factory=dict)

    def kernel_ms(self, ks: Sequence[Kernel]) -> list[float]:
        return [1000.0 * self.params.kernel_time(k) for k in ks]

    def predict(self, analysis: Any, impl: str = "fast", mode: str = "infer") -> float:
        """Predicted milliseconds of one forward pass (``infer``) or training step (``train``: 3 × forward)."""
        ms = sum(self.kernel_ms(kernels(analysis, impl)))
        return 3.0 * ms if mode == "train" else ms

    def breakdown(self, analysis: Any, impl: str = "fast") -> Any:
        """A DataFrame: one row per kernel with its predicted time and whether it is compute- or memory-bound."""
        import pandas as pd

        ks = kernels(analysis, impl)
        rows = []
        for k, ms in zip(ks, self.kernel_ms(ks)):
            rec = asdict(k)
            rec["predicted_ms"] = ms
            rows.append(rec)
        return pd.DataFrame(rows)


# -- fitting --------------------------------------------------------------------------------------------------------


def _eff(k: Kernel, m0: float, k0: float, n0: float) -> float:
    return (k.m / (k.m + m0)) * (k.k / (k.k + k0)) * (k.n / (k.n + n0))


def fit(samples: Sequence[tuple[Kernel, float]], overhead: float | None = None) -> DeviceParams:
    """Fit :class:`DeviceParams` to measured ``(kernel, seconds)`` samples.

    ``overhead``: the median time of the samples with no bytes and no macs (tiny kernels) unless given;
    ``bandwidth``: the median of bytes / (time − overhead) over memory kernels; per compute kind, (m0, k0, n0)
    by grid search and ``P`` as the geometric mean of the implied rates, minimising the squared log error."""
    import numpy as np

    tiny = [t for k, t in samples if k.kind == "memory" and k.bytes <= 4096]
    if overhead is None:
        overhead = float(np.median(tiny)) if tiny else 0.0
    mem = [(k, t) for k, t in samples if k.kind == "memory" and k.bytes > 4096]
    rates = [k.bytes / max(t - overhead, 1e-9) for k, t in mem]
    bandwidth = float(np.median(rates)) if rates else 1e10
    peak: dict[str, float] = {}
    eff: dict[str, tuple[float, float, float]] = {}
    for kind in COMPUTE_KINDS:
        pts = [(k, t) for k, t in samples if k.kind == kind and k.macs > 0]
        if not pts:
            continue
        net = np.array([max(t - overhead, 1e-9) for _, t in pts])
        macs = np.array([k.macs for k, _ in pts], dtype=float)
        best: tuple[float, float, tuple[float, float, float]] | None = None
        grids = (_EFF_GRID, _EFF_GRID, _N_GRID) if kind != "dwconv" else ((0.0,), (0.0,), _N_GRID)
        for m0, k0, n0 in itertools.product(*grids):
            e = np.array([_eff(k, m0, k0, n0) for k, _ in pts])
            log_p = np.log(macs / (e * net))
            p = float(np.exp(log_p.mean()))
            err = float(((log_p - log_p.mean()) ** 2).mean())
            if best is None or err < best[0] - 1e-12:
                best = (err, p, (m0, k0, n0))
        assert best is not None
        peak[kind], eff[kind] = best[1], best[2]
    if "conv" not in peak:
        peak["conv"], eff["conv"] = 1e10, (0.0, 0.0, 0.0)
    for kind in COMPUTE_KINDS:
        if kind not in peak:
            peak[kind], eff[kind] = peak["conv"], eff["conv"]
    return DeviceParams(peak, eff, bandwidth, overhead)


def median_abs_rel_error(predicted: Sequence[float], measured: Sequence[float]) -> float:
    """Median of |predicted − measured| / measured."""
    import numpy as np

    p, m = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    return float(np.median(np.abs(p - m) / m))


def _ranks(x: Sequence[float]) -> list[float]:
    order = sorted(range(len(x)), key=lambda i: x[i])
    ranks = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for t in range(i, j + 1):
            ranks[order[t]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    if len(a) != len(b) or len(a) < 2:
        raise bad("spearman", len(a), "expected two sequences of the same length, at least 2")
    ra, rb = _ranks(list(a)), _ranks(list(b))
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = math.sqrt(sum((x - ma) ** 2 for x in ra))
    vb = math.sqrt(sum((y - mb) ** 2 for y in rb))
    return cov / (va * vb) if va and vb else 0.0


# -- calibration ----------------------------------------------------------------------------------------------------


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
        ks[key] = _conv_kernel(
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
