"""The one registry of per-op rules, shared by tracing, planning, pricing and conversion.

A rule says, for one kind of op:

- which torch callables it covers (by name, so that this module needs no torch): module classes (matched
  along the class's MRO), functions (``module.qualname``) and tensor methods;
- how the op propagates the high/low split (``flow``):
  ``same``   the output shares the split of its map inputs (per-channel and elementwise ops);
  ``conv``   a convolution: its output split comes from α (or from its users), its input split is free;
  ``cat``    a concatenation along channels: the output's parts are the sums of the inputs' parts;
  ``gpool``  global pooling: the output vector keeps the input's channel split (each frequency pooled);
  ``vanilla`` the input must be vanilla (flatten, linear, reshape, the network output);
  ``meta``   reads only metadata (``x.size()``), any split;
  ``merge``  split inputs are merged back to one full-resolution map before it (slices, crops, norms over
             channels, data movement): priced by its rule at full resolution;
  ``chunk``  split / chunk along channels: each piece of a split map is split in proportion (else merged);
  ``opaque`` no rule: merged like ``merge``; priced by what ``FlopCounterMode`` counted for it in the vanilla
             trace (matmul, einsum, attention, transposed and 1-/3-d convolutions), listed as not priced when
             that is nothing;
- how it is priced in every convention (integers), per frequency part;
- how it is converted (``convert``: the name of a strategy in ``octprof.convert``).

Adding an op is adding one rule here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from octprof.core.graph import OpNode, Shape, numel
from octprof.core.layer import OctConvSpec

# -- splits of one tensor ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorSplit:
    """How a tensor travels: ``low`` of its ``shape[1]`` channels in the low-frequency part (0: vanilla).

    A split map (N, C, H, W) is a high part (N, C − low, H, W) and a low part (N, low, H/2, W/2); a split
    vector (H = W = 1, e.g. a squeeze-excitation gate) keeps both parts at 1×1."""

    shape: Shape
    low: int = 0

    @property
    def split(self) -> bool:
        return self.low > 0

    @property
    def channels(self) -> int:
        return self.shape[1] if len(self.shape) > 1 else 0

    @property
    def high(self) -> int:
        return self.channels - self.low

    @property
    def is_vector(self) -> bool:
        return len(self.shape) == 4 and self.shape[2] == 1 and self.shape[3] == 1

    def parts(self) -> list[tuple[str, Shape]]:
        """``[(part, shape)]``: ``[("", shape)]`` when vanilla, else the non-empty of high and low."""
        if not self.split or len(self.shape) != 4:
            return [("", self.shape)]
        n, c, h, w = self.shape
        lh, lw = (h, w) if self.is_vector else (h // 2, w // 2)
        out: list[tuple[str, Shape]] = []
        if self.high:
            out.append(("high", (n, self.high, h, w)))
        out.append(("low", (n, self.low, lh, lw)))
        return out

    @property
    def elems(self) -> int:
        return sum(math.prod(s) for _, s in self.parts())

    @property
    def alpha(self) -> float:
        """An α that reproduces this split with ``int(α·C)`` (the exact fraction when it does)."""
        c = self.channels
        if not c or not self.low:
            return 0.0
        a = self.low / c
        return a if int(a * c) == self.low else (self.low + 0.5) / c


def fmt_shape(shape: Shape | None) -> str:
    return "" if shape is None else "×".join(str(d) for d in shape)


# -- cost rows ----------------------------------------------------------------------------------------------


def cost_row(node: OpNode, path: str, in_shape: Shape | None, out_shape: Shape | None, **counts: Any) -> dict:
    row = {
        "layer": node.label,
        "op": node.kind,
        "path": path,
        "in_shape": fmt_shape(in_shape),
        "out_shape": fmt_shape(out_shape),
        "macs": 0,
        "paper_flops": 0,
        "fvcore_flops": 0,
        "params": 0,
        "act_elems": numel(out_shape),
        "note": "",
    }
    row.update(counts)
    return row


# -- the registry ------------------------------------------------------------------------------------------

RULES: dict[str, Rule] = {}


class Rule:
    kind: ClassVar[str] = ""
    modules: ClassVar[tuple[str, ...]] = ()
    functions: ClassVar[tuple[str, ...]] = ()
    methods: ClassVar[tuple[str, ...]] = ()
    flow: ClassVar[str] = "same"
    convert: ClassVar[str] = "per_frequency"
    # per element of each output part, in the paper's convention and in fvcore's
    paper_per_out: ClassVar[int] = 0
    fvcore_per_out: ClassVar[int] = 0

    def unpriced(self, node: OpNode) -> bool:
        """Whether nothing prices this op (only ops with no rule can be so)."""
        return False

    def halvable(self, node: OpNode) -> bool:
        """Whether the op applied to a low part (half the size) gives half of its output: else its maps
        cannot stay split."""
        return True

    def params(self, node: OpNode, part_channels: int) -> int:
        return 0

    def part_counts(self, node: OpNode, shape: Shape) -> dict[str, Any]:
        """The counts of one frequency part of the output (``shape``); rules override this, not ``cost``."""
        e = numel(shape)
        return {
            "paper_flops": self.paper_per_out * e,
            "fvcore_flops": self.fvcore_per_out * e,
            "params": self.params(node, shape[1] if shape and len(shape) > 1 else 0),
        }

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        """Rows of this op, one per frequency part of its output (one row when vanilla)."""
        rows = []
        in_parts = dict(ins[0].parts()) if ins else {}
        for part, shape in out.parts() if out else [("", node.out_shape)]:
            in_shape = in_parts.get(part, ins[0].shape if ins else None)
            rows.append(cost_row(node, part, in_shape, shape, **self.part_counts(node, shape)))
        return rows


def rule(cls: type[Rule]) -> type[Rule]:
    """Register a rule class (one instance per kind)."""
    if cls.kind in RULES:
        raise ValueError(f"rule {cls.kind!r} registered twice")
    RULES[cls.kind] = cls()
    return cls


def _index() -> tuple[dict[str, Rule], dict[str, Rule], dict[str, Rule]]:
    mods, funcs, meths = {}, {}, {}
    for r in RULES.values():
        for m in r.modules:
            mods[m] = r
        for f in r.functions:
            funcs[f] = r
        for m in r.methods:
            meths[m] = r
    return mods, funcs, meths


def match_module(mro_names: Sequence[str]) -> Rule | None:
    """The rule for a module whose class MRO has these qualified names (most derived first)."""
    mods, _, _ = _index()
    for name in mro_names:
        if name in mods:
            return mods[name]
    return None


def match_function(qualname: str) -> Rule | None:
    return _index()[1].get(qualname)


def match_method(name: str) -> Rule | None:
    return _index()[2].get(name)


# -- rules --------------------------------------------------------------------------------------------------

NN = "torch.nn.modules"


@rule
class Conv(Rule):
    kind = "conv2d"
    modules = (f"{NN}.conv.Conv2d",)
    functions = ("torch.nn.functional.conv2d", "torch.conv2d")
    flow = "conv"
    convert = "conv"

    def octave_ok(self, node: OpNode) -> bool:
        """Whether this convolution can become an octave layer (else its maps stay vanilla)."""
        a = node.attrs
        stride, pad = a.get("stride", (1, 1)), a.get("padding", (0, 0))
        return (
            len(node.in_shapes) >= 1
            and len(node.in_shapes[0]) == 4
            and stride[0] == stride[1]
            and stride[0] in (1, 2)
            and not isinstance(pad, str)
            and a.get("padding_mode", "zeros") == "zeros"
            and not a.get("functional", False)
        )

    def why_not_octave(self, node: OpNode) -> str:
        """The first reason :meth:`octave_ok` fails, in words."""
        a = node.attrs
        stride, pad = a.get("stride", (1, 1)), a.get("padding", (0, 0))
        if a.get("functional", False):
            return "a functional conv2d (no module to replace)"
        if a.get("padding_mode", "zeros") != "zeros":
            return f"padding_mode {a['padding_mode']!r} (octave paths pad with zeros)"
        if isinstance(pad, str):
            return f"padding {pad!r} with an even kernel (asymmetric)"
        if stride[0] != stride[1] or stride[0] not in (1, 2):
            return f"stride {tuple(stride)} (octave layers take 1 or 2, equal on both axes)"
        return "input is not a 4-d map"

    def spec(self, node: OpNode, ins: TensorSplit, out: TensorSplit, stride_rule: str, dtype_bytes: int):
        a = node.attrs
        n, cin, h, w = node.in_shapes[0]
        return OctConvSpec(
            cin,
            a["out_channels"],
            a["kernel_size"],
            h,
            w,
            ins.alpha,
            out.alpha,
            a["stride"][0],
            a["padding"],
            a["dilation"],
            a["groups"],
            a["bias"],
            n,
            dtype_bytes,
            stride_rule,
        )

    def vanilla_cost(self, node: OpNode) -> dict:
        a = node.attrs
        n, cin, _, _ = node.in_shapes[0]
        assert node.out_shape is not None
        _, cout, ho, wo = node.out_shape
        kh, kw = a["kernel_size"]
        weights = cout * (cin // a["groups"]) * kh * kw
        macs = n * weights * ho * wo
        out = numel(node.out_shape)
        return cost_row(
            node,
            "conv",
            node.in_shapes[0],
            node.out_shape,
            macs=macs,
            paper_flops=macs + (out if a["bias"] else 0),
            fvcore_flops=macs,
            params=weights + (cout if a["bias"] else 0),
            note=f"{kh}x{kw} conv, stride {a['stride'][0]}" + (f", groups {a['groups']}" if a["groups"] > 1 else ""),
        )

    def depthwise(self, node: OpNode) -> bool:
        a = node.attrs
        cin = node.in_shapes[0][1]
        return a["groups"] > 1 and a["groups"] == cin == a["out_channels"]


@rule
class Linear(Rule):
    kind = "linear"
    modules = (f"{NN}.linear.Linear",)
    functions = ("torch.nn.functional.linear",)
    flow = "vanilla"
    convert = "keep"

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


@rule
class BatchNorm(Rule):
    kind = "batch_norm"
    modules = (f"{NN}.batchnorm.BatchNorm2d",)
    convert = "batch_norm"

    def part_counts(self, node: OpNode, shape: Shape) -> dict[str, Any]:
        affine = node.attrs.get("affine", True)  # fvcore, eval mode: 2 per element with affine, else 1
        return {"fvcore_flops": numel(shape) * (2 if affine else 1), "params": 2 * shape[1] if affine else 0}


@rule
class Activation(Rule):
    kind = "activation"
    modules = tuple(
        f"{NN}.activation.{c}"
        for c in (
            "ReLU",
            "ReLU6",
            "SiLU",
            "Hardswish",
            "Hardsigmoid",
            "Sigmoid",
            "Tanh",
            "GELU",
            "LeakyReLU",
            "ELU",
            "Mish",
            "PReLU",
        )
    )
    _functional = (
        "relu",
        "relu_",
        "relu6",
        "silu",
        "hardswish",
        "hardsigmoid",
        "sigmoid",
        "tanh",
        "gelu",
        "leaky_relu",
        "elu",
        "mish",
    )
    functions = (
        *(f"torch.nn.functional.{f}" for f in _functional),
        "torch.relu",
        "torch.relu_",
        "torch.sigmoid",
        "torch.tanh",
        "torch._C._nn.gelu",
    )
    methods = ("relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_")
    paper_per_out = 1  # the paper counts one per ReLU output; octprof counts every activation the same way

    convert = "activation"

    def params(self, node: OpNode, part_channels: int) -> int:
        if not node.attrs.get("prelu"):
            return 0
        return part_channels if node.attrs.get("num_parameters", 1) > 1 else 1

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        rows = super().cost(node, ins, out)
        if node.attrs.get("prelu") and node.attrs.get("num_parameters", 1) == 1:
            for row in rows[1:]:  # one shared slope, counted once
                row["params"] = 0
        return rows


@rule
class Dropout(Rule):
    kind = "dropout"
    modules = (
        f"{NN}.dropout.Dropout",
        f"{NN}.dropout.Dropout2d",
        f"{NN}.linear.Identity",
        "torchvision.ops.stochastic_depth.StochasticDepth",
    )
    functions = ("torch.nn.functional.dropout", "torchvision.ops.stochastic_depth.stochastic_depth")
    methods = ("contiguous", "clone")


@rule
class Add(Rule):
    kind = "add"
    functions = ("_operator.add", "_operator.iadd", "torch.add")
    methods = ("add", "add_")
    convert = "add"


@rule
class Mul(Rule):
    kind = "mul"
    functions = ("_operator.mul", "_operator.imul", "torch.mul")
    methods = ("mul", "mul_")
    convert = "mul"


@rule
class Sub(Rule):
    kind = "sub"
    functions = ("_operator.sub", "_operator.isub", "torch.sub", "torch.subtract")
    methods = ("sub", "sub_")
    convert = "sub"


@rule
class Div(Rule):
    kind = "div"
    functions = ("_operator.truediv", "_operator.itruediv", "torch.div", "torch.true_divide")
    methods = ("div", "div_", "true_divide")
    convert = "div"


@rule
class Cat(Rule):
    kind = "cat"
    functions = ("torch.cat", "torch.concat", "torch.concatenate")
    flow = "cat"
    convert = "cat"


class _Pool(Rule):
    def halvable(self, node: OpNode) -> bool:
        a = node.attrs
        if node.out_shape is None or len(node.out_shape) != 4:
            return False
        _, _, h, w = node.in_shapes[0]
        (kh, kw), (sh, sw), (ph, pw) = a["kernel_size"], a["stride"], a["padding"]
        dh, dw = a.get("dilation", (1, 1))
        ceil = a.get("ceil_mode", False)

        def size(x: int, k: int, s: int, p: int, d: int) -> int:
            num = x + 2 * p - d * (k - 1) - 1
            o = (-(-num // s) if ceil else num // s) + 1
            if ceil and (o - 1) * s >= x + p:
                o -= 1
            return o

        if h % 2 or w % 2:
            return False
        return (
            size(h // 2, kh, sh, ph, dh) * 2 == node.out_shape[2]
            and size(w // 2, kw, sw, pw, dw) * 2 == node.out_shape[3]
        )

    def part_counts(self, node: OpNode, shape: Shape) -> dict[str, Any]:
        kh, kw = node.attrs["kernel_size"]
        return {"paper_flops": numel(shape) * kh * kw, "note": f"{kh}x{kw} pool"}


@rule
class MaxPool(_Pool):
    kind = "max_pool2d"
    modules = (f"{NN}.pooling.MaxPool2d",)
    functions = ("torch.nn.functional.max_pool2d", "torch.nn.functional._max_pool2d", "torch.max_pool2d")


@rule
class AvgPool(_Pool):
    kind = "avg_pool2d"
    modules = (f"{NN}.pooling.AvgPool2d",)
    functions = ("torch.nn.functional.avg_pool2d", "torch._C._nn.avg_pool2d")


@rule
class AdaptiveAvgPool(Rule):
    kind = "adaptive_avg_pool2d"
    modules = (f"{NN}.pooling.AdaptiveAvgPool2d",)
    functions = ("torch.nn.functional.adaptive_avg_pool2d", "torch._C._nn.adaptive_avg_pool2d")
    flow = "gpool"
    fvcore_per_in = 1

    def is_global(self, node: OpNode) -> bool:
        return node.out_shape is not None and len(node.out_shape) == 4 and node.out_shape[2:] == (1, 1)

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        rows = []
        out_parts = dict(out.parts()) if out else {"": node.out_shape}
        for part, shape in ins[0].parts():
            e = numel(shape)
            rows.append(
                cost_row(node, part, shape, out_parts.get(part), paper_flops=e, fvcore_flops=e * self.fvcore_per_in)
            )
        return rows


@rule
class AdaptiveMaxPool(AdaptiveAvgPool):
    kind = "adaptive_max_pool2d"
    modules = (f"{NN}.pooling.AdaptiveMaxPool2d",)
    functions = ("torch.nn.functional.adaptive_max_pool2d", "torch.nn.functional._adaptive_max_pool2d")
    fvcore_per_in = 0


@rule
class Upsample(Rule):
    kind = "upsample"
    modules = (f"{NN}.upsampling.Upsample", f"{NN}.upsampling.UpsamplingNearest2d")
    functions = ("torch.nn.functional.interpolate",)

    def halvable(self, node: OpNode) -> bool:
        a = node.attrs
        if node.out_shape is None or len(node.out_shape) != 4 or a.get("mode") not in ("nearest", "bilinear"):
            return False
        _, _, h, w = node.in_shapes[0]
        _, _, ho, wo = node.out_shape
        return h % 2 == 0 and w % 2 == 0 and ho % h == 0 and wo % w == 0 and ho // h == wo // w

    def part_counts(self, node: OpNode, shape: Shape) -> dict[str, Any]:
        per = {"nearest": 1, "bilinear": 4}.get(node.attrs.get("mode", "nearest"), 0)
        return {"fvcore_flops": per * numel(shape)}


@rule
class Flatten(Rule):
    kind = "flatten"
    modules = (f"{NN}.flatten.Flatten",)
    functions = (
        "torch.flatten",
        "torch.reshape",
        "torch.squeeze",
        "torch.unsqueeze",
        "torch.transpose",
        "torch.permute",
        "torch.swapaxes",
        "torch.movedim",
        "torch.sum",
        "torch.mean",
        "torch.amax",
    )
    methods = ("flatten", "view", "reshape", "squeeze", "unsqueeze", "permute", "transpose", "mean", "sum")
    flow = "vanilla"
    convert = "keep"


class _Unpriced(Rule):
    """Ops that produce no cost row: the network's inputs and output, constants, metadata reads."""

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        return []


