"""One real training step of an octave network, observed: what :mod:`octprof.train`'s closed form is checked against.

``observe_training`` runs the octave network of an analysis (reference ``OctConv2d``, train mode) forward under
``torch.autograd.graph.saved_tensors_hooks`` and forward + backward under ``FlopCounterMode``, then one optimizer
step, on the meta device (nothing allocated, any size) or a real one.
"""

from __future__ import annotations

from typing import Any

from octprof.core.errors import bad

__all__ = ["OPTIMIZERS", "observe_training"]

# Copies of the parameters each optimizer keeps (torch.optim's state per parameter).
OPTIMIZERS: dict[str, int] = {"sgd": 0, "momentum": 1, "adam": 2}


def check_optimizer(optimizer: str) -> int:
    """The number of weight copies ``optimizer`` keeps; a one-line error for an unknown name."""
    if optimizer not in OPTIMIZERS:
        raise bad("--optimizer", optimizer, f"expected one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[optimizer]


def _sum_outputs(out: Any) -> Any:
    import torch

    if isinstance(out, torch.Tensor):
        return out.float().sum()
    if isinstance(out, (tuple, list)):
        parts = [_sum_outputs(o) for o in out if o is not None]
        parts = [p for p in parts if p is not None]
        return sum(parts[1:], parts[0]) if parts else None
    if isinstance(out, dict):
        return _sum_outputs(list(out.values()))
    return None


def observe_training(
    analysis: Any, device: str = "meta", optimizer: str | None = None, seed: int = 0
) -> dict[str, int | None]:
    """One real training step of the octave network (reference ``OctConv2d``, train mode) at the analysis's batch
    and dtype: forward under ``saved_tensors_hooks`` and forward + backward under ``FlopCounterMode``.

    Returns ``flop_counter_train_flops`` (total), ``flop_counter_forward_flops`` / ``..._backward_flops`` (by
    aten op: convolution / addmm / mm of the forward, convolution_backward and mm of the backward),
    ``observed_saved_bytes`` (distinct storages packed for backward; parameters, buffers and the input left out),
    ``observed_weight_bytes`` + ``observed_buffer_bytes`` (the network's parameters and buffers),
    ``observed_grad_bytes`` (every ``.grad`` after backward) and, with ``optimizer``, ``observed_optimizer_bytes``
    (the tensors of ``torch.optim``'s state after one step, the Adam ``step`` scalars left out).  ``device="meta"``
    allocates nothing (any size runs in seconds); storages are told apart by their storage object, so the saved
    bytes are the same as on a real device."""
    import torch

    from octprof.convert import octify_captured
    from octprof.crosscheck import flop_counter
    from octprof.prove import meta_copy

    dt = analysis.captured.dtype
    dev = torch.device(device)
    on_meta = dev.type == "meta"
    net = octify_captured(meta_copy(analysis.captured.gm), analysis.plan) if on_meta else analysis.octify()
    net = net.to(device=dev, dtype=dt).train()
    if dev.type == "meta":
        x = torch.empty(analysis.captured.input_shape, device=dev, dtype=dt)
    else:
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(analysis.captured.input_shape, generator=gen).to(device=dev, dtype=dt)

    def key(t: Any) -> int:
        return t.untyped_storage()._cdata  # the storage itself: views share it, on every device

    skip = {key(t) for t in (*net.parameters(), *net.buffers(), x)}
    storages: dict[int, int] = {}
    keep: list[Any] = []

    def pack(t: Any) -> Any:
        k = key(t)
        if k not in skip:
            storages[k] = t.untyped_storage().nbytes()
            keep.append(t)  # a storage stays alive (and its address unique) until backward
        return t

    opt = None
    if optimizer is not None:
        copies = check_optimizer(optimizer)
        params = list(net.parameters())
        opt = (
            torch.optim.SGD(params, lr=0.1)
            if copies == 0
            else torch.optim.SGD(params, lr=0.1, momentum=0.9)
            if copies == 1
            else torch.optim.Adam(params, lr=1e-3)
        )
    with flop_counter() as fwd:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = net(x)
        loss = _sum_outputs(out)
    del out
    if loss is None:
        raise bad("model", analysis.source.name, "its output holds no tensor to train on")
    with flop_counter() as bwd:
        loss.backward()
    keep.clear()
    result: dict[str, int | None] = {
        "flop_counter_train_flops": int(fwd.get_total_flops() + bwd.get_total_flops()),
        "flop_counter_forward_flops": int(fwd.get_total_flops()),
        "flop_counter_backward_flops": int(bwd.get_total_flops()),
        "observed_saved_bytes": sum(storages.values()),
        "observed_weight_bytes": sum(p.nbytes for p in net.parameters()),
        "observed_buffer_bytes": sum(b.nbytes for b in net.buffers()),
        "observed_grad_bytes": sum(p.grad.nbytes for p in net.parameters() if p.grad is not None),
        "observed_optimizer_bytes": None,
    }
    if opt is not None:
        opt.step()
        result["observed_optimizer_bytes"] = sum(
            v.nbytes
            for state in opt.state.values()
            for name, v in state.items()
            if isinstance(v, torch.Tensor) and name != "step"
        )
    return result
