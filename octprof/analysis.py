"""Analyse a whole network: trace it once, plan α, price it, build the octave network, cross-check it.

The API reads as questions (after fvcore's analysis objects)::

    a = analyze("resnet50", alpha=0.5)
    a.total()            # {'macs': ..., 'paper_flops': ..., 'fvcore_flops': ..., 'params': ..., ...}
    a.by_layer()         # DataFrame: one row per layer
    a.by_path()          # DataFrame: totals per path (h2h, h2l, l2h, l2l, pool, upsample, add, ...; PATH_ROWS)
    a.merges()           # where split maps had to be merged back (ops with no rule)
    a.octify()           # the real octave nn.Module
    a.crosscheck()       # fvcore and FlopCounterMode on the octave network, next to the closed form
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from operator import itemgetter
from typing import Any

import torch
from torch import nn

from octprof.core.errors import OctprofError, bad
from octprof.core.layer import ODD_SIZES
from octprof.core.netcost import price, totals
from octprof.core.plan import Plan, PlanOptions, plan
from octprof.source import ModelSource, resolve
from octprof.trace import Captured, capture

#: The rows of :meth:`Analysis.by_path`, in order, and what each one sums.
PATH_ROWS: dict[str, str] = {
    "h2h": "octave convs: high-to-high path",
    "h2l": "octave convs: high-to-low path (its input pooled)",
    "l2h": "octave convs: low-to-high path (its output upsampled)",
    "l2l": "octave convs: low-to-low path",
    "pool": "octave glue: average pooling of the high map for H->L and at stride 2",
    "upsample": "octave glue: nearest upsampling of the L->H output",
    "add": "octave glue: sums of the paths that meet (H->H + L->H, L->L + H->L)",
    "merge": "split maps merged back to one map before an op that cannot take them",
    "conv": "vanilla convs (not octave: the stem, alpha 0, odd sizes, --vanilla)",
    "high": "other ops on the high-frequency part of split maps (norms, activations, pooling, additions)",
    "low": "other ops on the low-frequency part of split maps",
    "unsplit": "other ops on maps that are not split (stem and head, the classifier, ops after vanilla convs)",
}


class UnpricedWarning(UserWarning):
    """Some ops of the network have no price: the totals exclude them."""


def unpriced_message(counts: dict[str, int]) -> str:
    """``3 ops not priced: torch.cumprod ×2, torch.foo ×1 — totals exclude them``."""
    n = sum(counts.values())
    kinds = ", ".join(f"{t} ×{k}" for t, k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{n} op{'s' if n != 1 else ''} not priced: {kinds} — totals exclude them"


def whole_convs(root: nn.Module, names: Sequence[str]) -> int:
    """The convolution modules inside the submodules ``names`` of ``root`` (each counted once)."""
    from torch.nn.modules.conv import _ConvNd

    seen: set[int] = set()
    for name in names:
        try:
            sub = root.get_submodule(name)
        except AttributeError:
            continue
        seen.update(id(m) for m in sub.modules() if isinstance(m, _ConvNd))
    return len(seen)


def traced_whole_message(whole: dict[str, str], convs: int, limit: int = 8) -> str:
    """``traced whole (data-dependent control flow): stages.2.1, stages.3.1 — their 12 convs stay vanilla``."""
    by_why: dict[str, list[str]] = {}
    for name, why in whole.items():
        by_why.setdefault(why, []).append(name)
    parts = []
    for why, names in by_why.items():
        shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
        parts.append(f"({why}): {shown}")
    tail = f"their {convs} conv{'s stay' if convs != 1 else ' stays'} vanilla" if convs else "no conv inside"
    return f"traced whole {'; '.join(parts)} — {tail}"


def traced_whole_line(captured: Captured) -> str:
    """:func:`traced_whole_message` of a traced network's modules traced whole (``""`` when there are none)."""
    whole = captured.traced_whole
    return traced_whole_message(whole, whole_convs(captured.gm, list(whole))) if whole else ""