@rule
class Output(_Unpriced):
    kind = "output"
    flow = "vanilla"
    convert = "keep"


@rule
class Input(_Unpriced):
    kind = "input"
    flow = "meta"
    convert = "keep"


@rule
class Constant(Input):
    kind = "constant"

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        """A parameter read by ``get_attr`` (layer scale, positional embeddings) counts its elements once."""
        p = node.attrs.get("param_elems", 0)
        return [cost_row(node, "", None, node.out_shape, params=p, act_elems=0, note="parameter")] if p else []


@rule
class Meta(_Unpriced):
    kind = "meta"
    functions = ("builtins.getattr", "_operator.getitem")
    methods = ("size", "dim")
    flow = "meta"
    convert = "meta"


class _Merged(Rule):
    """Ops whose split inputs are merged before them; they run on the vanilla maps, so their cost is the vanilla
    one.  Parameters: those of the module (``module_params``), counted once."""

    flow = "merge"
    convert = "merge"

    def counts(self, node: OpNode) -> dict[str, Any]:
        return {}

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        counts = {"params": node.attrs.get("module_params", 0), **self.counts(node)}
        return [cost_row(node, "", ins[0].shape if ins else None, node.out_shape, **counts)]


@rule
class Slice(_Merged):
    """Indexing a tensor: channel slices (GhostNet, DPN), spatial crops.  A view: no arithmetic in any convention."""

    kind = "slice"
    methods = ("narrow",)
    functions = ("torch.narrow",)


