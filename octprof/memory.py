"""Activation memory of octave networks in closed form, per tensor, per layer and per network, with checks.

The model walks the planned network (:class:`octprof.core.plan.Plan`) in execution order and lists every tensor
it produces, octave intermediates included (an octave layer runs as the reference
:class:`~octprof.nn.OctConv2d`: pooled high map, each path's output, the upsampled L→H output, the two sums).
From that list it answers three questions:

- **produced**: the bytes of every tensor produced (``act_bytes``; views share their base and add nothing);
- **inference peak**: the most bytes live at once during a forward pass.  A tensor is live from the op that
  produces it until its last user has run (as ``torch.fx`` frees values after their last use); the network input
  belongs to the caller and is left out; the network output stays live to the end.  The peak is taken while an
  op runs: its inputs and its new outputs are live together;
- **saved for backward** (training): the bytes of the distinct tensors that autograd keeps for the backward
  pass, by PyTorch's derivative formulas: a convolution or linear layer keeps its input, batch norm its input and
  two per-channel statistics, ReLU / sigmoid / tanh / ELU their output, other activations, average pooling and
  products their inputs (ReLU6, a hardtanh, its input), max pooling its input and int64 indices; additions,
  concatenation, nearest upsampling, global average pooling (a mean) and views keep nothing.  Parameters,
  buffers and the network input (the caller's) are not counted.

Checks against independent observations (see the tests and ``benchmarks/memory.py``):

- :func:`observed_tensors`: output shapes seen by forward hooks on every module of the real network;
- :func:`fvcore_activations`: fvcore's ``ActivationCountAnalysis`` counts the output elements of convolutions and
  matrix products (``aten::_convolution``, ``aten::linear``, ``aten::addmm``, …) and nothing else; the closed
  form in that convention is the sum of conv-path and linear outputs, and the two agree exactly;
- :func:`observed_saved_bytes`: the distinct storages handed to ``torch.autograd.graph.saved_tensors_hooks``;
- :func:`measured_peak_bytes`: CUDA ``max_memory_allocated``, or on CPU the profiler's allocation events
  (``profile_memory=True``).  Measured peaks also hold kernel workspaces (im2col buffers, layout reorders), so
  they are at least the model's peak.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from octprof.core.gains import memory_ratio
from octprof.core.graph import Shape
from octprof.core.layer import layer_cost
from octprof.core.plan import Plan
from octprof.core.rules import get_rule
from octprof.memory_observe import (
    closed_form_activations,
    fvcore_activations,
    measured_peak_bytes,
    observed_saved_bytes,
    observed_tensors,
)
from octprof.memory_records import MemoryModel, Op, TensorRecord

__all__ = [
    "MemoryModel",
    "TensorRecord",
    "closed_form_activations",
    "fvcore_activations",
    "measured_peak_bytes",
    "memory_model",
    "memory_table",
    "observed_saved_bytes",
    "observed_tensors",
]


# -- building the model --------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, plan: Plan, inplace: set[str]) -> None:
        self.plan = plan
        self.graph = plan.graph
        self.db = plan.graph.dtype_bytes
        self.stat_bytes = 8 if self.db == 8 else 4
        self.inplace = inplace
        self.tensors: list[TensorRecord] = []
        self.base: dict[int, int] = {}
        self.ops: list[Op] = []
        self.parts: dict[str, dict[str, int]] = {}
        self.chunk_inputs: dict[str, dict[str, int]] = {}  # split/chunk node -> the tensors its pieces view
        self.outputs: set[int] = set()
        self.module_outputs: dict[str, list[int]] = {}

    def new(
        self,
        node: Any,
        part: str,
        role: str,
        shape: Shape,
        module: str = "",
        alias_of: int | None = None,
        op: str | None = None,
    ) -> int:
        tid = len(self.tensors)
        self.tensors.append(
            TensorRecord(
                tid,
                node.name,
                node.label,
                op or node.kind,
                module,
                part,
                role,
                tuple(shape),
                self.db,
                alias_of is not None,
            )
        )
        self.base[tid] = tid if alias_of is None else self.base[alias_of]
        return tid

    def in_parts(self, name: str) -> dict[str, int]:
        return self.parts.get(name, {})

    def for_part(self, name: str, part: str, cat: bool = False) -> list[int]:
        ps = self.in_parts(name)
        if part in ps:
            return [ps[part]]
        if "" in ps and (not cat or part == "high"):
            return [ps[""]]
        if cat:
            return []
        return list(ps.values())

    def out_parts(self, node: Any) -> list[tuple[str, Shape]]:
        if node.is_map and node.name in self.plan.splits:
            return self.plan.splits[node.name].parts()
        return [("", node.out_shape)] if node.out_shape is not None else []

    # -- per kind -----------------------------------------------------------------------------------------------
    def build(self) -> MemoryModel:
        params: set[str] = set()  # parameters and views of them alone (a layer scale's ``gamma.view(1, -1, 1, 1)``)
        for node in self.graph:
            kind = node.kind
            if kind == "constant" or (
                node.inputs and get_rule(kind).view(node) and all(i in params for i in node.inputs)
            ):
                params.add(node.name)  # the parameter's own storage: no activation, nothing of it kept
                continue
            if kind == "input":
                if node.out_shape is not None:
                    self.parts[node.name] = {"": self.new(node, "", "input", node.out_shape)}
                continue
            if kind == "chunk":
                self.chunk(node)
                continue
            if kind == "meta" and node.attrs.get("item_of") in self.chunk_inputs:
                self.piece(node)
                continue
            if kind == "meta":
                continue
            if kind == "output":
                for i in node.inputs:
                    self.outputs.update(self.in_parts(i).values())
                continue
            if node.name in self.plan.convs:  # an op of the OctaveLayer protocol
                cp = self.plan.convs[node.name]
                if cp.mode == "octave":
                    self.octave(node, cp.spec)
                    continue
                if cp.mode == "vector":
                    self.vector_conv(node)
                    continue
            self.generic(node)
        return MemoryModel(self.plan, self.tensors, self.ops, self.base, self.outputs, self.module_outputs)

    def _module(self, node: Any) -> str:
        return node.module if node.op == "call_module" and node.module else ""

    def _is_inplace(self, node: Any) -> bool:
        return node.name in self.inplace or (
            node.op != "call_module" and str(node.target).endswith("_") and not str(node.target).endswith("__")
        )

    def generic(self, node: Any) -> None:
        kind = node.kind
        merged: dict[str, int] = {}
        for n_, src in self.plan.merges:
            if n_ == node.name:
                merged[src] = self.merge(node, src)
        outs = self.out_parts(node)
        if not outs:
            return
        view = get_rule(kind).view(node)
        produced: dict[str, int] = {}
        for part, shape in outs:
            consumes: list[int] = []
            for i in node.inputs:
                if i in merged:
                    consumes.append(merged[i])
                else:
                    consumes += self.for_part(i, part, cat=kind == "cat")
            first = consumes[0] if consumes else None
            alias = first if (first is not None and (view or self._is_inplace(node))) else None
            tid = self.new(node, part, "output", shape, self._module(node), alias_of=alias)
            produced[part] = tid
            op = Op(node.name, [tid], consumes)
            self.saves(node, op, consumes, tid, shape)
            self.ops.append(op)
        self.parts[node.name] = produced
        if self._module(node):
            self.module_outputs[self._module(node)] = list(produced.values())

    def saves(self, node: Any, op: Op, consumes: list[int], out: int, shape: Shape) -> None:
        """What the op's rule says it keeps for backward (:meth:`octprof.core.rules.Rule.saved`)."""
        saved = get_rule(node.kind).saved(node, shape)
        op.saves += consumes if saved.inputs < 0 else consumes[: saved.inputs]
        if saved.output:
            op.saves.append(out)
        op.saved_extra += 8 * saved.index_elems + self.stat_bytes * saved.stat_elems
        if saved.copy_elems and consumes:
            op.saved_extra += saved.copy_elems * self.tensors[consumes[0]].dtype_bytes

    def chunk(self, node: Any) -> None:
        """split / chunk: its pieces are views of its input's parts (or of the merged map); nothing is saved."""
        merged = {src: self.merge(node, src) for n_, src in self.plan.merges if n_ == node.name}
        src = node.inputs[0] if node.inputs else None
        if src is None:
            return
        self.chunk_inputs[node.name] = {"": merged[src]} if src in merged else dict(self.in_parts(src))

    def piece(self, node: Any) -> None:
        base = self.chunk_inputs[node.attrs["item_of"]]
        produced: dict[str, int] = {}
        for part, shape in self.out_parts(node):
            src = base.get(part, base.get(""))
            if src is None:
                continue
            tid = self.new(node, part, "output", shape, "", alias_of=src)
            produced[part] = tid
            self.ops.append(Op(node.name, [tid], [src]))
        self.parts[node.name] = produced

    def merge(self, node: Any, src: str) -> int:
        """A split map merged back before an op without a rule: upsample the low part, concatenate."""
        split = self.plan.splits[src]
        ps = self.in_parts(src)
        parts = dict(split.parts())
        consumes = [ps[p] for p in ("high",) if p in ps]
        low = ps["low"]
        if not split.is_vector:
            n, c = parts["low"][:2]
            up = self.new(node, "merge", "intermediate", (n, c, *split.shape[2:]), op="merge")
            self.ops.append(Op(node.name, [up], [low]))
            low = up
        tid = self.new(node, "merge", "intermediate", split.shape, op="merge")
        self.ops.append(Op(node.name, [tid], [*consumes, low]))
        return tid

    def vector_conv(self, node: Any) -> None:
        """A conv on 1×1 maps whose split parts are concatenated before it and split (as views) after it."""
        src = node.inputs[0]
        ps = self.in_parts(src)
        x = ps.get("")
        if x is None:
            x = self.new(node, "merge", "intermediate", self.plan.split(src).shape, op="merge")
            self.ops.append(Op(node.name, [x], list(ps.values())))
        out = self.new(node, "", "output", node.out_shape, self._module(node))
        op = Op(node.name, [out], [x], saves=[x])
        self.ops.append(op)
        if self._module(node):
            self.module_outputs[self._module(node)] = [out]
        split = self.plan.splits.get(node.name)
        if split is not None and split.split:
            self.parts[node.name] = {p: self.new(node, p, "output", s, alias_of=out) for p, s in split.parts()}
        else:
            self.parts[node.name] = {"": out}

    def octave(self, node: Any, spec: Any) -> None:
        """An octave layer, step by step as the reference ``OctConv2d.forward`` runs it."""
        cost = layer_cost(spec)
        mod = self._module(node)
        ps = self.in_parts(node.inputs[0])
        xh = ps.get("high", ps.get(""))
        xl = ps.get("low")

        def row(path: str, note: str = "") -> Any:
            for r in cost.rows:
                if r.path == path and r.note.startswith(note):
                    return r
            return None

        def step(part: str, r: Any, consumes: list[int], save: bool, module: str = "") -> int:
            tid = self.new(node, part, "intermediate", r.out_shape, module, op=node.kind)
            self.ops.append(Op(node.name, [tid], consumes, saves=consumes[:1] if save else []))
            if module:
                self.module_outputs[module] = [tid]
            return tid

        hin = xh
        if (r := row("pool", "high input")) is not None:
            hin = step("pool", r, [xh], True)
        yh = yl = None
        if (r := row("h2h")) is not None:
            yh = step("h2h", r, [hin], True, f"{mod}.h2h")
        if (r := row("l2h")) is not None:
            src = xl
            if (p := row("pool", "l2h input")) is not None:  # a stride beyond the octave (time stride 2, time kept)
                src = step("pool", p, [xl], True)
            t = step("l2h", r, [src], True, f"{mod}.l2h")
            if (u := row("upsample")) is not None:
                t = step("upsample", u, [t], False)
            yh = t if yh is None else step("add", row("add", "high"), [yh, t], False)
        if (r := row("h2l")) is not None:
            src = hin
            if (p := row("pool", "h2l input")) is not None:
                src = step("pool", p, [hin], True)
            yl = step("h2l", r, [src], True, f"{mod}.h2l")
        if (r := row("l2l")) is not None:
            src = xl
            if (p := row("pool", "low input")) is not None:
                src = step("pool", p, [xl], True)
            t = step("l2l", r, [src], True, f"{mod}.l2l")
            yl = t if yl is None else step("add", row("add", "low"), [yl, t], False)
        out: dict[str, int] = {}
        for part, tid in (("high", yh), ("low", yl)):
            if tid is not None:
                rec = self.tensors[tid]
                self.tensors[tid] = TensorRecord(
                    rec.id,
                    rec.node,
                    rec.layer,
                    rec.op,
                    rec.module,
                    rec.part,
                    "output",
                    rec.shape,
                    rec.dtype_bytes,
                    rec.alias,
                )
                out[part] = tid
        if spec.out_split[1] == 0:
            out = {"": out["high"]}
        self.parts[node.name] = out
        if mod:
            self.module_outputs[mod] = list(out.values())


