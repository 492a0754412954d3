"""Which columns a command shows, and the footnotes that define them.

Every table command has a compact default that fits a 120-character terminal, ``--columns all`` for every
column (the default of the data formats, CSV and JSON), and named presets (``costs``, ``gains``, ``memory``,
...) that combine with column names: ``--columns gains,act_bytes``.  Footnotes are given per column and
printed once, only for columns shown.  Pure Python (no torch, no pandas).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from octprof.core.errors import bad

__all__ = ["columns_option", "footnotes", "is_data_format", "select_columns"]

DATA_FORMATS = ("csv", "json")


def is_data_format(fmt: str | None, output: str | None) -> bool:
    """Whether the output is data (CSV or JSON, given or implied by ``output``'s extension): every column."""
    from octprof.core.fmt import format_for_path

    return (fmt or (format_for_path(output) if output else "table")) in DATA_FORMATS


def columns_option(presets: Mapping[str, Sequence[str]], example: str) -> Callable[[Callable[..., Any]], Any]:
    """``--columns``: a comma list of column names and presets (``all`` and the keys of ``presets``)."""
    names = ", ".join(["all", *presets])
    return click.option(
        "--columns",
        "columns_text",
        default=None,
        metavar="A,B,...",
        help=f"Columns to show: names and presets ({names}), combinable, e.g. {example}. "
        "Default: a compact set (CSV, JSON: all).",
    )


def select_columns(
    text: str | None,
    available: Sequence[str],
    default: Sequence[str],
    presets: Mapping[str, Sequence[str]] | None = None,
    param: str = "--columns",
    data: bool = False,
) -> list[str]:
    """The columns to show: ``default`` without ``text`` (every column when ``data``: CSV and JSON); else each
    comma-separated item of ``text`` is ``all`` (every available column), a preset name or a column name, in
    that order, each column once.  Presets and the default keep only the columns that are available; an unknown
    name is a one-line error."""
    presets = presets or {}
    avail = list(dict.fromkeys(available))
    if not text or not text.strip():
        return avail if data else [c for c in default if c in avail]
    out: list[str] = []
    unknown: list[str] = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        if item == "all":
            out += avail
        elif item in presets:
            out += [c for c in presets[item] if c in avail]
        elif item in avail:
            out.append(item)
        else:
            unknown.append(item)
    if unknown:
        allowed = ", ".join(["all", *presets])
        raise bad(param, ",".join(unknown), f"expected presets ({allowed}) or columns ({', '.join(avail)})")
    if not out:
        raise bad(param, text, "expected at least one column")
    return list(dict.fromkeys(out))


def footnotes(columns: Sequence[str], definitions: Sequence[tuple[str | tuple[str, ...], str]]) -> list[str]:
    """The definitions whose column (or fnmatch pattern, or tuple of them) is among ``columns``, in the order of
    ``definitions``, each once."""
    out: list[str] = []
    for keys, text in definitions:
        pats = (keys,) if isinstance(keys, str) else keys
        if any(fnmatch.fnmatchcase(c, p) for p in pats for c in columns) and text not in out:
            out.append(text)
    return out
