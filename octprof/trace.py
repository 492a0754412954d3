"""Capture a network's graph with shapes: ``torch.fx`` tracing plus shape propagation on fake tensors.

Shape propagation runs under ``FakeTensorMode``: no activation is allocated, so a large model at a large input
costs no memory.  Modules that a rule covers are kept as leaves; anything else in ``torch.nn`` is a leaf too (so
an op without a rule shows up as one ``unknown`` node, to be merged around and listed).
"""

from __future__ import annotations

import contextlib
import io
import operator
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from octprof.core.errors import OctprofError, bad
from octprof.core.graph import OpGraph, OpNode
from octprof.core.inputs import DTYPE_BYTES as NAMED_DTYPE_BYTES
from octprof.core.inputs import FLOAT_DTYPES
from octprof.core.rules import Rule, match_function, match_method, match_module
from octprof.core.rules import explicit_padding as _explicit_padding

DTYPE_BYTES = {getattr(torch, name): n for name, n in NAMED_DTYPE_BYTES.items() if name in FLOAT_DTYPES}


def _qualname(obj: Any) -> str:
    mod = getattr(obj, "__module__", None) or ""
    name = None
    if callable(obj) and not isinstance(obj, type):
        name = getattr(obj, "__name__", None)  # torch.flatten, not torch._VariableFunctionsClass.flatten
    name = name or getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{mod}.{name}" if mod else name


def _mro_names(module: nn.Module) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in type(module).__mro__]


def module_rule(module: nn.Module) -> tuple[Rule | None, Rule | None]:
    """``(rule, own_forward)``: the rule of ``module``, that of its class or of its nearest registered base class.
    Conversion rebuilds a conv or a batch norm from its parameters alone (``splits_module``), so a subclass with a
    ``forward`` of its own (timm's ``ScaledStdConv2d`` standardises its weight, ``Conv2dSame`` pads) is not that
    op unless its rule names the class: no rule (an ``unknown`` leaf, priced by what FlopCounterMode counts and kept
    whole), and ``own_forward`` is the rule of the op it is not (``None`` for every other module)."""
    names = _mro_names(module)
    r = match_module(names)
    if r is None or not r.splits_module or names[0] in r.modules:
        return r, None
    base = next(c for c, n in zip(type(module).__mro__, names) if n in r.modules)
    own = any(getattr(type(module), f, None) is not getattr(base, f, None) for f in ("forward", "_conv_forward"))
    return (None, r) if own else (r, None)


class OctTracer(fx.Tracer):
    """An FX tracer that keeps rule-covered modules and the user's ``leaf_modules`` (types or qualified
    names) as leaves; only ``is_leaf_module`` is overridden."""

    def __init__(self, leaf_modules: Iterable[type | str] = ()) -> None:
        super().__init__()
        leaves = list(leaf_modules)
        self.leaf_types = tuple(t for t in leaves if isinstance(t, type))
        self.leaf_names = {t for t in leaves if isinstance(t, str)}

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if isinstance(m, self.leaf_types) or module_qualified_name in self.leaf_names:
            return True
        if match_module(_mro_names(m)) is not None:
            return True
        return super().is_leaf_module(m, module_qualified_name)


@dataclass
class Captured:
    """A traced model: the GraphModule (sharing the model's parameters) and its :class:`OpGraph`."""

    gm: fx.GraphModule
    graph: OpGraph
    input_shape: tuple[int, ...]
    dtype: torch.dtype
    #: submodules traced whole because torch.fx could not trace into them: {qualified name: why}
    traced_whole: dict[str, str] = field(default_factory=dict)
    unreached: tuple[str, ...] = ()  # modules with parameters or buffers that forward never calls (:func:`unreached`)


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        return (int(v[0]), int(v[1])) if len(v) == 2 else (int(v[0]), int(v[0]))
    return int(v), int(v)


def _shape(n: Any) -> tuple[int, ...] | None:
    meta = n.meta.get("tensor_meta") if isinstance(n, fx.Node) else None
    if meta is None or not hasattr(meta, "shape"):
        return None
    return tuple(int(d) for d in meta.shape)