def _inplace_nodes(analysis: Any) -> set[str]:
    gm = getattr(getattr(analysis, "captured", None), "gm", None)
    if gm is None:
        return set()
    out = set()
    for n in analysis.plan.graph:
        if n.op == "call_module" and n.module:
            with contextlib.suppress(AttributeError):
                if getattr(gm.get_submodule(n.module), "inplace", False):
                    out.add(n.name)
    return out


def memory_model(analysis: Any) -> MemoryModel:
    """The closed-form memory model of an :class:`~octprof.analysis.Analysis` (or of a bare ``Plan``)."""
    if isinstance(analysis, Plan):
        return _Builder(analysis, set()).build()
    return _Builder(analysis.plan, _inplace_nodes(analysis)).build()


# -- relative memory over an α grid --------------------------------------------------------------------------------


def memory_table(
    arch: Any,
    alphas: Sequence[float] = (0.0, 0.125, 0.25, 0.5, 0.75),
    batch: int = 1,
    input_size: Any = None,
    dtype: Any = None,
    measure: bool = False,
    device: Any = "cpu",
    check: bool = False,
) -> Any:
    """One row per α: feature-map elements (Table 1's quantity), bytes produced, inference peak and bytes saved
    for backward, each relative to α = 0, next to Table 1's ``memory_ratio`` (1 − ¾α).  ``measure`` adds the
    measured inference peak (and the saved bytes observed through autograd hooks); ``check`` adds fvcore's
    activation count next to the closed form's."""
    import pandas as pd
    import torch

    from octprof.analysis import Network
    from octprof.core.grid import parse_grid

    grid = sorted({0.0, *parse_grid(list(alphas) if not isinstance(alphas, str) else alphas)})
    dt = dtype or torch.float32
    net = Network(arch, input_size=input_size, batch=batch, dtype=dt)
    rows = []
    for alpha in grid:
        a = net.analyze(alpha)
        m = memory_model(a)
        s = m.summary()
        row: dict[str, Any] = {
            "alpha": alpha,
            "fmap_elems": m.fmap_elems(),
            "act_bytes": s["act_bytes"],
            "peak_bytes": s["peak_bytes"],
            "saved_bytes": s["saved_bytes"],
            "saved_exact": s["saved_exact"],
            "peak_at": s["peak_at"],
        }
        if measure or check:
            model = a.octify().to(device=device, dtype=dt).eval()
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(net.captured.input_shape, generator=gen).to(device=device, dtype=dt)
            if measure:
                row["measured_peak_bytes"] = measured_peak_bytes(model, x, device)
                model.train()
                row["observed_saved_bytes"] = observed_saved_bytes(model, x.clone().requires_grad_(False))
                model.eval()
            if check:
                row["closed_activations"] = closed_form_activations(a)
                row["fvcore_activations"] = fvcore_activations(model, x)
        rows.append(row)
    df = pd.DataFrame(rows)
    base = df.iloc[0]
    df.insert(2, "fmap_ratio", df["fmap_elems"] / base["fmap_elems"])
    df.insert(3, "table1_memory_ratio", [memory_ratio(a) for a in df["alpha"]])
    for col in ("act_bytes", "peak_bytes", "saved_bytes", "measured_peak_bytes", "observed_saved_bytes"):
        if col in df and df[col].notna().all() and base[col]:
            df[col.replace("_bytes", "_ratio")] = df[col] / base[col]
    return df