class Analysis:
    """One network at one α: its plan, its cost per layer and path, its octave network."""

    def __init__(
        self,
        source: ModelSource,
        captured: Captured,
        the_plan: Plan,
        model: nn.Module | None,
        param_count: int | None = None,
    ) -> None:
        self.source = source
        self.captured = captured
        self.plan = the_plan
        self._model = model
        self.param_count = param_count

    def _unreached_note(self) -> str:
        names = self.captured.unreached
        if not names:
            return "module tree count minus the rules' count"
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        return f"modules forward never calls ({shown}); octify() keeps them as they are"

    @property
    def alpha(self) -> float:
        return self.plan.alpha

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        rows = price(self.plan)
        counted = sum(map(itemgetter("params"), rows))
        expected = None if self.param_count is None else self.param_count - self.ablated_params()
        if expected is not None and counted != expected:
            # never silent: parameters no op's rule accounted for (or counted twice) get a row of their own
            rows.append(
                {
                    "layer": "(parameters no op reads)",
                    "op": "params",
                    "path": "",
                    "in_shape": "",
                    "out_shape": "",
                    "macs": 0,
                    "paper_flops": 0,
                    "fvcore_flops": 0,
                    "params": expected - counted,
                    "act_elems": 0,
                    "note": self._unreached_note(),
                    "node": "",
                    "fmap_elems": 0,
                }
            )
        return rows

    def ablated_params(self) -> int:
        """Weights the octave network does not have because its layers keep fewer paths (``paths``): the vanilla
        convs' parameters minus their octave layers' (all four paths keep every weight, groups and depthwise
        included, so only ablated layers differ)."""
        from octprof.core.layer import PATHS, layer_cost
        from octprof.core.rules import OctaveLayer, get_rule

        out = 0
        for name, cp in self.plan.convs.items():
            if cp.mode != "octave" or cp.spec is None or cp.spec.paths == PATHS:
                continue
            node = self.plan.graph[name]
            r = get_rule(node.kind)
            assert isinstance(r, OctaveLayer)
            out += r.vanilla_cost(node)["params"] - sum(c.params for c in layer_cost(cp.spec).rows)
        return out

    def unpriced_counts(self) -> dict[str, int]:
        """Ops no rule prices and FlopCounterMode counted nothing for, by target: ``{"torch.cumprod": 1}``."""
        out: dict[str, int] = {}
        for n in self.plan.unpriced:
            t = self.plan.graph[n].target
            out[t] = out.get(t, 0) + 1
        return out

    def total(self, warn: bool = True) -> dict[str, int]:
        """Network totals: ``macs``, ``flops``, ``paper_flops``, ``fvcore_flops``, ``params``, ``act_elems``,
        ``fmap_elems`` and ``act_bytes`` (act_elems × dtype bytes).  Ops that nothing priced are never silent:
        a :class:`UnpricedWarning` names them (``warn=False`` leaves it to the caller)."""
        if warn and self.plan.unpriced:
            import warnings

            warnings.warn(unpriced_message(self.unpriced_counts()), UnpricedWarning, stacklevel=2)
        t = totals(self.rows)
        t["act_bytes"] = t["act_elems"] * self.plan.graph.dtype_bytes
        return t

    def rows_frame(self) -> Any:
        import pandas as pd

        df = pd.DataFrame(self.rows)
        df["flops"] = 2 * df["macs"]
        return df

    def by_layer(self) -> Any:
        """One row per op (layer), summed over its paths, with its α in and out where it is a conv."""
        import pandas as pd

        df = self.rows_frame()
        agg = (
            df.groupby(["node"], sort=False)
            .agg(
                layer=("layer", "first"),
                op=("op", "first"),
                **{
                    c: (c, "sum")
                    for c in ("macs", "flops", "paper_flops", "fvcore_flops", "params", "act_elems", "fmap_elems")
                },
            )
            .reset_index()
        )
        alpha_in, alpha_out, mode = [], [], []
        for n in agg["node"]:
            cp = self.plan.convs.get(n)
            if cp is not None and cp.spec is not None:
                alpha_in.append(cp.spec.alpha_in)
                alpha_out.append(cp.spec.alpha_out)
            elif cp is not None:  # a vanilla conv: nothing split on either side
                alpha_in.append(0.0)
                alpha_out.append(0.0)
            elif n in self.plan.splits:
                s = self.plan.splits[n]
                alpha_in.append(None)
                alpha_out.append(round(s.low / s.channels, 6) if s.channels else 0.0)
            else:
                alpha_in.append(None)
                alpha_out.append(None)
            mode.append(cp.mode if cp is not None else "")
        agg["alpha_in"], agg["alpha_out"], agg["conv_mode"] = alpha_in, alpha_out, mode
        vanilla = self.vanilla_reasons()
        agg["vanilla_reason"] = [
            vanilla.get(self.plan.graph[n].label, "") if self.plan.convs.get(n) else "" for n in agg["node"]
        ]
        return pd.DataFrame(agg)

    def by_path(self) -> Any:
        """Totals per path, one row for each of :data:`PATH_ROWS` that has any op (conv paths, glue ops, vanilla
        convs under ``conv``, other ops per frequency part, ``unsplit`` for the rest), with a ``what`` column that
        says what the row sums.  The rows add up to :meth:`total`."""
        df = self.rows_frame()
        df["path"] = df["path"].replace("", "unsplit")
        out = df.groupby("path", sort=False)[
            ["macs", "flops", "paper_flops", "fvcore_flops", "params", "act_elems"]
        ].sum()
        order = [p for p in PATH_ROWS if p in out.index]
        order += [p for p in out.index if p not in PATH_ROWS]  # a part no row names yet: shown, not lost
        out = out.loc[order].reset_index()
        out["what"] = [PATH_ROWS.get(p, "") for p in out["path"]]
        return out

    def merges(self) -> list[dict[str, str]]:
        g = self.plan.graph
        return [{"op": g[n].label, "target": g[n].target, "merged_input": g[i].label} for n, i in self.plan.merges]

    def _vanilla(self) -> dict[str, tuple[str, str]]:
        """``{conv label: (category, reason)}`` for every convolution that is not an octave layer: the constraint
        that kept its output vanilla, else its input's."""
        out: dict[str, tuple[str, str]] = {}
        p = self.plan
        for name, cp in p.convs.items():
            if cp.mode == "octave":
                continue
            node = p.graph[name]
            key = name if name in p.reasons else (node.inputs[0] if node.inputs and node.inputs[0] in p.reasons else "")
            if key:
                out[node.label] = (p.categories.get(key, "other"), p.reasons[key])
            elif self.alpha == 0:
                out[node.label] = ("alpha 0", "alpha 0")
            else:
                out[node.label] = ("other", "its maps are not split")
        for node in self._own_forward_convs():
            why = f"{node.target} is a {node.attrs['own_forward']} with a forward of its own"
            out[node.label] = ("own forward", why)
        return out

    def _own_forward_convs(self) -> list[Any]:
        """Convolutions of a subclass with a ``forward`` of its own (timm's ``ScaledStdConv2d``): unknown ops kept
        whole, priced by what FlopCounterMode counts, never octave."""
        from octprof.core.rules import OctaveLayer, get_rule

        return [n for n in self.plan.graph if isinstance(get_rule(n.attrs.get("own_forward", "unknown")), OctaveLayer)]

    def vanilla_reasons(self) -> dict[str, str]:
        """Why each convolution that is not an octave layer stayed vanilla: ``{conv label: reason}``."""
        return {label: why for label, (_, why) in self._vanilla().items()}

    def conv_summary(self) -> str:
        """One line: ``41 of 53 convs octave; vanilla: 8 odd size, 3 feeds a vanilla op, 1 stem``."""
        p = self.plan
        counts: dict[str, int] = {}
        for cat, _ in self._vanilla().values():
            counts[cat] = counts.get(cat, 0) + 1
        tail = ", ".join(f"{k} {c}" for c, k in sorted(((c, k) for k, c in counts.items()), reverse=True))
        whole = self.traced_whole()
        inside = self.traced_whole_convs()
        # convs kept whole are not the plan's: own-forward convs, and the convs inside modules traced whole
        convs = len(p.convs) + counts.get("own forward", 0) + inside
        out = f"{len(p.octave_layers())} of {convs} convs octave" + (f"; vanilla: {tail}" if tail else "")
        if whole:
            out += f"; {traced_whole_message(whole, inside)}"
        return out

    def traced_whole(self) -> dict[str, str]:
        """The submodules torch.fx could not trace into, traced whole (one opaque op each: maps merged before it,
        priced by what FlopCounterMode counted for it, its convolutions vanilla): ``{qualified name: why}``."""
        return dict(self.captured.traced_whole)

    def traced_whole_convs(self) -> int:
        """How many convolution modules the modules traced whole hold (each counted once, however often called)."""
        return whole_convs(self.captured.gm, self.captured.traced_whole)

    def refusals(self) -> list[dict[str, str]]:
        """Ops the proof by construction found unable to take the split their rule promised: each now runs on
        merged inputs with a vanilla output (see :meth:`Network.analyze`)."""
        g = self.plan.graph
        return [{"op": g[n].label, "target": g[n].target, "why": why} for n, why in self.plan.options.refuse]

    def unpriced(self) -> list[dict[str, str]]:
        g = self.plan.graph
        return [{"op": g[n].label, "target": g[n].target} for n in self.plan.unpriced]

    @property
    def model(self) -> nn.Module:
        if self._model is None or any(p.is_meta for p in self._model.parameters()):
            self._model = self.source.create()
        return self._model

    def octify(self, conv_cls: Any = None) -> nn.Module:
        """The real octave network (an ``fx.GraphModule``) in eval mode, with the vanilla weights' slices.
        ``conv_cls``: the class of its 2-D octave convolutions (default ``octprof.nn.OctConv2d``); 1-D and 3-D
        convolutions become ``OctConv1d`` / ``OctConv3d``."""
        from octprof.convert import carry_unused, octify_captured
        from octprof.nn import OctConv2d

        captured = self.captured
        if any(p.is_meta for p in captured.gm.parameters()):
            whole = self.captured.traced_whole
            captured = capture(
                self.model,
                self.captured.input_shape[1:],
                self.captured.input_shape[0],
                self.captured.dtype,
                leaf_modules=(*self.source.leaf_modules, *whole),  # the same modules whole, found without retries
                auto_leaf=False,
            )
            captured.traced_whole = dict(whole)
            self.captured = captured
        net = octify_captured(captured.gm, self.plan, conv_cls or OctConv2d)
        carry_unused(net, self.model, captured.unreached)  # modules forward never calls (auxiliary heads), as they are
        return net.eval()

    def crosscheck(self, seed: int = 0) -> dict[str, Any]:
        """fvcore and FlopCounterMode on the real octave network next to the closed form, with agreement."""
        from octprof.crosscheck import flop_counter_count, fvcore_count

        net = self.octify()
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(self.captured.input_shape, generator=gen, dtype=self.captured.dtype)
        fv_total, _, _ = fvcore_count(net, (x,))
        fc_total, _ = flop_counter_count(net, (x,))
        t = self.total()
        params = sum(p.numel() for p in net.parameters())
        return {
            "macs": t["macs"],
            "flop_counter_macs": fc_total // 2,
            "flop_counter_flops": fc_total,
            "fvcore_flops": t["fvcore_flops"],
            "fvcore": fv_total,
            "params": t["params"],
            "module_params": params,
            "agree": fc_total == 2 * t["macs"] and fv_total == t["fvcore_flops"] and params == t["params"],
        }


