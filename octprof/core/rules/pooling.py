"""Rules of pooling and upsampling (1-D, 2-D, 3-D), global pooling included."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from octprof.core.graph import OpNode, Shape, numel
from octprof.core.rules.base import (
    NN,
    NOTHING_SAVED,
    Call,
    Rule,
    Saved,
    TensorSplit,
    cost_row,
    ntuple,
    rule,
)


class _Pool(Rule):
    dilated: ClassVar[bool] = True  # max pooling takes a dilation (argument 4); average pooling does not
    dims: ClassVar[int] = 2

    def module_attrs(self, m: Any) -> dict[str, Any]:
        n = self.dims
        k = ntuple(m.kernel_size, n)
        return {
            "kernel_size": k,
            "stride": ntuple(m.stride or k, n),
            "padding": ntuple(m.padding, n),
            "dilation": ntuple(getattr(m, "dilation", 1), n),
            "ceil_mode": bool(m.ceil_mode),
        }

    def call_attrs(self, call: Call) -> dict[str, Any]:
        n = self.dims
        k = ntuple(call.arg(1, "kernel_size", 1), n)
        stride = call.arg(2, "stride", None)
        return {
            "kernel_size": k,
            "stride": ntuple(stride, n) if stride else k,
            "padding": ntuple(call.arg(3, "padding", 0), n),
            "dilation": ntuple(call.arg(4, "dilation", 1), n) if self.dilated else (1,) * n,
            "ceil_mode": bool(call.arg(5 if self.dilated else 4, "ceil_mode", False)),
        }

    def halvable(self, node: OpNode, octave: Sequence[int] | None = None) -> bool:
        a = node.attrs
        if node.out_shape is None or len(node.out_shape) != self.dims + 2:
            return False
        ceil = a.get("ceil_mode", False)
        octave = tuple(octave) if octave is not None else (2,) * self.dims

        def size(x: int, k: int, s: int, p: int, d: int) -> int:
            num = x + 2 * p - d * (k - 1) - 1
            o = (-(-num // s) if ceil else num // s) + 1
            if ceil and (o - 1) * s >= x + p:
                o -= 1
            return o

        # the low part (each octave axis halved, rounded up) must pool to the output's low part (rounded up
        # likewise); odd sizes are split only under the "ceil" odd-size policy, else the plan keeps them vanilla
        dil = a.get("dilation", (1,) * self.dims)
        return all(
            size(-(-x // f), k, s, p, d) == -(-o // f)
            for x, o, f, k, s, p, d in zip(
                node.in_shapes[0][2:], node.out_shape[2:], octave, a["kernel_size"], a["stride"], a["padding"], dil
            )
        )

    def part_counts(self, node: OpNode, shape: Shape) -> dict[str, Any]:
        k = node.attrs["kernel_size"]
        return {"paper_flops": numel(shape) * math.prod(k), "note": f"{'x'.join(map(str, k))} pool"}


@rule
class MaxPool(_Pool):
    kind = "max_pool2d"
    modules = (f"{NN}.pooling.MaxPool2d",)
    functions = ("torch.nn.functional.max_pool2d", "torch.nn.functional._max_pool2d", "torch.max_pool2d")

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return Saved(index_elems=numel(shape))


@rule
class MaxPool1d(MaxPool):
    kind = "max_pool1d"
    modules = (f"{NN}.pooling.MaxPool1d",)
    functions = ("torch.nn.functional.max_pool1d", "torch.nn.functional._max_pool1d", "torch.max_pool1d")
    dims = 1


@rule
class MaxPool3d(MaxPool):
    kind = "max_pool3d"
    modules = (f"{NN}.pooling.MaxPool3d",)
    functions = ("torch.nn.functional.max_pool3d", "torch.nn.functional._max_pool3d", "torch.max_pool3d")
    dims = 3


@rule
class AvgPool(_Pool):
    kind = "avg_pool2d"
    modules = (f"{NN}.pooling.AvgPool2d",)
    functions = ("torch.nn.functional.avg_pool2d", "torch._C._nn.avg_pool2d")
    dilated = False


@rule
class AvgPool1d(AvgPool):
    kind = "avg_pool1d"
    modules = (f"{NN}.pooling.AvgPool1d",)
    functions = ("torch.nn.functional.avg_pool1d", "torch.avg_pool1d")
    dims = 1


@rule
class AvgPool3d(AvgPool):
    kind = "avg_pool3d"
    modules = (f"{NN}.pooling.AvgPool3d",)
    functions = ("torch.nn.functional.avg_pool3d", "torch._C._nn.avg_pool3d")
    dims = 3


@rule
class AdaptiveAvgPool(Rule):
    kind = "adaptive_avg_pool2d"
    modules = (f"{NN}.pooling.AdaptiveAvgPool2d",)
    functions = ("torch.nn.functional.adaptive_avg_pool2d", "torch._C._nn.adaptive_avg_pool2d")
    flow = "gpool"
    fvcore_per_in = 1

    def is_global(self, node: OpNode) -> bool:
        s = node.out_shape
        return s is not None and 3 <= len(s) <= 5 and all(d == 1 for d in s[2:])

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        rows = []
        out_parts = dict(out.parts()) if out else {"": node.out_shape}
        # fvcore has a handle for the 2-D op only (aten::adaptive_avg_pool2d): 1-D and 3-D count 0 there
        per = self.fvcore_per_in if len(ins[0].shape) == 4 else 0
        for part, shape in ins[0].parts():
            e = numel(shape)
            rows.append(cost_row(node, part, shape, out_parts.get(part), paper_flops=e, fvcore_flops=e * per))
        return rows

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED if all(d == 1 for d in shape[2:]) else Saved()  # a global mean needs only the size


@rule
class AdaptiveAvgPool1d(AdaptiveAvgPool):
    kind = "adaptive_avg_pool1d"
    modules = (f"{NN}.pooling.AdaptiveAvgPool1d",)
    functions = ("torch.nn.functional.adaptive_avg_pool1d", "torch.adaptive_avg_pool1d")


@rule
class AdaptiveAvgPool3d(AdaptiveAvgPool):
    kind = "adaptive_avg_pool3d"
    modules = (f"{NN}.pooling.AdaptiveAvgPool3d",)
    functions = ("torch.nn.functional.adaptive_avg_pool3d", "torch._C._nn.adaptive_avg_pool3d")


@rule
class AdaptiveMaxPool(AdaptiveAvgPool):
    kind = "adaptive_max_pool2d"
    modules = tuple(f"{NN}.pooling.AdaptiveMaxPool{d}d" for d in (1, 2, 3))
    functions = tuple(f"torch.nn.functional.{f}adaptive_max_pool{d}d" for f in ("", "_") for d in (1, 2, 3))
    fvcore_per_in = 0

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return Saved(index_elems=numel(shape))


@rule
class Upsample(Rule):
    kind = "upsample"
    modules = (f"{NN}.upsampling.Upsample", f"{NN}.upsampling.UpsamplingNearest2d")
    # 1-D and 3-D maps: nearest only (the upsampled low part then equals the low part of the upsampled map)
    functions = ("torch.nn.functional.interpolate",)
    convert = "upsample"

    def module_attrs(self, m: Any) -> dict[str, Any]:
        return {"mode": getattr(m, "mode", "nearest")}

    def call_attrs(self, call: Call) -> dict[str, Any]:
        return {"mode": call.arg(3, "mode", "nearest")}

    def halvable(self, node: OpNode, octave: Sequence[int] | None = None) -> bool:
        a = node.attrs
        out = node.out_shape
        if out is None or not 3 <= len(out) <= 5 or len(node.in_shapes[0]) != len(out):
            return False
        if a.get("mode") not in ("nearest", "bilinear" if len(out) == 4 else "nearest"):
            return False
        sp, osp = node.in_shapes[0][2:], out[2:]
        octave = tuple(octave) if octave is not None else (2,) * len(sp)
        # every axis scaled by a whole factor, halved axes even, and the octave axes scaled alike (2-D: one factor)
        scales = {o // i for i, o, f in zip(sp, osp, octave) if f == 2}
        return (
            all(o % i == 0 for i, o in zip(sp, osp))
            and all(i % 2 == 0 for i, f in zip(sp, octave) if f == 2)
            and len(scales) <= 1
        )

    def part_counts(self, node: OpNode, shape: Shape) -> dict[str, Any]:
        # fvcore's handles: aten::upsample_nearest2d (1 per output), upsample_bilinear2d (4); none for 1-D, 3-D
        per = {"nearest": 1, "bilinear": 4}.get(node.attrs.get("mode", "nearest"), 0) if len(shape) == 4 else 0
        return {"fvcore_flops": per * numel(shape)}

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED
