"""Render records (lists of flat dicts) as a text table, Markdown, CSV, JSON or LaTeX, and say which format a
file name implies (files are written by :mod:`octprof.core.files`, whose ``write_atomic`` is re-exported here).
Pure Python, so that commands which need no torch or pandas stay light."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

from octprof.core.errors import bad
from octprof.core.files import write_atomic

FORMATS: tuple[str, ...] = ("table", "markdown", "csv", "json", "latex")
#: Footnotes under a text table wrap at this width (a wide terminal; the compact tables fit it too).
NOTE_WIDTH = 120


def _columns(records: Sequence[dict[str, Any]], columns: Sequence[str] | None) -> list[str]:
    if columns is not None:
        return list(columns)
    cols: dict[str, None] = {}
    for r in records:
        for k in r:
            cols.setdefault(k, None)
    return list(cols)


def _plain(value: Any) -> Any:
    """JSON-able value: numpy / pandas scalars become Python numbers, NaN becomes None."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(TypeError, ValueError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _human(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:.4f}".rstrip("0").rstrip(".") if "." in f"{value:.4f}" else f"{value}"
    return str(value)


def _is_num(value: Any) -> bool:
    v = _plain(value)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def render(
    records: Iterable[dict[str, Any]],
    fmt: str = "table",
    columns: Sequence[str] | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """Render ``records`` in ``fmt``.  ``notes`` (conventions, sources) are printed under text formats as
    footnotes, as comments in CSV/LaTeX, and left out of JSON (a list of records, numbers as numbers)."""
    recs = list(records)
    if fmt not in FORMATS:
        raise bad("format", fmt, f"expected one of {', '.join(FORMATS)}")
    cols = _columns(recs, columns)
    if fmt == "json":
        return json.dumps([{c: _plain(r.get(c)) for c in cols} for r in recs], indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in recs:
            w.writerow(["" if _plain(r.get(c)) is None else _plain(r.get(c)) for c in cols])
        return buf.getvalue()
    cells = [[_human(r.get(c)) for c in cols] for r in recs]
    numeric = [any(_is_num(r.get(c)) for r in recs) for c in cols]
    if fmt == "latex":
        esc = str.maketrans({"_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "×": r"$\times$"})
        lines = [r"\begin{tabular}{" + "".join("r" if n else "l" for n in numeric) + "}", r"\toprule"]
        lines.append(" & ".join(c.translate(esc) for c in cols) + r" \\")
        lines.append(r"\midrule")
        for row in cells:
            lines.append(" & ".join(v.replace(",", "{,}").translate(esc) for v in row) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        if title:
            lines.insert(0, f"% {title}")
        lines += [f"% {n}" for n in notes]
        return "\n".join(lines) + "\n"
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]

    def line(vals: Sequence[str]) -> list[str]:
        return [v.rjust(w) if n else v.ljust(w) for v, w, n in zip(vals, widths, numeric, strict=True)]

    out: list[str] = []
    if fmt == "markdown":
        if title:
            out += [f"**{title}**", ""]
        out.append("| " + " | ".join(line(cols)) + " |")
        out.append(
            "|"
            + "|".join(("-" * (w + 1) + ":") if n else ("-" * (w + 2)) for w, n in zip(widths, numeric, strict=True))
            + "|"
        )
        out += ["| " + " | ".join(line(row)) + " |" for row in cells]
        if notes:
            out.append("")
            out += [f"- {n}" for n in notes]
    else:
        if title:
            out.append(title)
        out.append("  ".join(line(cols)).rstrip())
        out.append("  ".join("-" * w for w in widths))
        out += ["  ".join(line(row)).rstrip() for row in cells]
        if notes:
            out.append("")
            for n in notes:  # footnotes wrap at NOTE_WIDTH, continuation lines indented under the text
                out += textwrap.wrap(n, NOTE_WIDTH, initial_indent="* ", subsequent_indent="  ", break_on_hyphens=False)
    return "\n".join(out) + "\n"


#: Output formats by file extension; a name without an extension (or ``.txt``) is a text table.
EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".json": "json",
    ".md": "markdown",
    ".tex": "latex",
    ".txt": "table",
    "": "table",
}


def format_for_path(path: str, default: str = "table", fmt: str | None = None, param: str = "--output") -> str:
    """The format to write ``path`` in: ``fmt`` when given, else the one its extension implies (``.csv``,
    ``.json``, ``.md``, ``.tex``; ``.txt`` or none: ``default``).  An unknown extension without ``fmt``, or an
    extension that says another format than ``fmt``, is a one-line error: ``out.xlsx`` never receives text."""
    if fmt is not None and fmt not in FORMATS:
        raise bad("--format", fmt, f"expected one of {', '.join(FORMATS)}")
    if path == "-":
        return fmt or default
    ext = os.path.splitext(os.path.basename(path))[1].lower()
    implied = EXTENSIONS.get(ext)
    if implied == "table":
        implied = default
    known = ", ".join(e for e in EXTENSIONS if e) + " or none"
    if fmt is None:
        if implied is None:
            raise bad(
                param, path, f"unknown extension {ext!r}; expected {known}", "or give --format with a matching name"
            )
        return implied
    if ext in EXTENSIONS and ext not in ("", ".txt") and implied != fmt:
        raise bad(param, path, f"the extension says {implied} but --format is {fmt}; expected matching ones")
    return fmt


__all__ = ["EXTENSIONS", "FORMATS", "format_for_path", "render", "write_atomic"]