def _dtype(n: Any) -> str | None:
    meta = n.meta.get("tensor_meta") if isinstance(n, fx.Node) else None
    return str(meta.dtype) if meta is not None and hasattr(meta, "dtype") else None


def _arg(node: fx.Node, index: int, name: str, default: Any) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def _tensor_inputs(node: fx.Node) -> list[fx.Node]:
    out: list[fx.Node] = []

    def visit(a: Any) -> None:
        if isinstance(a, fx.Node):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            for x in a:
                visit(x)
        elif isinstance(a, dict):
            for x in a.values():
                visit(x)

    visit(node.args)
    visit(node.kwargs)
    return out


def explicit_padding(conv: nn.Conv2d) -> tuple[int, int] | str:
    """A conv module's padding as two integers (see :func:`octprof.core.rules.explicit_padding`)."""
    return _explicit_padding(conv.padding, conv.kernel_size, conv.dilation)


def _keeps_all(index: Any, shape: tuple[int, ...] | None) -> bool:
    """Whether ``x[index]`` is all of ``x`` (full slices only, each reaching at least the end of its axis)."""
    items = index if isinstance(index, tuple) else (index,)
    if shape is None or len(items) > len(shape):
        return False
    for item, size in zip(items, shape):
        if item is Ellipsis and len(items) == 1:
            return True
        if not isinstance(item, slice) or item.step not in (None, 1) or item.start not in (None, 0):
            return False
        if item.stop is not None and (not isinstance(item.stop, int) or item.stop < size):
            return False
    return True


def _get_attr(gm: fx.GraphModule, target: str) -> Any:
    obj: Any = gm
    for part in target.split("."):
        obj = getattr(obj, part, None)
    return obj


class _FxCall:
    """An fx call node as the rules' :class:`~octprof.core.rules.Call`."""

    def __init__(self, node: fx.Node, target: str) -> None:
        self.node, self.target = node, target

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        return _arg(self.node, index, name, default)

    def shape(self, index: int, name: str) -> tuple[int, ...] | None:
        return _shape(_arg(self.node, index, name, None))

    def dtype(self, index: int, name: str) -> str | None:
        return _dtype(_arg(self.node, index, name, None))

    def out_dtype(self) -> str | None:
        return _dtype(self.node)

    def requires_grad(self) -> bool:
        meta = self.node.meta.get("tensor_meta")
        # one tensor's metadata (a named tuple itself), or a tuple of them (max along a dim: values, indices)
        metas = [meta] if hasattr(meta, "requires_grad") or not isinstance(meta, (tuple, list)) else meta
        return any(bool(getattr(m, "requires_grad", True)) for m in metas if m is not None)


_SIZE_FORMS = {1: "a length L or (C, L)", 2: "a size S, (H, W) or (C, H, W)", 3: "(T, H, W) or (C, T, H, W)"}


def _input_shape(input_size: Any, batch: int, channels: int, dims: int = 2) -> tuple[int, ...]:
    """The input's shape (N, C, *spatial) for a network of ``dims`` spatial axes (its convolutions decide): 1-D
    takes L (or (C, L)), 2-D S, (H, W) or (C, H, W), 3-D (T, H, W) or (C, T, H, W)."""
    expected = _SIZE_FORMS[dims]
    if dims == 3 and not isinstance(input_size, (tuple, list)):
        raise bad("input_size", input_size, f"a 3-D network takes {expected} (e.g. 16x112x112)")
    if isinstance(input_size, bool):
        raise bad("input_size", input_size, f"expected {expected}")
    if isinstance(input_size, int):
        dims_: tuple[int, ...] = (channels, input_size) if dims == 1 else (channels, input_size, input_size)
    elif isinstance(input_size, (tuple, list)) and len(input_size) in (dims, dims + 1):
        dims_ = (channels, *input_size) if len(input_size) == dims else tuple(input_size)
    else:
        raise bad("input_size", input_size, f"a {dims}-D network takes {expected}")
    if any(not isinstance(d, int) or d < 1 for d in dims_):
        raise bad("input_size", input_size, "every dimension must be a positive integer")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise bad("batch", batch, "expected an integer >= 1")
    return (batch, *dims_)


