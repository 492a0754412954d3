"""The octave convolution the closed form describes, and per-frequency helpers.

A split feature map travels as a pair ``(high, low)``: ``high`` at full resolution, ``low`` at half the height
and width.  A part with no channels is ``None``.  A vanilla map is a plain tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from octprof.core.errors import bad
from octprof.core.layer import OctConvSpec, conv_paths

__all__ = [
    "FreqBatchNorm2d",
    "FreqPReLU",
    "OctConv2d",
    "OctPair",
    "PerFrequency",
    "oct_add",
    "oct_cat",
    "oct_merge",
    "oct_mul",
    "oct_split",
]

OctPair = tuple[Tensor | None, Tensor | None]
OctLike = Tensor | OctPair


def _parts(x: OctLike) -> OctPair:
    if isinstance(x, Tensor):
        return x, None
    if isinstance(x, (tuple, list)) and len(x) == 2:
        h, l = x
        if h is not None and h.shape[1] == 0:
            h = None
        if l is not None and l.shape[1] == 0:
            l = None
        return h, l
    raise TypeError(f"input: expected a tensor or a (high, low) pair, got {type(x).__name__}")


def _nominal_size(kernel: tuple[int, int], dilation: tuple[int, int]) -> int:
    """A map size large enough (and divisible by 8) to validate a layer's geometry without knowing it."""
    reach = max(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    return 8 * reach


class OctConv2d(nn.Module):
    """Octave convolution with four child convolutions ``h2h``, ``h2l``, ``l2h``, ``l2l`` (None when disabled).

    Takes a tensor (α_in = 0) or a ``(high, low)`` pair; returns a pair, or a tensor when α_out = 0.  Exactly
    the semantics of :func:`octprof.core.layer.layer_cost` (see there): low channels = int(α·C), stride 2 by
    average pooling (``stride_rule="pool"``) or strided convolutions (``"conv"``), groups kept on every path,
    depthwise keeps H→H and L→L, bias on H→H / H→L (else L→H / L→L).  With α_in = α_out = 0 and stride 1
    it computes exactly ``nn.Conv2d`` (its ``h2h`` child is one).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] | None = None,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = False,
        alpha_in: float = 0.0,
        alpha_out: float = 0.0,
        stride_rule: str = "pool",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        probe = OctConvSpec(
            in_channels,
            out_channels,
            kernel_size,
            8,
            8,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            stride_rule=stride_rule,
        )
        size = _nominal_size(probe.kernel_size, probe.dilation)  # type: ignore[arg-type]
        spec = probe.with_(height=size, width=size, alpha_in=alpha_in, alpha_out=alpha_out)
        self.spec = spec
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.padding, self.dilation = spec.kernel_size, spec.padding, spec.dilation
        self.stride, self.groups, self.stride_rule = stride, groups, stride_rule
        self.alpha_in, self.alpha_out = spec.alpha_in, spec.alpha_out
        self.in_split, self.out_split = spec.in_split, spec.out_split
        self.pool_mode = stride == 2 and stride_rule == "pool"
        conv_stride = 1 if self.pool_mode else stride
        strides = {"h2h": conv_stride, "h2l": 1 if stride_rule == "pool" else 2 * stride, "l2h": 1, "l2l": conv_stride}
        paths = conv_paths(spec)
        for name in ("h2h", "h2l", "l2h", "l2l"):
            if name in paths:
                cin, cout, g, b = paths[name]
                conv: nn.Module | None = nn.Conv2d(
                    cin,
                    cout,
                    spec.kernel_size,
                    strides[name],
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
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"alpha_in={self.alpha_in}, alpha_out={self.alpha_out}, groups={self.groups}, "
            f"stride_rule={self.stride_rule!r}"
        )

    def _check(self, part: Tensor | None, which: str, expected: int) -> None:
        got = 0 if part is None else part.shape[1]
        if got != expected:
            alpha = self.alpha_in
            raise ValueError(
                f"input: the {which} part has {got} channels; this layer expects {expected} "
                f"(in_channels={self.in_channels}, alpha_in={alpha})"
            )

    def forward(self, x: OctLike) -> OctLike:
        xh, xl = _parts(x)
        self._check(xh, "high", self.in_split[0])
        self._check(xl, "low", self.in_split[1])
        if self.pool_mode and xh is not None and (self.h2h is not None or self.h2l is not None):
            xh = F.avg_pool2d(xh, 2)
        yh: Tensor | None = None
        yl: Tensor | None = None
        if self.h2h is not None:
            yh = self.h2h(xh)
        if self.l2h is not None:
            t = self.l2h(xl)
            if self.stride == 1:
                t = F.interpolate(t, scale_factor=2.0, mode="nearest")
            yh = t if yh is None else yh + t
        if self.h2l is not None:
            yl = self.h2l(F.avg_pool2d(xh, 2) if self.stride_rule == "pool" else xh)
        if self.l2l is not None:
            t = self.l2l(F.avg_pool2d(xl, 2) if self.pool_mode else xl)
            yl = t if yl is None else yl + t
        if self.out_split[1] == 0:
            assert yh is not None
            return yh
        return yh, yl

    @classmethod
    def from_spec(cls, spec: OctConvSpec, **kwargs: Any) -> OctConv2d:
        """A freshly initialised layer of ``spec`` (its map size and batch do not matter to the module)."""
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
            spec.stride_rule,  # type: ignore[arg-type]
            **kwargs,
        )

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, alpha_in: float, alpha_out: float, stride_rule: str = "pool") -> OctConv2d:
        """An octave layer shaped like ``conv``; its paths take the matching slices of ``conv``'s weights
        where the slicing is exact (no groups, or depthwise), so that α = 0 reproduces ``conv``."""
        from octprof.trace import explicit_padding

        padding = explicit_padding(conv)
        if conv.padding_mode != "zeros" or isinstance(padding, str):
            raise bad("padding", conv.padding, "octave layers need zero padding ('same' only with an odd kernel)")
        stride = conv.stride[0]
        if conv.stride[0] != conv.stride[1] or stride not in (1, 2):
            raise bad("stride", conv.stride, "octave layers support stride 1 or 2 (equal on both axes)")
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
            stride_rule,  # type: ignore[arg-type]
            device=conv.weight.device,
            dtype=conv.weight.dtype,
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
                    path.weight.copy_(w)
                elif conv.groups == 1:
                    path.weight.copy_(w[rows, cols])
                elif depthwise:
                    path.weight.copy_(w[rows])
                if path.bias is not None and b is not None:
                    path.bias.copy_(b[rows])
        return oct_


def oct_split(x: Tensor, channels: tuple[int, int]) -> OctLike:
    """Split a vanilla map into ``(high, low)``: the first channels stay high, the rest are average-pooled."""
    h, l = channels
    if l == 0:
        return x
    return (x[:, :h] if h else None), F.avg_pool2d(x[:, h:], 2)


def oct_merge(x: OctLike) -> Tensor:
    """Back to one full-resolution map: upsample the low part 2× (nearest) and concatenate after the high."""
    h, l = _parts(x)
    if l is None:
        assert h is not None
        return h
    up = F.interpolate(l, scale_factor=2.0, mode="nearest")
    return up if h is None else torch.cat([h, up], 1)


def _binary(op: Any, a: Any, b: Any) -> Any:
    a_pair = isinstance(a, tuple)
    b_pair = isinstance(b, tuple)
    if not a_pair and not b_pair:
        return op(a, b)
    if a_pair and b_pair:
        return tuple(None if (x is None and y is None) else op(x, y) for x, y in zip(a, b))
    pair, other = (a, b) if a_pair else (b, a)
    total = sum(p.shape[1] for p in pair if p is not None)
    per_channel = isinstance(other, Tensor) and other.dim() == 4 and other.shape[0] == 1
    if per_channel and other.shape[1] == total > 1 and other.shape[2:] == (1, 1):
        # a per-channel parameter (layer scale): each part takes its channels
        hc = pair[0].shape[1] if pair[0] is not None else 0
        split = (other[:, :hc], other[:, hc:])
        return tuple(None if p is None else (op(p, o) if a_pair else op(o, p)) for p, o in zip(pair, split))
    if isinstance(other, Tensor) and other.dim() > 0 and other.numel() > 1:
        raise ValueError("octave op: a split map meets a vanilla tensor that is not a scalar")
    return tuple(None if p is None else (op(p, other) if a_pair else op(other, p)) for p in pair)


def oct_add(a: Any, b: Any) -> Any:
    """``a + b`` per frequency (both split alike, or one of them a scalar)."""
    return _binary(torch.add, a, b)


def oct_mul(a: Any, b: Any) -> Any:
    """``a * b`` per frequency; a per-channel gate ``(N, C, 1, 1)`` split alike broadcasts over each part."""
    return _binary(torch.mul, a, b)


def oct_sub(a: Any, b: Any) -> Any:
    """``a - b`` per frequency (both split alike, or one of them a scalar)."""
    return _binary(torch.sub, a, b)


def oct_div(a: Any, b: Any) -> Any:
    """``a / b`` per frequency (both split alike, or one of them a scalar)."""
    return _binary(torch.div, a, b)


def oct_cat(tensors: Sequence[OctLike], dim: int = 1) -> OctLike:
    """Channel concatenation: high parts together, low parts together (a vanilla input joins the high part)."""
    if dim not in (1, -3):
        raise ValueError(f"dim: got {dim}; octave maps concatenate along channels only (dim=1)")
    highs = [h for h, _ in map(_parts, tensors) if h is not None]
    lows = [l for _, l in map(_parts, tensors) if l is not None]
    high = torch.cat(highs, 1) if highs else None
    if not lows:
        assert high is not None
        return high
    return high, torch.cat(lows, 1)


class PerFrequency(nn.Module):
    """Apply one stateless module (activation, pooling, dropout, upsampling…) to each part of a map."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: OctLike) -> OctLike:
        if isinstance(x, Tensor):
            return self.module(x)
        h, l = x
        return (None if h is None else self.module(h)), (None if l is None else self.module(l))


class FreqBatchNorm2d(nn.Module):
    """Batch norm per frequency: ``high`` over the first channels, ``low`` over the rest."""

    def __init__(self, high: nn.Module | None, low: nn.Module | None) -> None:
        super().__init__()
        self.high = high
        self.low = low

    @classmethod
    def from_bn(cls, bn: nn.BatchNorm2d, channels: tuple[int, int]) -> FreqBatchNorm2d:
        h, l = channels

        def part(sl: slice, c: int) -> nn.BatchNorm2d | None:
            if c == 0:
                return None
            new = nn.BatchNorm2d(
                c,
                bn.eps,
                bn.momentum,
                bn.affine,
                bn.track_running_stats,
                device=next((t.device for t in (bn.weight, bn.running_mean) if t is not None), None),
            )
            with torch.no_grad():
                if bn.affine:
                    new.weight.copy_(bn.weight[sl])
                    new.bias.copy_(bn.bias[sl])
                if bn.track_running_stats and bn.running_mean is not None:
                    new.running_mean.copy_(bn.running_mean[sl])  # type: ignore[index]
                    new.running_var.copy_(bn.running_var[sl])  # type: ignore[index]
                    new.num_batches_tracked.copy_(bn.num_batches_tracked)  # type: ignore[arg-type]
            new.train(bn.training)
            return new

        return cls(part(slice(0, h), h), part(slice(h, None), l))

    def forward(self, x: OctLike) -> OctLike:
        h, l = _parts(x)
        return (None if h is None else self.high(h)), (None if l is None else self.low(l))  # type: ignore[misc]


class FreqPReLU(nn.Module):
    """A PReLU with one slope per channel, split like its map: the high part takes the first channels' slopes, the
    low part the rest (a PReLU with one shared slope runs per frequency as it is)."""

    def __init__(self, high: nn.PReLU | None, low: nn.PReLU | None) -> None:
        super().__init__()
        self.high = high
        self.low = low

    @classmethod
    def from_prelu(cls, act: nn.PReLU, channels: tuple[int, int]) -> FreqPReLU:
        w = act.weight.detach()

        def part(sl: slice, c: int) -> nn.PReLU | None:
            if c == 0:
                return None
            p = nn.PReLU(c, device=w.device, dtype=w.dtype)
            with torch.no_grad():
                p.weight.copy_(w[sl])
            return p

        high, low = channels
        return cls(part(slice(0, high), high), part(slice(high, high + low), low))

    def forward(self, x: OctLike) -> OctLike:
        if isinstance(x, Tensor):
            raise ValueError("FreqPReLU: expected a (high, low) pair")
        h, l = x
        return (None if h is None else self.high(h), None if l is None else self.low(l))  # type: ignore[misc]
