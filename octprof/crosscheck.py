"""Independent counts of a real network: fvcore and ``torch.utils.flop_counter.FlopCounterMode``.

Conventions, side by side (every public tool counts differently):

- octprof ``macs``: multiply-accumulates of convolutions and linear layers; ``flops`` = 2 × macs.
- fvcore (``FlopCountAnalysis``): one per multiply-add of convolutions and matrix products (no bias), batch
  norm 2 per element in eval mode (1 without affine), nearest upsampling 1 per output element, adaptive
  average pooling 1 per input element; pooling, additions, activations 0.  octprof's ``fvcore_flops``.
- ``FlopCounterMode``: 2 per multiply-add of convolutions and matrix products, nothing else; so
  FlopCounterMode / 2 = ``macs``.  Plain FlopCounterMode counts PyTorch's fused CPU attention kernel 0:
  :func:`flop_counter` counts it by FlopCounterMode's own attention formula.
- The paper's "FLOPs" are multiply-adds (plus biases, pooling and ReLUs, which are small): ``paper_flops``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

CONVENTIONS: tuple[str, ...] = (
    "macs: multiply-accumulates of convolutions and linear layers; flops = 2 x macs",
    "fvcore_flops: fvcore's count: 1 per multiply-add, BatchNorm 2 per element (eval), nearest upsampling "
    "1 per output, adaptive average pooling 1 per input; pooling, additions, activations 0",
    "flop_counter: torch.utils.flop_counter.FlopCounterMode counts 2 per multiply-add of convolutions, "
    "matrix products and attention (fused CPU attention by its sdpa formula) and nothing else, "
    "so flop_counter / 2 = macs",
    "paper_flops: the paper's FLOPs are multiply-adds, plus bias additions, pooling outputs x kernel area, "
    "global-pool inputs and ReLU outputs (BN, additions, upsampling 0)",
)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence fvcore's import-time DeprecationWarnings, its tracer warnings and its logger."""
    loggers = [logging.getLogger(n) for n in ("fvcore", "fvcore.nn.jit_analysis", "iopath")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, lv in zip(loggers, levels):
                lg.setLevel(lv)


def _flatten_outputs(out: Any) -> Any:
    if isinstance(out, (tuple, list)):
        flat = []
        for o in out:
            f = _flatten_outputs(o)
            if isinstance(f, tuple):
                flat.extend(f)
            elif f is not None:
                flat.append(f)
        return tuple(flat)
    return out


class _Traceable(nn.Module):
    """Wraps a module whose inputs or outputs hold ``(high, low)`` pairs or ``None`` parts, so that
    ``torch.jit.trace`` (fvcore) sees flat tensors.  The wrapped module is the child ``net``."""

    def __init__(self, net: nn.Module, pair_input: bool) -> None:
        super().__init__()
        self.net = net
        self.pair_input = pair_input

    def forward(self, *xs: torch.Tensor) -> Any:
        x = tuple(xs) if self.pair_input else xs[0]
        return _flatten_outputs(self.net(x))


def fvcore_count(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[int, dict[str, int], dict[str, int]]:
    """fvcore's total, per-module and per-operator counts of ``model(*inputs)`` (module names as in
    ``named_modules``, the root being ``""``)."""
    with quiet():
        from fvcore.nn import FlopCountAnalysis

        fca = FlopCountAnalysis(model, inputs)
        fca.unsupported_ops_warnings(False)
        fca.uncalled_modules_warnings(False)
        fca.tracer_warnings("none")
        total = int(fca.total())
        by_module = {k: int(v) for k, v in fca.by_module().items()}
        by_op = {k: int(v) for k, v in fca.by_operator().items()}
    return total, by_module, by_op


def _as_4d(shape: Any) -> tuple[int, ...]:
    """An attention operand's shape as (batch, heads, length, features): leading dimensions folded into heads."""
    shape = tuple(shape)
    return shape if len(shape) == 4 else (1, math.prod(shape[:-2]), *shape[-2:])


def _cpu_sdpa_flop(query: Any, key: Any, value: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(_as_4d(query), _as_4d(key), _as_4d(value))


def _cpu_sdpa_backward_flop(grad_out: Any, query: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    """The four products of the backward (grads of v, of the scores, of q, of k): 2 x the forward, as FlopCounterMode
    counts the math path's backward on meta (its formula for the CUDA kernels adds a recomputed q @ k^T)."""
    return 2 * _cpu_sdpa_flop(query, key, value)


def _cpu_lstm_layer_flop(input: Any, w_ih: Any, w_hh: Any, *args: Any, **kwargs: Any) -> int:
    """One layer and direction of PyTorch's fused CPU LSTM (``aten.mkldnn_rnn_layer``): every step's two gate
    products, as FlopCounterMode counts the ``addmm`` of the decomposed LSTM on meta: 2 × steps × batch ×
    (4H·In + 4H·H)."""
    rows = math.prod(input) // input[-1]
    return 2 * rows * (math.prod(w_ih) + math.prod(w_hh))


def _native_mha_flop(query: Any, key: Any, value: Any, embed_dim: int, *args: Any, **kwargs: Any) -> int:
    """PyTorch's fused multi-head attention (``aten._native_multi_head_attention``, the fast path
    ``nn.MultiheadAttention`` takes in inference), counted as FlopCounterMode counts the decomposed path: the input
    projections (E² per query token, 2 E² per key token), ``q @ k^T`` and ``softmax(...) @ v`` over all heads (L·S·E
    each) and the output projection (E² per query token); 2 per multiply-add.  Shapes are (B, L, E) (batch first)."""
    *batch, length, e = query
    source = key[-2]
    b = math.prod(batch)
    return 2 * b * (e * e * (length + 2 * source) + 2 * length * source * e + length * e * e)


# fused kernels plain FlopCounterMode counts 0, by aten name (those this torch has), and how to count them
_FUSED_KERNELS = (
    ("_scaled_dot_product_flash_attention_for_cpu", _cpu_sdpa_flop),
    ("_scaled_dot_product_flash_attention_for_cpu_backward", _cpu_sdpa_backward_flop),
    ("mkldnn_rnn_layer", _cpu_lstm_layer_flop),
    ("_native_multi_head_attention", _native_mha_flop),
)


def flop_counter(**kwargs: Any) -> Any:
    """``FlopCounterMode`` that also counts PyTorch's fused CPU attention kernel
    (``aten._scaled_dot_product_flash_attention_for_cpu`` and its backward) with FlopCounterMode's own formula
    for the other attention kernels (``sdpa_flop_count``: 2 per multiply-add of ``q @ k^T`` and of
    ``softmax(...) @ v``; the backward, 2 x that, as the math path's four products).  Plain FlopCounterMode has
    no formula for it and counts 0 on CPU, while the same ``F.scaled_dot_product_attention`` on meta tensors (the
    math path) is counted as two products: with this mapping the count does not depend on the kernel that runs.
    Likewise the fused CPU LSTM layer (``aten.mkldnn_rnn_layer``, 0 in plain FlopCounterMode), counted as its gate
    products are on meta, and ``nn.MultiheadAttention``'s fused inference path (``aten._native_multi_head_attention``,
    0 in plain FlopCounterMode: torchvision's ViT counted 36 % short), as its decomposed path is counted."""
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    mapping = {getattr(aten, name): fn for name, fn in _FUSED_KERNELS if hasattr(aten, name)}
    return FlopCounterMode(display=False, custom_mapping={**mapping, **kwargs.pop("custom_mapping", {})}, **kwargs)


def flop_counter_count(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[int, dict[str, int]]:
    """FlopCounterMode's total and per-module counts (FLOPs, 2 per multiply-add), names as in
    ``named_modules``; fused CPU attention counted as the other attention kernels are (:func:`flop_counter`).
    Works on meta tensors."""
    with quiet(), torch.no_grad(), flop_counter() as fc:
        model(*inputs)
    root = type(model).__name__
    by_module: dict[str, int] = {}
    for name, ops in fc.get_flop_counts().items():
        if name == "Global":
            continue
        rel = "" if name == root else name[len(root) + 1 :] if name.startswith(root + ".") else name
        by_module[rel] = int(sum(ops.values()))
    return int(fc.get_total_flops()), by_module


def layer_inputs(
    spec: Any, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, seed: int = 0
) -> tuple[torch.Tensor, ...]:
    """Random inputs for one octave layer: the high map (possibly with 0 channels) and the low map."""
    from octprof.core.layer import layer_cost

    cost = layer_cost(spec)
    gen = torch.Generator().manual_seed(seed)
    (hs, ls) = cost.input_shapes
    n = spec.batch
    high = torch.randn(hs, generator=gen, dtype=dtype) if hs else torch.empty(n, 0, *spec.spatial, dtype=dtype)
    if ls is None:
        return (high.to(device),)
    low = torch.randn(ls, generator=gen, dtype=dtype)
    return high.to(device), low.to(device)


def layer_crosscheck(spec: Any, seed: int = 0) -> list[dict[str, Any]]:
    """Closed form, fvcore and FlopCounterMode side by side for one octave layer, per path and in total.

    Each record: ``path``, closed-form ``macs``, ``fvcore`` (fvcore's per-module count of that path),
    ``flop_counter`` (FlopCounterMode, 2 per multiply-add), ``params`` closed form and ``module_params``,
    ``out_elems`` closed form and ``real_out_elems``, and ``agree`` (all of them equal).  The ``total`` row
    compares the closed form in fvcore's convention (upsampling included) with fvcore's module total."""
    from octprof.core.layer import layer_cost
    from octprof.nn import octconv_class

    cost = layer_cost(spec)
    torch.manual_seed(seed)
    layer = octconv_class(spec.dims).from_spec(spec)
    layer.eval()
    inputs = layer_inputs(spec, seed=seed)
    wrapped = _Traceable(layer, pair_input=len(inputs) == 2)
    fv_total, fv_mod, _ = fvcore_count(wrapped, inputs)
    fc_total, fc_mod = flop_counter_count(wrapped, inputs)
    with torch.no_grad():
        out = layer(inputs if len(inputs) == 2 else inputs[0])
    parts = (out, None) if isinstance(out, torch.Tensor) else out
    real_out = sum(p.numel() for p in parts if p is not None)

    recs: list[dict[str, Any]] = []
    for path in ("h2h", "h2l", "l2h", "l2l"):
        row = cost.path(path)
        module = getattr(layer, path)
        if row is None and module is None:
            continue
        macs = row.macs if row else 0
        fv = fv_mod.get(f"net.{path}", 0)
        fc = fc_mod.get(f"net.{path}", 0)
        params = row.params if row else 0
        mparams = sum(p.numel() for p in module.parameters()) if module is not None else 0
        recs.append(
            {
                "path": path,
                "macs": macs,
                "fvcore": fv,
                "flop_counter": fc,
                "params": params,
                "module_params": mparams,
                "agree": macs == fv == fc // 2 and fc % 2 == 0 and params == mparams,
            }
        )
    total_params = sum(p.numel() for p in layer.parameters())
    recs.append(
        {
            "path": "total",
            "macs": cost.macs,
            "fvcore_flops": cost.fvcore_flops,
            "fvcore": fv_mod.get("net", fv_total),
            "flop_counter": fc_total,
            "params": cost.params,
            "module_params": total_params,
            "out_elems": cost.output_elems,
            "real_out_elems": real_out,
            "agree": (
                cost.fvcore_flops == fv_total
                and cost.macs * 2 == fc_total
                and cost.params == total_params
                and cost.output_elems == real_out
            ),
        }
    )
    return recs
