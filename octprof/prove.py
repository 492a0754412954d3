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
from octprof.shape_only import ShapeOnly

__all__ = ["Failure", "meta_copy", "needs_proof", "no_init", "prove", "run_checked"]


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
        with no_init():
            net = octify_captured(gm, plan, share=True)
    except Exception as e:  # a conversion that cannot be built: name the op when the message allows
        return [Failure(_name_in(str(e), plan) or "", f"building the octave network failed: {_msg(e)}")]
    return run_checked(net, plan, input_shape, dtype)


def run_checked(net: Any, plan: Plan, input_shape: tuple[int, ...], dtype: torch.dtype) -> list[Failure] | None:
    """Run the built octave network ``net`` (a :class:`octprof.convert.SharedCopy`) node by node on a meta input,
    checking every node the plan names; ``None`` when all give the planned shapes, else the failures."""
    failure: list[Failure] = []
    memo: dict[Any, Any] = {}  # (module, input shapes, keywords) -> output shapes
    env: dict[fx.Node, Any] = {}
    x = torch.empty(input_shape, dtype=dtype, device="meta")
    try:
        mode = ShapeOnly()
        with torch.no_grad():
            for n in net.graph.nodes:
                name = n.meta.get("octprof_origin", n.name)
                if n.op == "output":
                    break
                vector = name in plan.convs and plan.convs[name].mode == "vector"  # split by a node inserted after it
                checked = name in plan.splits and not vector
                try:
                    out = _run(net, n, env, x, memo, dtype, mode)
                except Exception as e:
                    where = _first_planned(n, plan)
                    failure.append(Failure(where or n.name, f"{type(e).__name__}: {_msg(e)}"))
                    if not checked:
                        break
                    out = _stand_in(plan, name, dtype)
                else:
                    if checked:
                        want, got = _expected(plan, name), _shapes(out)
                        if want != got:
                            failure.append(Failure(name, f"gives {got} where the plan has {want}"))
                            out = _stand_in(plan, name, dtype)
                env[n] = out
    except Exception as e:  # a failure after a stand-in (its users could not take it): the first one explains it
        if not failure:
            failure.append(Failure("", f"{type(e).__name__}: {_msg(e)}"))
    return failure or None


def _value(a: Any, env: dict[fx.Node, Any]) -> Any:
    """An argument of a node with the values of the nodes it names (``torch.fx``'s ``map_arg``, without pytree)."""
    if isinstance(a, fx.Node):
        return env[a]
    if isinstance(a, (tuple, list)):
        return type(a)(_value(v, env) for v in a)
    if isinstance(a, dict):
        return {k: _value(v, env) for k, v in a.items()}
    if isinstance(a, slice):
        return slice(_value(a.start, env), _value(a.stop, env), _value(a.step, env))
    return a


def _run(
    net: Any, n: fx.Node, env: dict[fx.Node, Any], x: torch.Tensor, memo: dict[Any, Any], dtype: Any, mode: Any
) -> Any:
    """Run one node of the octave network as ``torch.fx.Interpreter`` would.  A module already run on inputs of
    the same shapes (identical blocks share their converted modules) gives its recorded output shapes again."""
    op = n.op
    if op == "placeholder":
        return x
    if op == "get_attr":
        return net.modules[n.target]
    args = _value(n.args, env)
    kwargs = _value(n.kwargs, env) if n.kwargs else {}
    if op == "call_function":
        with mode:
            return n.target(*args, **kwargs)  # type: ignore[operator]
    if op == "call_method":
        with mode:
            return getattr(args[0], n.target)(*args[1:], **kwargs)  # type: ignore[arg-type]
    mod = net.modules[n.target]
    key = (id(mod), _shapes(args), tuple(sorted(kwargs)))
    if key in memo:
        return _empty_like_shapes(memo[key], dtype)
    with mode:
        out = mod(*args, **kwargs)
    shapes = _shapes(out)
    if shapes is not None:
        memo[key] = shapes
    return out


def _empty_like_shapes(shapes: Any, dtype: torch.dtype) -> Any:
    if shapes is None:
        return None
    if (shapes and isinstance(shapes[0], int)) or shapes == ():
        return torch.empty(shapes, dtype=dtype, device="meta")
    return tuple(_empty_like_shapes(s, dtype) for s in shapes)


def _stand_in(plan: Plan, name: str, dtype: torch.dtype) -> Any:
    """Meta tensors of the shapes the plan gives ``name`` (a pair for a split map)."""
    return _empty_like_shapes(_expected(plan, name), dtype)


@contextlib.contextmanager
def no_init() -> Iterator[None]:
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


def _msg(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


def _name_in(text: str, plan: Plan) -> str | None:
    for n in plan.graph:
        if n.module and n.module in text:
            return n.name
    return None
