"""Observations of a real network's memory, to check the closed form of :mod:`octprof.memory` against: output
shapes seen by forward hooks, the storages autograd saves for backward, measured inference peaks (CUDA, or the CPU
profiler's allocation events) and fvcore's activation count next to the closed form's."""

from __future__ import annotations

from typing import Any

from octprof.core.rules import counts_activation

__all__ = [
    "closed_form_activations",
    "fvcore_activations",
    "measured_peak_bytes",
    "observed_saved_bytes",
    "observed_tensors",
]


def _parts_of(out: Any) -> list[tuple[int, ...]]:
    import torch

    if isinstance(out, torch.Tensor):
        return [tuple(out.shape)]
    if isinstance(out, (tuple, list)):
        return [s for o in out for s in _parts_of(o)]
    return []


def observed_tensors(model: Any, x: Any) -> dict[str, list[tuple[int, ...]]]:
    """``{module name: [shape of each tensor part of its output]}`` seen by forward hooks in one inference pass
    (every module but the root; octave paths as ``<layer>.h2h`` …)."""
    import torch

    seen: dict[str, list[tuple[int, ...]]] = {}
    hooks = []
    for name, mod in model.named_modules():
        if not name:
            continue
        hooks.append(mod.register_forward_hook(lambda _m, _a, out, name=name: seen.__setitem__(name, _parts_of(out))))
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


def observed_saved_bytes(model: Any, x: Any) -> int:
    """Bytes of the distinct storages autograd saves for backward in one training forward pass (parameters and
    buffers left out), seen through ``torch.autograd.graph.saved_tensors_hooks``."""
    import torch

    skip = {p.untyped_storage().data_ptr() for p in model.parameters()}
    skip |= {b.untyped_storage().data_ptr() for b in model.buffers()}
    skip.add(x.untyped_storage().data_ptr())
    storages: dict[int, int] = {}

    def pack(t: Any) -> Any:
        s = t.untyped_storage()
        if s.data_ptr() not in skip:
            storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    del out
    return sum(storages.values())


def measured_peak_bytes(model: Any, x: Any, device: Any = "cpu") -> int | None:
    """Peak bytes allocated during one inference pass, over what was allocated before it: CUDA's
    ``max_memory_allocated``, or on CPU the running sum of the profiler's allocation events.  None when the
    profiler gives no allocation events."""
    import torch

    dev = torch.device(device)
    with torch.inference_mode():
        model(x)  # warm-up: lazy initialisation and cached weights are not activations
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
            base = torch.cuda.memory_allocated(dev)
            torch.cuda.reset_peak_memory_stats(dev)
            out = model(x)
            torch.cuda.synchronize(dev)
            peak = torch.cuda.max_memory_allocated(dev) - base
            del out
            return int(peak)
        return _cpu_peak(model, x)


def _cpu_peak(model: Any, x: Any) -> int | None:
    from torch.profiler import profile

    from octprof.machine import profiler_activities

    with profile(activities=profiler_activities("cpu"), profile_memory=True) as prof:
        out = model(x)
        del out
    try:
        from torch._C._profiler import _EventType

        events: list[tuple[int, int]] = []

        def walk(nodes: Any) -> None:
            for n in nodes:
                if n.tag == _EventType.Allocation and str(n.extra_fields.device).startswith("cpu"):
                    events.append((n.start_time_ns, int(n.extra_fields.alloc_size)))
                walk(n.children)

        walk(prof.profiler.kineto_results.experimental_event_tree())
    except (AttributeError, ImportError, RuntimeError):
        return None
    if not events:
        return None
    cum = peak = 0
    for _, size in sorted(events):
        cum += size
        peak = max(peak, cum)
    return peak


def closed_form_activations(analysis: Any) -> int:
    """The closed form in fvcore's activation convention: output elements of every convolution path (vanilla
    convs included) and every linear layer."""
    return sum(
        r["act_elems"]
        for r in analysis.rows
        if counts_activation(r["op"]) and r["path"] not in ("pool", "upsample", "add", "merge")
    )


def fvcore_activations(model: Any, x: Any) -> int:
    """fvcore's ``ActivationCountAnalysis`` total of ``model(x)``: output elements of convolutions and matrix
    products (``aten::_convolution``, ``aten::addmm``, ``aten::linear``, ``aten::matmul``, …)."""
    from octprof.crosscheck import quiet

    with quiet():
        from fvcore.nn import ActivationCountAnalysis

        aca = ActivationCountAnalysis(model, (x,))
        aca.unsupported_ops_warnings(False)
        aca.uncalled_modules_warnings(False)
        aca.tracer_warnings("none")
        return int(aca.total())
