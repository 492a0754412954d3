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
             trace (matmul, einsum, attention, transposed convolutions), listed as not priced when
             that is nothing;
- how it is priced in every convention (integers), per frequency part;
- how it is converted (``convert``: the name of a strategy in ``octprof.convert``).

Adding an op is adding one rule here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from octprof.core.errors import bad
from octprof.core.graph import OpNode, Shape, numel
from octprof.core.layer import OctConvSpec, conv_output_size, layer_cost

# -- splits of one tensor ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorSplit:
    """How a tensor travels: ``low`` of its ``shape[1]`` channels in the low-frequency part (0: vanilla).

    A split map (N, C, *spatial) — 1-D (N, C, L), 2-D (N, C, H, W) or 3-D (N, C, T, H, W) — is a high part
    (N, C − low, *spatial) and a low part (N, low, *low spatial), an octave lower on each octave axis: the length
    in 1-D, H and W in 2-D and 3-D, and time too in 3-D when ``temporal`` (⌈n/2⌉ per halved axis).  A split
    vector (every spatial size 1, e.g. a squeeze-excitation gate) keeps both parts at 1."""

    shape: Shape
    low: int = 0
    temporal: bool = False

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
    def is_map(self) -> bool:
        return 3 <= len(self.shape) <= 5

    @property
    def is_vector(self) -> bool:
        return self.is_map and all(d == 1 for d in self.shape[2:])

    @property
    def octave(self) -> tuple[int, ...]:
        """The octave factor per spatial axis: 2 where the low part is halved, 1 where kept."""
        return octave_factors(len(self.shape) - 2, self.temporal)

    def parts(self) -> list[tuple[str, Shape]]:
        """``[(part, shape)]``: ``[("", shape)]`` when vanilla, else the non-empty of high and low."""
        if not self.split or not self.is_map:
            return [("", self.shape)]
        n, c, *sp = self.shape
        # an octave lower: half of each octave axis, rounded up (odd sides exist only under the ``ceil`` policy)
        low_sp = tuple(sp) if self.is_vector else tuple(-(-d // f) for d, f in zip(sp, self.octave))
        out: list[tuple[str, Shape]] = []
        if self.high:
            out.append(("high", (n, self.high, *sp)))
        out.append(("low", (n, self.low, *low_sp)))
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


def octave_factors(dims: int, temporal: bool = False) -> tuple[int, ...]:
    """The octave factor per spatial axis of a ``dims``-D map: 2 everywhere, but 1 on a 3-D map's time axis
    unless ``temporal``."""
    return (1, 2, 2) if dims == 3 and not temporal else (2,) * dims


def fmt_shape(shape: Shape | None) -> str:
    return "" if shape is None else "×".join(str(d) for d in shape)


# -- reading an op's attributes (plain attribute reads: no torch here) ---------------------------------------


class Call(Protocol):
    """A function or method call as the tracer sees it: the callable's qualified name (``Tensor.NAME`` for a
    method), its arguments by position or keyword, and the shape of a tensor argument (None when not a tensor)."""

    target: str

    def arg(self, index: int, name: str, default: Any = None) -> Any: ...

    def shape(self, index: int, name: str) -> Shape | None: ...


def pair(v: Any) -> tuple[int, int]:
    """``3`` or ``(3,)`` or ``(3, 3)`` as two integers."""
    if isinstance(v, (tuple, list)):
        return (int(v[0]), int(v[1])) if len(v) == 2 else (int(v[0]), int(v[0]))
    return int(v), int(v)


def ntuple(v: Any, n: int) -> tuple[int, ...]:
    """``3`` or ``(3,)`` or one number per axis as ``n`` integers."""
    if n == 2:
        return pair(v)
    if isinstance(v, (tuple, list)):
        return tuple(int(x) for x in v) if len(v) == n else (int(v[0]),) * n
    return (int(v),) * n


def explicit_padding(padding: Any, kernel_size: Any, dilation: Any, n: int = 2) -> tuple[int, ...] | str:
    """A conv's padding as ``n`` integers; ``'same'`` becomes the symmetric padding it stands for where there is
    one (odd effective kernel), ``'valid'`` becomes 0; else the string is kept (no octave layer)."""
    if not isinstance(padding, str):
        return ntuple(padding, n)
    if padding == "valid":
        return (0,) * n
    span = [d * (k - 1) for k, d in zip(ntuple(kernel_size, n), ntuple(dilation, n))]
    if all(x % 2 == 0 for x in span):
        return tuple(x // 2 for x in span)
    return padding


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


@dataclass(frozen=True)
class Saved:
    """What one frequency part of an op keeps for the backward pass, by PyTorch's derivative formulas: its first
    ``inputs`` tensor inputs (-1: all), its ``output``, and extra buffers: ``index_elems`` int64 indices (max
    pooling), ``stat_elems`` statistics in float32 (float64 for float64 maps: batch norm's mean and inverse std),
    ``copy_elems`` elements at the input's dtype (a padded copy of the input)."""

    inputs: int = 1
    output: bool = False
    index_elems: int = 0
    stat_elems: int = 0
    copy_elems: int = 0


NOTHING_SAVED = Saved(inputs=0)


def _last(node: OpNode) -> str:
    """The op's name, lower case: ``relu`` for ``torch.nn.modules.activation.ReLU`` or ``Tensor.relu_``."""
    return node.target.rsplit(".", 1)[-1].lower()


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
    # conversion builds one module for the split it sees (octave convs, batch norms): a module called from several
    # places cannot be converted, its maps stay vanilla
    splits_module: ClassVar[bool] = False

    def module_attrs(self, m: Any) -> dict[str, Any]:
        """What the rule needs from a module (plain attribute reads); the tracer stores it in ``node.attrs``."""
        return {}

    def call_attrs(self, call: Call) -> dict[str, Any]:
        """What the rule needs from a function or method call's arguments."""
        return {}

    def kernel(self, node: OpNode) -> str:
        """How the latency model runs the op: ``none`` (metadata, views: no kernel), ``gemm`` (a matrix product,
        sized by :meth:`gemm`) or ``memory`` (bytes read and written, per frequency part)."""
        return "memory"

    def gemm(self, node: OpNode) -> dict[str, Any]:
        """A matrix-product op as one kernel: ``macs``, ``weights`` (elements read besides the inputs), the GEMM
        sizes ``m``, ``k``, ``n`` (0 where unknown) and ``kind`` (``conv``, ``gconv`` grouped, ``dwconv``
        depthwise)."""
        raise NotImplementedError(f"{self.kind} is not a matrix product")

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        """What the op keeps for backward, for one output part of ``shape`` (default: its first input, as
        convolutions, linear layers and average pooling do)."""
        return Saved()

    def saved_caveat(self, node: OpNode) -> str | None:
        """Why a training step keeps other tensors than :meth:`saved` says (the memory model prices the op as in
        inference), in a few words; None when it does not."""
        return None

    def saved_exact(self, node: OpNode) -> bool:
        """Whether :meth:`saved` follows PyTorch's derivative formula in a training step (else it is the memory
        model's estimate)."""
        return self.saved_caveat(node) is None

    def view(self, node: OpNode) -> bool:
        """Whether the output is a view of the first input (no new memory)."""
        return False

    def unpriced(self, node: OpNode) -> bool:
        """Whether nothing prices this op (only ops with no rule can be so)."""
        return False

    def halvable(self, node: OpNode, octave: Sequence[int] | None = None) -> bool:
        """Whether the op applied to a low part (``octave``: the factor per spatial axis, default 2 on each)
        gives the low part of its output: else its maps cannot stay split."""
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


# the closed sets a rule chooses from: how it propagates the split, and how ``octprof.convert`` rewrites it
FLOWS = frozenset({"same", "conv", "cat", "gpool", "vanilla", "meta", "merge", "chunk", "opaque"})
CONVERTS = frozenset(
    {"conv", "batch_norm", "activation", "per_frequency", "add", "sub", "mul", "div", "cat", "meta", "chunk", "merge"}
    | {"keep"}
)


def rule(cls: type[Rule]) -> type[Rule]:
    """Register a rule class (one instance per kind); its ``flow`` and ``convert`` must be in the closed sets."""
    if cls.kind in RULES:
        raise ValueError(f"rule {cls.kind!r} registered twice")
    if cls.flow not in FLOWS:
        raise ValueError(f"rule {cls.kind!r}: flow {cls.flow!r} is not one of {sorted(FLOWS)}")
    if (cls.flow == "conv") != issubclass(cls, OctaveLayer):
        raise ValueError(f"rule {cls.kind!r}: flow 'conv' is the OctaveLayer protocol, and only it")
    if cls.convert not in CONVERTS:
        raise ValueError(f"rule {cls.kind!r}: convert {cls.convert!r} is not one of {sorted(CONVERTS)}")
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


class OctaveLayer(Rule):
    """The protocol of an op that can become an octave layer (flow ``conv``, convert ``conv``): whether it can and,
    if not, why; whether it is depthwise (its output then shares its input's split); its octave spec under a split
    of its input and output; its cost as an octave layer (every path, every convention) and as a vanilla op.  The
    plan, the pricing, the memory and latency models and the conversion ask these, never the kind's name."""

    flow = "conv"
    convert = "conv"
    splits_module = True

    def octave_ok(self, node: OpNode) -> bool:
        raise NotImplementedError

    def why_not_octave(self, node: OpNode) -> tuple[str, str]:
        """``(category, words)``: why :meth:`octave_ok` fails (a category of ``octprof.core.plan.CATEGORIES``)."""
        raise NotImplementedError

    def depthwise(self, node: OpNode) -> bool:
        raise NotImplementedError

    def spec(self, node: OpNode, ins: TensorSplit, out: TensorSplit, options: Any, dtype_bytes: int) -> OctConvSpec:
        """The octave layer's spec; ``options``: the plan's options (``stride_rule``, ``odd_size``)."""
        raise NotImplementedError

    def vanilla_cost(self, node: OpNode) -> dict:
        raise NotImplementedError

    def kernel(self, node: OpNode) -> str:
        return "gemm"

    def octave_cost(self, node: OpNode, spec: OctConvSpec) -> list[dict]:
        """One row per path and glue op of the octave layer ``spec``, from the closed form."""
        rows = [
            cost_row(
                node,
                cr.path,
                cr.in_shape,
                cr.out_shape,
                macs=cr.macs,
                paper_flops=cr.paper_flops,
                fvcore_flops=cr.fvcore_flops,
                params=cr.params,
                act_elems=cr.act_elems,
                note=cr.note,
            )
            for cr in layer_cost(spec).rows
        ]
        rows[-1]["note"] += f"; alpha {spec.alpha_in:g}->{spec.alpha_out:g}"
        return rows


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

    def spec(self, node: OpNode, ins: TensorSplit, out: TensorSplit, options: Any, dtype_bytes: int) -> OctConvSpec:
        self._check_fits(node, options)
        a = node.attrs
        n, cin, *size = node.in_shapes[0]
        stride = tuple(a["stride"])
        kw: dict[str, Any] = {}
        if self.dims == 3:
            kw["temporal"] = bool(getattr(options, "temporal", False))
        paths_for = getattr(options, "paths_for", None)
        if paths_for is not None:
            kw["paths"] = paths_for(node.module, cin, a["out_channels"], a["groups"], ins.low, out.low)
        return OctConvSpec.nd(
            cin,
            a["out_channels"],
            a["kernel_size"],
            tuple(size),
            alpha_in=ins.alpha,
            alpha_out=out.alpha,
            stride=stride[0] if len(set(stride)) == 1 else stride,
            padding=a["padding"],
            dilation=a["dilation"],
            groups=a["groups"],
            bias=a["bias"],
            batch=n,
            dtype_bytes=dtype_bytes,
            stride_rule=options.stride_rule,
            odd_size=options.odd_size,
            **kw,
        )

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
    modules = tuple(f"{NN}.batchnorm.BatchNorm{d}d" for d in (1, 2, 3))
    convert = "batch_norm"
    splits_module = True

    def module_attrs(self, m: Any) -> dict[str, Any]:
        return {"affine": bool(getattr(m, "affine", True))}

    def part_counts(self, node: OpNode, shape: Shape) -> dict[str, Any]:
        affine = node.attrs.get("affine", True)  # fvcore, eval mode: 2 per element with affine, else 1
        return {"fvcore_flops": numel(shape) * (2 if affine else 1), "params": 2 * shape[1] if affine else 0}

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return Saved(stat_elems=2 * shape[1])  # the input, the batch mean and inverse std per channel


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

    def module_attrs(self, m: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"inplace": bool(getattr(m, "inplace", False))}
        if any(c.__name__ == "PReLU" for c in type(m).__mro__):
            out.update(prelu=True, num_parameters=m.num_parameters)
        return out

    def call_attrs(self, call: Call) -> dict[str, Any]:
        # F.relu6(x, inplace), F.hardtanh(x, min_val, max_val, inplace); names ending in "_" are in place anyway
        name = call.target.rsplit(".", 1)[-1]
        index = 3 if name == "hardtanh" else 1
        return {"inplace": name.endswith("_") or bool(call.arg(index, "inplace", False))}

    def saved_caveat(self, node: OpNode) -> str | None:
        # an in-place hardtanh (ReLU6 is one) keeps its result for backward, and autograd keeps one more map than
        # the model's "its input" (the input is overwritten)
        name = _last(node).rstrip("_")
        if node.attrs.get("inplace") and name in ("relu6", "hardtanh"):
            return f"in-place {'ReLU6' if name == 'relu6' else name}"
        return None

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

    # activations whose backward reads their output (the rest read their input; ReLU6 is a hardtanh: input)
    _keeps_output = ("relu", "sigmoid", "tanh", "elu")

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        name = _last(node)
        keeps_output = name.startswith(self._keeps_output) and not name.startswith("relu6")
        return Saved(inputs=0, output=True) if keeps_output else Saved()


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

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED

    def view(self, node: OpNode) -> bool:
        return "clone" not in _last(node)

    def module_attrs(self, m: Any) -> dict[str, Any]:
        return {"p": float(getattr(m, "p", 0.0) or 0.0)}

    def call_attrs(self, call: Call) -> dict[str, Any]:
        if "dropout" not in call.target:  # clone, contiguous, stochastic depth
            return {}
        return {"p": float(call.arg(1, "p", 0.5)) if call.arg(2, "training", True) else 0.0}

    def saved_caveat(self, node: OpNode) -> str | None:
        # active in training, a dropout makes a new tensor and keeps its mask; the model prices it as in inference
        return "dropout in training" if node.attrs.get("p", 0.0) > 0 else None

    def kernel(self, node: OpNode) -> str:
        return "none"


@rule
class Add(Rule):
    kind = "add"
    functions = ("_operator.add", "_operator.iadd", "torch.add")
    methods = ("add", "add_")
    convert = "add"

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED


@rule
class Mul(Rule):
    kind = "mul"
    functions = ("_operator.mul", "_operator.imul", "torch.mul")
    methods = ("mul", "mul_")
    convert = "mul"

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return Saved(inputs=-1)  # each factor's gradient reads the other


@rule
class Sub(Rule):
    kind = "sub"
    functions = ("_operator.sub", "_operator.isub", "torch.sub", "torch.subtract")
    methods = ("sub", "sub_")
    convert = "sub"

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED


@rule
class Div(Rule):
    kind = "div"
    functions = ("_operator.truediv", "_operator.itruediv", "torch.div", "torch.true_divide")
    methods = ("div", "div_", "true_divide")
    convert = "div"

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        # a / b keeps b (and a, for b's gradient) when b is a tensor; dividing by a number keeps nothing
        return Saved(inputs=2) if len(node.inputs) > 1 else NOTHING_SAVED


@rule
class Cat(Rule):
    kind = "cat"
    functions = ("torch.cat", "torch.concat", "torch.concatenate")
    flow = "cat"
    convert = "cat"

    def call_attrs(self, call: Call) -> dict[str, Any]:
        return {"dim": int(call.arg(1, "dim", 0))}

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED


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

    _views = ("flatten", "view", "reshape", "squeeze", "unsqueeze", "permute", "transpose", "contiguous")

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED

    def view(self, node: OpNode) -> bool:
        return _last(node) in self._views or "flatten" in node.target.lower()

    def kernel(self, node: OpNode) -> str:
        return "memory" if _last(node) in ("mean", "sum", "amax") else "none"  # reductions read their input


class _Unpriced(Rule):
    """Ops that produce no cost row: the network's inputs and output, constants, metadata reads."""

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        return []

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED

    def kernel(self, node: OpNode) -> str:
        return "none"


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

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED

    def view(self, node: OpNode) -> bool:
        return True


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

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        # views, padding, rolling, flipping keep nothing; softmax keeps its output
        return Saved(inputs=0, output=True) if "softmax" in _last(node) else NOTHING_SAVED

    def saved_exact(self, node: OpNode) -> bool:
        return node.out_shape is not None

    def view(self, node: OpNode) -> bool:
        return _last(node) in ("expand", "expand_as")


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

    def module_attrs(self, m: Any) -> dict[str, Any]:
        return {"affine": bool(getattr(m, "elementwise_affine", getattr(m, "affine", False)))}

    def counts(self, node: OpNode) -> dict[str, Any]:
        return {
            "fvcore_flops": numel(node.in_shapes[0]) * (5 if node.attrs.get("affine") else 4) if node.in_shapes else 0
        }

    def saved_exact(self, node: OpNode) -> bool:
        return False  # the model assumes the input; the statistics kept differ per norm and backend


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

    def saved_exact(self, node: OpNode) -> bool:
        return False  # nothing is known of the op: the model assumes it keeps its input

    def kernel(self, node: OpNode) -> str:
        # an op with no rule that does arithmetic (matmul, attention, other convs): one GEMM-like kernel
        return "gemm" if node.attrs.get("counted_flops", 0) else "memory"

    def gemm(self, node: OpNode) -> dict[str, Any]:
        return {"macs": node.attrs.get("counted_flops", 0) // 2, "weights": 0, "m": 0, "k": 0, "n": 0, "kind": "conv"}


def get_rule(kind: str) -> Rule:
    return RULES[kind]


def octave_capable(kind: str) -> bool:
    """Whether ops of this kind follow the :class:`OctaveLayer` protocol (can become octave layers)."""
    return isinstance(RULES.get(kind), OctaveLayer)


def counts_activation(kind: str) -> bool:
    """Whether fvcore's activation count includes this kind's output (convolutions and linear layers)."""
    return octave_capable(kind) or kind == "linear"


def merge_row(node: OpNode, split: TensorSplit, source: str) -> dict:
    """The cost of merging a split map back to one full-resolution map before ``node`` (upsample the low part
    2× nearest to the map's size, then concatenate): fvcore counts one per upsampled element."""
    parts = dict(split.parts())
    low = parts["low"]
    if split.is_vector:
        return cost_row(
            node, "merge", low, split.shape, act_elems=numel(split.shape), note=f"merge {source} (concatenate)"
        )
    n, c = low[:2]
    up = n * c * math.prod(split.shape[2:])  # upsampled to the high part's exact size
    return cost_row(
        node,
        "merge",
        low,
        split.shape,
        fvcore_flops=up if len(split.shape) == 4 else 0,  # fvcore counts aten::upsample_nearest2d only
        act_elems=up + numel(split.shape),
        note=f"merge {source} (upsample low 2x + concatenate)",
    )


NodeFilter = Callable[[OpNode], bool]