def _on_meta(model: nn.Module) -> bool:
    return any(t.is_meta for t in (*model.parameters(), *model.buffers()))


class Network:
    """A network traced once, to be planned and priced at any α."""

    def __init__(
        self,
        arch: str | nn.Module | ModelSource,
        input_size: Any = None,
        batch: int = 1,
        dtype: torch.dtype = torch.float32,
        vanilla: Sequence[str] = (),
        stride_rule: str | None = None,
        leaf_modules: Sequence[Any] = (),
        meta: bool = True,
        odd_size: str = "vanilla",
        temporal: bool = False,
        paths: str | Sequence[str] | None = None,
        paths_for: Sequence[tuple[str, str | Sequence[str]]] = (),
        auto_leaf: bool = True,
    ) -> None:
        self.source = resolve(arch)
        # 3-D networks: halve time too in the low part; the paths every octave conv keeps (None: all four), and
        # per-pattern overrides ``(pattern, paths)`` (see ``PlanOptions.paths_for``)
        self.temporal, self.paths, self.paths_for = temporal, paths, tuple(paths_for)
        if leaf_modules:
            self.source = replace(self.source, leaf_modules=tuple(leaf_modules))
        if isinstance(input_size, str):  # "224" or "320x256", as on the command line
            from octprof.core.inputs import parse_input_size

            input_size = parse_input_size(input_size, "input_size")
        self.input_size = input_size if input_size is not None else self.source.input_size
        self.vanilla = tuple(self.source.vanilla) + tuple(vanilla)
        self.stride_rule = stride_rule or self.source.stride_rule
        if odd_size not in ODD_SIZES:
            raise bad("odd_size", odd_size, f"expected one of {', '.join(ODD_SIZES)}")
        self.odd_size = odd_size  # "vanilla" (odd-size maps stay vanilla, as the official code) or "ceil"
        model = None
        if meta and not isinstance(arch, nn.Module):
            try:
                model = self.source.create(device="meta")
            except Exception:
                model = None
        if model is None:
            model = self.source.create()
        self._model = model
        # auto_leaf: a submodule torch.fx cannot trace into is traced whole (listed by ``traced_whole()``); off,
        # the network is refused as untraceable
        self.auto_leaf = auto_leaf
        self.captured = capture(
            model, self.input_size, batch, dtype, leaf_modules=self.source.leaf_modules, auto_leaf=auto_leaf
        )
        self.param_count = sum(p.numel() for p in model.parameters())
        self._meta_gm: Any = None
        self._meta_of: tuple[nn.Module, bool] | None = None  # (model, whether it is on the meta device)

    def traced_whole(self) -> dict[str, str]:
        """The submodules torch.fx could not trace into, traced whole: ``{qualified name: why}``."""
        return dict(self.captured.traced_whole)

    def _on_meta(self) -> bool:
        """Whether ``_model`` lives on the meta device: walked once per model object, not on every analysis."""
        if self._meta_of is None or self._meta_of[0] is not self._model:
            self._meta_of = (self._model, _on_meta(self._model))
        return self._meta_of[1]

    @property
    def model(self) -> nn.Module:
        """The vanilla network as a real module (in eval mode): a network traced on the meta device (zoo,
        torchvision and timm names) is built for real, with initialised weights, when it is first asked for."""
        if self._on_meta():
            self._model = self.source.create()
        return self._model

    def analyze(self, alpha: float, strict_patterns: bool = True, prove: bool = True) -> Analysis:
        """Plan and price the network at ``alpha``.  The plan is proven by construction (``prove``, always on
        unless asked otherwise): its octave network is built on the meta device and run; an op that cannot take
        the split its rule promised is refused (its inputs merged, its output vanilla), the network is planned
        again and the refusal is listed in :meth:`Analysis.refusals`.  A network whose octave version cannot be
        built at all raises :class:`OctprofError` naming the op."""
        from octprof.prove import meta_copy, needs_proof
        from octprof.prove import prove as prove_plan

        opts = PlanOptions(
            alpha,
            self.vanilla,
            self.source.alpha_overrides,
            self.stride_rule,
            self.source.stride_pool,
            strict_patterns=strict_patterns,
            odd_size=self.odd_size,
            temporal=self.temporal,
            paths=self.paths,
            paths_overrides=self.paths_for,
        )
        graph = self.captured.graph
        the_plan = plan(graph, opts)
        refused: list[tuple[str, str]] = []
        while prove and needs_proof(the_plan):
            if self._meta_gm is None:
                self._meta_gm = meta_copy(self.captured.gm)
                dt = self.captured.dtype
                if any(t.is_floating_point() and t.dtype != dt for t in self._meta_gm.parameters()):
                    # the proof runs in the network's dtype (a float16 input meets float16 weights and biases)
                    import copy

                    self._meta_gm = copy.deepcopy(self._meta_gm).to(dt)
            failures = prove_plan(the_plan, self._meta_gm, self.captured.input_shape, self.captured.dtype)
            if failures is None:
                break
            known = dict(refused)
            # Refuse the first failure alone while there are few (refusing it may settle failures after it, and the
            # plan keeps more octave layers); past eight rounds refuse each run's failures together (time bound).
            if len(refused) < 8:
                failures = failures[:1]
            for node, why in failures:
                if not node or node in known or node not in graph.by_name:
                    label = graph[node].label if node in graph.by_name else (node or "the network")
                    raise OctprofError(
                        f"model: octprof cannot build the octave network at alpha {alpha:g}: {label} fails ({why}). "
                        "Hint: keep that part vanilla with --vanilla PATTERN, or report the op"
                    )
                known[node] = why
                refused.append((node, why))
            opts = replace(opts, refuse=tuple(refused), strict_patterns=False)
            the_plan = plan(graph, opts)
        real = None if self._on_meta() else self._model
        return Analysis(self.source, self.captured, the_plan, real, self.param_count)


def analyze(arch: str | nn.Module, alpha: float = 0.5, input_size: Any = None, batch: int = 1, **kw: Any) -> Analysis:
    """Trace, plan and price ``arch`` at ``alpha`` (see :class:`Network` for the options)."""
    return Network(arch, input_size, batch, **kw).analyze(alpha)


def octify(model: str | nn.Module, alpha: float = 0.5, input_size: Any = None, batch: int = 1, **kw: Any) -> nn.Module:
    """The real octave network of ``model`` at ``alpha`` (an ``fx.GraphModule`` with ``OctConv1d/2d/3d`` layers), as
    planned and proven by :func:`analyze`; at α = 0 it computes exactly what ``model`` computes.  ``kw`` are
    :class:`Network`'s options (``vanilla``, ``stride_rule``, ...)."""
    return analyze(model, alpha, input_size, batch, **kw).octify()


__all__ = [
    "PATH_ROWS",
    "Analysis",
    "ModelSource",
    "Network",
    "OctprofError",
    "UnpricedWarning",
    "analyze",
    "octify",
    "resolve",
    "traced_whole_line",
    "traced_whole_message",
    "unpriced_message",
]
