"""α grids: a list ``0,0.125,0.5`` or an inclusive range ``start:stop:step`` (``0:1:0.125``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from octprof.core.errors import bad
from octprof.core.layer import check_alpha

MAX_GRID = 10_000


def _num(text: str, whole: str) -> Decimal:
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise bad("alpha", whole, "expected numbers in [0, 1] as a list '0,0.125,0.5' or a range '0:1:0.125'") from None
    if not d.is_finite():
        raise bad("alpha", whole, "expected numbers in [0, 1], not NaN or infinity")
    return d


def parse_grid(text: str | float | list[float] | tuple[float, ...], name: str = "alpha") -> list[float]:
    """Parse an α grid; every value must lie in [0, 1].  Ranges include their end point."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return [check_alpha(name, text)]
    if isinstance(text, (list, tuple)):
        return [check_alpha(name, a) for a in text]
    if not isinstance(text, str) or not text.strip():
        raise bad(name, text, "expected a list '0,0.125,0.5' or a range '0:1:0.125'")
    values: list[float] = []
    for part in text.split(","):
        if not part.strip():
            raise bad(name, text, "expected a list '0,0.125,0.5' or a range '0:1:0.125' (empty item)")
        if ":" in part:
            pieces = part.split(":")
            if len(pieces) != 3:
                raise bad(name, text, "a range is start:stop:step, e.g. '0:1:0.125'")
            start, stop, step = (_num(p, text) for p in pieces)
            if step <= 0:
                raise bad(name, text, "a range's step must be positive")
            if (stop - start) / step > MAX_GRID:
                raise bad(name, text, f"a range may hold at most {MAX_GRID} values")
            v = start
            while v <= stop:
                values.append(float(v))
                v += step
            if not values:
                raise bad(name, text, "the range is empty (start > stop)")
        else:
            values.append(float(_num(part, text)))
    for v in values:
        if not 0.0 <= v <= 1.0:
            raise bad(name, text, f"{v:g} is outside [0, 1]; every alpha must lie in [0, 1]")
    # keep order, drop repeats
    return list(dict.fromkeys(values))
