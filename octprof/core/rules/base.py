"""The registry and what every rule shares: the split of a tensor, a rule's protocol (:class:`Rule`, and
:class:`OctaveLayer` for ops that can become octave layers), the closed sets of flows and conversions, cost rows."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Protocol

from octprof.core.graph import OpNode, Shape, numel
from octprof.core.layer import OctConvSpec, layer_cost

# -- memoisation within one call ----------------------------------------------------------------------------

# what one plan() or price() call has computed once for its own use (see :func:`call_memo`); None outside one
_CALL_MEMO: ContextVar[defaultdict[str, dict[Any, Any]] | None] = ContextVar("octprof_call_memo", default=None)


@contextmanager
def call_memo() -> Iterator[None]:
    """Within the block (one :func:`~octprof.core.plan.plan` or :func:`~octprof.core.netcost.price` call), pure
    functions of α-dependent values remember their results (:func:`memo`): the text of every shape, the spec and
    rows of every distinct octave layer.  Nothing outlives the block."""
    token = _CALL_MEMO.set(defaultdict(dict))
    try:
        yield
    finally:
        _CALL_MEMO.reset(token)


def memo(kind: str) -> dict[Any, Any] | None:
    """The current call's memo for results of ``kind`` (a dict to read and fill), or None outside :func:`call_memo`."""
    scope = _CALL_MEMO.get()
    return None if scope is None else scope[kind]


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
        return list(self._parts)

    @cached_property
    def _parts(self) -> tuple[tuple[str, Shape], ...]:
        """The parts, computed once per split (the split is frozen): pricing reads them for every op that reads or
        makes the map."""
        if not self.split or not self.is_map:
            return (("", self.shape),)
        n, c, *sp = self.shape
        # an octave lower: half of each octave axis, rounded up (odd sides exist only under the ``ceil`` policy)
        low_sp = tuple(sp) if self.is_vector else tuple(-(-d // f) for d, f in zip(sp, self.octave))
        out: list[tuple[str, Shape]] = []
        if self.high:
            out.append(("high", (n, self.high, *sp)))
        out.append(("low", (n, self.low, *low_sp)))
        return tuple(out)

    @property
    def elems(self) -> int:
        return sum(math.prod(s) for _, s in self._parts)

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
    return "" if shape is None else "×".join(map(str, shape))


# -- reading an op's attributes (plain attribute reads: no torch here) ---------------------------------------


class Call(Protocol):
    """A function or method call as the tracer sees it: the callable's qualified name (``Tensor.NAME`` for a
    method), its arguments by position or keyword, and the shape of a tensor argument (None when not a tensor)."""

    target: str

    def arg(self, index: int, name: str, default: Any = None) -> Any: ...

    def shape(self, index: int, name: str) -> Shape | None: ...

    def dtype(self, index: int, name: str) -> str | None:
        """The dtype of a tensor argument (``torch.float32``, as text), None when not a tensor."""
        ...

    def out_dtype(self) -> str | None:
        """The dtype of the call's tensor output (as text), None when it is not one tensor."""
        ...

    def requires_grad(self) -> bool:
        """Whether the output needs a gradient in training (it depends on a parameter): an op on constants made
        from sizes (a position encoding) keeps nothing for backward."""
        ...


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


def _shape_text(shape: Shape | None, texts: dict[Any, str] | None) -> str:
    if shape is None or texts is None:
        return fmt_shape(shape)
    text = texts.get(shape)
    if text is None:
        text = texts[shape] = fmt_shape(shape)
    return text


def cost_row(node: OpNode, path: str, in_shape: Shape | None, out_shape: Shape | None, **counts: Any) -> dict:
    texts = memo("shape text")  # within one price() call: each shape's text formatted once
    in_text, out_text = _shape_text(in_shape, texts), _shape_text(out_shape, texts)
    row = {
        "layer": node.label,
        "op": node.kind,
        "path": path,
        "in_shape": in_text,
        "out_shape": out_text,
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


def op_name(node: OpNode) -> str:
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
    | {"upsample", "keep"}
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

    def spec(
        self,
        node: OpNode,
        ins: TensorSplit,
        out: TensorSplit,
        options: Any,
        dtype_bytes: int,
        layers: dict[Any, Any] | None = None,
    ) -> OctConvSpec:
        """The octave layer's spec; ``options``: the plan's options (``stride_rule``, ``odd_size``).  ``layers``: a
        dict the planner keeps with the graph, where the rule may keep what it finds of the node alone (no split)."""
        raise NotImplementedError

    def vanilla_cost(self, node: OpNode) -> dict:
        raise NotImplementedError

    def kernel(self, node: OpNode) -> str:
        return "gemm"

    def octave_cost(self, node: OpNode, spec: OctConvSpec) -> list[dict]:
        """One row per path and glue op of the octave layer ``spec``, from the closed form (within one
        :func:`call_memo`, computed once per distinct spec: only the op's ``layer`` and ``op`` differ)."""
        done = memo("octave rows")
        rows = done.get(spec) if done is not None else None
        if rows is None:
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
            if done is not None:
                done[spec] = rows
        # fresh dicts every time (callers edit them), keys in cost_row's order
        return [{**row, "layer": node.label, "op": node.kind} for row in rows]


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
