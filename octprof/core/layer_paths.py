"""Which paths an octave layer builds, and with what: channels, groups and bias per path (:func:`conv_paths`), the
check that the kept paths read every input part and feed every output part, and the per-axis pooling, strides and
upsampling of each path (:func:`geometry`).  Shared by the closed form and by the modules of ``octprof.nn``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from octprof.core.errors import bad
from octprof.core.layer_base import PATHS, Sizes

if TYPE_CHECKING:
    from octprof.core.layer_spec import OctConvSpec


def _available(spec: OctConvSpec) -> dict[str, bool]:
    """Which paths the split (and depthwise) allows, before the ``paths`` ablation."""
    ih, il = spec.in_split
    oh, ol = spec.out_split
    io = {"h2h": (ih, oh), "h2l": (ih, ol), "l2h": (il, oh), "l2l": (il, ol)}
    return {p: cin > 0 and cout > 0 and not (spec.depthwise and p in ("h2l", "l2h")) for p, (cin, cout) in io.items()}


def check_paths(spec: OctConvSpec) -> None:
    """Every present input part must be read, and every present output part fed, by a kept path."""
    on = {p: ok and p in spec.paths for p, ok in _available(spec).items()}  # type: ignore[operator]
    ih, il = spec.in_split
    oh, ol = spec.out_split
    for present, part, readers in (
        (ih, "high input", ("h2h", "h2l")),
        (il, "low input", ("l2h", "l2l")),
        (oh, "high output", ("h2h", "l2h")),
        (ol, "low output", ("h2l", "l2l")),
    ):
        if present and not any(on[p] for p in readers):
            usable = [p for p in readers if _available(spec)[p]]
            verb = "read" if "input" in part else "fed"
            alphas = f"alpha_in={spec.alpha_in}, alpha_out={spec.alpha_out}"
            raise bad(
                "paths",
                ",".join(spec.paths),  # type: ignore[arg-type]
                f"the {part} ({alphas}{', depthwise' if spec.depthwise else ''}) is {verb} by no kept path; "
                f"keep {' or '.join(usable)}",
            )


def conv_paths(spec: OctConvSpec) -> dict[str, tuple[int, int, int, bool]]:
    """The enabled paths of ``spec``: ``{path: (in_channels, out_channels, groups, bias)}``.

    Shared by the closed form and by ``octprof.nn.OctConv2d`` so that both enable the same paths."""
    ih, il = spec.in_split
    oh, ol = spec.out_split
    dw = spec.depthwise
    cand = {
        "h2h": (ih, oh, ih if dw else spec.groups),
        "h2l": (ih, ol, spec.groups),
        "l2h": (il, oh, spec.groups),
        "l2l": (il, ol, il if dw else spec.groups),
    }
    on = {p: ok and p in spec.paths for p, ok in _available(spec).items()}  # type: ignore[operator]
    bias = {
        "h2h": spec.bias and on["h2h"],
        "l2h": spec.bias and on["l2h"] and not on["h2h"],
        "h2l": spec.bias and on["h2l"],
        "l2l": spec.bias and on["l2l"] and not on["h2l"],
    }
    return {p: (*cand[p], bias[p]) for p in PATHS if on[p]}


@dataclass(frozen=True)
class Geometry:
    """Per-axis factors of one layer, shared by the closed form and the modules (all tuples, one per axis).

    ``high_pool``: pooling of the high input before H→H / H→L (the stride, in pool mode); ``h2l_pool``: the
    extra pooling of H→L's input (the octave, in pool mode); ``low_pool``: pooling of L→L's input; ``l2h_pool``:
    pooling of L→H's input (where the stride exceeds the octave, pool mode); ``stride``: per path;
    ``upsample``: of L→H's output."""

    high_pool: Sizes
    h2l_pool: Sizes
    low_pool: Sizes
    l2h_pool: Sizes
    stride: dict[str, Sizes]
    upsample: Sizes


def geometry(spec: OctConvSpec) -> Geometry:
    s, r = spec.strides, spec.octave
    ones = (1,) * spec.dims
    pool_mode = spec.stride_rule == "pool" and any(x == 2 for x in s)
    over = tuple(2 if a > b else 1 for a, b in zip(s, r))  # stride beyond the octave: L→H must shrink
    up = tuple(2 if b > a else 1 for a, b in zip(s, r))  # octave beyond the stride: L→H is upsampled
    hl = tuple(a * b for a, b in zip(s, r))
    if pool_mode:
        return Geometry(s, r, s, over, {"h2h": ones, "h2l": ones, "l2h": ones, "l2l": ones}, up)
    h2l_pool = r if spec.stride_rule == "pool" else ones
    h2l_stride = ones if spec.stride_rule == "pool" else hl
    return Geometry(ones, h2l_pool, ones, ones, {"h2h": s, "h2l": h2l_stride, "l2h": over, "l2l": s}, up)
