"""Rules of layers with weights: convolutions (1-D, 2-D, 3-D; the octave-layer protocol), linear layers, batch norm."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from octprof.core.errors import OctprofError, bad
from octprof.core.graph import OpNode, Shape, numel
from octprof.core.layer import OctConvSpec, conv_output_size
from octprof.core.rules.base import (
    NN,
    Call,
    OctaveLayer,
    Rule,
    Saved,
    TensorSplit,
    cost_row,
    explicit_padding,
    memo,
    ntuple,
    rule,
)


@rule
class Conv(OctaveLayer):
    """``nn.Conv2d`` (and, through :class:`Conv1d` / :class:`Conv3d`, its 1-D and 3-D kin): an octave layer of
    ``dims`` spatial axes.  The functional forms stay vanilla (no module to replace)."""

    kind = "conv2d"
    modules = (f"{NN}.conv.Conv2d",)
    functions = ("torch.nn.functional.conv2d", "torch.conv2d")
    dims: ClassVar[int] = 2

    def module_attrs(self, m: Any) -> dict[str, Any]:
        n = self.dims
        return {
            "kernel_size": ntuple(m.kernel_size, n),
            "stride": ntuple(m.stride, n),
            "padding": explicit_padding(m.padding, m.kernel_size, m.dilation, n),
            "dilation": ntuple(m.dilation, n),
            "groups": m.groups,
            "bias": m.bias is not None,
            "out_channels": m.out_channels,
            "padding_mode": m.padding_mode,
        }

    def call_attrs(self, call: Call) -> dict[str, Any]:
        n = self.dims
        w = call.shape(1, "weight")
        pad = call.arg(4, "padding", 0)
        return {
            "kernel_size": tuple(w[2:]) if w else (1,) * n,
            "stride": ntuple(call.arg(3, "stride", 1), n),
            "padding": pad if isinstance(pad, str) else ntuple(pad, n),
            "dilation": ntuple(call.arg(5, "dilation", 1), n),
            "groups": int(call.arg(6, "groups", 1)),
            "bias": call.arg(2, "bias", None) is not None,
            "out_channels": w[0] if w else 0,
            "functional": True,
        }

    def _stride_ok(self, stride: Sequence[int]) -> bool:
        # 2-D: one stride for both axes; 3-D: each axis its own (time and space differ in R(2+1)D), 1 or 2
        if self.dims == 2 and stride[0] != stride[1]:
            return False
        return all(s in (1, 2) for s in stride)

    def octave_ok(self, node: OpNode) -> bool:
        """Whether this convolution can become an octave layer (else its maps stay vanilla)."""
        a = node.attrs
        stride, pad = a.get("stride", (1,) * self.dims), a.get("padding", (0,) * self.dims)
        return (
            len(node.in_shapes) >= 1
            and len(node.in_shapes[0]) == self.dims + 2
            and self._stride_ok(stride)
            and not isinstance(pad, str)
            and a.get("padding_mode", "zeros") == "zeros"
            and not a.get("functional", False)
        )

    def why_not_octave(self, node: OpNode) -> tuple[str, str]:
        """The first reason :meth:`octave_ok` fails: ``(category, words)``."""
        a = node.attrs
        stride, pad = a.get("stride", (1,) * self.dims), a.get("padding", (0,) * self.dims)
        if a.get("functional", False):
            return "geometry", f"a functional {self.kind} (no module to replace)"
        if a.get("padding_mode", "zeros") != "zeros":
            return "padding mode", f"padding_mode {a['padding_mode']!r} (octave paths pad with zeros)"
        if isinstance(pad, str):
            return "geometry", f"padding {pad!r} with an even kernel (asymmetric)"
        if not self._stride_ok(stride):
            both = ", equal on both axes" if self.dims == 2 else " on each axis"
            return "geometry", f"stride {tuple(stride)} (octave layers take 1 or 2{both})"
        return "geometry", f"input is not a {self.dims + 2}-d map"

    def _layer_args(self, node: OpNode, options: Any, dtype_bytes: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The spec's arguments that no split changes: ``(positional, keywords)`` for :meth:`OctConvSpec.nd`."""
        a = node.attrs
        n, cin, *size = node.in_shapes[0]
        stride = tuple(a["stride"])
        kw: dict[str, Any] = {}
        if self.dims == 3:
            kw["temporal"] = bool(getattr(options, "temporal", False))
        kw.update(
            stride=stride[0] if len(set(stride)) == 1 else stride,
            padding=a["padding"],
            dilation=a["dilation"],
            groups=a["groups"],
            bias=a["bias"],
            batch=n,
            dtype_bytes=dtype_bytes,
            stride_rule=options.stride_rule,
            odd_size=options.odd_size,
        )
        return (cin, a["out_channels"], a["kernel_size"], tuple(size)), kw

    def spec(
        self,
        node: OpNode,
        ins: TensorSplit,
        out: TensorSplit,
        options: Any,
        dtype_bytes: int,
        layers: dict[Any, Any] | None = None,
    ) -> OctConvSpec:
        self._check_fits(node, options)
        a = node.attrs
        cin = node.in_shapes[0][1]
        split: dict[str, Any] = {"alpha_in": ins.alpha, "alpha_out": out.alpha}
        paths_for = getattr(options, "paths_for", None)
        if paths_for is not None:
            split["paths"] = paths_for(node.module, cin, a["out_channels"], a["groups"], ins.low, out.low)
        if layers is None:
            args, kw = self._layer_args(node, options, dtype_bytes)
            return OctConvSpec.nd(*args, **kw, **split)
        # planning: the arguments the node alone gives are found, spelled and checked (as the spec at alpha 0) once per
        # graph, in ``layers``; the spec at this split checks only what the split changes (OctConvSpec.split_at)
        temporal = bool(getattr(options, "temporal", False))
        where = (node.name, options.stride_rule, options.odd_size, temporal, dtype_bytes)
        found = layers.get(where)
        if found is None:
            args, kw = self._layer_args(node, options, dtype_bytes)
            try:
                base: OctConvSpec | None = OctConvSpec.nd(*args, **kw)
            except OctprofError:  # the split spec then gives the constructor's own error, or none
                base = None
            # the spelling is exact (types included: 1, 1.0 and True are different arguments to the checks)
            found = layers[where] = (repr((args, kw)), args, kw, base)
        text, args, kw, base = found
        # within one plan() call, identical layers (repeated blocks) share one spec, built once: a spec is a pure
        # function of its arguments (α from a split are floats, paths tuples of names)
        built = memo("octave spec")
        key = (text, split["alpha_in"], split["alpha_out"], split.get("paths"))
        spec = built.get(key) if built is not None else None
        if spec is None:
            spec = base.split_at(**split) if base is not None else OctConvSpec.nd(*args, **kw, **split)
            if built is not None:
                built[key] = spec
        return spec

    @staticmethod
    def _check_fits(node: OpNode, options: Any) -> None:
        """A strided octave layer that pools first (the paper's rule) must give the vanilla conv's output size; a
        conv without enough padding gives one pixel less (e.g. 3×3, no padding: 38 → 18, but 19 → 17 after pooling).
        Each axis of stride 2 is pooled, then convolved with stride 1."""
        a = node.attrs
        stride = tuple(a["stride"])
        if 2 not in stride or options.stride_rule != "pool":
            return
        half = (lambda x: -(-x // 2)) if options.odd_size == "ceil" else (lambda x: x // 2)
        axes = zip(node.in_shapes[0][2:], stride, a["kernel_size"], a["padding"], a["dilation"])
        got = tuple(conv_output_size(half(x) if s == 2 else x, k, p, d, 1) for x, s, k, p, d in axes)
        want = tuple(node.out_shape[2:])  # type: ignore[index]
        if got != want:
            raise bad(
                "stride_rule",
                "pool",
                f"pooling then a stride-1 conv gives {'x'.join(map(str, got))} where the conv gives "
                f"{'x'.join(map(str, want))}",
            )

    def gemm(self, node: OpNode) -> dict[str, int]:
        a = node.attrs
        cin, cout = node.in_shapes[0][1], a["out_channels"]
        k = math.prod(a["kernel_size"])
        weights = cout * (cin // a["groups"]) * k
        groups = a["groups"]
        n, _, *out_sp = node.out_shape  # type: ignore[misc]
        dw = groups > 1 and groups == cin == cout
        return {
            "macs": numel(node.out_shape) // cout * weights,
            "weights": weights,
            "m": cout // groups,
            "k": (cin // groups) * k,
            "n": n * math.prod(out_sp),
            "kind": "dwconv" if dw else ("gconv" if groups > 1 else "conv"),
            "cout": cout,
        }

    def vanilla_cost(self, node: OpNode) -> dict:
        a = node.attrs
        g = self.gemm(node)
        out = numel(node.out_shape)
        stride = a["stride"]
        st = stride[0] if len(set(stride)) == 1 else "x".join(map(str, stride))
        return cost_row(
            node,
            "conv",
            node.in_shapes[0],
            node.out_shape,
            macs=g["macs"],
            paper_flops=g["macs"] + (out if a["bias"] else 0),
            fvcore_flops=g["macs"],
            params=g["weights"] + (g["cout"] if a["bias"] else 0),
            note=f"{'x'.join(map(str, a['kernel_size']))} conv, stride {st}"
            + (f", groups {a['groups']}" if a["groups"] > 1 else ""),
        )

    def depthwise(self, node: OpNode) -> bool:
        a = node.attrs
        cin = node.in_shapes[0][1]
        return a["groups"] > 1 and a["groups"] == cin == a["out_channels"]

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        a = node.attrs
        if a.get("padding_mode", "zeros") == "zeros" or not node.in_shapes:
            return Saved()
        # reflect / replicate / circular: the padding keeps the input (its backward reads it), the conv the padded copy
        n, c, *sp = node.in_shapes[0]
        pad = a["padding"] if not isinstance(a["padding"], str) else (0,) * len(sp)
        return Saved(copy_elems=n * c * math.prod(d + 2 * p for d, p in zip(sp, pad)))


@rule
class Conv1d(Conv):
    kind = "conv1d"
    modules = (f"{NN}.conv.Conv1d",)
    functions = ("torch.nn.functional.conv1d", "torch.conv1d")
    dims = 1


@rule
class Conv3d(Conv):
    kind = "conv3d"
    modules = (f"{NN}.conv.Conv3d",)
    functions = ("torch.nn.functional.conv3d", "torch.conv3d")
    dims = 3


@rule
class Linear(Rule):
    kind = "linear"
    modules = (f"{NN}.linear.Linear",)
    functions = ("torch.nn.functional.linear",)
    flow = "vanilla"
    convert = "keep"

    def module_attrs(self, m: Any) -> dict[str, Any]:
        return {"in_features": m.in_features, "out_features": m.out_features, "bias": m.bias is not None}

    def call_attrs(self, call: Call) -> dict[str, Any]:
        w = call.shape(1, "weight") or (0, 0)
        return {"in_features": w[1], "out_features": w[0], "bias": call.arg(2, "bias", None) is not None}

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        a = node.attrs
        rows_in = numel(node.in_shapes[0][:-1])
        macs = rows_in * a["in_features"] * a["out_features"]
        o = numel(node.out_shape)
        return [
            cost_row(
                node,
                "",
                node.in_shapes[0],
                node.out_shape,
                macs=macs,
                paper_flops=macs + (o if a["bias"] else 0),
                fvcore_flops=macs,
                params=a["in_features"] * a["out_features"] + (a["out_features"] if a["bias"] else 0),
            )
        ]

    def kernel(self, node: OpNode) -> str:
        return "gemm"

    def gemm(self, node: OpNode) -> dict[str, Any]:
        a = node.attrs
        rows = numel(node.in_shapes[0][:-1])
        return {
            "macs": rows * a["in_features"] * a["out_features"],
            "weights": a["in_features"] * a["out_features"],
            "m": a["out_features"],
            "k": a["in_features"],
            "n": rows,
            "kind": "conv",
        }


@rule
class BatchNorm(Rule):
    kind = "batch_norm"
    # timm's BatchNormAct2d: a batch norm, then its ``drop`` and ``act`` modules (each part runs them after its norm)
    modules = (*(f"{NN}.batchnorm.BatchNorm{d}d" for d in (1, 2, 3)), "timm.layers.norm_act.BatchNormAct2d")
    convert = "batch_norm"
    splits_module = True

    def module_attrs(self, m: Any) -> dict[str, Any]:
        act = getattr(m, "act", None)
        return {"affine": bool(getattr(m, "affine", True)), "act": type(act).__name__ not in ("NoneType", "Identity")}

    def part_counts(self, node: OpNode, shape: Shape) -> dict[str, Any]:
        affine = node.attrs.get("affine", True)  # fvcore, eval mode: 2 per element with affine, else 1
        return {
            "fvcore_flops": numel(shape) * (2 if affine else 1),
            "params": 2 * shape[1] if affine else 0,
            # the activation inside, counted as the activation rule counts one: one per output in the paper's
            "paper_flops": numel(shape) if node.attrs.get("act") else 0,
        }

    def saved_caveat(self, node: OpNode) -> str | None:
        return "activation inside the batch norm" if node.attrs.get("act") else None

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return Saved(stat_elems=2 * shape[1])  # the input, the batch mean and inverse std per channel
