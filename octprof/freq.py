"""Per-frequency helpers and modules: a split feature map, a pair ``(high, low)``, is split from and merged back
to one map, added, multiplied, concatenated, normalised and activated part by part.

``high`` is at full resolution, ``low`` an octave lower (half the height and width; for 1-D maps half the length,
for 3-D maps half the height and width, and half the frames with ``temporal=True``).  A part with no channels is
``None``.  A vanilla map is a plain tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from octprof.core.graph import per_channel_shape

OctPair = tuple[Tensor | None, Tensor | None]
OctLike = Tensor | OctPair


def oct_parts(x: OctLike) -> OctPair:
    """``(high, low)`` of a map: a plain tensor is ``(x, None)``; a part with no channels is None."""
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


# average pooling by the number of spatial axes
AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _octave_factors(x: Tensor, temporal: bool) -> tuple[int, ...]:
    """The octave factor per spatial axis of ``x``: 2 everywhere, but 1 on a 3-D map's time axis unless
    ``temporal``."""
    nd = x.dim() - 2
    return (1, 2, 2) if nd == 3 and not temporal else (2,) * nd


def oct_split(x: Tensor, channels: tuple[int, int], *, temporal: bool = False, odd_size: str = "vanilla") -> OctLike:
    """Split a vanilla map into ``(high, low)``: the first channels stay high, the rest are average-pooled an
    octave lower (1-D, 2-D or 3-D maps; time too for 3-D with ``temporal``; ceil mode with ``odd_size="ceil"``)."""
    h, l = channels
    if l == 0:
        return x
    if x.dim() == 4 and odd_size == "vanilla":
        low = F.avg_pool2d(x[:, h:], 2)
    else:
        f = _octave_factors(x, temporal)
        low = AVG_POOL[x.dim() - 2](x[:, h:], f, f, ceil_mode=odd_size == "ceil")
    return (x[:, :h] if h else None), low


def oct_merge(x: OctLike, *, temporal: bool = False, size: Sequence[int] | None = None) -> Tensor:
    """Back to one full-resolution map: upsample the low part an octave (nearest) and concatenate after the
    high.  ``size``: the full map's spatial size (for odd sizes; default: the high part's, else 2× the low's)."""
    h, l = oct_parts(x)
    if l is None:
        assert h is not None
        return h
    if size is None and h is not None and l.dim() != 4:
        size = h.shape[2:]
    if size is not None:
        up = F.interpolate(l, size=tuple(size), mode="nearest")
    elif l.dim() == 4:
        up = F.interpolate(l, scale_factor=2.0, mode="nearest")
    else:
        up = F.interpolate(l, scale_factor=tuple(float(f) for f in _octave_factors(l, temporal)), mode="nearest")
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
    ref = next((p for p in pair if p is not None), None)
    # broadcast as torch does: a tensor of fewer axes (MetaFormer's ``(C, 1, 1)`` scale) gains leading ones
    shape = (
        per_channel_shape(other.shape, ref.dim(), total)
        if isinstance(other, Tensor) and ref is not None and total > 1
        else None
    )
    if shape is not None:
        # a per-channel parameter (layer scale): each part takes its channels
        other = other.reshape(shape)
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
    pairs = [oct_parts(t) for t in tensors]
    parts = [p for pair in pairs for p in pair if p is not None]
    if parts and dim != 1 and dim != 1 - parts[0].dim():
        raise ValueError(f"dim: got {dim}; octave maps concatenate along channels only (dim=1)")
    highs = [h for h, _ in pairs if h is not None]
    lows = [l for _, l in pairs if l is not None]
    high = torch.cat(highs, 1) if highs else None
    if not lows:
        assert high is not None
        return high
    return high, torch.cat(lows, 1)


def load_slice(dst: Tensor, src: Tensor) -> None:
    """Copy ``src`` (a slice of a vanilla layer's tensor) into ``dst``, which must have exactly its shape (``copy_``
    alone would broadcast a wrong slice).  On the meta device there are no values: only the shapes are checked."""
    if dst.shape != src.shape:
        raise RuntimeError(f"a slice of shape {tuple(src.shape)} does not fit a tensor of shape {tuple(dst.shape)}")
    if not dst.is_meta:
        dst.copy_(src)


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
    """Batch norm per frequency: ``high`` over the first channels, ``low`` over the rest.  ``from_bn`` keeps the
    kind of the norm it splits (``BatchNorm1d`` / ``2d`` / ``3d``), so it serves 1-D and 3-D maps too."""

    def __init__(self, high: nn.Module | None, low: nn.Module | None, post: nn.Module | None = None) -> None:
        super().__init__()
        self.high = high
        self.low = low
        self.post = post  # what runs on each part after its norm (timm's BatchNormAct2d: its drop, then its act)

    @classmethod
    def from_bn(cls, bn: nn.BatchNorm2d, channels: tuple[int, int]) -> FreqBatchNorm2d:
        h, l = channels
        after = [m for m in (getattr(bn, "drop", None), getattr(bn, "act", None)) if isinstance(m, nn.Module)]
        post = nn.Sequential(*after) if any(not isinstance(m, nn.Identity) for m in after) else None

        kind = type(bn) if type(bn) in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d) else nn.BatchNorm2d

        def part(sl: slice, c: int) -> nn.Module | None:
            if c == 0:
                return None
            new = kind(
                c,
                bn.eps,
                bn.momentum,
                bn.affine,
                bn.track_running_stats,
                device=next((t.device for t in (bn.weight, bn.running_mean) if t is not None), None),
            )
            with torch.no_grad():
                if bn.affine:
                    load_slice(new.weight, bn.weight[sl])
                    load_slice(new.bias, bn.bias[sl])
                if bn.track_running_stats and bn.running_mean is not None:
                    load_slice(new.running_mean, bn.running_mean[sl])  # type: ignore[index]
                    load_slice(new.running_var, bn.running_var[sl])  # type: ignore[index]
                    load_slice(new.num_batches_tracked, bn.num_batches_tracked)  # type: ignore[arg-type]
            new.train(bn.training)
            return new

        return cls(part(slice(0, h), h), part(slice(h, None), l), post)

    def forward(self, x: OctLike) -> OctLike:
        h, l = oct_parts(x)
        h = None if h is None else self.high(h)  # type: ignore[misc]
        l = None if l is None else self.low(l)  # type: ignore[misc]
        if self.post is not None:
            h, l = (None if h is None else self.post(h)), (None if l is None else self.post(l))
        return h, l


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
                load_slice(p.weight, w[sl])
            return p

        high, low = channels
        return cls(part(slice(0, high), high), part(slice(high, high + low), low))

    def forward(self, x: OctLike) -> OctLike:
        if isinstance(x, Tensor):
            raise ValueError("FreqPReLU: expected a (high, low) pair")
        h, l = x
        return (None if h is None else self.high(h), None if l is None else self.low(l))  # type: ignore[misc]
