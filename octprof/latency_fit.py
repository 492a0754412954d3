"""The roofline model of :mod:`octprof.latency`: a device's fitted parameters (:class:`DeviceParams`), its
predictions (:class:`LatencyModel`), the fit to measured kernels (:func:`fit`) and the error metrics used to judge
predictions (:func:`median_abs_rel_error`, :func:`spearman`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from octprof.core.errors import bad
from octprof.latency_kernels import Kernel, kernels

__all__ = ["COMPUTE_KINDS", "DeviceParams", "LatencyModel", "fit", "median_abs_rel_error", "spearman"]

COMPUTE_KINDS: tuple[str, ...] = ("conv", "gconv", "dwconv")
_EFF_GRID = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0)
_N_GRID = (0.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0)


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