def model_dims(model: nn.Module) -> int:
    """The number of spatial axes of ``model``'s maps: that of its first convolution (1, 2 or 3; 2 without one)."""
    from torch.nn.modules.conv import _ConvNd

    first = next((m for m in model.modules() if isinstance(m, _ConvNd)), None)
    return len(first.kernel_size) if first is not None else 2


def _defaulted_args(model: nn.Module) -> dict[str, Any]:
    """The arguments of ``model.forward`` after the first that have a default (timm's ViT:
    ``forward(x, attn_mask=None, is_causal=False)``), by name: traced fixed to their defaults."""
    import inspect

    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: p.default for p in params[1:] if p.kind in kinds and p.default is not inspect.Parameter.empty}


def _drop_specialised(graph: fx.Graph) -> None:
    """Remove the placeholders of arguments fixed to their defaults (``concrete_args``) and the assertions torch.fx
    adds on them (``_assert_is_none``, ``torch._assert(x == default)``): the network then has one input."""
    asserts = {torch.fx._symbolic_trace._assert_is_none, torch._assert}
    for ph in [n for n in graph.nodes if n.op == "placeholder"][1:]:
        closure: list[fx.Node] = []
        todo = list(ph.users)
        while todo:
            n = todo.pop()
            if n not in closure:
                closure.append(n)
                todo.extend(n.users)
        if any(n.op == "output" for n in closure):
            continue
        if not all(n.target in asserts for n in closure if not n.users):
            continue
        order = {n: i for i, n in enumerate(graph.nodes)}
        for n in sorted(closure, key=order.__getitem__, reverse=True):
            graph.erase_node(n)
        graph.erase_node(ph)


#: How many submodules :func:`symbolic_trace` traces whole, at most, before it refuses the network.
MAX_AUTO_LEAVES = 64


def _why_untraceable(msg: str) -> str:
    """A short reason for a module fx could not trace, from the first line of its error."""
    if "control flow" in msg:
        return "data-dependent control flow"
    if "iterated" in msg or "iterate" in msg:
        return "iterates over a traced value"
    if "Proxy" in msg:  # int(x.shape[-1] ** 0.5), float(t), ...: a traced value used as a Python number
        return "a traced value used as a Python number"
    return msg if len(msg) <= 80 else msg[:77] + "..."


def _trace_once(model: nn.Module, leaves: Sequence[type | str], concrete: dict[str, Any]) -> tuple[Any, Any]:
    """``(graph, tracer)``: one trace of ``model`` with ``leaves`` (arguments fixed to their defaults when that
    traces, else as they are); an exception carries the tracer as ``e.octprof_tracer``."""
    tracer = OctTracer(leaves)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                graph = tracer.trace(model, concrete_args=concrete or None)
            except Exception:
                if not concrete:
                    raise
                tracer = OctTracer(leaves)
                graph = tracer.trace(model)  # the defaults could not be fixed: trace as it is (and say why below)
            if concrete:
                _drop_specialised(graph)
    except Exception as e:
        e.octprof_tracer = tracer  # type: ignore[attr-defined]
        raise
    return graph, tracer


def _innermost(stack: Any) -> str | None:
    """The qualified name of the innermost module of a torch.fx module stack (a tracer's ``module_stack``, a node's
    ``nn_module_stack``); ``None`` for an empty stack or the root."""
    if not stack:
        return None
    key = list(stack)[-1]
    val = stack[key]
    name = val[0] if isinstance(val, tuple) else key
    return str(name) or None


def _failed_in(tracer: Any) -> str | None:
    """The qualified name of the innermost module being traced when tracing failed (``None``: the root)."""
    return _innermost(getattr(tracer, "module_stack", None))


