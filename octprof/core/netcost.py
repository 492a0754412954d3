"""Price a planned network: every op, per layer and per path, in every convention (integers)."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from octprof.core.graph import OpGraph, OpNode, numel
from octprof.core.plan import Plan
from octprof.core.rules import OctaveLayer, TensorSplit, call_memo, get_rule, merge_row

ROW_COUNTS: tuple[str, ...] = ("macs", "paper_flops", "fvcore_flops", "params", "act_elems")
#: A network's totals, as ``network_table`` reports them, and those it also gives relative to α = 0 (``*_rel``).
TOTAL_COLUMNS: tuple[str, ...] = (
    "macs",
    "flops",
    "paper_flops",
    "fvcore_flops",
    "params",
    "act_elems",
    "act_bytes",
    "fmap_elems",
)
RELATIVE_COLUMNS: tuple[str, ...] = ("macs", "paper_flops", "fvcore_flops", "params", "act_elems", "fmap_elems")


def price(plan: Plan) -> list[dict[str, Any]]:
    """One row per (op, path or frequency part): ``layer``, ``op``, ``path``, shapes, ``macs``,
    ``paper_flops``, ``fvcore_flops``, ``params`` (each module's parameters counted once), ``act_elems``
    (elements of every tensor produced, octave intermediates included) and ``fmap_elems`` (elements of the op's
    output as the vanilla graph has it: the feature-map memory of Table 1)."""
    with call_memo():
        return _price(plan)


class _Op:
    """What pricing reads of one op that neither α nor any option changes (found once per graph, see
    :func:`_ops`): its rule, how it is priced, the key its parameters are counted once under, its inputs' and
    output's sizes as the vanilla graph has them."""

    __slots__ = ("how", "key", "node", "plain_fmap", "rule", "shaped_inputs", "vanilla_row")

    def __init__(self, graph: OpGraph, node: OpNode) -> None:
        r = get_rule(node.kind)
        self.node, self.rule = node, r
        if isinstance(r, OctaveLayer):
            # a conv of the network's maps follows its plan; one of another dimensionality stays vanilla
            self.how = "conv" if node.is_map else "vanilla"
        else:
            self.how = "merge" if r.flow in ("opaque", "merge", "chunk") else "rule"
        self.key = node.module if node.op == "call_module" and node.module else node.name
        self.plain_fmap = numel(node.out_shape) if node.out_shape else 0
        self.shaped_inputs = [(i, bool(graph[i].out_shape)) for i in node.inputs]
        self.vanilla_row: dict[str, Any] | None = None  # the vanilla conv's row, once asked for

    def vanilla_cost(self) -> dict[str, Any]:
        """A fresh copy of the op's vanilla conv row (the same at every α)."""
        if self.vanilla_row is None:
            self.vanilla_row = self.rule.vanilla_cost(self.node)  # type: ignore[attr-defined]
        return dict(self.vanilla_row)


def _ops(graph: OpGraph) -> list[_Op]:
    ops = graph.derived.get("price")
    if ops is None:
        ops = graph.derived["price"] = [_Op(graph, n) for n in graph]
    return ops


def _price(plan: Plan) -> list[dict[str, Any]]:
    graph, splits, convs = plan.graph, plan.splits, plan.convs
    merged: dict[str, list[str]] = {}
    for n, i in plan.merges:
        merged.setdefault(n, []).append(i)
    unsplit: dict[str, TensorSplit] = {}  # inputs no split covers (not maps): one TensorSplit each in this call
    no_tensor = TensorSplit(())
    rows: list[dict[str, Any]] = []
    seen_params: set[str] = set()
    for op in _ops(graph):
        node, r, name = op.node, op.rule, op.node.name
        out = splits.get(name) if node.is_map else None
        node_rows: list[dict[str, Any]]
        if op.how == "conv" and name in convs:
            cp = convs[name]
            if cp.mode == "octave":
                assert cp.spec is not None
                node_rows = r.octave_cost(node, cp.spec)  # type: ignore[attr-defined]
            else:
                node_rows = [op.vanilla_cost()]
                if cp.mode == "vector":
                    node_rows[0]["note"] += "; split vector (concatenated, then split)"
        elif op.how in ("conv", "vanilla"):
            node_rows = [op.vanilla_cost()]
        else:
            ins = []
            for i, shaped in op.shaped_inputs:
                if not shaped:
                    ins.append(no_tensor)
                elif i in splits:
                    ins.append(splits[i])
                else:
                    if i not in unsplit:
                        unsplit[i] = plan.split(i)
                    ins.append(unsplit[i])
            if op.how == "merge":
                node_rows = [merge_row(node, splits[i], i) for i in merged.get(name, ())]
                node_rows += r.cost(node, ins, out)
            else:
                node_rows = r.cost(node, ins, out)
        if op.key in seen_params:
            for row in node_rows:
                row["params"] = 0
        elif any(row["params"] for row in node_rows):
            seen_params.add(op.key)
        fmap = out.elems if out is not None else op.plain_fmap
        for i, row in enumerate(node_rows):
            row["node"] = name
            row["fmap_elems"] = fmap if i == 0 else 0
        rows.extend(node_rows)
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    out = {k: sum(map(itemgetter(k), rows)) for k in (*ROW_COUNTS, "fmap_elems")}
    out["flops"] = 2 * out["macs"]
    return out
