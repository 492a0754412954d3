"""α grids: a list ``0,0.125,0.5`` or an inclusive range ``start:stop:step`` (``0:1:0.125``)."""

from __future__ import annotations

from decimal import Decimal, DecimalException, InvalidOperation

from octprof.core.errors import bad
from octprof.core.layer import check_alpha

#: Most α values one grid may hold, all its ranges and items together (a range alone: the same).
MAX_VALUES = 10_000
MAX_GRID = MAX_VALUES


def _num(text: str, whole: str, name: str = "alpha") -> Decimal:
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise bad(name, whole, "expected numbers in [0, 1] as a list '0,0.125,0.5' or a range '0:1:0.125'") from None
    if not d.is_finite():
        raise bad(name, whole, "expected numbers in [0, 1], not NaN or infinity")
    return d


def parse_grid(text: str | float | list[float] | tuple[float, ...], name: str = "alpha") -> list[float]:
    """Parse an α grid; every value must lie in [0, 1].  Ranges include their end point."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return [check_alpha(name, text)]
    if isinstance(text, (list, tuple)):
        if len(text) > MAX_VALUES:
            raise bad(name, f"{len(text)} values", f"a grid may hold at most {MAX_VALUES} values")
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
            start, stop, step = (_num(p, text, name) for p in pieces)
            for what, d in (("start", start), ("stop", stop)):
                if not 0 <= d <= 1:
                    raise bad(name, text, f"a range's {what} {d} is outside [0, 1]; every alpha must lie in [0, 1]")
            if not 0 < step <= 1:
                raise bad(name, text, f"a range's step must be positive and at most 1 (got {step})")
            if stop < start:
                raise bad(name, text, "the range is empty (start > stop)")
            room = MAX_VALUES - len(values)
            try:  # no division: a tiny step must not overflow the arithmetic
                too_many = room < 1 or stop - start > step * (room - 1)
            except DecimalException:
                too_many = True
            if too_many:
                raise bad(name, text, f"a grid may hold at most {MAX_VALUES} values in all (its ranges together)")
            v = start
            while True:
                values.append(float(v))
                nxt = v + step
                if nxt > stop:
                    break
                if nxt == v:  # a step below the arithmetic's resolution
                    raise bad(
                        name, text, f"a range's step {step} is too small to advance from {v}; expected a larger step"
                    )
                if len(values) >= MAX_VALUES:
                    raise bad(name, text, f"a grid may hold at most {MAX_VALUES} values in all (its ranges together)")
                v = nxt
        else:
            values.append(float(_num(part, text, name)))
        if len(values) > MAX_VALUES:
            raise bad(name, text, f"a grid may hold at most {MAX_VALUES} values in all (its ranges together)")
    for v in values:
        if not 0.0 <= v <= 1.0:
            raise bad(name, text, f"{v:g} is outside [0, 1]; every alpha must lie in [0, 1]")
    # keep order, drop repeats
    return list(dict.fromkeys(values))