@rule
class DataMove(_Merged):
    """Ops every convention counts as zero: splitting, padding, rolling, flipping, repeating, softmax."""

    kind = "data"
    functions = (
        "torch.unbind",
        "torch.roll",
        "torch.flip",
        "torch.stack",
        "torch.nn.functional.pad",
        "torch._C._nn.pad",
        "torch.nn.functional.softmax",
        "torch.softmax",
    )
    modules = (f"{NN}.pixelshuffle.PixelShuffle", f"{NN}.pixelshuffle.PixelUnshuffle", f"{NN}.activation.Softmax")
    methods = ("unbind", "roll", "flip", "expand", "expand_as", "repeat", "softmax")


@rule
class Chunk(_Merged):
    """``torch.split`` / ``chunk`` (Res2Net, CSP): along channels, a split map gives split pieces, each with its
    share of both frequencies (piece i of C channels out of a map with L low channels gets L·c_i/C low channels,
    when that is a whole number for every piece); along another axis, or where the shares are not whole, the map
    is merged first.  The pieces are views: no arithmetic in any convention."""

    kind = "chunk"
    functions = ("torch.split", "torch.functional.split", "torch.chunk")
    methods = ("split", "chunk")
    flow = "chunk"
    convert = "chunk"

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        return []


@rule
class Norm(_Merged):
    """LayerNorm, GroupNorm and InstanceNorm (they normalise across channels, so the parts are merged first).
    fvcore: 5 per input element with an affine transform, 4 without; the paper's convention and macs: 0."""

    kind = "norm"
    modules = (
        f"{NN}.normalization.LayerNorm",
        f"{NN}.normalization.GroupNorm",
        f"{NN}.instancenorm.InstanceNorm1d",
        f"{NN}.instancenorm.InstanceNorm2d",
        f"{NN}.instancenorm.InstanceNorm3d",
    )
    functions = (
        "torch.nn.functional.layer_norm",
        "torch.nn.functional.group_norm",
        "torch.nn.functional.instance_norm",
    )

    def counts(self, node: OpNode) -> dict[str, Any]:
        return {
            "fvcore_flops": numel(node.in_shapes[0]) * (5 if node.attrs.get("affine") else 4) if node.in_shapes else 0
        }


