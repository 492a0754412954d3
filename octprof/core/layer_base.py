"""The vocabulary of an octave layer, shared by its spec, its geometry and its cost rows: path and option names,
the checks of its numbers, the channel split and the size of an axis after a convolution or an octave."""

from __future__ import annotations

import math
from typing import Any

from octprof.core.errors import bad

PATHS: tuple[str, ...] = ("h2h", "h2l", "l2h", "l2l")
GLUE: tuple[str, ...] = ("pool", "upsample", "add")
STRIDE_RULES: tuple[str, ...] = ("pool", "conv")
ODD_SIZES: tuple[str, ...] = ("vanilla", "ceil")
DIMS: tuple[int, ...] = (1, 2, 3)
DTYPE_BYTES: tuple[int, ...] = (1, 2, 4, 8)

Shape = tuple[int, ...]
Pair = tuple[int, int]
Sizes = tuple[int, ...]


def check_alpha(name: str, alpha: Any) -> float:
    """Validate an α: a real number in [0, 1] (not NaN, not a bool)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise bad(name, alpha, "expected a number in [0, 1]")
    if math.isnan(alpha) or not 0.0 <= alpha <= 1.0:
        raise bad(name, alpha, "expected a number in [0, 1]")
    return float(alpha)


def check_positive(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise bad(name, value, f"expected an integer >= {minimum}")
    return value


def split_channels(channels: int, alpha: float) -> Pair:
    """``(high, low)`` channels of a ``channels``-wide map split at ``alpha``: low = int(α·C)."""
    check_positive("channels", channels, 0)
    return split_checked(channels, check_alpha("alpha", alpha))


def split_checked(channels: int, alpha: float) -> Pair:
    """:func:`split_channels` of values already checked."""
    low = int(alpha * channels)
    return channels - low, low


def conv_output_size(size: int, kernel: int, padding: int, dilation: int, stride: int) -> int:
    """PyTorch's output size of a convolution along one axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def half(size: int, odd_size: str) -> int:
    """The size of an axis after one octave: ``size / 2`` (``odd_size="vanilla"``, even sizes only) or
    ⌈size / 2⌉ (``"ceil"``)."""
    return -(-size // 2) if odd_size == "ceil" else size // 2


def parse_paths(value: Any) -> tuple[str, ...]:
    """A set of paths (a comma-separated string or an iterable of names) as a tuple in canonical order."""
    if isinstance(value, tuple) and value == PATHS:  # the default (a spec's own paths, once parsed)
        return PATHS
    names = value.split(",") if isinstance(value, str) else value
    try:
        names = [str(n).strip().lower() for n in names]
    except TypeError:
        raise bad("paths", value, f"expected a subset of {','.join(PATHS)}") from None
    unknown = [n for n in names if n not in PATHS]
    if unknown or not names:
        raise bad("paths", value, f"expected a non-empty subset of {','.join(PATHS)} (comma-separated)")
    return tuple(p for p in PATHS if p in names)
