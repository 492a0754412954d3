"""A CI gate on octave gains: recompute a stored baseline and fail when a gain regresses beyond its tolerance.

The baseline file (format, types, reading and writing) is :mod:`octprof.baseline`, re-exported here.  Every metric is
a cost (lower is better), so a *regression* is an increase beyond the tolerance; a decrease beyond the tolerance is
reported as ``improved`` and passes; ``update`` locks it in.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from octprof.baseline import (
    DEFAULT_METRICS,
    DEFAULT_TOLERANCES,
    FORMAT,
    METRICS,
    VERSION,
    Baseline,
    Entry,
    Tolerance,
    load,
    merge,
    parse,
    save,
)
from octprof.core.errors import bad
from octprof.core.inputs import check_arch, parse_grid, parse_input_size, size_text

DEFAULT_ALPHAS: tuple[float, ...] = (0.0, 0.125, 0.25, 0.5, 0.75)
STATUSES: tuple[str, ...] = ("ok", "improved", "regressed", "missing")


@dataclass
class GateResult:
    """The comparison of a baseline with the current numbers: one row per (entry, metric)."""

    baseline: Baseline
    current: Baseline
    rows: list[dict[str, Any]]
    unpriced: dict[str, int] = field(default_factory=dict)  # ops nothing priced today, by target

    @property
    def regressions(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] in ("regressed", "missing")]

    @property
    def improvements(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "improved"]

    @property
    def passed(self) -> bool:
        return not self.regressions

    def differences(self) -> list[dict[str, Any]]:
        """Rows whose current value differs from the baseline (within tolerance or not)."""
        return [r for r in self.rows if r["status"] != "ok" or r["delta"] not in (0, None)]

    def summary(self) -> str:
        counts = {s: sum(r["status"] == s for r in self.rows) for s in STATUSES}
        verdict = "passed" if self.passed else "FAILED"
        text = (
            f"gate {verdict}: {len(self.rows)} checks over {len(self.baseline.entries)} entries; "
            f"{counts['ok']} ok, {counts['improved']} improved, {counts['regressed']} regressed"
        )
        if counts["missing"]:
            text += f", {counts['missing']} missing"
        if self.unpriced:
            from octprof.analysis import unpriced_message

            text += f"; {unpriced_message(self.unpriced)}"
        return text

    def failure_message(self, limit: int = 5) -> str:
        """One line naming the regressed (arch, α, metric) triples, the gains (``*_rel``) first."""
        regs = sorted(self.regressions, key=lambda r: not r["metric"].endswith("_rel"))
        parts = [_describe(r) for r in regs[:limit]]
        more = f"; and {len(regs) - limit} more" if len(regs) > limit else ""
        return f"gate: {len(regs)} regression(s) beyond tolerance: " + "; ".join(parts) + more


def _describe(r: dict[str, Any]) -> str:
    where = f"{r['arch']} alpha={r['alpha']:g}" + (f" size={r['input_size']}" if r["input_size"] else "")
    if r["status"] == "missing":
        return f"{where} {r['metric']}: no current value (baseline {_text(r['baseline'])})"
    return (
        f"{where} {r['metric']}: {_text(r['baseline'])} -> {_text(r['current'])} "
        f"(+{_text(r['delta'])} > tolerance {r['tolerance']})"
    )


def _text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _current_rows(
    entries: Sequence[Entry], unpriced: dict[str, int] | None = None
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Price every entry with ``network_table``, one call per (arch, input size, batch); ops nothing priced are
    added to ``unpriced`` (by target) when it is given."""
    from octprof.report import network_table

    groups: dict[tuple[str, str, int], list[Entry]] = {}
    for e in entries:
        groups.setdefault((e.arch, size_text(e.input_size), e.batch), []).append(e)
    from octprof.progress import progress

    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for (arch, _, batch), group in progress(list(groups.items()), desc="gate", unit="net"):
        alphas = sorted({e.alpha for e in group})
        try:
            df = network_table([arch], alphas, input_size=group[0].input_size, batch=batch)
        except ValueError:
            raise
        except Exception as e:  # a user's model can fail in many ways: say which one failed
            raise bad(
                "arch", arch, f"pricing failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
            ) from None
        for target, k in df.attrs.get("unpriced", {}).items():
            if unpriced is not None:
                unpriced[target] = unpriced.get(target, 0) + k
        by_alpha = {float(r["alpha"]): r for r in df.to_dict("records")}
        for e in group:
            out[e.key] = by_alpha[e.alpha]
    return out


