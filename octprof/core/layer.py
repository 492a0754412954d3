"""Closed-form cost of one octave convolution, path by path, in integers: 1-D, 2-D and 3-D.

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

Other dimensionalities (``dims``): the low map is an octave lower along every *octave axis*: the length of a
1-D map; height and width of a 3-D map, and its time axis too with ``temporal=True`` (else time is kept).
Pooling and upsampling act on the octave axes only (3-D: 1×2×2, or 2×2×2 with ``temporal``).  The stride may
differ per axis (each 1 or 2, e.g. 1×2×2 for a video conv that keeps time): per axis, the pooled high map is
the stride; where the stride exceeds the octave factor (a time stride of 2 with time kept), L→H pools its input
on that axis (``stride_rule="conv"``: convolves it at that stride) instead of being upsampled.

Ablations (``paths``): any subset of ``h2h``, ``h2l``, ``l2h``, ``l2l``; a path outside it is not built.  The
paths a layer keeps are those of the subset the split allows; every present output part must still be fed and
every present input part read by one of them.

Odd sizes (``odd_size``): ``"vanilla"`` (the official code) refuses a pooled axis of odd size; ``"ceil"``
average-pools with ceil mode (the low map has ⌈n/2⌉ along an octave axis; a partial window divides by the
elements it covers) and upsamples L→H to the exact size of the high output.

Conventions (all integers): ``macs`` multiply-accumulates of convolutions; ``flops`` = 2 × macs;
``paper_flops`` = multiply-adds + one per bias addition + pooling outputs × kernel volume (4 for 2×2; a
ceil-mode window at the border is counted whole, as the network pooling rule counts it; BN, additions and
upsampling count 0); ``fvcore_flops`` = fvcore's count: one per multiply-add, nearest upsampling one per output
element for 2-D maps (fvcore has no handle for 1-D and 3-D upsampling, so they count 0), pooling and
additions 0.
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
    alpha = check_alpha("alpha", alpha)
    low = int(alpha * channels)
    return channels - low, low


def conv_output_size(size: int, kernel: int, padding: int, dilation: int, stride: int) -> int:
    """PyTorch's output size of a convolution along one axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def half(size: int, odd_size: str) -> int:
    """The size of an axis after one octave: ``size / 2`` (``odd_size="vanilla"``, even sizes only) or
    ⌈size / 2⌉ (``"ceil"``)."""
    return -(-size // 2) if odd_size == "ceil" else size // 2


def _ntuple(name: str, value: Any, n: int, minimum: int) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            what = {1: "an integer or a 1-tuple", 2: "an integer or a pair of integers"}.get(
                n, f"an integer or {n} integers"
            )
            raise bad(name, value, f"expected {what}")
        return tuple(check_positive(name, v, minimum) for v in value)
    v = check_positive(name, value, minimum)
    return (v,) * n


def _pair(name: str, value: Any, minimum: int) -> Pair:
    return _ntuple(name, value, 2, minimum)  # type: ignore[return-value]


def _fmt(shape: Shape) -> str:
    return "×".join(str(d) for d in shape)


def _x(sizes: Sizes) -> str:
    return "x".join(str(d) for d in sizes)


def parse_paths(value: Any) -> tuple[str, ...]:
    """A set of paths (a comma-separated string or an iterable of names) as a tuple in canonical order."""
    names = value.split(",") if isinstance(value, str) else value
    try:
        names = [str(n).strip().lower() for n in names]
    except TypeError:
        raise bad("paths", value, f"expected a subset of {','.join(PATHS)}") from None
    unknown = [n for n in names if n not in PATHS]
    if unknown or not names:
        raise bad("paths", value, f"expected a non-empty subset of {','.join(PATHS)} (comma-separated)")
    return tuple(p for p in PATHS if p in names)


@dataclass(frozen=True)
class OctConvSpec:
    """One octave convolution: channels, geometry, the high-frequency input map and the two α.

    ``height`` × ``width`` is the size of the *high-frequency* input map (the full-resolution one); the low
    map is half of it.  ``padding=None`` means "same" padding, ``dilation·(k − 1) // 2``.

    Other fields (keyword only in practice; see :meth:`nd` for a size tuple):

    - ``dims``: 1, 2 (default) or 3.  A 1-D map has length ``height`` (``width`` stays None); a 3-D map is
      ``depth`` × ``height`` × ``width`` (time first).  ``kernel_size``, ``padding``, ``dilation`` and ``stride``
      take one number or one per axis.
    - ``temporal``: 3-D only; the low map is also an octave lower in time (else time is kept).
    - ``paths``: the paths to keep (ablation; default all four), any subset that leaves every present output
      part fed and every present input part read; a comma-separated string is accepted.  A network plan may
      pass a subset per layer: a path the layer's split does not have is simply absent.
    - ``odd_size``: ``"vanilla"`` (odd pooled sizes refused) or ``"ceil"`` (ceil-mode pooling, exact
      upsampling).
    """

    in_channels: int
    out_channels: int
    kernel_size: int | tuple[int, ...] = 3
    height: int = 56
    width: int | None = None
    alpha_in: float = 0.0
    alpha_out: float = 0.0
    stride: int | tuple[int, ...] = 1
    padding: int | tuple[int, ...] | None = None
    dilation: int | tuple[int, ...] = 1
    groups: int = 1
    bias: bool = False
    batch: int = 1
    dtype_bytes: int = 4
    stride_rule: str = "pool"
    dims: int = 2
    depth: int | None = None
    temporal: bool = False
    paths: str | tuple[str, ...] = PATHS
    odd_size: str = "vanilla"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if isinstance(self.dims, bool) or self.dims not in DIMS:
            raise bad("dims", self.dims, "expected 1, 2 or 3")
        nd = self.dims
        check_positive("in_channels", self.in_channels)
        check_positive("out_channels", self.out_channels)
        set_(self, "kernel_size", _ntuple("kernel_size", self.kernel_size, nd, 1))
        check_positive("height", self.height)
        if nd == 1:
            if self.width is not None:
                raise bad("width", self.width, "a 1-D map has a length only (height); leave width None")
        else:
            set_(self, "width", self.height if self.width is None else self.width)
            check_positive("width", self.width)
        if nd == 3:
            if self.depth is None:
                raise bad("depth", self.depth, "a 3-D map needs its depth (frames): an integer >= 1")
            check_positive("depth", self.depth)
        elif self.depth is not None:
            raise bad("depth", self.depth, f"only a 3-D map has a depth (dims={nd})")
        if not isinstance(self.temporal, bool):
            raise bad("temporal", self.temporal, "expected True or False")
        if self.temporal and nd != 3:
            raise bad("temporal", self.temporal, f"only a 3-D map has a time axis to halve (dims={nd})")
        set_(self, "alpha_in", check_alpha("alpha_in", self.alpha_in))
        set_(self, "alpha_out", check_alpha("alpha_out", self.alpha_out))
        strides = self.stride if isinstance(self.stride, (tuple, list)) else (self.stride,) * nd
        if len(strides) != nd or any(isinstance(s, bool) or s not in (1, 2) for s in strides):
            raise bad("stride", self.stride, "expected 1 or 2" + (f" (or one of them per axis, {nd} axes)"))
        set_(self, "stride", strides[0] if len(set(strides)) == 1 else tuple(strides))
        set_(self, "dilation", _ntuple("dilation", self.dilation, nd, 1))
        if self.padding is None:
            set_(self, "padding", tuple(d * (k - 1) // 2 for k, d in zip(self.kernel_size, self.dilation)))
        else:
            set_(self, "padding", _ntuple("padding", self.padding, nd, 0))
        check_positive("groups", self.groups)
        if not isinstance(self.bias, bool):
            raise bad("bias", self.bias, "expected True or False")
        check_positive("batch", self.batch)
        if self.dtype_bytes not in DTYPE_BYTES or isinstance(self.dtype_bytes, bool):
            raise bad("dtype_bytes", self.dtype_bytes, f"expected one of {DTYPE_BYTES}")
        if self.stride_rule not in STRIDE_RULES:
            raise bad("stride_rule", self.stride_rule, f"expected one of {STRIDE_RULES}")
        if self.odd_size not in ODD_SIZES:
            raise bad("odd_size", self.odd_size, f"expected one of {ODD_SIZES}")
        set_(self, "paths", parse_paths(self.paths))
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
        _check_paths(self)
        # Geometry is validated by computing it once.
        _layout(self)

    @classmethod
    def nd(cls, in_channels: int, out_channels: int, kernel_size: Any, size: int | tuple[int, ...], **kw: Any):
        """A spec from a map size: an integer or a 1-tuple (1-D length), ``(H, W)`` (2-D) or ``(T, H, W)``
        (3-D); ``dims`` follows from it."""
        sizes = (size,) if isinstance(size, int) else tuple(size)
        if len(sizes) not in DIMS:
            raise bad("size", size, "expected L, (H, W) or (T, H, W)")
        if len(sizes) == 1:
            return cls(in_channels, out_channels, kernel_size, sizes[0], None, dims=1, **kw)
        if len(sizes) == 2:
            return cls(in_channels, out_channels, kernel_size, sizes[0], sizes[1], dims=2, **kw)
        return cls(in_channels, out_channels, kernel_size, sizes[1], sizes[2], dims=3, depth=sizes[0], **kw)

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

    @property
    def spatial(self) -> Sizes:
        """The high-frequency input map's size per axis: (L,), (H, W) or (T, H, W)."""
        if self.dims == 1:
            return (self.height,)
        if self.dims == 2:
            return (self.height, self.width)  # type: ignore[return-value]
        return (self.depth, self.height, self.width)  # type: ignore[return-value]

    @property
    def strides(self) -> Sizes:
        """The stride per axis."""
        s = self.stride
        return tuple(s) if isinstance(s, tuple) else (s,) * self.dims

    @property
    def octave(self) -> Sizes:
        """The octave factor per axis: 2 where the low map is halved, 1 where it is kept (time, unless
        ``temporal``)."""
        if self.dims == 3 and not self.temporal:
            return (1, 2, 2)
        return (2,) * self.dims

    @property
    def low_size(self) -> Sizes:
        """The low-frequency input map's size per axis (valid once the spec is)."""
        return tuple(half(n, self.odd_size) if r == 2 else n for n, r in zip(self.spatial, self.octave))

    def with_(self, **changes: Any) -> OctConvSpec:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def vanilla(self) -> OctConvSpec:
        """The plain convolution this layer replaces: α = 0 on both sides, strided convolution."""
        return replace(self, alpha_in=0.0, alpha_out=0.0, stride_rule="conv", paths=PATHS)

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


def _available(spec: OctConvSpec) -> dict[str, bool]:
    """Which paths the split (and depthwise) allows, before the ``paths`` ablation."""
    ih, il = spec.in_split
    oh, ol = spec.out_split
    io = {"h2h": (ih, oh), "h2l": (ih, ol), "l2h": (il, oh), "l2l": (il, ol)}
    return {p: cin > 0 and cout > 0 and not (spec.depthwise and p in ("h2l", "l2h")) for p, (cin, cout) in io.items()}


def _check_paths(spec: OctConvSpec) -> None:
    """Every present input part must be read, and every present output part fed, by a kept path."""
    on = {p: ok and p in spec.paths for p, ok in _available(spec).items()}  # type: ignore[operator]
    ih, il = spec.in_split
    oh, ol = spec.out_split
    text = ",".join(spec.paths)  # type: ignore[arg-type]
    alphas = f"alpha_in={spec.alpha_in}, alpha_out={spec.alpha_out}"
    for present, part, readers in (
        (ih, "high input", ("h2h", "h2l")),
        (il, "low input", ("l2h", "l2l")),
        (oh, "high output", ("h2h", "l2h")),
        (ol, "low output", ("h2l", "l2l")),
    ):
        if present and not any(on[p] for p in readers):
            usable = [p for p in readers if _available(spec)[p]]
            verb = "read" if "input" in part else "fed"
            raise bad(
                "paths",
                text,
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


def _layout(spec: OctConvSpec) -> LayerCost:
    """Compute every row of ``spec``; raises OctprofError where the geometry does not allow an octave layer."""
    n, db, nd = spec.batch, spec.dtype_bytes, spec.dims
    ih, il = spec.in_split
    oh, ol = spec.out_split
    k, pad, dil = spec.kernel_size, spec.padding, spec.dilation
    ceil = spec.odd_size == "ceil"
    geo = geometry(spec)
    size_text = _x(spec.spatial)
    axes = {1: "an even length", 2: "even height and width", 3: "even depth, height and width"}

    paths = conv_paths(spec)
    en = {p: p in paths for p in PATHS}

    def need_even(what: str, sizes: Sizes, factors: Sizes, why: str) -> None:
        odd = [i for i, (x, f) in enumerate(zip(sizes, factors)) if f == 2 and x % 2]
        if odd and not ceil:
            pooled = [i for i, f in enumerate(factors) if f == 2]
            need = axes[nd] if len(pooled) == nd else "an even " + " and ".join(_AXES[nd][i] for i in pooled)
            raise bad(
                "size",
                size_text,
                f"{what} is {_x(sizes)}; {why} needs {need}",
                "odd_size='ceil' (--odd-size ceil) pools with ceil mode",
            )

    rows: list[CostRow] = []

    def pool_row(note: str, c: int, sizes: Sizes, factors: Sizes) -> Sizes:
        if all(f == 1 for f in factors):
            return sizes
        kernel = _x(factors) if nd > 1 else "2-wide"
        need_even(f"the {note.split(' (')[0]} map", sizes, factors, f"{kernel} average pooling")
        out = tuple(half(x, spec.odd_size) if f == 2 else x for x, f in zip(sizes, factors))
        vol = math.prod(factors)
        rows.append(
            CostRow(
                "pool",
                note if nd == 2 and not ceil else f"{note}, {kernel}" + (" ceil mode" if ceil else ""),
                (n, c, *sizes),
                (n, c, *out),
                paper_flops=n * c * math.prod(out) * vol,
                in_elems=n * c * math.prod(sizes),
                act_elems=n * c * math.prod(out),
                dtype_bytes=db,
            )
        )
        return out

    def conv_row(path: str, cin: int, cout: int, sizes: Sizes, groups: int, has_bias: bool) -> Sizes:
        stride = geo.stride[path]
        out = tuple(conv_output_size(*a) for a in zip(sizes, k, pad, dil, stride))
        if min(out) < 1:
            raise bad(
                "size",
                size_text,
                f"path {path} sees a {_x(sizes)} map, too small for kernel {_x(k)} "
                f"(padding {_x(pad)}, dilation {_x(dil)})",
            )
        weights = cout * (cin // groups) * math.prod(k)
        elems = n * cout * math.prod(out)
        macs = n * weights * math.prod(out)
        st = stride[0] if len(set(stride)) == 1 else _x(stride)
        rows.append(
            CostRow(
                path,
                (f"{_x(k)} conv" if nd > 1 else f"kernel {k[0]} conv")
                + f", stride {st}"
                + (f", groups {groups}" if groups > 1 else ""),
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
                size_text,
                f"the low output ({_x(lout)}) is not half the high output ({_x(hout)})",
            )
    return LayerCost(
        spec,
        tuple(rows),
        ((n, ih, *full) if ih else None, (n, il, *low) if low else None),
        ((n, oh, *hout) if hout else None, (n, ol, *lout) if lout else None),
    )


_AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def layer_cost(spec: OctConvSpec) -> LayerCost:
    """Closed-form cost of ``spec``: one row per enabled path and per glue op, integers throughout."""
    return _layout(spec)
