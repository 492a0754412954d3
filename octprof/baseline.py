"""The gate's baseline file: its format, its types, reading it (every problem a one-line error naming where it is)
and writing it atomically.  :mod:`octprof.gate` recomputes a baseline and compares.

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
from dataclasses import dataclass, field
from typing import Any

from octprof.core.errors import bad
from octprof.core.files import write_atomic
from octprof.core.inputs import check_arch, parse_input_size, size_text
from octprof.core.netcost import RELATIVE_COLUMNS, TOTAL_COLUMNS

__all__ = [
    "DEFAULT_METRICS",
    "DEFAULT_TOLERANCES",
    "FORMAT",
    "METRICS",
    "VERSION",
    "Baseline",
    "Entry",
    "Tolerance",
    "load",
    "merge",
    "parse",
    "save",
]

FORMAT = "octprof-gate-baseline"
VERSION = 1

#: Metrics a baseline may hold (columns of :func:`octprof.report.network_table`).  All are costs.
METRICS: tuple[str, ...] = (*TOTAL_COLUMNS, *(f"{c}_rel" for c in RELATIVE_COLUMNS))
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

_TOL_PCT = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*")
_HINT = "recreate it with: octprof gate --baseline FILE --update --arch NAME [--alpha GRID]"


def _json_size(size: int | tuple[int, int] | None) -> int | str | None:
    return size if size is None or isinstance(size, int) else size_text(size)


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


def _number(value: Any, param: str, allow_none: bool = False) -> float | int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad(param, value, "expected a finite number")
    return value


def parse(doc: Any, source: str = "baseline", check_archs: bool = True, allow_empty: bool = False) -> Baseline:
    """Validate a decoded baseline document; every problem is a one-line error naming where it is.  A baseline
    without entries checks nothing and is refused, unless ``allow_empty`` (an update that adds entries)."""
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
    if not doc["entries"] and not allow_empty:
        raise bad(f"{source}: entries", [], "expected at least one entry: an empty baseline checks nothing", _HINT)
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


def load(path: str | os.PathLike[str], check_archs: bool = True, allow_empty: bool = False) -> Baseline:
    """Read and validate a baseline file (see :func:`parse`)."""
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
    return parse(doc, source=path, check_archs=check_archs, allow_empty=allow_empty)


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
