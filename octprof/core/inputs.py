"""User input, parsed and validated in one place: input sizes, element types, integer lists, α grids and
architecture names.  The CLI, the plots and the gate read their options through these functions, so that one
value means the same everywhere and a bad one gets the same one-line error (parameter, value, what is allowed).
Pure Python: resolving an architecture name imports torch only when it is called."""

from __future__ import annotations

import math
import re
from typing import Any

from octprof.core.errors import OctprofError, bad
from octprof.core.grid import MAX_GRID, MAX_VALUES, parse_grid

_SIZE = re.compile(r"\s*(\d+)\s*(?:[xX×]\s*(\d+)\s*)?")
_SIZE_ALLOWED = "expected a size S, HxW or TxHxW (e.g. 224, 320x256 or 16x112x112)"

#: Bytes per element of every element type octprof prices, by name.
DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}
#: The element types networks can run in (bench, calibrate, memory): the floating ones.
FLOAT_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16", "float64")


def parse_input_size(value: Any, param: str = "input_size") -> int | tuple[int, ...] | None:
    """An input size as given on the command line, in a CSV or in a baseline: ``224``, ``"224"``,
    ``"320x256"``, ``[320, 256]``, ``"16x112x112"`` (a 3-D network's T×H×W) or empty (the model's default).
    Returns an int (square, or a 1-D network's length), an (H, W) or (T, H, W) tuple or None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        raise bad(param, value, _SIZE_ALLOWED)
    if isinstance(value, int):
        if value < 1:
            raise bad(param, value, "expected a positive size")
        return value
    if isinstance(value, float) and value.is_integer() and value >= 1:
        return int(value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        if any(isinstance(v, bool) for v in value) or min(value) < 1:
            raise bad(param, value, "expected positive sizes")
        return (value[0], value[1]) if value[0] != value[1] else value[0]
    if isinstance(value, str):
        if not value.strip():
            return None
        m3 = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*[xX×]\s*(\d+)\s*", value)
        if m3:  # TxHxW: a 3-D network's clip (CxHxW for a 2-D one)
            dims = tuple(int(g) for g in m3.groups())
            if min(dims) < 1:
                raise bad(param, value, "sizes must be positive")
            return dims
        m = _SIZE.fullmatch(value)
        if m:
            h = int(m.group(1))
            w = int(m.group(2)) if m.group(2) else h
            if h >= 1 and w >= 1:
                return h if h == w else (h, w)
            raise bad(param, value, "height and width must be positive")
    raise bad(param, value, _SIZE_ALLOWED)


def parse_map_size(value: Any, param: str = "--size") -> tuple[int, int]:
    """A feature map's ``(H, W)`` from ``HxW`` or one number ``S`` (square); never empty."""
    allowed = "expected HxW (e.g. 56x56) or one number for a square map"
    try:
        size = parse_input_size(value, param)
    except OctprofError as e:
        if "positive" in str(e):
            raise
        raise bad(param, value, allowed) from None
    if size is None:
        raise bad(param, value, allowed)
    return (size, size) if isinstance(size, int) else size


def size_text(size: int | tuple[int, ...] | None) -> str:
    """``224`` → ``"224"``, ``(320, 256)`` → ``"320x256"``, ``(16, 112, 112)`` → ``"16x112x112"``, None → ``""``."""
    if size is None:
        return ""
    if isinstance(size, int):
        return str(size)
    return "x".join(str(d) for d in size)


def parse_ints(text: Any, param: str, minimum: int = 1) -> list[int]:
    """A comma-separated list of integers ``>= minimum`` (``1,8``); an empty item (``1,,2``) is an error."""
    if isinstance(text, int) and not isinstance(text, bool):
        items: list[Any] = [text]
    else:
        raw = str(text).split(",")
        if not str(text).strip() or any(not p.strip() for p in raw):
            raise bad(param, text, f"expected comma-separated integers >= {minimum} such as 1 or 1,8 (empty item)")
        items = [p.strip() for p in raw]
    out = []
    for v in items:
        try:
            n = int(v)
        except ValueError:
            raise bad(param, text, f"expected comma-separated integers >= {minimum} such as 1 or 1,8") from None
        if n < minimum:
            raise bad(param, text, f"{n} is below {minimum}; expected integers >= {minimum}")
        out.append(n)
    return out


def check_int(value: Any, param: str, minimum: int = 0) -> int:
    """An integer ``>= minimum`` (counts such as ``--warmup`` and ``--repeats``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise bad(param, value, f"expected an integer >= {minimum}")
    return value


def parse_dtype(name: Any, param: str = "--dtype", allowed: tuple[str, ...] = tuple(DTYPE_BYTES)) -> str:
    """An element type's name, one of ``allowed`` (``torch.float16`` and ``half`` style names are accepted)."""
    text = str(name).strip().lower().removeprefix("torch.")
    text = {"float": "float32", "half": "float16", "double": "float64"}.get(text, text)
    if text not in allowed:
        raise bad(param, name, f"expected one of {', '.join(allowed)}")
    return text


def check_arch(arch: str, param: str) -> None:
    """Resolve ``arch`` without building it; an unknown name is a one-line error naming ``param``."""
    from octprof.source import resolve

    try:
        resolve(arch)
    except ValueError as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        # "arch: got 'x'; allowed ..." → keep what follows the value
        reason = reason.split("; ", 1)[1] if reason.startswith(("arch:", "model:")) and "; " in reason else reason
        raise bad(param, arch, reason) from None


__all__ = [
    "DTYPE_BYTES",
    "FLOAT_DTYPES",
    "MAX_GRID",
    "MAX_VALUES",
    "check_arch",
    "check_int",
    "parse_dtype",
    "parse_grid",
    "parse_input_size",
    "parse_ints",
    "parse_map_size",
    "size_text",
]
