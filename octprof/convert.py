"""Build the real octave network from a plan: an FX rewrite of the traced vanilla network.

Every strategy named by a rule's ``convert`` lives here:

- ``conv``: an octave conv becomes :class:`~octprof.nn.OctConv2d` at the same qualified name (its paths take
  the matching slices of the vanilla weights); a conv on split vectors gets its parts concatenated before and
  split after;
- ``batch_norm``: :class:`~octprof.nn.FreqBatchNorm2d` at the same name;
- ``per_frequency``: stateless modules wrapped in :class:`~octprof.nn.PerFrequency`; functions and methods in
  a per-frequency module that calls them on each part;
- ``add`` / ``mul`` / ``cat``: octprof's pair-aware functions;
- ``meta``: sizes of a split map are those of the vanilla map it stands for;
- ``upsample``: as ``per_frequency``, an upsampling to a given size scaled by its whole factor instead (each part
  keeps its resolution);
- ``activation``: as ``per_frequency``, except that a PReLU with one slope per channel becomes
  :class:`~octprof.nn.FreqPReLU` (each part takes its channels' slopes);
- ``merge``: split inputs merged back to one full-resolution map (``oct_merge``) before the op;
- ``chunk``: ``split`` / ``chunk`` of a split map along channels gives split pieces (``oct_pieces``), else as
  ``merge``;
- ``keep``: unchanged (the plan guarantees vanilla inputs).

At α = 0 nothing is split, the graph is left as it was, and the outputs equal the original's exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from octprof.core.graph import per_channel_shape
from octprof.core.plan import Plan
from octprof.core.rules import CONVERTS, get_rule
from octprof.nn import (
    FreqBatchNorm2d,
    FreqPReLU,
    OctConv2d,
    PerFrequency,
    oct_add,
    oct_cat,
    oct_div,
    oct_mul,
    oct_sub,
    octconv_class,
)

__all__ = [
    "Operand",
    "PerFrequencyCall",
    "oct_merge_any",
    "oct_pieces",
    "oct_size",
    "oct_vec_merge",
    "oct_vec_split",
    "octify_captured",
]


def oct_vec_merge(x: Any) -> torch.Tensor:
    """Concatenate the parts of a split vector (both 1×1) into one vanilla vector."""
    if isinstance(x, torch.Tensor):
        return x
    return torch.cat([p for p in x if p is not None], 1)


def oct_vec_split(x: torch.Tensor, high: int) -> Any:
    """Split a vanilla vector's channels into ``(high, low)`` (no resolution change)."""
    return x[:, :high], x[:, high:]


def oct_merge_any(x: Any, temporal: bool = False) -> Any:
    """Merge a split map (upsample low, concatenate) or a split vector (concatenate); a tensor passes through.
    ``temporal``: a 3-D map's low part is an octave lower in time too."""
    from octprof.nn import oct_merge

    if isinstance(x, torch.Tensor):
        return x
    h, l = x
    if l is not None and h is not None and l.shape[2:] == h.shape[2:]:
        return torch.cat([h, l], 1)
    # odd sides: upsampled to the exact size
    return oct_merge(x, temporal=temporal, size=h.shape[2:] if h is not None else None)


def oct_pieces(x: Any, pieces: tuple[tuple[int, int], ...]) -> tuple[Any, ...]:
    """``torch.split`` of a split map along channels: piece i takes the next ``pieces[i] = (high, low)`` channels
    of each part, so every piece is itself a split map (a part with 0 channels is None)."""
    h, l = x
    out = []
    hi = lo = 0
    for ph, pl in pieces:
        out.append((h[:, hi : hi + ph] if ph else None, l[:, lo : lo + pl] if pl else None))
        hi, lo = hi + ph, lo + pl
    return tuple(out)


def oct_size(x: Any, *args: Any, temporal: bool = False) -> Any:
    """``x.size(*args)`` of the vanilla map a split pair stands for."""
    if isinstance(x, torch.Tensor):
        return x.size(*args)
    h, l = x
    ref = h if h is not None else l
    c = sum(p.shape[1] for p in x if p is not None)
    f = (1, 2, 2) if l is not None and l.dim() == 5 and not temporal else (2,) * (ref.dim() - 2)
    hw = ref.shape[2:] if h is not None else tuple(k * d for k, d in zip(f, l.shape[2:]))
    size = torch.Size((ref.shape[0], c, *hw))
    return size[args[0]] if args else size


