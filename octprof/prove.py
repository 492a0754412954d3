"""Proof by construction: a plan is priced only once its octave network has been built and run.

:func:`prove` builds the octave network of a plan on the meta device (no weights initialised, no activation
allocated) and runs it node by node.  Every op whose plan node it can name is checked: a split map must come out as
a ``(high, low)`` pair with exactly the planned shapes, a vanilla one as one tensor of the vanilla shape.  The first
op that raises or gives other shapes is recorded with the reason and stood in for by its planned shapes, so that
one run finds every failure; :meth:`octprof.analysis.Network.analyze` then plans again with the failing ops refused
(their split inputs merged before them, their outputs vanilla) and proves again, so that every price describes a
network that exists and runs.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import torch
import torch.fx as fx

from octprof.core.plan import Plan

__all__ = ["Failure", "meta_copy", "needs_proof", "prove"]


class Failure(tuple):
    """``(node, reason)``: the plan node that failed and why."""

    __slots__ = ()

    def __new__(cls, node: str, reason: str) -> Failure:
        return super().__new__(cls, (node, reason))


def needs_proof(plan: Plan) -> bool:
    """Whether the octave network differs from the traced one (something split, or an octave conv)."""
    return any(s.split for s in plan.splits.values()) or any(c.mode != "vanilla" for c in plan.convs.values())


def meta_copy(gm: fx.GraphModule) -> fx.GraphModule:
    """The traced network with its parameters and buffers on the meta device (built once per network)."""
    if all(t.is_meta for t in (*gm.parameters(), *gm.buffers())):
        return gm
    out = copy.deepcopy(gm)
    return out.to("meta")


def _shapes(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    if isinstance(value, (tuple, list)):
        return tuple(_shapes(v) for v in value)
    return None


def _expected(plan: Plan, name: str) -> Any:
    s = plan.splits[name]
    if not s.split:
        return tuple(s.shape)
    parts = dict(s.parts())
    return (parts.get("high"), parts.get("low"))


def _first_planned(node: fx.Node, plan: Plan) -> str | None:
    """The plan node a (possibly inserted) node of the octave graph serves: its own origin, else a user's."""
    seen: set[fx.Node] = set()
    todo = [node]
    while todo:
        n = todo.pop(0)
        if n in seen:
            continue
        seen.add(n)
        name = n.meta.get("octprof_origin", n.name)
        if name in plan.graph.by_name and plan.graph[name].kind not in ("input", "constant", "output"):
            return name
        todo.extend(n.users)
    return None


def prove(plan: Plan, gm: fx.GraphModule, input_shape: tuple[int, ...], dtype: torch.dtype) -> list[Failure] | None:
    """Build the octave network of ``plan`` from ``gm`` (the traced network; meta parameters make this cheap) and
    run it on a meta input; ``None`` when every checked op gives the planned shapes, else the failures found (an
    op that fails is stood in for by its planned shapes and the run goes on, so one run finds them all)."""
    from octprof.convert import octify_captured

    try:
        with _no_init():
            net = octify_captured(gm, plan, share=True)
    except Exception as e:  # a conversion that cannot be built: name the op when the message allows
        return [Failure(_name_in(str(e), plan) or "", f"building the octave network failed: {_msg(e)}")]
    failure: list[Failure] = []

    memo: dict[Any, Any] = {}

    class _Check(fx.Interpreter):
        """Runs the octave network; a failing op is recorded and, where the plan says what it should give,
        stood in for by meta tensors of the planned shapes, so that one run finds every failure.  A module already
        run on inputs of the same shapes (identical blocks share their converted modules) gives its recorded
        output shapes again without running."""

        def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
            mod = self.fetch_attr(target)
            key = (id(mod), _shapes(args), tuple(sorted(kwargs)))
            if key in memo:
                return _empty_like_shapes(memo[key], dtype)
            out = super().call_module(target, args, kwargs)
            shapes = _shapes(out)
            if shapes is not None:
                memo[key] = shapes
            return out

        def run_node(self, n: fx.Node) -> Any:
            name = n.meta.get("octprof_origin", n.name)
            vector = name in plan.convs and plan.convs[name].mode == "vector"  # split by a node inserted after it
            checked = n.op != "output" and name in plan.splits and not vector
            try:
                out = super().run_node(n)
            except Exception as e:
                where = _first_planned(n, plan)
                failure.append(Failure(where or n.name, f"{type(e).__name__}: {_msg(e)}"))
                if not checked:
                    raise _Stop from None
                return _stand_in(plan, name, dtype)
            if checked:
                want, got = _expected(plan, name), _shapes(out)
                if want != got:
                    failure.append(Failure(name, f"gives {got} where the plan has {want}"))
                    return _stand_in(plan, name, dtype)
            return out

    x = torch.empty(input_shape, dtype=dtype, device="meta")
    try:
        with torch.no_grad(), _ShapeOnly():
            _Check(net, graph=net.graph).run(x)
    except _Stop:
        pass
    except Exception as e:  # a failure after a stand-in (its users could not take it): the first one explains it
        if not failure:
            failure.append(Failure("", f"{type(e).__name__}: {_msg(e)}"))
    return failure or None


