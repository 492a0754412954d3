"""A network as pure data: the ops of a traced model with their shapes, for planning and pricing.

``octprof.trace`` builds an :class:`OpGraph` from a ``torch.fx`` trace; everything downstream (the α plan,
the cost of every layer and path) works on this plain structure and needs no torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]


@dataclass
class OpNode:
    """One op of the graph.

    ``name`` is the fx node's name (unique), ``kind`` the rule that handles it (``"unknown"`` when none does),
    ``module`` the qualified name of the module that owns it (the called module for ``call_module`` nodes, the
    innermost enclosing module for functions), ``inputs`` the names of the nodes producing its tensor inputs
    (in order), ``in_shapes`` their shapes, ``out_shape`` its output shape (None when it is not a tensor) and
    ``attrs`` the constants that decide its cost (kernel size, stride, groups, …)."""

    name: str
    kind: str
    op: str
    target: str
    module: str | None
    inputs: tuple[str, ...]
    in_shapes: tuple[Shape, ...]
    out_shape: Shape | None
    attrs: dict[str, Any] = field(default_factory=dict)
    # the rank of the network's maps: 3 (N, C, L), 4 (N, C, H, W) or 5 (N, C, T, H, W), from its input
    map_rank: int = 4

    @property
    def label(self) -> str:
        """The name shown in reports: the module's qualified name for module calls, else the node's name."""
        if self.op == "call_module" and self.module:
            return self.module
        return f"{self.module}.{self.name}" if self.module else self.name

    @property
    def is_map(self) -> bool:
        """A map of the network's dimensionality ((N, C, *spatial), ``map_rank`` axes): the only kind of tensor that
        can be split (a 1-D network's (N, C, L), a 2-D one's (N, C, H, W), a 3-D one's (N, C, T, H, W))."""
        return self.out_shape is not None and len(self.out_shape) == self.map_rank


@dataclass
class OpGraph:
    """The ops of a network in execution order, with its inputs and outputs."""

    nodes: list[OpNode]
    inputs: list[str]
    outputs: list[str]
    dtype_bytes: int = 4
    name: str = "model"

    def __post_init__(self) -> None:
        self.by_name: dict[str, OpNode] = {n.name: n for n in self.nodes}
        self.users: dict[str, list[str]] = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                if i in self.users:
                    self.users[i].append(n.name)
        # what planning and pricing derive from the graph alone (no α, no option), computed once by whoever needs it:
        # a graph is not changed once built
        self.derived: dict[str, Any] = {}

    def __getitem__(self, name: str) -> OpNode:
        return self.by_name[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.nodes)

    def modules(self) -> set[str]:
        """Qualified names of every module that owns an op."""
        out: set[str] = set()
        for n in self.nodes:
            if n.module:
                parts = n.module.split(".")
                for i in range(1, len(parts) + 1):
                    out.add(".".join(parts[:i]))
        return out


def per_channel_shape(shape: Sequence[int], rank: int, channels: int) -> tuple[int, ...] | None:
    """``shape`` broadcast to ``rank`` axes as torch broadcasts (leading ones: MetaFormer's ``(C, 1, 1)`` scale)
    when that gives one value per channel of a map with ``channels`` channels, ``(1, C, 1, …)``; else ``None``
    (a number, a full-size tensor, more axes than the map)."""
    if not shape or len(shape) > rank or rank < 2:
        return None
    full = (1,) * (rank - len(shape)) + tuple(shape)
    return full if full[0] == 1 and full[1] == channels and all(d == 1 for d in full[2:]) else None


def numel(shape: Shape | None) -> int:
    return 0 if shape is None else math.prod(shape)
