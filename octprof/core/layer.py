"""Closed-form cost of one octave convolution, path by path, in integers.

The semantics are those of the paper's official implementation:

- channel split: ``low = int(α·C)`` (floor for α ≥ 0, computed in floating point as the official code does),
  ``high = C − low``; a part with 0 channels disables every path that reads or writes it;
- H→H convolves the high map; H→L convolves the high map after 2×2 average pooling; L→H convolves the low
  map and upsamples its output 2× (nearest); L→L convolves the low map; the two paths that meet at an output
  are added;
- stride 2 (``stride_rule="pool"``, the paper's choice): the high map is average-pooled 2×2 first and every
  convolution runs at stride 1; H→L pools once more; L→L pools its input; L→H convolves the *un-pooled* low
  map and is not upsampled.  ``stride_rule="conv"`` (the paper's Table-3 ablation) uses strided convolutions
  instead: H→H and L→L at the layer stride, H→L at twice the layer stride, no pooling;
- groups: every path keeps the layer's groups; a depthwise layer (groups = in = out channels) keeps only H→H
  (groups = high channels) and L→L (groups = low channels);
- bias: on one of the two paths that meet at an output — H→H (else L→H) for the high output, H→L (else L→L)
  for the low output.

Conventions (all integers): ``macs`` multiply-accumulates of convolutions; ``flops`` = 2 × macs;
``paper_flops`` = multiply-adds + one per bias addition + 2×2 pooling outputs × 4 (BN, additions and
upsampling count 0); ``fvcore_flops`` = fvcore's count: one per multiply-add, nearest upsampling one per output
element, pooling and additions 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from octprof.core.errors import bad

PATHS: tuple[str, ...] = ("h2h", "h2l", "l2h", "l2l")
GLUE: tuple[str, ...] = ("pool", "upsample", "add")
STRIDE_RULES: tuple[str, ...] = ("pool", "conv")
DTYPE_BYTES: tuple[int, ...] = (1, 2, 4, 8)

Shape = tuple[int, int, int, int]
Pair = tuple[int, int]


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
    alpha = check_alpha("alpha", alpha)
    low = int(alpha * channels)
    return channels - low, low


def conv_output_size(size: int, kernel: int, padding: int, dilation: int, stride: int) -> int:
    """PyTorch's output size of a convolution along one axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _pair(name: str, value: Any, minimum: int) -> Pair:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise bad(name, value, "expected an integer or a pair of integers")
        a, b = value
        return check_positive(name, a, minimum), check_positive(name, b, minimum)
    v = check_positive(name, value, minimum)
    return v, v


def _fmt(shape: Shape) -> str:
    return "×".join(str(d) for d in shape)