def symbolic_trace(
    model: nn.Module,
    leaf_modules: Sequence[type | str] = (),
    auto_leaf: bool = True,
    traced_whole: dict[str, str] | None = None,
) -> fx.GraphModule:
    """Trace ``model`` with :class:`OctTracer` (arguments after the first that have a default fixed to it).  When
    tracing fails inside a submodule and ``auto_leaf`` is on, that submodule is traced whole (a leaf: one opaque
    op) and the model traced again, up to :data:`MAX_AUTO_LEAVES` times; each module traced whole is recorded in
    ``traced_whole`` ({qualified name: why}).  A failure at the root, one that persists, or any failure with
    ``auto_leaf`` off is an :class:`OctprofError` naming the call that broke tracing and what to do."""
    concrete = _defaulted_args(model)
    leaves = list(leaf_modules)
    whole: dict[str, str] = {}
    while True:
        try:
            graph, tracer = _trace_once(model, leaves, concrete)
            break
        except Exception as e:
            tracer = getattr(e, "octprof_tracer", None)
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            where = _failed_in(tracer)
            if auto_leaf and where is not None and where not in whole and len(whole) < MAX_AUTO_LEAVES:
                whole[where] = _why_untraceable(msg)
                leaves.append(where)
                continue
            at = f" inside module {where!r}" if where else ""
            if where is None:
                hint = "data-dependent control flow at the top level cannot be traced; make the branch static"
            elif not auto_leaf:
                hint = (
                    "data-dependent control flow cannot be traced; pass that module as a leaf (leaf_modules=[...]), "
                    "let octprof trace it whole (auto_leaf=True, the default; not --no-auto-leaf) or make the "
                    "branch static"
                )
            else:
                hint = (
                    f"octprof traced {len(whole)} module{'s' if len(whole) != 1 else ''} whole and tracing still "
                    "fails; pass leaf_modules=[...] or make the branch static"
                )
            raise OctprofError(
                f"model: torch.fx could not trace {type(model).__name__}{at}: {msg}. Hint: {hint}"
            ) from None
    if traced_whole is not None:
        traced_whole.update(whole)
    name = type(model).__name__
    return fx.GraphModule(tracer.root, graph, name)


def declared_channels(model: nn.Module) -> int | None:
    """The input channels ``model`` declares, when it does: timm's ``pretrained_cfg["input_size"]`` (C, H, W), else
    an integer ``in_chans`` / ``in_channels`` / ``num_channels`` attribute.  A first op that reshapes the input
    (TResNet's space-to-depth stem: 3 channels become 48) makes the first conv's channels the wrong guess."""
    for name in ("pretrained_cfg", "default_cfg"):
        cfg = getattr(model, name, None)
        size = cfg.get("input_size") if isinstance(cfg, dict) else None
        if isinstance(size, (tuple, list)) and len(size) >= 2 and isinstance(size[0], int) and size[0] > 0:
            return int(size[0])
    for name in ("in_chans", "in_channels", "num_channels"):
        v = getattr(model, name, None)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return None


def unreached(gm: nn.Module, model: nn.Module) -> list[str]:
    """The qualified names of the submodules of the original ``model`` that hold parameters or buffers but that its
    traced forward never reaches (GoogLeNet's and Inception v3's auxiliary heads in eval mode), outermost only.
    ``gm`` is the traced network, which shares its modules and tensors with ``model`` (``torch.fx`` keeps only what
    the graph calls); a module of another name holding tensors the graph reaches is an alias (CoaT registers its
    shared position encodings twice), not unreached."""
    have = dict(gm.named_modules(remove_duplicate=False))
    reached = {id(t) for t in (*gm.parameters(), *gm.buffers())}
    out: list[str] = []
    for name, sub in model.named_modules(remove_duplicate=False):
        if not name or name in have:
            continue
        parent = name.rpartition(".")[0]
        if (parent and parent not in have) or any(name.startswith(c + ".") for c in out):
            continue  # inside a module already found, or under one that is not in the network
        tensors = [*sub.parameters(), *sub.buffers()]
        if tensors and not any(id(t) in reached for t in tensors):
            out.append(name)
    return out


