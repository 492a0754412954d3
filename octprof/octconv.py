"""The octave convolution the closed form describes (:mod:`octprof.core.layer`): :class:`OctConv1d`,
:class:`OctConv2d` and :class:`OctConv3d` on one base, each path a child convolution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from octprof.core.errors import OctprofError, bad
from octprof.core.layer import PATHS, OctConvSpec, conv_output_size, conv_paths, geometry, half
from octprof.freq import AVG_POOL, OctLike, OctPair, load_slice


def _nominal_size(kernel: int | Sequence[int], dilation: int | Sequence[int], nd: int) -> int:
    """A map size large enough (and divisible by 8) to validate a layer's geometry without knowing it; 8 where the
    kernel or dilation is not a valid one (the layer's spec then names the bad value)."""
    k = (kernel,) * nd if isinstance(kernel, int) else tuple(kernel)
    d = (dilation,) * nd if isinstance(dilation, int) else tuple(dilation)
    if len(k) != len(d) or not all(isinstance(v, int) and v >= 1 for v in (*k, *d)):
        return 8
    return 8 * max(di * (ki - 1) + 1 for ki, di in zip(k, d))


_AXES = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, T, H, W)"}


def _explicit_padding(conv: nn.Module) -> tuple[int, ...] | str:
    """A conv's padding as integers per axis: ``'valid'`` is 0, ``'same'`` the symmetric padding it stands for
    where there is one (odd effective kernel); else the string is kept (no octave layer)."""
    pad, k, d = conv.padding, conv.kernel_size, conv.dilation
    if not isinstance(pad, str):
        return tuple(pad)
    if pad == "valid":
        return (0,) * len(k)
    span = [di * (ki - 1) for ki, di in zip(k, d)]
    return tuple(s // 2 for s in span) if all(s % 2 == 0 for s in span) else pad


class _OctConvNd(nn.Module):
    """The octave convolution of any dimensionality; see :class:`OctConv2d`."""

    _dims = 2
    _conv_cls: type[nn.Module] = nn.Conv2d

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] | None = None,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = False,
        alpha_in: float = 0.0,
        alpha_out: float = 0.0,
        stride_rule: str = "pool",
        device: Any = None,
        dtype: Any = None,
        *,
        paths: str | Sequence[str] = PATHS,
        odd_size: str = "vanilla",
        temporal: bool = False,
    ) -> None:
        super().__init__()
        nd = self._dims

        def spec_at(size: int, **kw: Any) -> OctConvSpec:
            return OctConvSpec.nd(
                in_channels,
                out_channels,
                kernel_size,
                (size,) * nd,
                stride=stride,
                padding=padding,
                dilation=dilation,
                groups=groups,
                bias=bias,
                stride_rule=stride_rule,
                odd_size=odd_size,
                temporal=temporal,
                **kw,
            )

        spec = spec_at(_nominal_size(kernel_size, dilation, nd), alpha_in=alpha_in, alpha_out=alpha_out, paths=paths)
        # plain attributes (no tensor, no module): set in one update rather than through nn.Module.__setattr__'s
        # bookkeeping, twenty times per layer
        self.__dict__.update(
            spec=spec,
            in_channels=in_channels,
            out_channels=out_channels,
            kernel_size=spec.kernel_size,
            padding=spec.padding,
            dilation=spec.dilation,
            stride=spec.stride,
            groups=groups,
            stride_rule=stride_rule,
            alpha_in=spec.alpha_in,
            alpha_out=spec.alpha_out,
            in_split=spec.in_split,
            out_split=spec.out_split,
            paths=spec.paths,
            odd_size=spec.odd_size,
            temporal=spec.temporal,
            pool_mode=stride_rule == "pool" and 2 in spec.strides,
            geometry=geometry(spec),
            _octave=spec.octave,
        )
        layers = conv_paths(spec)
        for name in PATHS:
            if name in layers:
                cin, cout, g, b = layers[name]
                conv: nn.Module | None = self._conv_cls(
                    cin,
                    cout,
                    spec.kernel_size,
                    self.geometry.stride[name],
                    spec.padding,
                    spec.dilation,
                    g,
                    b,
                    device=device,
                    dtype=dtype,
                )
            else:
                conv = None
            setattr(self, name, conv)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"alpha_in={self.alpha_in}, alpha_out={self.alpha_out}, groups={self.groups}, "
            f"stride_rule={self.stride_rule!r}"
        )
        if self.paths != PATHS:
            text += f", paths={','.join(self.paths)!r}"
        if self.odd_size != "vanilla":
            text += f", odd_size={self.odd_size!r}"
        if self.temporal:
            text += ", temporal=True"
        return text

    def _check(self, part: Tensor | None, which: str, expected: int) -> None:
        self._check_channels(0 if part is None else part.shape[1], which, expected)

    def _check_channels(self, got: int, which: str, expected: int) -> None:
        if got != expected:
            alpha = self.alpha_in
            raise OctprofError(
                f"input: the {which} part has {got} channels; this layer expects {expected} "
                f"(in_channels={self.in_channels}, alpha_in={alpha})"
            )

    def _inputs(self, x: OctLike) -> OctPair:
        """The input's two parts, checked: dimensions, channels, batch and the low map's size.  Each part's shape
        is read once (on the proof's meta tensors every read is a dispatched call)."""
        nd = self._dims
        if isinstance(x, Tensor):
            hs = x.shape
            if len(hs) != nd + 2:
                raise OctprofError(
                    f"input: got a {len(hs)}-d tensor; {type(self).__name__} expects {nd + 2}-d {_AXES[nd]}"
                )
            xh, xl, ls = x, None, None
        elif isinstance(x, (tuple, list)) and len(x) == 2:
            xh, xl = x
            shapes = []
            for which, part in (("high", xh), ("low", xl)):
                shape = part.shape if isinstance(part, Tensor) else None
                if part is not None and (shape is None or len(shape) != nd + 2):
                    got = f"{len(shape)}-d tensor" if shape is not None else type(part).__name__
                    raise OctprofError(
                        f"input: the {which} part is a {got}; {type(self).__name__} expects {nd + 2}-d {_AXES[nd]}"
                    )
                shapes.append(shape)
            hs, ls = shapes
            if hs is not None and hs[1] == 0:
                xh = hs = None
            if ls is not None and ls[1] == 0:
                xl = ls = None
        else:
            raise TypeError(f"input: expected a tensor or a (high, low) pair, got {type(x).__name__}")
        self._check_channels(0 if hs is None else hs[1], "high", self.in_split[0])
        self._check_channels(0 if ls is None else ls[1], "low", self.in_split[1])
        if hs is not None and ls is not None:
            if hs[0] != ls[0]:
                raise OctprofError(
                    f"input: the high part has batch {hs[0]} and the low part batch {ls[0]}; they must be equal"
                )
            ceil = self.odd_size == "ceil"
            for n, m, r in zip(hs[2:], ls[2:], self._octave):
                if (r == 1 and m == n) or (r == 2 and (m * 2 == n or (ceil and m * 2 == n + 1))):
                    continue
                self._bad_low(tuple(hs[2:]), tuple(ls[2:]))
        return xh, xl

    def _bad_low(self, high: tuple[int, ...], low: tuple[int, ...]) -> None:
        octave = self._octave
        if self.odd_size == "vanilla" and any(r == 2 and n % 2 for n, r in zip(high, octave)):
            raise OctprofError(
                f"input: the high part is {'x'.join(map(str, high))}, odd along an octave axis; "
                "odd_size='vanilla' needs even sizes (odd_size='ceil' takes odd ones)"
            )
        expect = tuple(half(n, self.odd_size) if r == 2 else n for n, r in zip(high, octave))
        raise OctprofError(
            f"input: the low part is {'x'.join(map(str, low))}; a {'x'.join(map(str, high))} high part "
            f"needs a {'x'.join(map(str, expect))} low part"
        )

    def _pool(self, x: Tensor, factors: tuple[int, ...]) -> Tensor:
        if all(f == 1 for f in factors):
            return x
        if self.odd_size == "vanilla":
            odd = [n for n, f in zip(x.shape[2:], factors) if f == 2 and n % 2]
            if odd:
                raise OctprofError(
                    f"input: a {'x'.join(map(str, x.shape[2:]))} map must be average-pooled "
                    f"{'x'.join(map(str, factors))}; odd_size='vanilla' needs even sizes (odd_size='ceil' "
                    "pools with ceil mode)"
                )
            if factors == (2, 2):
                return F.avg_pool2d(x, 2)
        return AVG_POOL[self._dims](x, factors, factors, ceil_mode=self.odd_size == "ceil")

    def _upsample(self, t: Tensor, xh: Tensor | None) -> Tensor:
        up = self.geometry.upsample
        if self.odd_size == "ceil" and xh is not None:
            # the exact size of the high output, from the (pooled) high input's geometry
            size = [
                conv_output_size(n, k, p, d, s) if u == 2 else m
                for n, m, k, p, d, s, u in zip(
                    xh.shape[2:], t.shape[2:], self.kernel_size, self.padding, self.dilation, self._high_stride, up
                )
            ]
            return F.interpolate(t, size=size, mode="nearest")
        if up == (2, 2):
            return F.interpolate(t, scale_factor=2.0, mode="nearest")
        return F.interpolate(t, scale_factor=tuple(float(u) for u in up), mode="nearest")

    @property
    def _high_stride(self) -> tuple[int, ...]:
        return self.geometry.stride["h2h"]

    def forward(self, x: OctLike) -> OctLike:
        xh, xl = self._inputs(x)
        geo = self.geometry
        if xh is not None and (self.h2h is not None or self.h2l is not None):
            xh = self._pool(xh, geo.high_pool)
        yh: Tensor | None = None
        yl: Tensor | None = None
        if self.h2h is not None:
            yh = self.h2h(xh)
        if self.l2h is not None:
            t = self.l2h(self._pool(xl, geo.l2h_pool))  # type: ignore[arg-type]
            if 2 in geo.upsample:
                t = self._upsample(t, xh)
            yh = t if yh is None else yh + t
        if self.h2l is not None:
            yl = self.h2l(self._pool(xh, geo.h2l_pool))  # type: ignore[arg-type]
        if self.l2l is not None:
            t = self.l2l(self._pool(xl, geo.low_pool))  # type: ignore[arg-type]
            yl = t if yl is None else yl + t
        if self.out_split[1] == 0:
            assert yh is not None
            return yh
        return yh, yl

    @classmethod
    def from_spec(cls, spec: OctConvSpec, **kwargs: Any) -> Any:
        """A freshly initialised layer of ``spec`` (its map size and batch do not matter to the module)."""
        if spec.dims != cls._dims:
            raise bad("spec", f"dims={spec.dims}", f"{cls.__name__} builds {cls._dims}-D layers")
        extra: dict[str, Any] = {"paths": spec.paths, "odd_size": spec.odd_size}
        if cls._dims == 3:
            extra["temporal"] = spec.temporal
        return cls(
            spec.in_channels,
            spec.out_channels,
            spec.kernel_size,
            spec.stride,
            spec.padding,  # type: ignore[arg-type]
            spec.dilation,
            spec.groups,
            spec.bias,
            spec.alpha_in,
            spec.alpha_out,
            spec.stride_rule,
            **extra,
            **kwargs,
        )

    @classmethod
    def from_conv(cls, conv: nn.Module, alpha_in: float, alpha_out: float, stride_rule: str = "pool", **kw: Any):
        """An octave layer shaped like ``conv``; its paths take the matching slices of ``conv``'s weights
        where the slicing is exact (no groups, or depthwise), so that α = 0 reproduces ``conv``.  Keyword
        arguments (``paths``, ``odd_size``, ``temporal``) pass to the constructor."""
        if not isinstance(conv, cls._conv_cls):
            raise bad("conv", type(conv).__name__, f"{cls.__name__} converts an nn.{cls._conv_cls.__name__}")
        padding = _explicit_padding(conv)
        if conv.padding_mode != "zeros" or isinstance(padding, str):
            raise bad("padding", conv.padding, "octave layers need zero padding ('same' only with an odd kernel)")
        stride = tuple(conv.stride)
        if any(s not in (1, 2) for s in stride):
            raise bad("stride", conv.stride, "octave layers support stride 1 or 2 on each axis")
        oct_ = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride,
            padding,
            conv.dilation,
            conv.groups,
            conv.bias is not None,
            alpha_in,
            alpha_out,
            stride_rule,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
            **kw,
        )
        ih, _ = oct_.in_split
        oh, _ = oct_.out_split
        w = conv.weight.detach()
        b = None if conv.bias is None else conv.bias.detach()
        depthwise = oct_.spec.depthwise
        with torch.no_grad():
            for name, rows, cols in (
                ("h2h", slice(0, oh), slice(0, ih)),
                ("h2l", slice(oh, None), slice(0, ih)),
                ("l2h", slice(0, oh), slice(ih, None)),
                ("l2l", slice(oh, None), slice(ih, None)),
            ):
                path = getattr(oct_, name)
                if path is None:
                    continue
                if path.weight.shape == w.shape:  # the path is the whole layer (alpha 0 on both sides)
                    load_slice(path.weight, w)
                elif conv.groups == 1:
                    load_slice(path.weight, w[rows, cols])
                elif depthwise:
                    load_slice(path.weight, w[rows])
                if path.bias is not None and b is not None:
                    load_slice(path.bias, b[rows])
        return oct_


