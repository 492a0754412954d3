"""Price a planned network: every op, per layer and per path, in every convention (integers)."""

from __future__ import annotations

from typing import Any

from octprof.core.graph import numel
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


def _price(plan: Plan) -> list[dict[str, Any]]:
    graph = plan.graph
    rows: list[dict[str, Any]] = []
    seen_params: set[str] = set()
    for node in graph:
        r = get_rule(node.kind)
        ins = [plan.split(i) if graph[i].out_shape else TensorSplit(()) for i in node.inputs]
        out = plan.splits.get(node.name) if node.is_map else None
        node_rows: list[dict[str, Any]]
        if isinstance(r, OctaveLayer) and node.is_map and node.name in plan.convs:
            cp = plan.convs[node.name]
            if cp.mode == "octave":
                assert cp.spec is not None
                node_rows = r.octave_cost(node, cp.spec)
            else:
                node_rows = [r.vanilla_cost(node)]
                if cp.mode == "vector":
                    node_rows[0]["note"] += "; split vector (concatenated, then split)"
        elif isinstance(r, OctaveLayer):  # a conv of another dimensionality than the network's maps: vanilla
            node_rows = [r.vanilla_cost(node)]
        elif r.flow in ("opaque", "merge", "chunk"):
            node_rows = [merge_row(node, plan.splits[i], i) for (n, i) in plan.merges if n == node.name]
            node_rows += r.cost(node, ins, out)
        else:
            node_rows = r.cost(node, ins, out)
        key = node.module if node.op == "call_module" and node.module else node.name
        if key in seen_params:
            for row in node_rows:
                row["params"] = 0
        elif any(row["params"] for row in node_rows):
            seen_params.add(key)
        fmap = out.elems if out is not None else numel(node.out_shape) if node.out_shape else 0
        for i, row in enumerate(node_rows):
            row["node"] = node.name
            row["fmap_elems"] = fmap if i == 0 else 0
        rows.extend(node_rows)
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    out = {k: sum(r[k] for r in rows) for k in (*ROW_COUNTS, "fmap_elems")}
    out["flops"] = 2 * out["macs"]
    return out
