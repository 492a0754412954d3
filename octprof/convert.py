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
import operator
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from octprof.core.plan import Plan
from octprof.core.rules import get_rule
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
)

BINARY = {"add": oct_add, "mul": oct_mul, "sub": oct_sub, "div": oct_div}

__all__ = [
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


def oct_merge_any(x: Any) -> Any:
    """Merge a split map (upsample low, concatenate) or a split vector (concatenate); a tensor passes through."""
    from octprof.nn import oct_merge

    if isinstance(x, torch.Tensor):
        return x
    h, l = x
    if l is not None and h is not None and l.shape[-2:] == h.shape[-2:]:
        return torch.cat([h, l], 1)
    return oct_merge(x)


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


def oct_size(x: Any, *args: Any) -> Any:
    """``x.size(*args)`` of the vanilla map a split pair stands for."""
    if isinstance(x, torch.Tensor):
        return x.size(*args)
    h, l = x
    ref = h if h is not None else l
    c = sum(p.shape[1] for p in x if p is not None)
    hw = ref.shape[2:] if h is not None else tuple(2 * d for d in l.shape[2:])
    size = torch.Size((ref.shape[0], c, *hw))
    return size[args[0]] if args else size


def oct_getattr(x: Any, name: str) -> Any:
    if isinstance(x, torch.Tensor) or name not in ("shape",):
        return getattr(x, name)
    return oct_size(x)


def oct_dim(x: Any) -> int:
    """``x.dim()``; a split pair stands for a 4-D map."""
    return x.dim() if isinstance(x, torch.Tensor) else 4


class PerFrequencyCall(nn.Module):
    """Calls a function or tensor method on each part of a split map (tensors pass through as one call)."""

    def __init__(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], method: bool = False) -> None:
        super().__init__()
        self.fn, self.args, self.kwargs, self.method = fn, args, kwargs, method

    def _call(self, t: torch.Tensor) -> torch.Tensor:
        if self.method:
            return getattr(t, self.fn)(*self.args, **self.kwargs)
        return self.fn(t, *self.args, **self.kwargs)

    def forward(self, x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            return self._call(x)
        return tuple(None if p is None else self._call(p) for p in x)


def _set_submodule(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


class SharedCopy(nn.Module):
    """A network to *prove*, not to run: its own graph and module hierarchy, sharing the leaf modules (and so their
    parameters) with the traced network; run it with ``torch.fx.Interpreter(net, graph=net.graph)``.  The
    conversion replaces modules and never changes one in place, so the traced network is left as it was.  Far
    cheaper than a deep copy and a code generation; the proof uses it on meta networks."""

    def __init__(self, gm: fx.GraphModule) -> None:
        super().__init__()
        graph = fx.Graph()
        out = graph.graph_copy(gm.graph, {})
        graph.output(out)
        self.graph = graph
        for node in graph.nodes:
            if node.op in ("call_module", "get_attr"):
                self._share(gm, str(node.target))

    def _share(self, src: nn.Module, target: str) -> None:
        *path, leaf = target.split(".")
        dst: nn.Module = self
        for part in path:
            src = getattr(src, part)
            if not hasattr(dst, part) or not isinstance(getattr(dst, part), nn.Module):
                dst.add_module(part, nn.Module())
            dst = getattr(dst, part)
        value = getattr(src, leaf)
        if isinstance(value, nn.Module):
            dst.add_module(leaf, value)
        elif isinstance(value, nn.Parameter):
            dst.register_parameter(leaf, value)
        else:
            setattr(dst, leaf, value)


def octify_captured(gm: fx.GraphModule, plan: Plan, conv_cls: type[OctConv2d] = OctConv2d, share: bool = False) -> Any:
    """Rewrite a copy of the traced network ``gm`` into the octave network that ``plan`` describes (an
    ``fx.GraphModule``).  ``conv_cls`` builds the octave convolutions (``conv_cls.from_conv``): ``OctConv2d`` or a
    faster subclass with the same parameters and child names.  ``share``: for the proof on meta networks, a
    :class:`SharedCopy` (no code generated) whose modules are shared with ``gm`` and, where two call sites convert
    alike, with each other; a network to run or train is a deep copy."""
    memo: dict[Any, nn.Module] = {}

    def build(key: Any, make: Any) -> nn.Module:
        if not share:
            return make()
        if key not in memo:
            memo[key] = make()
        return memo[key]

    gm = SharedCopy(gm) if share else copy.deepcopy(gm)
    graph = gm.graph
    splits = plan.splits
    op_graph = plan.graph
    stride_rule = plan.options.stride_rule
    counter = 0

    origin: dict[fx.Node, str] = {}  # replacement node -> the original node's name (the plan's key)

    def split(n: fx.Node | str) -> bool:
        name = n if isinstance(n, str) else origin.get(n, n.name)
        return name in splits and splits[name].split

    def any_split(node: fx.Node) -> bool:
        return any(split(i) for i in node.all_input_nodes) or split(node)

    def replace(node: fx.Node, new: fx.Node) -> None:
        new.meta = dict(node.meta)
        origin[new] = origin.get(node, node.name)
        new.meta["octprof_origin"] = origin[new]
        node.replace_all_uses_with(new)
        graph.erase_node(node)

    def _per_channel_prelu(node: fx.Node) -> bool:
        act = gm.get_submodule(node.target)
        return isinstance(act, nn.PReLU) and act.num_parameters > 1

    for node in list(graph.nodes):
        if node.name not in op_graph.by_name:
            continue
        info = op_graph[node.name]
        strategy = get_rule(info.kind).convert
        if strategy == "conv" and node.name in plan.convs:
            cp = plan.convs[node.name]
            if cp.mode == "octave" and node.op == "call_module":
                assert cp.spec is not None
                conv = gm.get_submodule(node.target)
                key = ("conv", repr(conv), conv.weight.dtype, cp.spec.alpha_in, cp.spec.alpha_out, stride_rule)
                octave = build(
                    key, lambda c=conv, s=cp.spec: conv_cls.from_conv(c, s.alpha_in, s.alpha_out, stride_rule)
                )
                _set_submodule(gm, node.target, octave)
            elif cp.mode == "vector":
                src = node.args[0]
                if split(src):
                    with graph.inserting_before(node):
                        merged = graph.call_function(oct_vec_merge, (src,))
                    node.replace_input_with(src, merged)
                if split(node):
                    with graph.inserting_after(node):
                        parts = graph.call_function(oct_vec_split, (node, splits[node.name].high))
                    node.replace_all_uses_with(parts, delete_user_cb=lambda u, p=parts: u is not p)
        elif strategy == "batch_norm" and any_split(node) and node.op == "call_module":
            bn = gm.get_submodule(node.target)
            s = splits[node.name]
            key = ("bn", repr(bn), bn.training, s.high, s.low)
            _set_submodule(gm, node.target, build(key, lambda b=bn, s=s: FreqBatchNorm2d.from_bn(b, (s.high, s.low))))
        elif strategy == "activation" and any_split(node) and node.op == "call_module" and _per_channel_prelu(node):
            s = splits[node.name]
            _set_submodule(gm, node.target, FreqPReLU.from_prelu(gm.get_submodule(node.target), (s.high, s.low)))
        elif strategy in ("per_frequency", "activation") and any_split(node):
            if node.op == "call_module":
                _set_submodule(gm, node.target, PerFrequency(gm.get_submodule(node.target)))
            else:
                counter += 1
                name = f"_octprof_{node.name}"
                method = node.op == "call_method"
                src = node.args[0]
                gm.add_module(name, PerFrequencyCall(node.target, tuple(node.args[1:]), dict(node.kwargs), method))
                with graph.inserting_before(node):
                    new = graph.call_module(name, (src,))
                replace(node, new)
        elif strategy in BINARY and any_split(node):
            fn = BINARY[strategy]
            with graph.inserting_before(node):
                new = graph.call_function(fn, (node.args[0], node.args[1]))
            replace(node, new)
        elif strategy == "cat" and any_split(node):
            tensors = node.args[0] if node.args else node.kwargs["tensors"]
            dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
            with graph.inserting_before(node):
                new = graph.call_function(oct_cat, (tensors, dim))
            replace(node, new)
        elif strategy == "meta" and any(split(i) for i in node.all_input_nodes):
            src = node.args[0]
            if node.op == "call_method" and node.target == "size":
                fn, args = oct_size, (src, *node.args[1:])
            elif node.op == "call_function" and node.target is getattr:
                fn, args = oct_getattr, (src, node.args[1])
            elif node.op == "call_method" and node.target == "dim":
                fn, args = oct_dim, (src,)
            else:
                continue
            if node.op == "call_function" and node.target is operator.getitem:
                continue
            with graph.inserting_before(node):
                new = graph.call_function(fn, args)
            replace(node, new)
        elif strategy == "chunk" and node.name in plan.pieces:
            with graph.inserting_before(node):
                new = graph.call_function(oct_pieces, (node.args[0], tuple(plan.pieces[node.name])))
            replace(node, new)
        elif strategy in ("merge", "chunk"):
            for src in list(node.all_input_nodes):
                if split(src):
                    with graph.inserting_before(node):
                        merged = graph.call_function(oct_merge_any, (src,))
                    node.replace_input_with(src, merged)
    if share:
        return gm
    graph.lint()
    gm.recompile()
    return gm