class OctConv2d(_OctConvNd):
    """Octave convolution with four child convolutions ``h2h``, ``h2l``, ``l2h``, ``l2l`` (None when disabled).

    Takes a tensor (α_in = 0) or a ``(high, low)`` pair; returns a pair, or a tensor when α_out = 0.  Exactly
    the semantics of :func:`octprof.core.layer.layer_cost` (see there): low channels = int(α·C), stride 2 by
    average pooling (``stride_rule="pool"``) or strided convolutions (``"conv"``), groups kept on every path,
    depthwise keeps H→H and L→L, bias on H→H / H→L (else L→H / L→L).  With α_in = α_out = 0 and stride 1
    it computes exactly ``nn.Conv2d`` (its ``h2h`` child is one).

    Keyword-only options: ``paths`` (ablation: the paths to build, default all four; an absent path has no
    module and no parameters), ``odd_size`` (``"vanilla"``: odd sizes refused where a map is pooled or split;
    ``"ceil"``: ceil-mode pooling and L→H upsampled to the exact high size) and ``temporal`` (3-D only, see
    :class:`OctConv3d`).  ``forward`` checks the input: dimensions, channels of each part, equal batch sizes
    and the low part's size.
    """

    _dims = 2
    _conv_cls = nn.Conv2d


class OctConv1d(_OctConvNd):
    """:class:`OctConv2d` for 1-D maps ``(N, C, L)``: the low part has half the length (pooling 2, upsampling
    2×); bitwise ``nn.Conv1d`` at α = 0."""

    _dims = 1
    _conv_cls = nn.Conv1d


class OctConv3d(_OctConvNd):
    """:class:`OctConv2d` for 3-D maps ``(N, C, T, H, W)``: the low part has half the height and width, and
    half the frames with ``temporal=True`` (pooling 1×2×2 or 2×2×2).  The stride may differ per axis (each 1 or
    2, e.g. ``(1, 2, 2)``); bitwise ``nn.Conv3d`` at α = 0."""

    _dims = 3
    _conv_cls = nn.Conv3d


def octconv_class(dims: int) -> type[_OctConvNd]:
    """The octave convolution class for ``dims`` spatial axes (1, 2 or 3)."""
    classes = {1: OctConv1d, 2: OctConv2d, 3: OctConv3d}
    if dims not in classes:
        raise bad("dims", dims, "expected 1, 2 or 3")
    return classes[dims]
