"""A faster octave convolution: the same layer as :class:`octprof.nn.OctConv2d`, computed with fewer kernels.

:class:`FastOctConv2d` keeps the reference layer's parameters and per-path children (``h2h``, ``h2l``, ``l2h``,
``l2l``), so state dicts, parameter counts and module names are unchanged; only ``forward`` differs.  Every
rewrite is exact in arithmetic (results agree with the reference to float rounding):

- **L→H and L→L share one convolution** (stride 1, no groups): both read the low map at the same stride, so
  their weights are stacked along output channels, the low map is convolved once and the result is split;
- **stride 2 by pooling** (the paper's rule): once the high map is pooled, H→H and L→H read maps of the same
  size and are summed, so they are one convolution of the concatenated input with their weights side by side;
  H→L and L→L read the pooled concatenation the same way:
  ``c = cat(pool(x_h), x_l)``, ``y_h = conv(c, [W_hh | W_lh])``, ``y_l = conv(pool(c), [W_hl | W_ll])``;
- **grouped convolutions** (ResNeXt) at stride 2: the concatenation is made group by group (:func:`interleave`),
  so each group of the fused convolution holds its group of both inputs.  Grouped convolutions with few channels
  per group are bound by memory traffic rather than arithmetic, so two wider ones beat four narrow ones plus the
  glue.  At stride 1 the group-wise copy (chunks of a few channels) costs more than the convolution it saves,
  so grouped layers keep their four paths there (with the folded upsample-and-add);
- **upsample-and-add folded**: the L→H output is added into the H→H output through a broadcast view, so the
  upsampled map is never materialised (channels-last: each low pixel is duplicated along channels once and added
  to both rows of its 2×2 block);
- **pooling** by ``avg_pool2d`` on channels-last maps and by four strided adds on NCHW CPU maps (PyTorch's NCHW
  CPU pooling kernel is several times slower); both sum the four taps in the same order and scale by ¼.

Stacked weights are cached while no gradient is recorded and rebuilt whenever a parameter changes (its version
counter or its storage: the cache keeps the storages it was built from alive, so an address cannot be reused
under it), so the cache cannot go stale; with gradients on they are concatenated on every call so that
each path's weight receives its own gradient.  Paths that are not fused run through their child modules, so
module hooks still see them.  Layers with no rewrite here (depthwise convolutions, whose two paths never meet,
``stride_rule="conv"`` at stride 2, path ablations (``paths``), ceil-mode pooling (``odd_size="ceil"``) and
strides that differ per axis) run the reference forward, so every option of the reference layer is supported,
at its speed.

For per-path counting (fvcore, FlopCounterMode per module) use the reference class: a fused kernel computes
two paths at once and is attributed to the parent layer.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from octprof.core.layer import PATHS
from octprof.nn import OctConv2d, OctLike

__all__ = ["FastOctConv2d", "add_upsampled", "avg_pool2x2", "interleave", "is_channels_last"]


def is_channels_last(x: Tensor) -> bool:
    """A 4-D tensor laid out channels-last (and not also plain contiguous, as 1-channel maps are)."""
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def _recording(*tensors: Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def avg_pool2x2(x: Tensor) -> Tensor:
    """2×2 average pooling with stride 2 over a map of even size: equal to ``F.avg_pool2d(x, 2)``."""
    if x.device.type != "cpu" or is_channels_last(x) or x.dtype not in (torch.float32, torch.float64):
        return F.avg_pool2d(x, 2)
    if _recording(x):
        return (x[..., 0::2, 0::2] + x[..., 0::2, 1::2] + x[..., 1::2, 0::2] + x[..., 1::2, 1::2]) * 0.25
    out = x[..., 0::2, 0::2] + x[..., 0::2, 1::2]
    out.add_(x[..., 1::2, 0::2]).add_(x[..., 1::2, 1::2])
    return out.mul_(0.25)


def add_upsampled(y: Tensor, z: Tensor) -> Tensor:
    """``y + interpolate(z, scale_factor=2, mode="nearest")`` without materialising the upsampled map.

    ``y`` must be a fresh tensor the caller owns: without gradient recording it is updated in place."""
    n, c, h, w = z.shape
    # out of place when recording gradients, and when exporting to ONNX (the exporter loses in-place updates made
    # through a view of the returned tensor)
    grad = _recording(y, z) or torch.onnx.is_in_onnx_export()
    if y.device.type == "cpu" and is_channels_last(y):
        yv = y.permute(0, 2, 3, 1).view(n, h, 2, w, 2 * c)  # pixel rows in pairs, column pairs side by side
        zv = z.permute(0, 2, 3, 1)
        zz = torch.cat([zv, zv], -1).unsqueeze(2)  # each low pixel twice along channels: (n, h, 1, w, 2c)
        if grad:
            return (yv + zz).view(n, 2 * h, 2 * w, c).permute(0, 3, 1, 2)
        yv.add_(zz)
        return y
    y6 = y.unflatten(2, (h, 2)).unflatten(4, (w, 2))
    z6 = z[:, :, :, None, :, None]
    if grad:
        return (y6 + z6).flatten(4, 5).flatten(2, 3)
    y6.add_(z6)
    return y


class FastOctConv2d(OctConv2d):
    """:class:`~octprof.nn.OctConv2d` with fused kernels (see the module docstring): same constructor, same
    parameters and children, same outputs to float rounding.  Build it like the reference or by
    :meth:`~octprof.nn.OctConv2d.from_conv`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fuse = not self.spec.depthwise
        # An ablated layer (``paths``), one with ceil-mode pooling (``odd_size="ceil"``) or a stride that differs
        # per axis runs the reference forward: the fused kernels assume every path of the split, maps of even
        # size and 2x2 pooling.
        self._fast = self.paths == PATHS and self.odd_size == "vanilla" and isinstance(self.stride, int)
        self._stack_cache: dict[str, tuple[tuple[Any, ...], Tensor, Tensor | None, tuple[Tensor, ...]]] = {}

    def _stacked(self, key: str, names: tuple[str, str], dim: int) -> tuple[Tensor, Tensor | None]:
        """The weights of two paths concatenated along ``dim`` (0: output channels, 1: input channels) and
        their bias (zeros for a path without one; None when neither has one)."""
        # Children and parameters are read from the module dicts directly: nn.Module.__getattr__ costs a
        # microsecond a call, which adds up over the layers of a network at batch 1.
        convs = [self._modules[n] for n in names]
        params = [p for c in convs for p in c._parameters.values() if p is not None]
        cache = not torch.compiler.is_compiling() and not _recording(*params)
        stamp: tuple[Any, ...] = ()
        if cache:
            stamp = tuple((p.data_ptr(), p._version) for p in params)
            hit = self._stack_cache.get(key)
            if hit is not None and hit[0] == stamp:
                return hit[1], hit[2]
        weight = torch.cat([c.weight for c in convs], dim)
        bias: Tensor | None = None
        biases = [c.bias for c in convs]
        if any(b is not None for b in biases):
            if dim == 0:
                bias = torch.cat(
                    [b if b is not None else c.weight.new_zeros(c.out_channels) for b, c in zip(biases, convs)]
                )
            else:  # the two paths meet at one output, and only one of them carries its bias
                bias = next(b for b in biases if b is not None)
        if cache:
            # The entry keeps the parameters' storages alive, so that no other tensor can take their addresses
            # while it exists: (address, version) then names one state of one storage.
            self._stack_cache[key] = (stamp, weight, bias, tuple(p.detach() for p in params))
        return weight, bias

    def _conv(self, x: Tensor, weight: Tensor, bias: Tensor | None, like: Any) -> Tensor:
        return F.conv2d(x, weight, bias, 1, like.padding, like.dilation, like.groups)

    def _finish(self, yh: Tensor | None, yl: Tensor | None) -> OctLike:
        if self.out_split[1] == 0:
            assert yh is not None
            return yh
        return yh, yl

    def forward(self, x: OctLike) -> OctLike:
        if not self._fast:
            return super().forward(x)
        xh, xl = self._inputs(x)
        if self.pool_mode:
            if self._fuse and xh is not None and xl is not None:
                return self._forward_pooled(xh, xl)
            return super().forward(x)
        if self.stride != 1:
            return super().forward(x)
        return self._forward_stride1(xh, xl)

    def _forward_stride1(self, xh: Tensor | None, xl: Tensor | None) -> OctLike:
        m = self._modules
        h2h, h2l, l2h, l2l = m.get("h2h"), m.get("h2l"), m.get("l2h"), m.get("l2l")
        zh: Tensor | None = None
        zl: Tensor | None = None
        if l2h is not None and l2l is not None and self._fuse and self.groups == 1:
            # L→H and L→L read the same map: one convolution with their weights stacked along output channels
            weight, bias = self._stacked("low", ("l2h", "l2l"), 0)
            z = self._conv(xl, weight, bias, l2h)  # type: ignore[arg-type]
            zh, zl = z[:, : l2h.out_channels], z[:, l2h.out_channels :]
        else:
            zh = None if l2h is None else l2h(xl)
            zl = None if l2l is None else l2l(xl)
        yh: Tensor | None = None
        if h2h is not None:
            yh = h2h(xh)
            if zh is not None:
                yh = add_upsampled(yh, zh)
        elif zh is not None:
            yh = F.interpolate(zh, scale_factor=2.0, mode="nearest")
        yl: Tensor | None = None
        if h2l is not None:
            yl = h2l(avg_pool2x2(xh) if self.stride_rule == "pool" else xh)  # type: ignore[arg-type]
            if zl is not None:
                yl = yl + zl if _recording(yl, zl) else yl.add_(zl)
        elif zl is not None:
            yl = zl if l2h is None or self.groups != 1 else zl.clone(memory_format=torch.preserve_format)
        return self._finish(yh, yl)

    def _forward_pooled(self, xh: Tensor, xl: Tensor) -> OctLike:
        """Stride 2 by pooling, both input parts present: two convolutions of one (group-wise) concatenation."""
        # With both input parts present, H→H exists exactly when L→H does (both need high output channels, and
        # depthwise layers do not come here), and H→L exactly when L→L does.
        c = interleave(avg_pool2x2(xh), xl, self.groups)
        m = self._modules
        yh: Tensor | None = None
        yl: Tensor | None = None
        if m.get("h2h") is not None:
            weight, bias = self._stacked("high", ("h2h", "l2h"), 1)
            yh = self._conv(c, weight, bias, m["h2h"])
        if m.get("h2l") is not None:
            weight, bias = self._stacked("low", ("h2l", "l2l"), 1)
            yl = self._conv(avg_pool2x2(c), weight, bias, m["h2l"])
        return self._finish(yh, yl)


def interleave(a: Tensor, b: Tensor, groups: int = 1) -> Tensor:
    """Concatenate two maps of the same size along channels group by group: group ``j`` of the result is group
    ``j`` of ``a`` followed by group ``j`` of ``b`` (``torch.cat([a, b], 1)`` when ``groups == 1``), in ``a``'s
    memory format.  A grouped convolution of the result with weights ``cat([W_a, W_b], 1)`` is the sum of the
    grouped convolutions of ``a`` with ``W_a`` and of ``b`` with ``W_b``."""
    if groups == 1:
        return torch.cat([a, b], 1)
    n, ca, h, w = a.shape
    cb = b.shape[1]
    fmt = torch.channels_last if is_channels_last(a) else torch.contiguous_format
    out = torch.empty((n, ca + cb, h, w), dtype=a.dtype, device=a.device, memory_format=fmt)
    o5 = out.unflatten(1, (groups, (ca + cb) // groups))
    o5[:, :, : ca // groups] = a.unflatten(1, (groups, ca // groups))
    o5[:, :, ca // groups :] = b.unflatten(1, (groups, cb // groups))
    return out