def _empty_like_shapes(shapes: Any, dtype: torch.dtype) -> Any:
    if shapes is None:
        return None
    if (shapes and isinstance(shapes[0], int)) or shapes == ():
        return torch.empty(shapes, dtype=dtype, device="meta")
    return tuple(_empty_like_shapes(s, dtype) for s in shapes)


def _stand_in(plan: Plan, name: str, dtype: torch.dtype) -> Any:
    """Meta tensors of the shapes the plan gives ``name`` (a pair for a split map)."""
    return _empty_like_shapes(_expected(plan, name), dtype)


class _Stop(Exception):
    pass


@contextlib.contextmanager
def _no_init() -> Iterator[None]:
    """Modules built for the proof live on the meta device: their random initialisation is skipped (it runs a
    meta kernel per tensor and would be overwritten by the vanilla weights' slices anyway)."""
    from torch import nn
    from torch.nn.modules.batchnorm import _NormBase
    from torch.nn.modules.conv import _ConvNd

    owners = (_ConvNd, _NormBase, nn.Linear, nn.PReLU)
    saved = [(cls, cls.__dict__.get("reset_parameters")) for cls in owners]
    try:
        for cls in owners:
            cls.reset_parameters = lambda self: None  # type: ignore[method-assign]
        yield
    finally:
        for cls, fn in saved:
            if fn is None:
                delattr(cls, "reset_parameters")
            else:
                cls.reset_parameters = fn  # type: ignore[method-assign]


def _shape_only_tables() -> tuple[set[Any], set[Any], set[Any]]:
    import operator

    import torch.nn.functional as F

    T = torch.Tensor
    unary = {
        F.relu, F.relu6, F.silu, F.hardswish, F.hardsigmoid, F.gelu, F.leaky_relu, F.elu, F.mish, F.hardtanh,
        torch.relu, torch.sigmoid, torch.tanh, T.relu, T.sigmoid, T.tanh, F.dropout,
    }  # fmt: skip
    inplace = {torch.relu_, T.relu_, T.sigmoid_, T.tanh_}
    binary = {
        torch.add, torch.mul, torch.sub, torch.div, T.add, T.mul, T.sub, T.div, T.__add__, T.__radd__,
        T.__mul__, T.__rmul__, T.__sub__, T.__rsub__, T.__truediv__, T.__rtruediv__, operator.add, operator.mul,
        operator.sub, operator.truediv,
    }  # fmt: skip
    return unary | inplace, inplace, binary


class _ShapeOnly(torch.overrides.TorchFunctionMode):
    """During the proof, elementwise ops and batch norm give an empty meta tensor of the right shape without
    running their meta kernels (decompositions that cost far more than the arithmetic of shapes).  They still
    check what the real kernels check: binary operands must broadcast, and batch norm's statistics and affine
    parameters must have one entry per channel of its input."""

    _tables: tuple[set[Any], set[Any], set[Any]] | None = None

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if _ShapeOnly._tables is None:
            _ShapeOnly._tables = _shape_only_tables()
        unary, inplace, binary = _ShapeOnly._tables
        import torch.nn.functional as F

        if func in unary and args and isinstance(args[0], torch.Tensor) and args[0].is_meta:
            return args[0] if func in inplace else torch.empty_like(args[0])
        if func in binary and len(args) >= 2:
            a, b = args[0], args[1]
            ta, tb = isinstance(a, torch.Tensor), isinstance(b, torch.Tensor)
            if ((ta and a.is_meta) or not ta) and ((tb and b.is_meta) or not tb) and (ta or tb):
                shape = torch.broadcast_shapes(a.shape if ta else (), b.shape if tb else ())
                ref = a if ta else b
                return torch.empty(shape, dtype=ref.dtype, device="meta")
        if func is F.batch_norm and args and isinstance(args[0], torch.Tensor) and args[0].is_meta:
            x = args[0]
            c = x.shape[1] if x.dim() > 1 else 0
            stats = [*args[1:3], kwargs.get("weight", args[3] if len(args) > 3 else None)]
            for t in stats:
                if isinstance(t, torch.Tensor) and t.numel() != c:
                    raise RuntimeError(f"batch_norm: running_mean should contain {c} elements not {t.numel()}")
            return torch.empty_like(x)
        return func(*args, **kwargs)


def _msg(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


def _name_in(text: str, plan: Plan) -> str | None:
    for n in plan.graph:
        if n.module and n.module in text:
            return n.name
    return None