def capture(
    model: nn.Module,
    input_size: Any = 224,
    batch: int = 1,
    dtype: torch.dtype = torch.float32,
    in_channels: int | None = None,
    leaf_modules: Sequence[type | str] = (),
    auto_leaf: bool = True,
) -> Captured:
    """Trace ``model`` and propagate shapes for an input of ``input_size``: S, (H, W) or (C, H, W) for a 2-D network,
    L or (C, L) for a 1-D one, (T, H, W) or (C, T, H, W) for a 3-D one (its convolutions decide).  ``auto_leaf``:
    submodules torch.fx cannot trace into are traced whole (see :func:`symbolic_trace`), listed in
    ``Captured.traced_whole``; one whose branch reads a tensor's value cannot run on fake tensors and is refused."""
    if not isinstance(model, nn.Module):
        raise bad("model", type(model).__name__, "expected a torch.nn.Module")
    dims = model_dims(model)
    if in_channels is None:
        in_channels = declared_channels(model)
    if in_channels is None:
        first = next((m for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d))), None)
        in_channels = first.in_channels if first is not None else 3
    shape = _input_shape(input_size, batch, in_channels, dims)
    whole: dict[str, str] = {}
    extra: list[str] = []  # modules traced whole because the graph traced through them cannot run
    while True:
        gm = symbolic_trace(model, (*leaf_modules, *extra), auto_leaf, whole)
        placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
        if len(placeholders) != 1:
            others = ", ".join(repr(str(n.target)) for n in placeholders[1:])
            what = f"forward's argument {others} is an input besides the first" if others else "forward takes no input"
            raise bad(
                "model",
                type(model).__name__,
                f"octprof prices models with exactly one tensor input; {what} (arguments with a default are traced "
                "fixed to it)",
            )
        try:
            _propagate(gm, shape, dtype, model, whole)
            break
        except _ConstantMutation as e:  # torchvision's video Swin: its window sizes are a list the graph holds fixed
            if not auto_leaf or e.owner is None or e.owner in whole or len(whole) >= MAX_AUTO_LEAVES:
                raise OctprofError(str(e)) from None
            whole[e.owner] = "changes a constant argument"
            extra.append(e.owner)
    graph = _to_opgraph(gm, dtype, len(shape))
    return Captured(gm, graph, shape, dtype, whole, tuple(unreached(gm, model)))


class _CountingShapeProp:
    """``ShapeProp`` that also records what ``torch.utils.flop_counter.FlopCounterMode`` counts for every node
    (``node.meta["octprof_flops"]``): the independent count that prices ops no rule covers (matmul, einsum,
    attention, transposed convolutions) and proves that nothing is priced at zero unseen."""

    def __init__(self, gm: fx.GraphModule, fake_mode: Any = None) -> None:
        from torch.fx.passes.shape_prop import ShapeProp

        from octprof.crosscheck import flop_counter

        counter = flop_counter()  # fused CPU attention counted as on meta: the count does not depend on the device

        class _Prop(ShapeProp):
            def run_node(self, n: fx.Node) -> Any:
                outer.failed = n  # the node being run: the one that failed, should it raise
                before = counter.get_total_flops()
                ops = dict(counter.flop_counts["Global"]) if n.op == "call_module" else None
                out = super().run_node(n)
                n.meta["octprof_flops"] = int(counter.get_total_flops() - before)
                if ops is not None:  # a module's count per aten op (a module kept whole runs many)
                    after = counter.flop_counts["Global"]
                    by_op = {str(k): int(v - ops.get(k, 0)) for k, v in after.items() if v != ops.get(k, 0)}
                    n.meta["octprof_op_flops"] = by_op
                return out

        outer = self
        self.failed: fx.Node | None = None
        self.prop = _Prop(gm, fake_mode=fake_mode) if fake_mode is not None else _Prop(gm)
        self.counter = counter

    def propagate(self, x: Any) -> Any:
        with self.counter:
            return self.prop.propagate(x)


class _ConstantMutation(OctprofError):
    """The traced graph cannot run: a call changes a list or dict constant (torch.fx makes them immutable); ``owner``
    is the module the call sits in, which can be traced whole instead."""

    def __init__(self, msg: str, owner: str | None) -> None:
        super().__init__(msg)
        self.owner = owner


