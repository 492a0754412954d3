"""The α plan: which tensors of a network are split into high and low frequency, and every conv's octave spec.

Tensors that must share one split (the inputs and output of an elementwise or per-channel op, a depthwise
conv's input and output) form a class.  A class is split unless a constraint keeps it vanilla:

- it holds the network input, or a tensor with odd height or width;
- it feeds an op that needs vanilla input (flatten, linear, reshape, the network output, a non-global
  adaptive pooling, a concatenation along another axis) or an op whose low part would not come out at half
  the size (a pooling with odd geometry);
- it is produced by the stem conv (whose input is the network input) or by a conv that a ``vanilla`` pattern
  names; it is a vector class (1×1 maps only) produced by convs (squeeze-excitation's hidden layer);
- it is the output of a concatenation or of a global pooling that must be vanilla (then so must their inputs).

A split class produced by convs has ``low = int(α·C)`` (α from the plan or an override pattern); one produced
by a concatenation sums its inputs' parts; one produced by global pooling keeps its input's split.  A conv
whose octave spec is impossible (geometry) makes its output vanilla, then its input, and planning repeats.
Ops with no rule merge their split inputs back to one map (and are listed).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from octprof.core.errors import OctprofError, bad
from octprof.core.graph import OpGraph, OpNode, Shape, per_channel_shape
from octprof.core.layer import ODD_SIZES, PATHS, STRIDE_RULES, OctConvSpec, check_alpha, parse_paths
from octprof.core.rules import OctaveLayer, Rule, TensorSplit, call_memo, get_rule, octave_factors


@dataclass(frozen=True)
class PlanOptions:
    """How to plan: the network α, patterns forcing convs' outputs vanilla (or to another α), the stride rule,
    and strided convs that take the stride rule even when vanilla on both sides (the official code's layout)."""

    alpha: float
    vanilla: tuple[str, ...] = ()
    alpha_overrides: tuple[tuple[str, float], ...] = ()
    stride_rule: str = "pool"
    stride_pool: tuple[str, ...] = ()
    # odd map sizes: "vanilla" (the official code: such maps stay vanilla) or "ceil" (split, the low part
    # ceil(n/2) per side: ceil-mode pooling and upsampling to the exact size)
    odd_size: str = "vanilla"
    stem_vanilla: bool = True
    strict_patterns: bool = True
    # ops the proof found unable to take the split their rule promised: (node, why); each runs on merged inputs
    refuse: tuple[tuple[str, str], ...] = ()
    # 3-D networks: the low part is an octave lower in time too (else only H and W are halved)
    temporal: bool = False
    # the paths every octave conv keeps (ablation; None: all four), and per-conv overrides (pattern, paths), the
    # last matching pattern winning; see :meth:`paths_for`
    paths: tuple[str, ...] | None = None
    paths_overrides: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", check_alpha("alpha", self.alpha))
        if not isinstance(self.temporal, bool):
            raise bad("temporal", self.temporal, "expected True or False")
        if self.paths is not None:
            object.__setattr__(self, "paths", parse_paths(self.paths))
        object.__setattr__(
            self, "paths_overrides", tuple((str(pat), parse_paths(p)) for pat, p in self.paths_overrides)
        )
        if self.stride_rule not in STRIDE_RULES:
            raise bad("stride_rule", self.stride_rule, f"expected one of {STRIDE_RULES}")
        if self.odd_size not in ODD_SIZES:
            raise bad("odd_size", self.odd_size, f"expected one of {ODD_SIZES}")
        for pat, a in self.alpha_overrides:
            check_alpha(f"alpha override {pat!r}", a)

    def paths_for(
        self, module: str | None, cin: int, cout: int, groups: int, low_in: int, low_out: int
    ) -> tuple[str, ...]:
        """The paths the octave conv ``module`` keeps: the last override whose pattern matches it, else
        :attr:`paths`, else all four.  A path its split does not have is left out; where the kept paths would leave
        a present output part unfed or a present input part unread (the layers where the split begins or ends, the
        depthwise ones) the layer keeps the path that serves it, same frequency first (H→H, L→L), else the
        exchange (L→H, H→L): "no exchange" (``h2h,l2l``) still needs H→L where α_in = 0 and L→H where α_out = 0."""
        want = self.paths
        for pat, p in self.paths_overrides:
            if module and fnmatch.fnmatchcase(module, pat):
                want = p
        if want is None:
            return PATHS
        ih, il, oh, ol = cin - low_in, low_in, cout - low_out, low_out
        dw = groups > 1 and groups == cin == cout
        avail = {"h2h": ih and oh, "h2l": ih and ol and not dw, "l2h": il and oh and not dw, "l2l": il and ol}
        on = {p for p in want if avail[p]}
        for present, serving in (
            (oh, ("h2h", "l2h")),
            (ol, ("l2l", "h2l")),
            (ih, ("h2h", "h2l")),
            (il, ("l2l", "l2h")),
        ):
            if present and not on.intersection(serving):
                on.update([p for p in serving if avail[p]][:1])
        return tuple(p for p in PATHS if p in on)


@dataclass
class ConvPlan:
    """A conv's fate: ``octave`` (an OctConv2d of ``spec``), ``vanilla`` (kept as it is) or ``vector`` (a conv on
    1×1 maps whose split parts are concatenated before it and split after it, priced as the vanilla conv)."""

    node: str
    mode: str
    spec: OctConvSpec | None = None


# why a tensor stays vanilla, in short (the summary line of ``table``): every constraint the plan applies has one
CATEGORIES = frozenset(
    {
        "stem",
        "odd size",
        "preset",
        "shared module",
        "parameter read",
        "own forward",
        "refused by the proof",
        "feeds a vanilla op",
        "network output",
        "feeds a vanilla head",
        "concatenation",
        "padding mode",
        "geometry",
        "pooling geometry",
        "vector",
        "meets a merged op",
        "meets a fixed tensor",
        "meets a piece",
        "no split source",
        "split conflict",
    }
)


@dataclass
class Plan:
    graph: OpGraph
    options: PlanOptions
    splits: dict[str, TensorSplit]
    convs: dict[str, ConvPlan]
    merges: list[tuple[str, str]] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    # split / chunk ops whose input stays split: node -> (high, low) channels of every piece, in order
    pieces: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # the category (one of CATEGORIES) of every reason in ``reasons``
    categories: dict[str, str] = field(default_factory=dict)

    def split(self, name: str) -> TensorSplit:
        if name in self.splits:
            return self.splits[name]
        node = self.graph[name]
        return TensorSplit(node.out_shape or (), 0, self.options.temporal)

    @property
    def alpha(self) -> float:
        return self.options.alpha

    def octave_layers(self) -> list[str]:
        return [n for n, c in self.convs.items() if c.mode == "octave"]

    def why_vanilla(self, name: str) -> str | None:
        """Why tensor ``name`` is vanilla (the constraint that decided it), if one did."""
        return self.reasons.get(name)


class _UF:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _matches(name: str | None, patterns: Sequence[str]) -> str | None:
    if not name:
        return None
    for p in patterns:
        if fnmatch.fnmatchcase(name, p):
            return p
    return None


def _map_inputs(graph: OpGraph, node: OpNode) -> list[str]:
    return [i for i, s in zip(node.inputs, node.in_shapes) if graph[i].is_map and len(s) == graph[i].map_rank]


class _Facts:
    """What planning reads of a graph that α does not change, found once per graph (a graph is not changed once
    built; it keeps this in :attr:`OpGraph.derived`): every node's rule and map inputs, the classes of tensors that
    must share one split, the convolutions and whether each can be an octave layer, the ops nothing prices; and, on
    first use, per temporal setting the odd-size maps and the ops that cannot halve, the patterns that match a
    conv, and the convs' spec arguments (``layers``, kept by their rule)."""

    def __init__(self, graph: OpGraph) -> None:
        self.rules: list[tuple[OpNode, Rule]] = [(n, get_rule(n.kind)) for n in graph]
        self.maps = [n for n in graph if n.is_map]
        self.map_inputs = {n.name: _map_inputs(graph, n) for n in graph}
        # tensors made from parameters alone (a layer scale ``gamma.view(1, -1, 1, 1)``), not from the network's
        # input: each stays one tensor, which the convert step slices per part where it meets a split map.  An op
        # with no tensor input listed (an item of a tuple) is not one: what it reads is not known here
        self.fixed: set[str] = set()
        for n in graph:
            if n.kind == "constant" or (n.inputs and n.op != "output" and all(i in self.fixed for i in n.inputs)):
                self.fixed.add(n.name)
        uf = _UF()
        for n in self.maps:
            uf.find(n.name)
        for n, r in self.rules:
            if not n.is_map:
                continue
            if r.flow == "same":
                assert n.out_shape is not None
                for i in self.map_inputs[n.name]:
                    if i in self.fixed:  # one tensor whatever the plan: not joined to the map's split
                        continue
                    if graph[i].out_shape[1] == n.out_shape[1]:  # type: ignore[index]
                        uf.union(n.name, i)
            elif isinstance(r, OctaveLayer) and r.octave_ok(n) and r.depthwise(n):
                uf.union(n.name, n.inputs[0])
        # no union follows: every tensor's class, once (a name the union-find never saw is its own class)
        self.root = {x: uf.find(x) for x in list(uf.parent)}
        self.members: dict[str, list[str]] = {}
        for n in self.maps:
            self.members.setdefault(self.root[n.name], []).append(n.name)
        # classes of vectors only (every spatial size 1)
        self.vectors = {
            root
            for root, names in self.members.items()
            if all(all(d == 1 for d in graph[m].out_shape[2:]) for m in names)  # type: ignore[index]
        }
        self.input_roots = {self.find(p) for p in graph.inputs}
        self.convs = [n.module or n.name for n, r in self.rules if isinstance(r, OctaveLayer)]
        # the maps made by convs, which the plan makes octave layers or keeps vanilla
        self.octave_layers = [(n, r) for n, r in self.rules if isinstance(r, OctaveLayer) and n.is_map]
        # ops that merge their split inputs (chunks: unless their pieces stay split)
        self.merging = [(n, r) for n, r in self.rules if r.flow in ("opaque", "merge", "chunk")]
        self.unpriced = [n.name for n, r in self.rules if r.unpriced(n)]
        self.octave_ok = {n.name: r.octave_ok(n) for n, r in self.octave_layers}
        self._octaves: dict[bool, tuple[dict[str, str], set[str]]] = {}
        self._matches: dict[tuple[str | None, tuple[str, ...]], str | None] = {}
        self.conv_patterns: set[str] = set()  # patterns known to match a convolution
        self.layers: dict[Any, Any] = {}  # what octave layers' rules find of their node alone (OctaveLayer.spec)

    def find(self, name: str) -> str:
        return self.root.get(name, name)

    def octaves(self, temporal: bool) -> tuple[dict[str, str], set[str]]:
        """Under ``temporal`` (whether time is halved too): the maps with an odd size on a halved axis (name -> the
        size, ``7x7``) and the per-element ops that cannot keep a half-size low part."""
        found = self._octaves.get(temporal)
        if found is None:
            odd: dict[str, str] = {}
            unhalvable: set[str] = set()
            for n, r in self.rules:
                if not n.is_map:
                    continue
                assert n.out_shape is not None
                sp = n.out_shape[2:]
                halved = [d for d, f in zip(sp, octave_factors(len(sp), temporal)) if f == 2]
                if any(d != 1 for d in sp) and any(d % 2 for d in halved):
                    odd[n.name] = "x".join(map(str, sp))
                if (
                    r.flow == "same"
                    and self.map_inputs[n.name]
                    and not r.halvable(n, octave_factors(n.map_rank - 2, temporal))
                ):
                    unhalvable.add(n.name)
            found = self._octaves[temporal] = (odd, unhalvable)
        return found

    def matches(self, name: str | None, patterns: tuple[str, ...]) -> str | None:
        """:func:`_matches`, remembered (a module name and patterns give one answer)."""
        key = (name, tuple(patterns))
        if key not in self._matches:
            self._matches[key] = _matches(name, patterns)
        return self._matches[key]

    @staticmethod
    def of(graph: OpGraph) -> _Facts:
        facts = graph.derived.get("plan")
        if facts is None:
            facts = graph.derived["plan"] = _Facts(graph)
        return facts


class _Lows:
    """Low channels of every class: from α for conv-produced classes, summed over a concatenation's inputs,
    kept through global pooling; two concatenations that disagree make their class vanilla."""

    def __init__(
        self,
        graph: OpGraph,
        facts: _Facts,
        members: dict[str, list[str]],
        forced: dict[str, str],
        cat_of: dict[str, list[str]],
        gpool_of: dict[str, list[str]],
        alpha_of: dict[str, float],
        force: Callable[[str, str], bool],
    ) -> None:
        self.graph, self.facts, self.members, self.forced = graph, facts, members, forced
        self.cat_of, self.gpool_of, self.alpha_of, self.force = cat_of, gpool_of, alpha_of, force
        self.piece_of: dict[str, tuple[str, int, int]] = {}  # piece class -> (chunk input, piece channels, total)
        self.low_of: dict[str, int] = {}
        self.visiting: set[str] = set()
        self.conflicted = False

    def all(self) -> dict[str, int]:
        for root in self.members:
            self.get(root)
        return self.low_of

    def get(self, root: str) -> int:
        if root in self.low_of:
            return self.low_of[root]
        if root in self.forced or root in self.visiting:
            return 0
        self.visiting.add(root)
        graph, find, map_inputs = self.graph, self.facts.find, self.facts.map_inputs
        c = graph[self.members[root][0]].out_shape[1]  # type: ignore[index]
        if root in self.cat_of:
            sums = {sum(self.get(find(i)) for i in map_inputs[cat]) for cat in self.cat_of[root]}
            low = sums.pop() if len(sums) == 1 else -1
        elif root in self.gpool_of:
            low = self.get(find(graph[self.gpool_of[root][0]].inputs[0]))
        elif root in self.piece_of:
            src, ci, total = self.piece_of[root]
            parent = self.get(find(src))
            low = parent * ci // total if parent * ci % total == 0 else -1
            if root in self.alpha_of and low != int(self.alpha_of[root] * c):
                low = -1  # a conv joined to the piece (through an add) gives it another split
        else:
            low = int(self.alpha_of.get(root, 0.0) * c)
        self.visiting.discard(root)
        if low < 0:
            why = (
                "its share of a split/chunk is not a whole number of channels per frequency, or differs from the "
                "split of a conv joined to it"
                if root in self.piece_of
                else "two concatenations give it different splits"
            )
            self.conflicted |= self.force(root, why, "split conflict")
            low = 0
        self.low_of[root] = low
        return low


# the arithmetic ops whose conversion (``octprof.freq``'s pair-aware functions) slices a per-channel operand per part
_ARITHMETIC = ("add", "sub", "mul", "div")


def _full_size_fixed(node: OpNode, fixed: set[str]) -> bool:
    """Whether an arithmetic op reads a tensor made from parameters (:attr:`_Facts.fixed`) that its conversion
    cannot take part by part: one that is neither a single value nor one value per channel (after broadcasting,
    ``(1, C, 1, 1)``), e.g. a positional embedding with a spatial extent."""
    assert node.out_shape is not None
    rank, c = len(node.out_shape), node.out_shape[1]
    for i, s in zip(node.inputs, node.in_shapes):
        if i not in fixed or not s or len(s) > rank or all(d == 1 for d in s):
            continue
        if per_channel_shape(s, rank, c) is None:
            return True
    return False


def check_patterns(graph: OpGraph, options: PlanOptions) -> None:
    """Every vanilla / override / stride_pool pattern must name at least one conv of the graph."""
    facts = _Facts.of(graph)
    for what, pats in (
        ("--vanilla", options.vanilla),
        ("alpha override", [p for p, _ in options.alpha_overrides]),
        ("stride_pool", options.stride_pool),
        ("--paths-for", [p for p, _ in options.paths_overrides]),
    ):
        for p in pats:
            if p in facts.conv_patterns:
                continue
            if not any(fnmatch.fnmatchcase(c, p) for c in facts.convs):
                modules = graph.modules()
                close = sorted(m for m in modules if fnmatch.fnmatchcase(m, p.split("*")[0] + "*"))[:3]
                hint = f"modules look like {', '.join(close or sorted(modules)[:3])}"
                raise bad(what, p, "the pattern matches no convolution of the model", hint)
            facts.conv_patterns.add(p)


def plan(graph: OpGraph, options: PlanOptions) -> Plan:
    """Plan the split of every tensor of ``graph`` under ``options`` (see the module docstring)."""
    with call_memo():
        return _plan(graph, options)


def _plan(graph: OpGraph, options: PlanOptions) -> Plan:
    if options.strict_patterns:
        check_patterns(graph, options)
    facts = _Facts.of(graph)
    find, maps, map_inputs, members = facts.find, facts.maps, facts.map_inputs, facts.members

    forced: dict[str, str] = {}
    category: dict[str, str] = {}

    def force(name: str, why: str, cat: str) -> bool:
        """Keep ``name``'s class vanilla, for the reason ``why`` (a sentence) of category ``cat`` (one of
        :data:`CATEGORIES`, for summaries)."""
        assert cat in CATEGORIES, cat
        root = find(name)
        if root in forced:
            return False
        forced[root] = why
        category[root] = cat
        return True

    for p in graph.inputs:
        if graph[p].is_map:
            force(p, "network input", "stem")
    refused = dict(options.refuse)
    shared: set[str] = set()
    # attributes the graph reads directly (``get_attr``: XCiT's ``self.proj.weight.dtype``), by owning module
    read = {str(n.target).rsplit(".", 1)[0]: str(n.target) for n in graph if n.op == "get_attr" and "." in n.target}
    param_read: set[str] = set()
    for n, r in facts.rules:
        # a conv or batch norm module called from several places becomes one octave module: keep it vanilla
        if r.splits_module and n.attrs.get("module_calls", 1) > 1 and n.is_map:
            refused.setdefault(n.name, f"module {n.module} is called {n.attrs['module_calls']} times")
            shared.add(n.name)
        # ... and one whose parameters the graph reads: conversion replaces it (an octave conv has no ``weight``)
        elif n.op == "call_module" and n.module in read and n.is_map:
            refused.setdefault(n.name, f"the graph reads {read[n.module]}")
            param_read.add(n.name)

    def refused_cat(name: str) -> str:
        return "shared module" if name in shared else "parameter read" if name in param_read else "refused by the proof"

    alpha_of: dict[str, float] = {}
    cat_of: dict[str, list[str]] = {}
    gpool_of: dict[str, list[str]] = {}
    chunks: dict[str, str] = {}  # split/chunk along channels -> its input
    merged_chunks: set[str] = set()  # ... whose pieces must all be vanilla: the input is merged before them
    piece_items: list[tuple[str, str, int, int]] = []  # (item node, chunk node, index, total channels)
    kept: list[OpNode] = []  # ops of flow "vanilla" (kept as they are) whose output is a map
    odd, unhalvable = facts.octaves(options.temporal)
    if options.odd_size != "vanilla":
        odd = {}
    for n, r in facts.rules:
        if n.name in odd:
            force(n.name, f"odd size {odd[n.name]}", "odd size")
        ins = map_inputs[n.name]
        if n.name in refused:
            for i in ins:
                force(i, f"feeds {n.label}, which cannot take a split map ({refused[n.name]})", refused_cat(n.name))
            if n.is_map:
                force(n.name, f"{n.label} cannot take a split map ({refused[n.name]})", refused_cat(n.name))
            continue
        if r.flow == "vanilla":
            for i in ins:
                force(i, f"feeds {n.kind} {n.label}", "network output" if n.kind == "output" else "feeds a vanilla op")
            if n.is_map:
                kept.append(n)
        elif r.convert in _ARITHMETIC and n.is_map and _full_size_fixed(n, facts.fixed):
            why = f"{n.kind} {n.label} meets a tensor made from parameters that is not one value per channel"
            force(n.name, why, "meets a fixed tensor")
        elif n.name in unhalvable:
            force(n.name, f"{n.kind} {n.label} cannot keep a half-size low part", "pooling geometry")
        elif r.flow == "gpool":
            if not (n.is_map and r.is_global(n)):
                for i in ins:
                    force(i, f"feeds non-global {n.kind} {n.label}", "feeds a vanilla head")
                if n.is_map:
                    force(n.name, f"non-global {n.kind}", "feeds a vanilla head")
            else:
                gpool_of.setdefault(find(n.name), []).append(n.name)
        elif r.flow == "cat":
            if n.attrs.get("dim", 1) not in (1, -3) or not n.is_map:
                for i in ins:
                    force(i, f"feeds {n.kind} along dim {n.attrs.get('dim')}", "concatenation")
                if n.is_map:
                    force(n.name, "concatenation along another axis", "concatenation")
            else:
                cat_of.setdefault(find(n.name), []).append(n.name)
        elif isinstance(r, OctaveLayer) and n.is_map:
            if not facts.octave_ok[n.name]:
                cat, why = r.why_not_octave(n)
                force(n.name, f"conv {n.label} cannot be an octave layer: {why}", cat)
                for i in ins:
                    force(i, f"feeds conv {n.label} that cannot be an octave layer: {why}", cat)
                continue
            pat = facts.matches(n.module, options.vanilla)
            if pat:
                force(n.name, f"conv {n.label} matches vanilla pattern {pat!r}", "preset")
            if options.stem_vanilla and ins and find(ins[0]) in facts.input_roots:
                force(n.name, f"stem conv {n.label} reads the network input", "stem")
            if r.depthwise(n):
                continue
            a = options.alpha
            for p, v in options.alpha_overrides:
                if n.module and fnmatch.fnmatchcase(n.module, p):
                    a = v
            root = find(n.name)
            alpha_of[root] = min(alpha_of.get(root, a), a)
        elif r.flow in ("opaque", "merge") and n.is_map:
            force(n.name, f"output of {n.kind} {n.label}, which runs on merged maps", "meets a merged op")
        elif r.flow == "chunk":
            ok = (
                n.attrs.get("dim") in (1, -3)
                and len(ins) == 1
                and n.attrs.get("piece_channels")
                and n.attrs.get("items_only")
            )
            if ok:  # else (another axis, pieces not taken one by one) it runs on merged maps, pieces vanilla
                chunks[n.name] = ins[0]
        elif n.kind == "meta" and n.is_map:  # an item of a tuple: a piece of a split/chunk, or of a merged op's output
            src = n.attrs.get("item_of")
            if src in chunks:
                total = graph[chunks[src]].out_shape[1]  # type: ignore[index]
                piece_items.append((n.name, src, n.attrs["index"], total))
            else:
                force(
                    n.name,
                    f"{n.label} is a piece of a tuple made from merged maps (split, chunk, unbind)",
                    "meets a piece",
                )
    piece_roots = {find(item) for item, _, _, _ in piece_items}
    for root in members:
        if root in facts.vectors and root not in gpool_of:
            force(root, "a vector produced by a conv stays vanilla (squeeze-excitation hidden layer)", "vector")
        if root not in alpha_of and root not in cat_of and root not in gpool_of and root not in piece_roots:
            force(root, "no conv produces it", "no split source")
    for n in kept:  # an op kept as it is gives one tensor, never a split pair (where nothing else said so first)
        force(n.name, f"output of {n.kind} {n.label}, which gives one tensor", "meets a merged op")

    splits: dict[str, TensorSplit] = {}
    convs: dict[str, ConvPlan] = {}
    for _ in range(len(graph.nodes) + 2):
        low_of: dict[str, int] = {}
        changed = True
        while changed:
            changed = False
            lows = _Lows(graph, facts, members, forced, cat_of, gpool_of, alpha_of, force)
            for item, chunk, _index, total in piece_items:
                lows.piece_of[find(item)] = (chunks[chunk], graph[item].out_shape[1], total)  # type: ignore[index]
            low_of = lows.all()
            changed |= lows.conflicted
            # a chunk one of whose pieces must stay vanilla gives vanilla pieces: its input is merged before it
            for item, chunk, _, _ in piece_items:
                if chunk not in merged_chunks and find(item) in forced:
                    merged_chunks.add(chunk)
                    changed = True
            for item, chunk, _, _ in piece_items:
                if chunk in merged_chunks:
                    changed |= force(
                        item, f"a piece of split/chunk {graph[chunk].label}, which runs on merged maps", "meets a piece"
                    )
            # vanilla results force their sources
            for root, names in cat_of.items():
                if root in forced or low_of.get(root, 0) == 0:
                    for cat_name in names:
                        for i in map_inputs[cat_name]:
                            if find(i) not in forced and low_of.get(find(i), 0):
                                changed |= force(
                                    i,
                                    f"feeds concatenation {graph[cat_name].label} whose result is vanilla",
                                    "concatenation",
                                )
            for root, names in gpool_of.items():
                if root in forced:
                    for g in names:
                        i = graph[g].inputs[0]
                        if find(i) not in forced and low_of.get(find(i), 0):
                            changed |= force(
                                i,
                                f"feeds global pooling {graph[g].label} whose result must be vanilla",
                                "feeds a vanilla head",
                            )
        # maps of one shape and split share one (frozen) TensorSplit: its parts are worked out once
        same: dict[tuple[Shape, int], TensorSplit] = {}
        splits = {}
        for n in maps:
            key = (n.out_shape, low_of.get(find(n.name), 0))
            split = same.get(key)  # type: ignore[arg-type]
            if split is None:
                split = same[key] = TensorSplit(*key, options.temporal)  # type: ignore[arg-type,misc]
            splits[n.name] = split
        convs = {}
        retry = False
        for n, r in facts.octave_layers:
            sin = splits.get(n.inputs[0]) or TensorSplit(n.in_shapes[0])
            sout = splits[n.name]
            stride = n.attrs.get("stride", (1, 1))[0]
            if not sin.split and not sout.split:
                if (
                    options.alpha > 0
                    and stride == 2
                    and facts.octave_ok[n.name]
                    and facts.matches(n.module, options.stride_pool)
                    and options.stride_rule == "pool"
                ):
                    try:
                        spec = r.spec(n, sin, sout, options, graph.dtype_bytes, facts.layers)
                        convs[n.name] = ConvPlan(n.name, "octave", spec)
                        continue
                    except OctprofError:
                        pass
                convs[n.name] = ConvPlan(n.name, "vanilla")
            elif (sin.split and sin.is_vector) or (sout.split and sout.is_vector):
                convs[n.name] = ConvPlan(n.name, "vector")
            else:
                try:
                    spec = r.spec(n, sin, sout, options, graph.dtype_bytes, facts.layers)
                    convs[n.name] = ConvPlan(n.name, "octave", spec)
                except OctprofError as e:
                    why = f"conv {n.label} cannot be an octave layer here: {e}"
                    if sout.split:
                        force(n.name, why, "geometry")
                    else:
                        force(n.inputs[0], why, "geometry")
                    retry = True
                    break
        if not retry:
            break
    else:  # pragma: no cover - forcing only grows, so this cannot loop forever
        raise RuntimeError("planning did not settle")

    pieces: dict[str, list[tuple[int, int]]] = {}
    for chunk, src in chunks.items():
        if src in splits and splits[src].split and chunk not in merged_chunks:
            s_in = splits[src]
            out: list[tuple[int, int]] = []
            for ci in graph[chunk].attrs["piece_channels"]:
                low = s_in.low * ci // s_in.channels
                out.append((ci - low, low))
            pieces[chunk] = out
    merges: list[tuple[str, str]] = []
    for n, r in facts.merging:
        if r.flow in ("opaque", "merge") or n.name not in pieces:
            for i in dict.fromkeys(n.inputs):  # an input used twice (``sdpa(x, x, v)``) is merged once
                if i in splits and splits[i].split:
                    merges.append((n.name, i))
    reasons: dict[str, str] = {}
    categories: dict[str, str] = {}
    for n in maps:
        root = find(n.name)
        if root in forced:
            reasons[n.name] = forced[root]
            categories[n.name] = category[root]
    return Plan(graph, options, splits, convs, merges, list(facts.unpriced), reasons, pieces, categories)
