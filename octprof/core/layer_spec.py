"""The specification of one octave convolution (:class:`OctConvSpec`): its fields, their checks and the
quantities derived from them.  A spec is valid only if its closed form can be computed, so building one computes
it once (see :mod:`octprof.core.layer` for the semantics)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from octprof.core.errors import bad
from octprof.core.layer_base import (
    DIMS,
    DTYPE_BYTES,
    ODD_SIZES,
    PATHS,
    STRIDE_RULES,
    Pair,
    Sizes,
    check_alpha,
    check_positive,
    half,
    parse_paths,
    split_checked,
)
from octprof.core.layer_paths import check_paths
from octprof.core.layer_rows import compute_cost


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
        self._check_fields()
        self._check_split()

    def _check_fields(self) -> None:
        """Check every field on its own and bring it to normal form (tuples per axis, float α, canonical paths)."""
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

    def _check_split(self) -> None:
        """The channel splits, and what they can make impossible: groups on a path, a depthwise layer's split, the
        kept paths, the geometry (computed once: :func:`layer_cost` returns it)."""
        set_ = object.__setattr__
        # the channel splits, computed once (every check, path and row below reads them)
        set_(self, "_in_split", split_checked(self.in_channels, self.alpha_in))
        set_(self, "_out_split", split_checked(self.out_channels, self.alpha_out))
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
        check_paths(self)
        # Geometry is validated by computing it once; :func:`layer_cost` returns what this computed.
        set_(self, "_cost", compute_cost(self))

    def split_at(self, alpha_in: float, alpha_out: float, paths: Any = PATHS) -> OctConvSpec:
        """This layer at another split: ``replace(self, alpha_in=..., alpha_out=..., paths=...)``, which checks again
        only what the change can break (the two α, the paths, then the split itself and the geometry): every other
        field is the same, checked when this spec was built."""
        spec = object.__new__(type(self))
        spec.__dict__.update(self.__dict__)
        set_ = object.__setattr__
        set_(spec, "alpha_in", check_alpha("alpha_in", alpha_in))
        set_(spec, "alpha_out", check_alpha("alpha_out", alpha_out))
        set_(spec, "paths", parse_paths(paths))
        spec._check_split()
        return spec

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
        return self._in_split  # type: ignore[attr-defined]

    @property
    def out_split(self) -> Pair:
        return self._out_split  # type: ignore[attr-defined]

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