def _propagate(
    gm: fx.GraphModule,
    shape: tuple[int, ...],
    dtype: torch.dtype,
    model: nn.Module,
    traced_whole: dict[str, str] | None = None,
) -> None:
    from torch._subclasses.fake_tensor import FakeTensorMode

    was_training = model.training
    gm.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    # Shapes do not depend on the dtype: propagate in the model's own floating dtype (a float16 input into float32
    # weights fails in some kernels), and let ``dtype`` decide only the bytes of every tensor.
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), dtype)
    prop: _CountingShapeProp | None = None
    try:
        # with gradients on (a caller's no_grad would hide which tensors need one: the memory model reads it)
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), torch.enable_grad():
            warnings.simplefilter("ignore")
            if device.type == "meta":  # a model built on the meta device: meta kernels, no fake mode needed
                prop = _CountingShapeProp(gm)
                prop.propagate(torch.empty(shape, dtype=dtype, device="meta"))
            else:
                fake_mode = FakeTensorMode(allow_non_fake_inputs=True)
                with fake_mode:
                    x = torch.empty(shape, dtype=dtype, device=device)
                prop = _CountingShapeProp(gm, fake_mode=fake_mode)
                prop.propagate(x)
    except Exception as e:
        cause = e.__cause__ or e.__context__ or e
        msg = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        where = re.search(r"target=([^\]]+)\]", str(e))
        at = f" at {where.group(1)}" if where else ""
        failed = where.group(1).strip() if where else ""
        whole = next((m for m in traced_whole or {} if failed == m or failed.startswith(m + ".")), None)
        if whole is not None:  # a module traced whole that cannot run on fake tensors: its branch reads values
            raise OctprofError(
                f"model: module {whole!r} was traced whole ({traced_whole[whole]}) and cannot run on shapes alone: "
                f"{msg}. Hint: its control flow depends on tensor values, so its cost is not fixed by the input "
                "size; make the branch static"
            ) from None
        if "immutable" in msg and "mutation" in msg:  # not the input: the traced graph cannot run at all
            owner = _owner(prop.failed) if prop is not None and prop.failed is not None else None
            raise _ConstantMutation(
                f"model: the traced network cannot run{at}: it changes a list or dict argument that torch.fx passes "
                "as an immutable constant. Hint: pass the module that calls it as a leaf (leaf_modules=[...])",
                owner,
            ) from None
        if re.search(r"expected input.* to have \d+ channels", msg):  # the channels, not the size
            hint = (
                f"the input has {shape[1]} channels (inferred from the model's first conv, or its in_chans); give "
                "the channels the model expects, input_size (C, H, W)"
            )
        else:
            hint = "use a larger input size (or the channels the model expects: input_size (C, H, W))"
        raise OctprofError(
            f"input_size: got {'x'.join(map(str, shape[2:]))}; the network fails on it{at}: {msg}. Hint: {hint}"
        ) from None
    finally:
        with contextlib.suppress(Exception):
            gm.train(was_training)


def _owner(node: fx.Node) -> str | None:
    """The module whose forward made ``node`` (``None``: the root's)."""
    return _innermost(node.meta.get("nn_module_stack"))