def _plain(v: Any) -> float | int | None:
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def measure(baseline: Baseline, unpriced: dict[str, int] | None = None) -> Baseline:
    """The same entries and metrics, with today's values; ops nothing priced are added to ``unpriced``."""
    current = _current_rows(baseline.entries, unpriced)
    entries = [replace(e, metrics={m: _plain(current[e.key].get(m)) for m in e.metrics}) for e in baseline.entries]
    return Baseline(entries, dict(baseline.tolerances), baseline.source)


def compare(baseline: Baseline, current: Baseline) -> GateResult:
    """One row per (entry, metric): baseline, current, delta, tolerance and status."""
    rows: list[dict[str, Any]] = []
    for old, new in zip(baseline.entries, current.entries, strict=True):
        for metric, b in old.metrics.items():
            c = new.metrics.get(metric)
            tol = baseline.tolerance(old, metric)
            if b is None and c is None:
                delta, status = None, "ok"
            elif b is None or c is None:
                delta, status = None, "missing"
            else:
                delta = c - b
                if isinstance(delta, float):
                    delta = round(delta, 12)
                allowed = tol.allowed(b) + 1e-12
                status = "regressed" if delta > allowed else "improved" if delta < -allowed else "ok"
            rows.append(
                {
                    "arch": old.arch,
                    "alpha": old.alpha,
                    "input_size": size_text(old.input_size),
                    "metric": metric,
                    "baseline": b,
                    "current": c,
                    "delta": delta,
                    "delta_pct": round(100 * delta / b, 4) if delta is not None and b else None,
                    "tolerance": str(tol),
                    "status": status,
                }
            )
    return GateResult(baseline, current, rows)


def check(baseline: Baseline | str | os.PathLike[str]) -> GateResult:
    """Recompute ``baseline`` (a :class:`Baseline` or a file) and compare."""
    if not isinstance(baseline, Baseline):
        baseline = load(baseline)
    unpriced: dict[str, int] = {}
    result = compare(baseline, measure(baseline, unpriced))
    result.unpriced = unpriced
    return result


def create(
    archs: Iterable[str],
    alphas: Any = DEFAULT_ALPHAS,
    input_size: Any = None,
    batch: int = 1,
    metrics: Sequence[str] = DEFAULT_METRICS,
    tolerances: dict[str, Any] | None = None,
) -> Baseline:
    """A new baseline for ``archs`` × ``alphas``, measured now.  ``input_size`` None: each model's default
    (recorded explicitly in the file)."""
    archs = list(archs)
    if not archs:
        raise bad("arch", archs, "expected at least one architecture")
    for m in metrics:
        if m not in METRICS:
            raise bad("metrics", m, f"unknown metric; allowed: {', '.join(METRICS)}")
    for a in archs:
        check_arch(a, "arch")
    grid = parse_grid(alphas) if not isinstance(alphas, (list, tuple)) else parse_grid(list(alphas))
    from octprof.source import resolve

    size = parse_input_size(input_size)
    entries = []
    for a in archs:
        s = size if size is not None else resolve(a).input_size
        entries += [Entry(a, alpha, s, batch, dict.fromkeys(metrics)) for alpha in grid]
    tols = {m: Tolerance.parse(DEFAULT_TOLERANCES[m], f"tolerances.{m}") for m in metrics}
    for m, t in (tolerances or {}).items():
        if m not in METRICS:
            raise bad("tolerances", m, f"unknown metric; allowed: {', '.join(METRICS)}")
        tols[m] = Tolerance.parse(t, f"tolerances.{m}")
    return measure(Baseline(entries, tols))


__all__ = [
    "DEFAULT_ALPHAS",
    "DEFAULT_METRICS",
    "DEFAULT_TOLERANCES",
    "FORMAT",
    "METRICS",
    "VERSION",
    "Baseline",
    "Entry",
    "GateResult",
    "Tolerance",
    "check",
    "compare",
    "create",
    "load",
    "measure",
    "merge",
    "parse",
    "save",
]
