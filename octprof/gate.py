"""A CI gate on octave gains: recompute a stored baseline and fail when a gain regresses beyond its tolerance.

A baseline is a JSON file (pretty-printed, sorted keys) with one entry per (architecture, α, input size)::

    {
      "entries": [
        {"alpha": 0.5, "arch": "resnet50", "batch": 1, "input_size": 224,
         "metrics": {"fmap_elems_rel": 0.6542, "macs": 2266849280, "macs_rel": 0.5524, ...}},
        ...
      ],
      "format": "octprof-gate-baseline",
      "tolerances": {"macs": 0, "macs_rel": 0.0001, "params": "0.5%", ...},
      "version": 1
    }

Every metric is a cost (lower is better), so a *regression* is an increase beyond the tolerance.  A tolerance
is a number (the largest allowed increase, in the metric's own units) or a string ``"N%"`` (relative to the
baseline value).  An entry may carry its own ``tolerances`` that override the file's.  A decrease beyond the
tolerance is reported as ``improved`` and passes; ``update`` locks it in.

The architectures are zoo names, ``torchvision:NAME`` or ``module.path:factory`` — anything
:func:`octprof.report.network_table` prices.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from octprof.core.errors import bad
from octprof.core.fmt import write_atomic
from octprof.core.grid import parse_grid

FORMAT = "octprof-gate-baseline"
VERSION = 1

#: Metrics a baseline may hold (columns of :func:`octprof.report.network_table`).  All are costs.
METRICS: tuple[str, ...] = (
    "macs",
    "flops",
    "paper_flops",
    "fvcore_flops",
    "params",
    "act_elems",
    "act_bytes",
    "fmap_elems",
    "macs_rel",
    "paper_flops_rel",
    "fvcore_flops_rel",
    "params_rel",
    "act_elems_rel",
    "fmap_elems_rel",
)
#: What a new baseline records: the gains (relative to α = 0) and the absolute counts behind them.
DEFAULT_METRICS: tuple[str, ...] = (
    "macs",
    "paper_flops",
    "params",
    "fmap_elems",
    "macs_rel",
    "paper_flops_rel",
    "fmap_elems_rel",
)
#: Closed-form counts are exact integers (tolerance 0); the ratios are rounded to 4 decimals (one unit).
DEFAULT_TOLERANCES: dict[str, float | str] = {
    **{m: 0 for m in METRICS if not m.endswith("_rel")},
    **{m: 0.0001 for m in METRICS if m.endswith("_rel")},
}
DEFAULT_ALPHAS: tuple[float, ...] = (0.0, 0.125, 0.25, 0.5, 0.75)
STATUSES: tuple[str, ...] = ("ok", "improved", "regressed", "missing")

_TOL_PCT = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*")
_HINT = "recreate it with: octprof gate --baseline FILE --update --arch NAME [--alpha GRID]"


def parse_input_size(value: Any, param: str = "input_size") -> int | tuple[int, ...] | None:
    """An input size as given in a CSV or a baseline: ``224``, ``"224"``, ``"320x256"``, ``[320, 256]``,
    ``"16x112x112"`` (a 3-D network's T×H×W) or empty (the model's default).  Returns an int (square, or a 1-D
    network's length), an (H, W) or (T, H, W) tuple or None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        raise bad(param, value, "expected a size S or HxW (e.g. 224 or 320x256)")
    if isinstance(value, int):
        if value < 1:
            raise bad(param, value, "expected a positive size")
        return value
    if isinstance(value, float) and value.is_integer() and value >= 1:
        return int(value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        if min(value) < 1:
            raise bad(param, value, "expected positive sizes")
        return (value[0], value[1]) if value[0] != value[1] else value[0]
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        m3 = re.fullmatch(r"(\d+)\s*[xX×]\s*(\d+)\s*[xX×]\s*(\d+)", text)
        if m3 and all(int(g) >= 1 for g in m3.groups()):
            return tuple(int(g) for g in m3.groups())  # TxHxW: a 3-D network's clip (CxHxW for a 2-D one)
        m = re.fullmatch(r"(\d+)(?:\s*[xX×]\s*(\d+))?", text)
        if m:
            h = int(m.group(1))
            w = int(m.group(2)) if m.group(2) else h
            if h >= 1 and w >= 1:
                return h if h == w else (h, w)
    raise bad(param, value, "expected a size S or HxW (e.g. 224 or 320x256)")


def size_text(size: int | tuple[int, int] | None) -> str:
    """``224`` → ``"224"``, ``(320, 256)`` → ``"320x256"``, None → ``""``."""
    if size is None:
        return ""
    if isinstance(size, int):
        return str(size)
    return f"{size[0]}x{size[1]}"


def _json_size(size: int | tuple[int, int] | None) -> int | str | None:
    return size if size is None or isinstance(size, int) else size_text(size)


def check_arch(arch: str, param: str) -> None:
    """Resolve ``arch`` without building it; an unknown name is a one-line error naming ``param``."""
    from octprof.analysis import resolve

    try:
        resolve(arch)
    except ValueError as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        # "arch: got 'x'; allowed ..." → keep what follows the value
        reason = reason.split("; ", 1)[1] if reason.startswith(("arch:", "model:")) and "; " in reason else reason
        raise bad(param, arch, reason) from None


@dataclass(frozen=True)
class Tolerance:
    """The largest increase of a metric that still passes: absolute (metric units) or relative (percent)."""

    value: float
    relative: bool = False

    @classmethod
    def parse(cls, raw: Any, param: str) -> Tolerance:
        if isinstance(raw, bool):
            raise bad(param, raw, 'expected a number >= 0 or a percentage string like "0.5%"')
        if isinstance(raw, (int, float)):
            if not math.isfinite(raw) or raw < 0:
                raise bad(param, raw, 'expected a number >= 0 or a percentage string like "0.5%"')
            return cls(float(raw))
        if isinstance(raw, str):
            m = _TOL_PCT.fullmatch(raw)
            if m:
                return cls(float(m.group(1)), relative=True)
        raise bad(param, raw, 'expected a number >= 0 or a percentage string like "0.5%"')

    def allowed(self, baseline: float) -> float:
        return abs(baseline) * self.value / 100 if self.relative else self.value

    def to_json(self) -> float | int | str:
        if self.relative:
            return f"{self.value:g}%"
        return int(self.value) if self.value.is_integer() else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.relative else f"{self.value:g}"


@dataclass(frozen=True)
class Entry:
    """One (architecture, α, input size, batch) and the metrics recorded for it."""

    arch: str
    alpha: float
    input_size: int | tuple[int, int] | None = None
    batch: int = 1
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    tolerances: dict[str, Tolerance] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, float, str, int]:
        return (self.arch, self.alpha, size_text(self.input_size), self.batch)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "arch": self.arch,
            "alpha": self.alpha,
            "input_size": _json_size(self.input_size),
            "batch": self.batch,
            "metrics": dict(self.metrics),
        }
        if self.tolerances:
            out["tolerances"] = {m: t.to_json() for m, t in self.tolerances.items()}
        return out


