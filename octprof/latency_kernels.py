"""The kernels of a planned network for the latency model of :mod:`octprof.latency`: convolutions and linear
layers as *compute* kernels (multiply-accumulates, GEMM sizes M, K, N), everything else as *memory* kernels (bytes
read + written); octave layers as the implementation being timed runs them (``impl="fast"`` or
``"reference"``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from octprof.core.layer import PATHS, layer_cost
from octprof.core.rules import get_rule

__all__ = ["Kernel", "conv_kernel", "kernels"]


@dataclass(frozen=True)
class Kernel:
    """One kernel of a forward pass: ``kind`` is ``conv`` (dense convolution or linear layer), ``gconv`` (grouped),
    ``dwconv`` (depthwise) or ``memory``; ``m``, ``k``, ``n`` are the GEMM sizes of a compute kernel."""

    node: str
    layer: str
    path: str
    kind: str
    macs: int = 0
    bytes: int = 0
    m: int = 0
    k: int = 0
    n: int = 0


def _numel(shape: Sequence[int] | None) -> int:
    return 0 if not shape else math.prod(shape)


def conv_kernel(
    node: Any,
    path: str,
    macs: int,
    in_elems: int,
    out_shape: Sequence[int],
    params: int,
    groups: int,
    cin: int,
    cout: int,
    kernel_area: int,
    db: int,
) -> Kernel:
    dw = groups > 1 and groups == cin == cout
    kind = "dwconv" if dw else ("gconv" if groups > 1 else "conv")
    n, _, *spatial = out_shape
    return Kernel(
        node.name,
        node.label,
        path,
        kind,
        macs,
        (in_elems + _numel(out_shape) + params) * db,
        m=cout // groups,
        k=(cin // groups) * kernel_area,
        n=n * _numel(spatial),
    )


def _mem(node: Any, path: str, elems: int, db: int) -> Kernel:
    return Kernel(node.name, node.label, path, "memory", bytes=elems * db)


def _octave_kernels(node: Any, spec: Any, impl: str, db: int) -> list[Kernel]:
    cost = layer_cost(spec)
    ka = math.prod(spec.kernel_size)

    def conv(rows: list[Any], label: str) -> Kernel:
        r0 = rows[0]
        macs = sum(r.macs for r in rows)
        cin = sum(r.in_shape[1] for r in rows) if label == "in" else r0.in_shape[1]
        cout = sum(r.out_shape[1] for r in rows) if label == "out" else r0.out_shape[1]
        in_elems = sum(r.in_elems for r in rows) if label == "in" else r0.in_elems
        out_shape = (r0.out_shape[0], cout, *r0.out_shape[2:])
        name = "+".join(r.path for r in rows)
        return conv_kernel(
            node, name, macs, in_elems, out_shape, sum(r.params for r in rows), r0.groups, cin, cout, ka, db
        )

    paths = {r.path: r for r in cost.rows if r.path in ("h2h", "h2l", "l2h", "l2l")}
    # FastOctConv2d's fused kernels run all four paths at even sizes; ablated or ceil-mode layers run path by path
    fast = (
        impl == "fast" and spec.dims == 2 and not spec.depthwise and spec.odd_size == "vanilla" and spec.paths == PATHS
    )
    pool_mode = spec.stride == 2 and spec.stride_rule == "pool"
    ih, il = spec.in_split
    if fast and pool_mode and ih and il:
        out: list[Kernel] = []
        (n, _, h, w) = cost.input_shapes[0]  # type: ignore[misc]
        pooled = n * ih * (h // 2) * (w // 2)
        low = n * il * (h // 2) * (w // 2)
        out.append(_mem(node, "pool", n * ih * h * w + pooled, db))
        out.append(_mem(node, "cat", 2 * (pooled + low), db))
        if "h2h" in paths:
            out.append(conv([paths["h2h"], paths["l2h"]], "in"))
        if "h2l" in paths:
            out.append(_mem(node, "pool", (pooled + low) * 5 // 4, db))
            out.append(conv([paths["h2l"], paths["l2l"]], "in"))
        return out
    if fast and spec.groups == 1 and spec.stride == 1 and "l2h" in paths and "l2l" in paths:
        out = [conv([paths["l2h"], paths["l2l"]], "out")]
        if "h2h" in paths:
            out.append(conv([paths["h2h"]], ""))
            yh, zh = paths["h2h"].act_elems, paths["l2h"].act_elems
            out.append(_mem(node, "add_upsampled", 2 * yh + 3 * zh, db))
        else:
            out.append(_mem(node, "upsample", 5 * paths["l2h"].act_elems, db))
        if "h2l" in paths:
            for r in cost.rows:
                if r.path == "pool" and r.note.startswith("h2l"):
                    out.append(_mem(node, "pool", r.in_elems + r.act_elems, db))
            out.append(conv([paths["h2l"]], ""))
            out.append(_mem(node, "add", 3 * paths["h2l"].act_elems, db))
        return out
    out = []
    for r in cost.rows:
        if r.path in paths:
            out.append(conv([r], ""))
        else:
            out.append(_mem(node, r.path, r.in_elems + r.act_elems, db))
    return out


def _gemm_kernel(node: Any, path: str, g: dict[str, Any], db: int) -> Kernel:
    """A matrix-product op (a vanilla conv, a linear layer, an op FlopCounterMode priced) as one compute kernel."""
    io = sum(_numel(s) for s in node.in_shapes) + _numel(node.out_shape) + g["weights"]
    return Kernel(node.name, node.label, path, g["kind"], g["macs"], io * db, m=g["m"], k=g["k"], n=g["n"])


def kernels(analysis: Any, impl: str = "fast") -> list[Kernel]:
    """The kernels of one forward pass of the octave network of ``analysis`` (an ``Analysis`` or a ``Plan``):
    what each op's rule says (:meth:`octprof.core.rules.Rule.kernel`), octave layers as ``impl`` runs them."""
    plan = getattr(analysis, "plan", analysis)
    graph = plan.graph
    db = graph.dtype_bytes
    out: list[Kernel] = []
    for node in graph:
        r = get_rule(node.kind)
        if node.name in plan.convs:  # an op of the OctaveLayer protocol
            cp = plan.convs[node.name]
            if cp.mode == "octave":
                out += _octave_kernels(node, cp.spec, impl, db)
                continue
            if cp.mode == "vector" and plan.split(node.inputs[0]).split:
                out.append(_mem(node, "merge", 2 * _numel(node.in_shapes[0]), db))
            out.append(_gemm_kernel(node, "conv", r.gemm(node), db))
            continue
        how = r.kernel(node)
        if how == "none":
            continue
        for n_, src in plan.merges:
            if n_ == node.name:
                s = plan.splits[src]
                out.append(_mem(node, "merge", 2 * s.elems + _numel(s.shape), db))
        if how == "gemm":
            out.append(_gemm_kernel(node, "", r.gemm(node), db))
            continue
        outs = plan.splits[node.name].parts() if node.name in plan.splits else [("", node.out_shape)]
        total = sum(_numel(s) for _, s in outs) or 1
        in_elems = sum(_numel(s) for s in node.in_shapes)
        for part, shape in outs:
            if shape is None:
                continue
            share = _numel(shape) / total
            out.append(_mem(node, part, int(in_elems * share) + _numel(shape), db))
    return out
