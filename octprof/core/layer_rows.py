"""The cost rows of one octave layer (:class:`CostRow`, :class:`LayerCost`) and the closed form that computes them
(:func:`layer_cost`); the semantics are in :mod:`octprof.core.layer`."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from octprof.core.errors import bad
from octprof.core.layer_base import PATHS, Shape, Sizes, conv_output_size, half
from octprof.core.layer_paths import conv_paths, geometry

if TYPE_CHECKING:
    from octprof.core.layer_spec import OctConvSpec


def _fmt(shape: Shape) -> str:
    return "×".join(str(d) for d in shape)


def _x(sizes: Sizes) -> str:
    return "x".join(str(d) for d in sizes)


@dataclass(frozen=True)
class CostRow:
    """The cost of one path or glue op of an octave layer (all counts are integers)."""

    path: str
    note: str
    in_shape: Shape
    out_shape: Shape
    macs: int = 0
    params: int = 0
    paper_flops: int = 0
    fvcore_flops: int = 0
    in_elems: int = 0
    act_elems: int = 0
    dtype_bytes: int = 4
    groups: int = 1
    bias: bool = False

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def in_bytes(self) -> int:
        return self.in_elems * self.dtype_bytes

    @property
    def out_bytes(self) -> int:
        return self.act_elems * self.dtype_bytes

    def record(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "note": self.note,
            "in_shape": _fmt(self.in_shape),
            "out_shape": _fmt(self.out_shape),
            "macs": self.macs,
            "flops": self.flops,
            "paper_flops": self.paper_flops,
            "fvcore_flops": self.fvcore_flops,
            "params": self.params,
            "act_elems": self.act_elems,
            "in_bytes": self.in_bytes,
            "out_bytes": self.out_bytes,
        }


COUNT_FIELDS: tuple[str, ...] = (
    "macs",
    "flops",
    "paper_flops",
    "fvcore_flops",
    "params",
    "act_elems",
    "in_bytes",
    "out_bytes",
)


@dataclass(frozen=True)
class LayerCost:
    """All rows of one octave layer, with totals and the layer's input and output maps."""

    spec: OctConvSpec
    rows: tuple[CostRow, ...]
    input_shapes: tuple[Shape | None, Shape | None]
    output_shapes: tuple[Shape | None, Shape | None]
    extra: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[CostRow]:
        return iter(self.rows)

    def path(self, name: str) -> CostRow | None:
        """The convolution row of path ``name`` (``h2h``…``l2l``), or None when the path is disabled."""
        for row in self.rows:
            if row.path == name:
                return row
        return None

    def total(self, fieldname: str) -> int:
        return sum(getattr(r, fieldname) for r in self.rows)

    @property
    def macs(self) -> int:
        return self.total("macs")

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def paper_flops(self) -> int:
        return self.total("paper_flops")

    @property
    def fvcore_flops(self) -> int:
        return self.total("fvcore_flops")

    @property
    def params(self) -> int:
        return self.total("params")

    @property
    def act_elems(self) -> int:
        """Elements of every tensor the layer produces (paths, pooling, upsampling, sums)."""
        return self.total("act_elems")

    @property
    def output_elems(self) -> int:
        """Elements of the layer's output maps (high + low): the feature-map memory of Table 1."""
        return sum(math.prod(s) for s in self.output_shapes if s is not None)

    @property
    def input_elems(self) -> int:
        return sum(math.prod(s) for s in self.input_shapes if s is not None)

    def totals(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": "total", "note": "", "in_shape": "", "out_shape": ""}
        for f in COUNT_FIELDS:
            out[f] = sum(r.record()[f] for r in self.rows)
        return out

    def records(self, total: bool = True) -> list[dict[str, Any]]:
        """One dict per row (and a ``total`` row), numbers as integers."""
        recs = [r.record() for r in self.rows]
        if total:
            recs.append(self.totals())
        return recs


def compute_cost(spec: OctConvSpec) -> LayerCost:
    """Compute every row of ``spec``; raises OctprofError where the geometry does not allow an octave layer.  A spec
    runs this once, when it is built (it validates the geometry), and keeps the result for :func:`layer_cost`."""
    n, db, nd = spec.batch, spec.dtype_bytes, spec.dims
    ih, il = spec.in_split
    oh, ol = spec.out_split
    k, pad, dil = spec.kernel_size, spec.padding, spec.dilation
    odd_size = spec.odd_size
    ceil = odd_size == "ceil"
    geo = geometry(spec)

    paths = conv_paths(spec)
    en = {p: p in paths for p in PATHS}

    def need_even(what: str, sizes: Sizes, factors: Sizes, why: str) -> None:
        odd = [i for i, (x, f) in enumerate(zip(sizes, factors)) if f == 2 and x % 2]
        if odd and not ceil:
            pooled = [i for i, f in enumerate(factors) if f == 2]
            need = _EVEN[nd] if len(pooled) == nd else "an even " + " and ".join(_AXES[nd][i] for i in pooled)
            raise bad(
                "size",
                _x(spec.spatial),
                f"{what} is {_x(sizes)}; {why} needs {need}",
                "odd_size='ceil' (--odd-size ceil) pools with ceil mode",
            )

    rows: list[CostRow] = []

    def pool_row(note: str, c: int, sizes: Sizes, factors: Sizes) -> Sizes:
        if all(f == 1 for f in factors):
            return sizes
        kernel = _x(factors) if nd > 1 else "2-wide"
        if not ceil and any(f == 2 and x % 2 for x, f in zip(sizes, factors)):
            need_even(f"the {note.split(' (')[0]} map", sizes, factors, f"{kernel} average pooling")
        out = tuple(half(x, odd_size) if f == 2 else x for x, f in zip(sizes, factors))
        vol = math.prod(factors)
        out_elems = n * c * math.prod(out)
        rows.append(
            CostRow(
                "pool",
                note if nd == 2 and not ceil else f"{note}, {kernel}" + (" ceil mode" if ceil else ""),
                (n, c, *sizes),
                (n, c, *out),
                paper_flops=out_elems * vol,
                in_elems=n * c * math.prod(sizes),
                act_elems=out_elems,
                dtype_bytes=db,
            )
        )
        return out

    conv_text = f"{_x(k)} conv" if nd > 1 else f"kernel {k[0]} conv"
    kernel_volume = math.prod(k)

    def conv_row(path: str, cin: int, cout: int, sizes: Sizes, groups: int, has_bias: bool) -> Sizes:
        stride = geo.stride[path]
        out = tuple(map(conv_output_size, sizes, k, pad, dil, stride))
        if min(out) < 1:
            raise bad(
                "size",
                _x(spec.spatial),
                f"path {path} sees a {_x(sizes)} map, too small for kernel {_x(k)} "
                f"(padding {_x(pad)}, dilation {_x(dil)})",
            )
        weights = cout * (cin // groups) * kernel_volume
        out_volume = math.prod(out)
        elems = n * cout * out_volume
        macs = n * weights * out_volume
        st = stride[0] if len(set(stride)) == 1 else _x(stride)
        rows.append(
            CostRow(
                path,
                f"{conv_text}, stride {st}" + (f", groups {groups}" if groups > 1 else ""),
                (n, cin, *sizes),
                (n, cout, *out),
                macs=macs,
                params=weights + (cout if has_bias else 0),
                paper_flops=macs + (elems if has_bias else 0),
                fvcore_flops=macs,
                in_elems=n * cin * math.prod(sizes),
                act_elems=elems,
                dtype_bytes=db,
                groups=groups,
                bias=has_bias,
            )
        )
        return out

    full = spec.spatial
    low: Sizes | None = None
    if il:
        need_even("the high-frequency input", full, spec.octave, f"a low-frequency input (alpha_in={spec.alpha_in})")
        low = spec.low_size
    high_in: Sizes = full
    if en["h2h"] or en["h2l"]:
        high_in = pool_row("high input (stride 2)", ih, full, geo.high_pool)
    outs_h: dict[str, Sizes] = {}
    outs_l: dict[str, Sizes] = {}
    if en["h2h"]:
        outs_h["h2h"] = conv_row("h2h", *paths["h2h"][:2], high_in, *paths["h2h"][2:])
    if en["h2l"]:
        pooled = pool_row("h2l input", ih, high_in, geo.h2l_pool)
        outs_l["h2l"] = conv_row("h2l", *paths["h2l"][:2], pooled, *paths["h2l"][2:])
    if en["l2h"]:
        assert low is not None
        src = pool_row("l2h input (stride 2)", il, low, geo.l2h_pool)
        lh = conv_row("l2h", *paths["l2h"][:2], src, *paths["l2h"][2:])
        if any(u == 2 for u in geo.upsample):
            target = tuple(x * u for x, u in zip(lh, geo.upsample))
            if ceil and ih:  # the exact size of the high output, from the high input's geometry
                hs = geo.stride["h2h"]
                target = tuple(conv_output_size(*a) for a in zip(high_in, k, pad, dil, hs))
                target = tuple(t if u == 2 else x for t, x, u in zip(target, lh, geo.upsample))
            elems = n * oh * math.prod(target)
            how = f"nearest {_x(geo.upsample)}" if nd == 3 else "nearest 2x"
            rows.append(
                CostRow(
                    "upsample",
                    f"l2h output, {how}" + (f" to {_x(target)}" if ceil else ""),
                    (n, oh, *lh),
                    (n, oh, *target),
                    fvcore_flops=elems if nd == 2 else 0,
                    in_elems=n * oh * math.prod(lh),
                    act_elems=elems,
                    dtype_bytes=db,
                )
            )
            lh = target
        outs_h["l2h"] = lh
    if en["l2l"]:
        assert low is not None
        low_in = pool_row("low input (stride 2)", il, low, geo.low_pool)
        outs_l["l2l"] = conv_row("l2l", *paths["l2l"][:2], low_in, *paths["l2l"][2:])

    def meet(outs: dict[str, Sizes], c: int, which: str) -> Sizes | None:
        sizes = set(outs.values())
        if len(sizes) > 1:
            detail = ", ".join(f"{p} gives {_x(s)}" for p, s in outs.items())
            raise bad(
                "padding",
                spec.padding,
                f"the {which} output's paths disagree ({detail}); octave paths need 'same'-style padding",
            )
        if not sizes:
            return None
        out = sizes.pop()
        if len(outs) == 2:
            e = n * c * math.prod(out)
            rows.append(
                CostRow(
                    "add",
                    f"{which} output = {' + '.join(outs)}",
                    (n, c, *out),
                    (n, c, *out),
                    in_elems=2 * e,
                    act_elems=e,
                    dtype_bytes=db,
                )
            )
        return out

    hout = meet(outs_h, oh, "high")
    lout = meet(outs_l, ol, "low")
    if hout and lout:
        expect = tuple(half(x, spec.odd_size) if r == 2 else x for x, r in zip(hout, spec.octave))
        if lout != expect or (not ceil and any(r == 2 and x % 2 for x, r in zip(hout, spec.octave))):
            raise bad(
                "size",
                _x(spec.spatial),
                f"the low output ({_x(lout)}) is not half the high output ({_x(hout)})",
            )
    return LayerCost(
        spec,
        tuple(rows),
        ((n, ih, *full) if ih else None, (n, il, *low) if low else None),
        ((n, oh, *hout) if hout else None, (n, ol, *lout) if lout else None),
    )


_AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
_EVEN = {1: "an even length", 2: "even height and width", 3: "even depth, height and width"}


def layer_cost(spec: OctConvSpec) -> LayerCost:
    """Closed-form cost of ``spec``: one row per enabled path and per glue op, integers throughout."""
    cost = getattr(spec, "_cost", None)  # computed when the spec was built
    return cost if cost is not None else compute_cost(spec)