@dataclass
class Baseline:
    """A gate baseline: entries and the file-wide tolerances per metric."""

    entries: list[Entry]
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    source: str = "baseline"

    def tolerance(self, entry: Entry, metric: str) -> Tolerance:
        if metric in entry.tolerances:
            return entry.tolerances[metric]
        if metric in self.tolerances:
            return self.tolerances[metric]
        return Tolerance(float(DEFAULT_TOLERANCES.get(metric, 0)))

    def to_json(self) -> str:
        """The file's text: pretty-printed, sorted keys, entries sorted by (arch, input size, batch, α)."""
        entries = sorted(self.entries, key=lambda e: (e.arch, size_text(e.input_size), e.batch, e.alpha))
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "tolerances": {m: t.to_json() for m, t in sorted(self.tolerances.items())},
            "entries": [e.to_json() for e in entries],
        }
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"


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


# --------------------------------------------------------------------------------------------------- reading


def _number(value: Any, param: str, allow_none: bool = False) -> float | int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad(param, value, "expected a finite number")
    return value


def parse(doc: Any, source: str = "baseline", check_archs: bool = True) -> Baseline:
    """Validate a decoded baseline document; every problem is a one-line error naming where it is."""
    if not isinstance(doc, dict):
        raise bad(
            source, type(doc).__name__, "expected a JSON object with keys format, version, tolerances, entries", _HINT
        )
    missing = [k for k in ("format", "version", "entries") if k not in doc]
    if missing:
        raise bad(source, sorted(doc), f"missing key(s) {', '.join(missing)}", _HINT)
    if doc["format"] != FORMAT:
        raise bad(f"{source}: format", doc["format"], f"expected {FORMAT!r}")
    version = doc["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise bad(f"{source}: version", version, f"expected the integer {VERSION}")
    if version > VERSION:
        raise bad(
            f"{source}: version",
            version,
            f"this octprof reads version {VERSION}",
            "the file was written by a newer octprof; upgrade octprof",
        )
    if version < 1:
        raise bad(f"{source}: version", version, f"expected the integer {VERSION}")
    unknown = sorted(set(doc) - {"format", "version", "entries", "tolerances"})
    if unknown:
        raise bad(source, unknown, "unknown top-level key(s); allowed: format, version, tolerances, entries")
    tolerances = _tolerances(doc.get("tolerances", {}), f"{source}: tolerances")
    if not isinstance(doc["entries"], list):
        raise bad(f"{source}: entries", type(doc["entries"]).__name__, "expected a list of entries")
    entries: list[Entry] = []
    seen: dict[tuple[Any, ...], int] = {}
    checked: set[str] = set()
    for i, raw in enumerate(doc["entries"]):
        where = f"{source}: entries[{i}]"
        entry = _entry(raw, where)
        if entry.key in seen:
            raise bad(
                where,
                list(entry.key[:3]),
                f"duplicates entries[{seen[entry.key]}]; one entry per (arch, alpha, input_size, batch)",
            )
        seen[entry.key] = i
        if check_archs and entry.arch not in checked:
            check_arch(entry.arch, f"{where}.arch")
            checked.add(entry.arch)
        entries.append(entry)
    return Baseline(entries, tolerances, source)


def _tolerances(raw: Any, where: str) -> dict[str, Tolerance]:
    if not isinstance(raw, dict):
        raise bad(where, type(raw).__name__, "expected an object {metric: tolerance}")
    out = {}
    for metric, tol in raw.items():
        if metric not in METRICS:
            raise bad(where, metric, f"unknown metric; allowed: {', '.join(METRICS)}")
        out[metric] = Tolerance.parse(tol, f"{where}.{metric}")
    return out


def _entry(raw: Any, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise bad(where, type(raw).__name__, "expected an object with keys arch, alpha, input_size, metrics")
    missing = [k for k in ("arch", "alpha", "metrics") if k not in raw]
    if missing:
        raise bad(where, sorted(raw), f"missing key(s) {', '.join(missing)}")
    unknown = sorted(set(raw) - {"arch", "alpha", "input_size", "batch", "metrics", "tolerances"})
    if unknown:
        raise bad(where, unknown, "unknown key(s); allowed: arch, alpha, input_size, batch, metrics, tolerances")
    arch = raw["arch"]
    if not isinstance(arch, str) or not arch.strip():
        raise bad(f"{where}.arch", arch, "expected a zoo name, torchvision:NAME or module.path:factory")
    alpha = raw["alpha"]
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise bad(f"{where}.alpha", alpha, "expected a number in [0, 1]")
    size = parse_input_size(raw.get("input_size"), f"{where}.input_size")
    batch = raw.get("batch", 1)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise bad(f"{where}.batch", batch, "expected an integer >= 1")
    metrics = raw["metrics"]
    if not isinstance(metrics, dict) or not metrics:
        raise bad(f"{where}.metrics", metrics, "expected a non-empty object {metric: value}")
    values: dict[str, float | int | None] = {}
    for m, v in metrics.items():
        if m not in METRICS:
            raise bad(f"{where}.metrics", m, f"unknown metric; allowed: {', '.join(METRICS)}")
        values[m] = _number(v, f"{where}.metrics.{m}", allow_none=m.endswith("_rel"))
    tolerances = _tolerances(raw.get("tolerances", {}), f"{where}.tolerances")
    return Entry(arch.strip(), float(alpha), size, batch, values, tolerances)


def load(path: str | os.PathLike[str], check_archs: bool = True) -> Baseline:
    """Read and validate a baseline file."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise bad(
            "baseline",
            path,
            "no such file",
            "create it with: octprof gate --baseline FILE --update --arch NAME [--alpha GRID]",
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise bad("baseline", path, f"cannot read it ({type(e).__name__}: {e})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise bad("baseline", path, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})", _HINT) from None
    return parse(doc, source=path, check_archs=check_archs)


# ------------------------------------------------------------------------------------------------- computing


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
    from octprof.analysis import resolve

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


def merge(old: Baseline, new: Baseline) -> Baseline:
    """``old`` with ``new``'s entries added, replacing those with the same key; tolerances merged."""
    keys = {e.key for e in new.entries}
    entries = [e for e in old.entries if e.key not in keys] + list(new.entries)
    tolerances = {**new.tolerances, **old.tolerances}
    return Baseline(entries, tolerances, old.source)


def save(baseline: Baseline, path: str | os.PathLike[str]) -> None:
    """Write ``baseline`` atomically: a temporary file in the same folder, flushed and fsynced, renamed over
    ``path``; an interrupted write leaves the old file as it was and no temporary file behind."""
    write_atomic(path, baseline.to_json())


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
    "parse_input_size",
    "save",
    "size_text",
]