def _to_opgraph(gm: fx.GraphModule, dtype: torch.dtype, map_rank: int = 4) -> OpGraph:
    nodes: list[OpNode] = []
    inputs: list[str] = []
    outputs: list[str] = []
    calls: dict[str, int] = {}
    for n in gm.graph.nodes:
        if n.op == "call_module":
            calls[str(n.target)] = calls.get(str(n.target), 0) + 1
    for n in gm.graph.nodes:
        r: Rule | None = None
        attrs: dict[str, Any] = {}
        module: str | None = None
        if n.op == "placeholder":
            kind, target = "input", "input"
            inputs.append(n.name)
        elif n.op == "get_attr":
            kind, target = "constant", str(n.target)
            value = _get_attr(gm, str(n.target))
            if isinstance(value, nn.Parameter):
                attrs = {"param_elems": value.numel()}
        elif n.op == "output":
            kind, target = "output", "output"
            outputs.extend(i.name for i in _tensor_inputs(n))
        elif n.op == "call_module":
            m = gm.get_submodule(n.target)
            r, own = module_rule(m)
            kind = r.kind if r else "unknown"
            target = _qualname(type(m))
            module = str(n.target)
            attrs = r.module_attrs(m) if r else {}
            if own is not None:  # a conv / batch norm with a forward of its own, kept whole
                attrs["own_forward"] = own.kind
            # every parameter the module holds, counted once however often it is called: the rules of modules
            # that do not read them one by one (norms, transposed convs, unknown modules) price these
            attrs["module_params"] = sum(p.numel() for p in m.parameters())
        elif n.op == "call_function":
            target = _qualname(n.target)
            r = match_function(target)
            kind = r.kind if r else "unknown"
            module = _owner(n)
            attrs = r.call_attrs(_FxCall(n, target)) if r else {}
        else:  # call_method
            target = f"Tensor.{n.target}"
            r = match_method(str(n.target))
            kind = r.kind if r else "unknown"
            module = _owner(n)
            attrs = r.call_attrs(_FxCall(n, target)) if r else {}
        if kind == "meta" and n.op == "call_function" and n.target is operator.getitem and _shape(n.args[0]):
            # indexing a tensor (a slice or a crop), not a tuple of outputs; a slice that keeps everything
            # (GhostNet's ``out[:, :self.out_chs]`` when the concatenation has exactly that many) is an identity
            kind, r = ("dropout" if _keeps_all(n.args[1], _shape(n.args[0])) else "slice"), None
        if kind == "chunk":
            dim = _arg(n, 2, "dim", 0)  # split(x, size, dim), chunk(x, n, dim), x.split(sizes, dim)
            meta = n.meta.get("tensor_meta")
            pieces = [tuple(int(d) for d in m.shape) for m in meta] if isinstance(meta, (tuple, list)) else []
            attrs = {
                "dim": int(dim),
                "piece_channels": [p[1] for p in pieces if len(p) == map_rank],
                # pieces taken one by one (a, b = x.split(...)); a slice of the tuple or the tuple itself is not
                "items_only": all(
                    u.op == "call_function" and u.target is operator.getitem and isinstance(u.args[1], int)
                    for u in n.users
                ),
            }
        if kind == "meta" and n.op == "call_function" and n.target is operator.getitem:
            src = n.args[0]
            if isinstance(src, fx.Node) and isinstance(n.args[1], int):
                attrs = {"item_of": src.name, "index": n.args[1]}
        if kind == "unknown" and _shape(n) is None and not any(_shape(i) for i in _tensor_inputs(n)):
            kind = "meta"  # arithmetic on sizes and assertions (``h // 2``, ``torch._assert``): no tensor involved
        attrs["counted_flops"] = int(n.meta.get("octprof_flops", 0))
        if n.op == "call_module":
            attrs["module_calls"] = calls.get(str(n.target), 1)
            if kind == "unknown":  # what FlopCounterMode counted per aten op inside it: fvcore's conventions apply
                attrs["counted_by_op"] = tuple(sorted(n.meta.get("octprof_op_flops", {}).items()))
        tin = [i for i in _tensor_inputs(n) if i.op != "get_attr" or _shape(i) is not None]
        ins = [i for i in tin if _shape(i) is not None]
        if kind in ("conv1d", "conv2d", "conv3d") and attrs.get("functional"):
            ins = ins[:1]
        if kind == "linear" and n.op == "call_function":
            ins = ins[:1]
        nodes.append(
            OpNode(
                name=n.name,
                kind=kind,
                op=n.op,
                target=target,
                module=module,
                inputs=tuple(i.name for i in ins),
                in_shapes=tuple(_shape(i) or () for i in ins),
                out_shape=_shape(n),
                attrs=attrs,
                map_rank=map_rank,
            )
        )
    return OpGraph(nodes, inputs, outputs, DTYPE_BYTES.get(dtype, 4), type(gm).__name__)
