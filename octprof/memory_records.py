"""The records of the closed-form memory model (see :mod:`octprof.memory`): each tensor of a forward pass, each
op (what it produces, consumes and saves for backward) and :class:`MemoryModel`, which answers from them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from octprof.core.graph import Shape
from octprof.core.plan import Plan
from octprof.core.rules import get_rule

__all__ = ["MemoryModel", "Op", "TensorRecord"]


@dataclass(frozen=True)
class TensorRecord:
    """One tensor of the forward pass.

    ``node``: the op (fx node) that produces it; ``module``: the module whose call returns it (``conv.h2h`` for
    an octave path, empty for functions); ``part``: ``high``/``low`` for a split map, ``""`` for a vanilla one,
    or the octave intermediate (``pool``, ``h2h``, …, ``upsample``, ``add``, ``merge``); ``role``: ``input``,
    ``output`` (what the op hands on) or ``intermediate``; ``alias``: a view or in-place result sharing the
    storage of another tensor (it adds no bytes).  :attr:`MemoryModel.module_outputs` says which tensors each
    module call returns."""

    id: int
    node: str
    layer: str
    op: str
    module: str
    part: str
    role: str
    shape: Shape
    dtype_bytes: int
    alias: bool = False

    @property
    def elems(self) -> int:
        return math.prod(self.shape)

    @property
    def bytes(self) -> int:
        return 0 if self.alias else self.elems * self.dtype_bytes


@dataclass
class Op:
    node: str
    produces: list[int]
    consumes: list[int]
    saves: list[int] = field(default_factory=list)
    saved_extra: int = 0


@dataclass
class MemoryModel:
    """The closed-form activation memory of one planned network (see the module docstring)."""

    plan: Plan
    tensors: list[TensorRecord]
    ops: list[Op]
    base: dict[int, int]
    outputs: set[int]
    module_outputs: dict[str, list[int]] = field(default_factory=dict)

    # -- produced ----------------------------------------------------------------------------------------------
    @property
    def act_bytes(self) -> int:
        """Bytes of every tensor the forward pass allocates (views and in-place results add none)."""
        return sum(t.bytes for t in self.tensors if t.role != "input")

    @property
    def input_bytes(self) -> int:
        return sum(t.bytes for t in self.tensors if t.role == "input")

    @property
    def output_bytes(self) -> int:
        return sum(self.tensors[b].bytes for b in {self.base[t] for t in self.outputs})

    # -- liveness ----------------------------------------------------------------------------------------------
    def _simulate(self) -> tuple[list[int], int]:
        last: dict[int, int] = {}
        for i, op in enumerate(self.ops):
            for t in op.consumes:
                last[self.base[t]] = i
        keep = {self.base[t] for t in self.outputs}
        inputs = {t.id for t in self.tensors if t.role == "input"}
        live: dict[int, int] = {}
        during: list[int] = []
        for i, op in enumerate(self.ops):
            for t in op.produces:
                b = self.base[t]
                if b == t and b not in inputs:
                    live[b] = self.tensors[b].bytes
            during.append(sum(live.values()))
            for b in {self.base[t] for t in op.consumes} | {self.base[t] for t in op.produces}:
                if b in live and b not in keep and last.get(b, -1) <= i:
                    del live[b]
        return during, max(during, default=0)

    @property
    def peak_bytes(self) -> int:
        """The most activation bytes live at once during inference (network input excluded)."""
        return self._simulate()[1]

    @property
    def peak_node(self) -> str:
        during, peak = self._simulate()
        for i, v in enumerate(during):
            if v == peak:
                return self.ops[i].node
        return ""

    # -- training ----------------------------------------------------------------------------------------------
    def _saved(self) -> tuple[dict[str, int], int]:
        seen: set[int] = set()
        by_node: dict[str, int] = {}
        for op in self.ops:
            extra = op.saved_extra
            for t in op.saves:
                b = self.base[t]
                if b not in seen and self.tensors[b].role != "input":
                    seen.add(b)
                    extra += self.tensors[b].bytes
            by_node[op.node] = by_node.get(op.node, 0) + extra
        return by_node, sum(by_node.values())

    def approximate_ops(self) -> list[str]:
        """Ops whose saved-for-backward bytes are an estimate (norms, ops with no rule): the model assumes they keep
        their input.  Empty when ``saved_bytes`` is exact by PyTorch's derivative formulas."""
        g = self.plan.graph
        return [n.label for n in g if not get_rule(n.kind).saved_exact(n)]

    @property
    def saved_bytes(self) -> int:
        """Bytes of the distinct tensors autograd keeps for the backward pass (training)."""
        return self._saved()[1]

    # -- reports -----------------------------------------------------------------------------------------------
    def fmap_elems(self) -> int:
        return sum(r["fmap_elems"] for r in _rows(self.plan))

    def summary(self) -> dict[str, Any]:
        """Network totals: produced, peak, saved, input and output bytes."""
        return {
            "act_bytes": self.act_bytes,
            "peak_bytes": self.peak_bytes,
            "peak_at": self.peak_node,
            "saved_bytes": self.saved_bytes,
            "saved_exact": not self.approximate_ops(),
            "input_bytes": self.input_bytes,
            "output_bytes": self.output_bytes,
        }

    def by_layer(self) -> Any:
        """One row per op: bytes produced, the live bytes while it runs (the peak of its steps) and the bytes
        it is first to save for backward."""
        import pandas as pd

        during, _ = self._simulate()
        saved, _ = self._saved()
        rows: dict[str, dict[str, Any]] = {}
        for i, op in enumerate(self.ops):
            first = self.tensors[op.produces[0]] if op.produces else None
            row = rows.setdefault(
                op.node,
                {
                    "node": op.node,
                    "layer": first.layer if first else op.node,
                    "op": first.op if first else "",
                    "act_bytes": 0,
                    "live_bytes": 0,
                    "saved_bytes": saved.get(op.node, 0),
                },
            )
            row["act_bytes"] += sum(self.tensors[t].bytes for t in op.produces if self.tensors[t].role != "input")
            row["live_bytes"] = max(row["live_bytes"], during[i])
        return pd.DataFrame(list(rows.values()))

    def records(self) -> list[dict[str, Any]]:
        return [
            {
                "node": t.node,
                "layer": t.layer,
                "op": t.op,
                "module": t.module,
                "part": t.part,
                "role": t.role,
                "shape": "×".join(map(str, t.shape)),
                "elems": t.elems,
                "bytes": t.bytes,
                "alias": t.alias,
            }
            for t in self.tensors
        ]


def _rows(plan: Plan) -> list[dict[str, Any]]:
    from octprof.core.netcost import price

    return price(plan)