@dataclass(frozen=True)
class OctConvSpec:
    """One octave convolution: channels, geometry, the high-frequency input map and the two α.

    ``height`` × ``width`` is the size of the *high-frequency* input map (the full-resolution one); the low
    map is half of it.  ``padding=None`` means "same" padding, ``dilation·(k − 1) // 2``.
    """

    in_channels: int
    out_channels: int
    kernel_size: int | Pair = 3
    height: int = 56
    width: int | None = None
    alpha_in: float = 0.0
    alpha_out: float = 0.0
    stride: int = 1
    padding: int | Pair | None = None
    dilation: int | Pair = 1
    groups: int = 1
    bias: bool = False
    batch: int = 1
    dtype_bytes: int = 4
    stride_rule: str = "pool"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        check_positive("in_channels", self.in_channels)
        check_positive("out_channels", self.out_channels)
        set_(self, "kernel_size", _pair("kernel_size", self.kernel_size, 1))
        check_positive("height", self.height)
        set_(self, "width", self.height if self.width is None else self.width)
        check_positive("width", self.width)
        set_(self, "alpha_in", check_alpha("alpha_in", self.alpha_in))
        set_(self, "alpha_out", check_alpha("alpha_out", self.alpha_out))
        if isinstance(self.stride, bool) or self.stride not in (1, 2):
            raise bad("stride", self.stride, "expected 1 or 2")
        set_(self, "dilation", _pair("dilation", self.dilation, 1))
        if self.padding is None:
            (kh, kw), (dh, dw) = self.kernel_size, self.dilation
            set_(self, "padding", (dh * (kh - 1) // 2, dw * (kw - 1) // 2))
        else:
            set_(self, "padding", _pair("padding", self.padding, 0))
        check_positive("groups", self.groups)
        if not isinstance(self.bias, bool):
            raise bad("bias", self.bias, "expected True or False")
        check_positive("batch", self.batch)
        if self.dtype_bytes not in DTYPE_BYTES or isinstance(self.dtype_bytes, bool):
            raise bad("dtype_bytes", self.dtype_bytes, f"expected one of {DTYPE_BYTES}")
        if self.stride_rule not in STRIDE_RULES:
            raise bad("stride_rule", self.stride_rule, f"expected one of {STRIDE_RULES}")
        for name in ("in_channels", "out_channels"):
            if getattr(self, name) % self.groups:
                raise bad("groups", self.groups, f"expected a divisor of {name}={getattr(self, name)}")
        if self.depthwise:
            if self.in_split[1] != self.out_split[1]:
                raise bad(
                    "alpha_out",
                    self.alpha_out,
                    f"a depthwise layer keeps its input's split: expected alpha_out to give "
                    f"{self.in_split[1]} low channels like alpha_in={self.alpha_in}",
                )
        else:
            ih, il = self.in_split
            oh, ol = self.out_split
            for path, cin, cout in (("h2h", ih, oh), ("h2l", ih, ol), ("l2h", il, oh), ("l2l", il, ol)):
                if cin and cout and (cin % self.groups or cout % self.groups):
                    raise bad(
                        "groups",
                        self.groups,
                        f"path {path} has {cin} input and {cout} output channels after the split "
                        f"(alpha_in={self.alpha_in}, alpha_out={self.alpha_out}); both must be "
                        f"divisible by groups",
                    )
        # Geometry is validated by computing it once.
        _layout(self)

    # -- derived quantities ---------------------------------------------------------------------------------
    @property
    def depthwise(self) -> bool:
        """Depthwise: groups equal to input and output channels (and more than one)."""
        return self.groups > 1 and self.groups == self.in_channels == self.out_channels

    @property
    def in_split(self) -> Pair:
        return split_channels(self.in_channels, self.alpha_in)

    @property
    def out_split(self) -> Pair:
        return split_channels(self.out_channels, self.alpha_out)

    def with_(self, **changes: Any) -> OctConvSpec:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def vanilla(self) -> OctConvSpec:
        """The plain convolution this layer replaces: α = 0 on both sides, strided convolution."""
        return replace(self, alpha_in=0.0, alpha_out=0.0, stride_rule="conv")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    on = {p: cin > 0 and cout > 0 and not (dw and p in ("h2l", "l2h")) for p, (cin, cout, _) in cand.items()}
    bias = {
        "h2h": spec.bias and on["h2h"],
        "l2h": spec.bias and on["l2h"] and not on["h2h"],
        "h2l": spec.bias and on["h2l"],
        "l2l": spec.bias and on["l2l"] and not on["h2l"],
    }
    return {p: (*cand[p], bias[p]) for p in PATHS if on[p]}


def _layout(spec: OctConvSpec) -> LayerCost:
    """Compute every row of ``spec``; raises ValueError where the geometry does not allow an octave layer."""
    n, db = spec.batch, spec.dtype_bytes
    ih, il = spec.in_split
    oh, ol = spec.out_split
    (kh, kw), (ph, pw), (dh, dw) = spec.kernel_size, spec.padding, spec.dilation
    s = spec.stride
    pool_mode = s == 2 and spec.stride_rule == "pool"
    cs = 1 if pool_mode else s  # stride of the H→H / L→L convolutions

    paths = conv_paths(spec)
    en = {p: p in paths for p in PATHS}

    def need_even(what: str, h: int, w: int, why: str) -> None:
        if h % 2 or w % 2:
            size = f"{spec.height}x{spec.width}"
            raise bad("size", size, f"{what} is {h}x{w}; {why} needs even height and width")

    rows: list[CostRow] = []

    def pool_row(note: str, c: int, h: int, w: int) -> tuple[int, int]:
        need_even(f"the {note.split(' (')[0]} map", h, w, "2x2 average pooling")
        ho, wo = h // 2, w // 2
        rows.append(
            CostRow(
                "pool",
                note,
                (n, c, h, w),
                (n, c, ho, wo),
                paper_flops=n * c * ho * wo * 4,
                in_elems=n * c * h * w,
                act_elems=n * c * ho * wo,
                dtype_bytes=db,
            )
        )
        return ho, wo

    def conv_row(path: str, cin: int, cout: int, h: int, w: int, stride: int, groups: int, has_bias: bool):
        ho = conv_output_size(h, kh, ph, dh, stride)
        wo = conv_output_size(w, kw, pw, dw, stride)
        if ho < 1 or wo < 1:
            raise bad(
                "size",
                f"{spec.height}x{spec.width}",
                f"path {path} sees a {h}x{w} map, too small for kernel {kh}x{kw} "
                f"(padding {ph}x{pw}, dilation {dh}x{dw})",
            )
        weights = cout * (cin // groups) * kh * kw
        out = n * cout * ho * wo
        macs = n * weights * ho * wo
        rows.append(
            CostRow(
                path,
                f"{kh}x{kw} conv, stride {stride}" + (f", groups {groups}" if groups > 1 else ""),
                (n, cin, h, w),
                (n, cout, ho, wo),
                macs=macs,
                params=weights + (cout if has_bias else 0),
                paper_flops=macs + (out if has_bias else 0),
                fvcore_flops=macs,
                in_elems=n * cin * h * w,
                act_elems=out,
                dtype_bytes=db,
                groups=groups,
                bias=has_bias,
            )
        )
        return ho, wo

    H, W = spec.height, spec.width
    low_hw: Pair | None = None
    if il:
        need_even("the high-frequency input", H, W, f"a low-frequency input (alpha_in={spec.alpha_in})")
        low_hw = (H // 2, W // 2)
    high_in: Pair = (H, W)
    if pool_mode and (en["h2h"] or en["h2l"]):
        high_in = pool_row("high input (stride 2)", ih, H, W)
    outs_h: dict[str, Pair] = {}
    outs_l: dict[str, Pair] = {}
    if en["h2h"]:
        outs_h["h2h"] = conv_row("h2h", *paths["h2h"][:2], *high_in, cs, *paths["h2h"][2:])
    if en["h2l"]:
        if spec.stride_rule == "pool":
            pooled = pool_row("h2l input", ih, *high_in)
            outs_l["h2l"] = conv_row("h2l", *paths["h2l"][:2], *pooled, 1, *paths["h2l"][2:])
        else:
            outs_l["h2l"] = conv_row("h2l", *paths["h2l"][:2], *high_in, 2 * s, *paths["h2l"][2:])
    if en["l2h"]:
        assert low_hw is not None
        lh = conv_row("l2h", *paths["l2h"][:2], *low_hw, 1, *paths["l2h"][2:])
        if s == 1:
            rows.append(
                CostRow(
                    "upsample",
                    "l2h output, nearest 2x",
                    (n, oh, *lh),
                    (n, oh, 2 * lh[0], 2 * lh[1]),
                    fvcore_flops=n * oh * 4 * lh[0] * lh[1],
                    in_elems=n * oh * lh[0] * lh[1],
                    act_elems=n * oh * 4 * lh[0] * lh[1],
                    dtype_bytes=db,
                )
            )
            lh = (2 * lh[0], 2 * lh[1])
        outs_h["l2h"] = lh
    if en["l2l"]:
        assert low_hw is not None
        low_in = low_hw
        if pool_mode:
            low_in = pool_row("low input (stride 2)", il, *low_hw)
        outs_l["l2l"] = conv_row("l2l", *paths["l2l"][:2], *low_in, cs, *paths["l2l"][2:])

    def meet(outs: dict[str, Pair], c: int, which: str) -> Pair | None:
        sizes = set(outs.values())
        if len(sizes) > 1:
            detail = ", ".join(f"{p} gives {h}x{w}" for p, (h, w) in outs.items())
            raise bad(
                "padding",
                spec.padding,
                f"the {which} output's paths disagree ({detail}); octave paths need 'same'-style padding",
            )
        if not sizes:
            return None
        (h, w) = sizes.pop()
        if len(outs) == 2:
            rows.append(
                CostRow(
                    "add",
                    f"{which} output = {' + '.join(outs)}",
                    (n, c, h, w),
                    (n, c, h, w),
                    in_elems=2 * n * c * h * w,
                    act_elems=n * c * h * w,
                    dtype_bytes=db,
                )
            )
        return h, w

    hout = meet(outs_h, oh, "high")
    lout = meet(outs_l, ol, "low")
    if hout and lout and (2 * lout[0] != hout[0] or 2 * lout[1] != hout[1]):
        raise bad(
            "size",
            f"{spec.height}x{spec.width}",
            f"the low output ({lout[0]}x{lout[1]}) is not half the high output ({hout[0]}x{hout[1]})",
        )
    return LayerCost(
        spec,
        tuple(rows),
        ((n, ih, H, W) if ih else None, (n, il, *low_hw) if low_hw else None),
        ((n, oh, *hout) if hout else None, (n, ol, *lout) if lout else None),
    )


def layer_cost(spec: OctConvSpec) -> LayerCost:
    """Closed-form cost of ``spec``: one row per enabled path and per glue op, integers throughout."""
    return _layout(spec)