def oct_getattr(x: Any, name: str) -> Any:
    """``x.shape`` of the vanilla map a split pair stands for; ``x.device`` / ``x.dtype``: its parts' (one map's
    tensors made on its device, a position encoding's)."""
    if isinstance(x, torch.Tensor) or name not in ("shape", "device", "dtype"):
        return getattr(x, name)
    if name == "shape":
        return oct_size(x)
    return getattr(next(p for p in x if p is not None), name)


def oct_dim(x: Any) -> int:
    """``x.dim()``; a split pair stands for a map of its parts' rank."""
    return x.dim() if isinstance(x, torch.Tensor) else next(p for p in x if p is not None).dim()


class Operand:
    """Where a call's tensor operand goes in its arguments: the ``index``-th tensor the call is given at run time."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"Operand({self.index})"


def _fill(a: Any, values: tuple[Any, ...]) -> Any:
    if isinstance(a, Operand):
        return values[a.index]
    if isinstance(a, (tuple, list)):
        return type(a)(_fill(x, values) for x in a)
    if isinstance(a, dict):
        return {k: _fill(v, values) for k, v in a.items()}
    return a


def _part_of(value: Any, part: int, high: int, total: int, dims: int) -> Any:
    """Part ``part`` (0 high, 1 low) of one operand of a per-element call on split maps: a split map gives its
    part; a per-channel vector of the map's rank ``(1, C, 1, …)`` its channels; a number or one-element tensor is
    shared; any other tensor cannot be split alike (the proof refuses the op)."""
    if isinstance(value, tuple):
        return value[part]
    if not isinstance(value, torch.Tensor) or value.numel() <= 1:
        return value
    if value.dim() == dims and per_channel_shape(value.shape, dims, total) is not None:
        return value[:, :high] if part == 0 else value[:, high:]
    raise ValueError("per-frequency op: a split map meets a vanilla tensor that is neither a scalar nor per-channel")


class PerFrequencyCall(nn.Module):
    """Calls a function or tensor method on each part of split maps.  ``args`` / ``kwargs`` hold the call's
    arguments with each tensor operand replaced by a :class:`Operand`; the operands come at run time.  With no split
    operand it is the one call; else the call runs once per part, every split operand giving that part (a
    per-channel vector its channels, a number as it is)."""

    def __init__(
        self, fn: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, method: bool = False
    ) -> None:
        super().__init__()
        self.fn, self.args, self.kwargs, self.method = fn, args, dict(kwargs or {}), method

    def _call(self, values: tuple[Any, ...]) -> torch.Tensor:
        args, kwargs = _fill(self.args, values), _fill(self.kwargs, values)
        if self.method:
            return getattr(args[0], self.fn)(*args[1:], **kwargs)
        return self.fn(*args, **kwargs)

    def forward(self, *values: Any) -> Any:
        pairs = [v for v in values if isinstance(v, tuple)]
        if not pairs:
            return self._call(values)
        ref = pairs[0]
        high = ref[0].shape[1] if ref[0] is not None else 0
        total = high + (ref[1].shape[1] if ref[1] is not None else 0)
        dims = next(p for p in ref if p is not None).dim()
        out = []
        for part in (0, 1):
            if ref[part] is None:
                out.append(None)
                continue
            out.append(self._call(tuple(_part_of(v, part, high, total, dims) for v in values)))
        return tuple(out)


def _set_submodule(root: Any, name: str, new: nn.Module) -> None:
    if isinstance(root, SharedCopy):
        root.modules[name] = new
        return
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def _graph_copy(source: fx.Graph) -> fx.Graph:
    """A copy of a traced graph, as ``Graph.graph_copy`` makes it (same nodes, names, types, metadata, in order),
    but for the checks ``create_node`` makes of new arguments (no raw symbolic values; the traced graph passed
    them): each node is created bare and its arguments assigned after, which records its inputs and users alike."""
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for node in source.nodes:
        if node.op == "output":
            graph.output(fx.map_arg(node.args[0], env.__getitem__))
            break
        new = graph.create_node(node.op, node.target, None, None, node.name, node.type)
        if node.kwargs:
            new.kwargs = fx.map_arg(node.kwargs, env.__getitem__)
        if node.args:
            new.args = fx.map_arg(node.args, env.__getitem__)
        new.meta = copy.copy(node.meta)
        env[node] = new
    return graph


def _resolve(found: dict[str, Any], target: str) -> Any:
    """The object at the dotted ``target`` (``getattr`` part by part from ``found[""]``), recording every prefix in
    ``found``."""
    obj = found.get(target)
    if obj is None and target not in found:
        parent, _, last = target.rpartition(".")
        obj = found[target] = getattr(_resolve(found, parent), last)
    return obj


class SharedCopy:
    """A network to *prove*, not to run: its own graph and a flat table of the modules and attributes its nodes
    name (``target`` -> object), sharing the leaf modules (and so their parameters) with the traced network.  The
    conversion replaces entries and never changes a module in place, so the traced network is left as it was.  Far
    cheaper than a deep copy, a module hierarchy and a code generation; the proof runs it node by node."""

    def __init__(self, gm: fx.GraphModule) -> None:
        self.graph = _graph_copy(gm.graph)
        self.modules: dict[str, Any] = {}
        found: dict[str, Any] = {"": gm}  # qualified name -> object, prefixes included (blocks hold many targets)
        for node in self.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                target = str(node.target)
                self.modules[target] = _resolve(found, target)

    def get_submodule(self, target: str) -> Any:
        return self.modules[target]

    def add_module(self, name: str, module: nn.Module) -> None:
        self.modules[name] = module


class _Rewrite:
    """One conversion: the copy being rewritten and the plan it follows.  Each ``convert`` strategy a rule can
    name is a method ``s_<strategy>(node, info)``; :data:`STRATEGIES` is checked against the registry's closed
    set at import, so a rule naming a strategy that does not exist fails at once, not at the first network."""

    def __init__(self, gm: Any, plan: Plan, conv_cls: type[OctConv2d], share: bool) -> None:
        self.gm, self.plan, self.conv_cls, self.share = gm, plan, conv_cls, share
        self.graph = gm.graph
        self.splits = plan.splits
        self.stride_rule = plan.options.stride_rule
        self.temporal = plan.options.temporal
        self.memo: dict[Any, nn.Module] = {}
        self.origin: dict[fx.Node, str] = {}  # replacement node -> the original node's name (the plan's key)

    # -- helpers --------------------------------------------------------------------------------------------------
    def build(self, key: Any, make: Any) -> nn.Module:
        if not self.share:
            return make()
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]

    def split(self, n: fx.Node | str) -> bool:
        name = n if isinstance(n, str) else self.origin.get(n, n.name)
        return name in self.splits and self.splits[name].split

    def any_split(self, node: fx.Node) -> bool:
        return any(self.split(i) for i in node.all_input_nodes) or self.split(node)

    def replace(self, node: fx.Node, new: fx.Node) -> None:
        new.meta = dict(node.meta)
        self.origin[new] = self.origin.get(node, node.name)
        new.meta["octprof_origin"] = self.origin[new]
        node.replace_all_uses_with(new)
        self.graph.erase_node(node)

    def call_before(self, node: fx.Node, fn: Any, args: tuple[Any, ...]) -> None:
        """Replace ``node`` by ``fn(*args)``."""
        with self.graph.inserting_before(node):
            new = self.graph.call_function(fn, args)
        self.replace(node, new)

    # -- strategies -----------------------------------------------------------------------------------------------
    def s_conv(self, node: fx.Node, info: Any) -> None:
        cp = self.plan.convs.get(node.name)
        if cp is None:
            return
        if cp.mode == "octave" and node.op == "call_module":
            assert cp.spec is not None
            conv = self.gm.get_submodule(node.target)
            spec = cp.spec
            sr, odd = self.stride_rule, spec.odd_size
            # the conv's dimensionality picks the class (``conv_cls`` builds the 2-D ones: OctConv2d or a subclass)
            cls = self.conv_cls if spec.dims == 2 else octconv_class(spec.dims)
            kw: dict[str, Any] = {"odd_size": odd, "paths": spec.paths}
            if spec.dims == 3:
                kw["temporal"] = spec.temporal
            key = ("conv", repr(conv), conv.weight.dtype, spec.alpha_in, spec.alpha_out, sr, *sorted(kw.items()))
            octave = self.build(
                key, lambda c=conv, s=spec, cls=cls, kw=kw: cls.from_conv(c, s.alpha_in, s.alpha_out, sr, **kw)
            )
            _set_submodule(self.gm, node.target, octave)
        elif cp.mode == "vector":
            src = node.args[0]
            if self.split(src):
                with self.graph.inserting_before(node):
                    merged = self.graph.call_function(oct_vec_merge, (src,))
                node.replace_input_with(src, merged)
            if self.split(node):
                with self.graph.inserting_after(node):
                    parts = self.graph.call_function(oct_vec_split, (node, self.splits[node.name].high))
                node.replace_all_uses_with(parts, delete_user_cb=lambda u, p=parts: u is not p)

    def s_batch_norm(self, node: fx.Node, info: Any) -> None:
        if not (self.any_split(node) and node.op == "call_module"):
            return
        bn = self.gm.get_submodule(node.target)
        s = self.splits[node.name]
        key = ("bn", repr(bn), bn.training, s.high, s.low)
        new = self.build(key, lambda b=bn, s=s: FreqBatchNorm2d.from_bn(b, (s.high, s.low)))
        _set_submodule(self.gm, node.target, new)

    def s_activation(self, node: fx.Node, info: Any) -> None:
        if self.any_split(node) and node.op == "call_module":
            act = self.gm.get_submodule(node.target)
            if isinstance(act, nn.PReLU) and act.num_parameters > 1:  # each part takes its channels' slopes
                s = self.splits[node.name]
                _set_submodule(self.gm, node.target, FreqPReLU.from_prelu(act, (s.high, s.low)))
                return
        self.s_per_frequency(node, info)

    def s_per_frequency(self, node: fx.Node, info: Any) -> None:
        if not self.any_split(node):
            return
        if node.op == "call_module":
            _set_submodule(self.gm, node.target, PerFrequency(self.gm.get_submodule(node.target)))
            return
        self._per_frequency_call(node, node.args[1:], dict(node.kwargs))

    def _per_frequency_call(self, node: fx.Node, args: Any, kwargs: dict[str, Any]) -> None:
        """Replace the function or method ``node`` by a :class:`PerFrequencyCall` of it on its first argument with
        ``args`` and ``kwargs`` after it (the values of the nodes they name are passed at run time)."""
        name = f"_octprof_{node.name}"
        method = node.op == "call_method"
        operands: list[fx.Node] = []

        def slot(n: fx.Node) -> Any:  # every node operand (a map, a parameter, a size) comes at run time
            operands.append(n)
            return Operand(len(operands) - 1)

        args = fx.node.map_arg((node.args[0], *args), slot)
        kwargs = fx.node.map_arg(kwargs, slot)
        self.gm.add_module(name, PerFrequencyCall(node.target, tuple(args), dict(kwargs), method))
        with self.graph.inserting_before(node):
            new = self.graph.call_module(name, tuple(operands))
        self.replace(node, new)

    def s_upsample(self, node: fx.Node, info: Any) -> None:
        """Upsampling per frequency.  One to a given ``size`` (GhostNetV2's ``F.interpolate(x, size=(out.shape[-2],
        out.shape[-1]))``, ``nn.Upsample(size=...)``) would bring both parts to that size: each part is scaled instead
        by the whole factor per axis that the plan checked (``Upsample.halvable``), which gives the same map for the
        high part (nearest and bilinear with a whole factor sample alike) and one an octave lower for the low part."""
        if not self.any_split(node):
            return
        assert info.out_shape is not None
        scale = tuple(float(o // i) for i, o in zip(info.in_shapes[0][2:], info.out_shape[2:]))
        if node.op == "call_module":
            m = self.gm.get_submodule(node.target)
            if getattr(m, "size", None) is not None:
                m = nn.Upsample(scale_factor=scale, mode=m.mode, align_corners=m.align_corners)
            _set_submodule(self.gm, node.target, PerFrequency(m))
            return
        import inspect

        import torch.nn.functional as F

        bound = inspect.signature(F.interpolate).bind(*node.args, **node.kwargs).arguments
        kwargs = {k: v for k, v in bound.items() if k != "input"}
        if kwargs.get("size") is not None:
            kwargs.update(size=None, scale_factor=scale, recompute_scale_factor=None)
        self._per_frequency_call(node, (), kwargs)

    def _binary(self, node: fx.Node, fn: Any) -> None:
        if self.any_split(node):
            self.call_before(node, fn, (node.args[0], node.args[1]))

    def s_add(self, node: fx.Node, info: Any) -> None:
        self._binary(node, oct_add)

    def s_sub(self, node: fx.Node, info: Any) -> None:
        self._binary(node, oct_sub)

    def s_mul(self, node: fx.Node, info: Any) -> None:
        self._binary(node, oct_mul)

    def s_div(self, node: fx.Node, info: Any) -> None:
        self._binary(node, oct_div)

    def s_cat(self, node: fx.Node, info: Any) -> None:
        if not self.any_split(node):
            return
        tensors = node.args[0] if node.args else node.kwargs["tensors"]
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
        self.call_before(node, oct_cat, (tensors, dim))

    def s_meta(self, node: fx.Node, info: Any) -> None:
        if not any(self.split(i) for i in node.all_input_nodes):
            return
        src = node.args[0]
        if node.op == "call_method" and node.target == "size":
            with self.graph.inserting_before(node):
                new = self.graph.call_function(oct_size, (src, *node.args[1:]), {"temporal": self.temporal})
            self.replace(node, new)
        elif node.op == "call_function" and node.target is getattr:
            self.call_before(node, oct_getattr, (src, node.args[1]))
        elif node.op == "call_method" and node.target == "dim":
            self.call_before(node, oct_dim, (src,))
        # an item of a tuple of pieces (getitem) works on the tuple as it is

    def s_chunk(self, node: fx.Node, info: Any) -> None:
        if node.name in self.plan.pieces:
            self.call_before(node, oct_pieces, (node.args[0], tuple(self.plan.pieces[node.name])))
        else:
            self.s_merge(node, info)

    def s_merge(self, node: fx.Node, info: Any) -> None:
        for src in list(node.all_input_nodes):
            if self.split(src):
                with self.graph.inserting_before(node):
                    merged = self.graph.call_function(oct_merge_any, (src, self.temporal))
                node.replace_input_with(src, merged)

    def s_keep(self, node: fx.Node, info: Any) -> None:
        """Unchanged: the plan guarantees vanilla inputs."""

    def run(self) -> None:
        op_graph = self.plan.graph
        for node in list(self.graph.nodes):
            if node.name in op_graph.by_name:
                info = op_graph[node.name]
                STRATEGIES[get_rule(info.kind).convert](self, node, info)


STRATEGIES = {name[2:]: fn for name, fn in vars(_Rewrite).items() if name.startswith("s_")}
if set(STRATEGIES) != set(CONVERTS):  # the registry's closed set and this module's strategies are one list
    raise ImportError(f"convert strategies {sorted(STRATEGIES)} differ from the rules' {sorted(CONVERTS)}")


def carry_unused(net: nn.Module, model: nn.Module, names: Sequence[str]) -> None:
    """Put into the octave network ``net``, unchanged, the modules ``names`` of ``model`` that its forward never
    reaches (``Captured.unreached``), so that it holds every parameter and state-dict key the model has."""
    for name in names:
        parent, _, leaf = name.rpartition(".")
        net.get_submodule(parent).add_module(leaf, copy.deepcopy(model.get_submodule(name)))


def octify_captured(gm: fx.GraphModule, plan: Plan, conv_cls: type[OctConv2d] = OctConv2d, share: bool = False) -> Any:
    """Rewrite a copy of the traced network ``gm`` into the octave network that ``plan`` describes (an
    ``fx.GraphModule``).  ``conv_cls`` builds the octave convolutions (``conv_cls.from_conv``): ``OctConv2d`` or a
    faster subclass with the same parameters and child names.  ``share``: for the proof on meta networks, a
    :class:`SharedCopy` (no code generated) whose modules are shared with ``gm`` and, where two call sites convert
    alike, with each other; a network to run or train is a deep copy."""
    gm = SharedCopy(gm) if share else copy.deepcopy(gm)
    _Rewrite(gm, plan, conv_cls, share).run()
    graph = gm.graph
    if share:
        return gm
    graph.lint()
    gm.recompile()
    return gm