# ops that fvcore prices as one flop per multiply-add (its handles for convolution and matrix products)
_FVCORE_MACS = ("conv", "linear", "matmul", "bmm", "einsum", "mm", "addmm", "baddbmm")


@rule
class Unknown(Rule):
    kind = "unknown"
    flow = "opaque"
    convert = "merge"

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        counted = node.attrs.get("counted_flops", 0)
        macs = counted // 2
        name = node.target.rsplit(".", 1)[-1].lower()
        fvcore = macs if any(k in name for k in _FVCORE_MACS) else 0
        note = f"priced by FlopCounterMode: {node.target}" if counted else f"unpriced: {node.target}"
        return [
            cost_row(
                node,
                "",
                ins[0].shape if ins else None,
                node.out_shape,
                macs=macs,
                paper_flops=macs,
                fvcore_flops=fvcore,
                params=node.attrs.get("module_params", 0),
                note=note,
            )
        ]

    def unpriced(self, node: OpNode) -> bool:
        """Nothing counted its cost: no rule, and FlopCounterMode saw no arithmetic."""
        return not node.attrs.get("counted_flops", 0)


def get_rule(kind: str) -> Rule:
    return RULES[kind]


def merge_row(node: OpNode, split: TensorSplit, source: str) -> dict:
    """The cost of merging a split map back to one full-resolution map before ``node`` (upsample the low part
    2× nearest, then concatenate): fvcore counts one per upsampled element."""
    parts = dict(split.parts())
    low = parts["low"]
    if split.is_vector:
        return cost_row(
            node, "merge", low, split.shape, act_elems=numel(split.shape), note=f"merge {source} (concatenate)"
        )
    n, c, h, w = low
    up = n * c * 4 * h * w
    return cost_row(
        node,
        "merge",
        low,
        split.shape,
        fvcore_flops=up,
        act_elems=up + numel(split.shape),
        note=f"merge {source} (upsample low 2x + concatenate)",
    )


NodeFilter = Callable[[OpNode], bool]
