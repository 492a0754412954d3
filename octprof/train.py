"""Training cost of octave networks in closed form: multiply-accumulates of a training step and its memory.

**Training MACs** = the forward pass + the two backward GEMMs of every convolution (each octave path, each
vanilla conv, and the Conv1d / Conv3d / transposed convs priced by FlopCounterMode's forward count) and every
linear layer, as autograd runs them:

- *grad-input* (``convolution_backward`` with ``output_mask[0]``, or ``mm(grad, W)`` for a linear layer): the
  same multiply-accumulates as the forward op, and only when the op's input requires grad.  The network input does
  not, so the stem conv (and any conv that reads the image through pooling) computes no grad-input;
- *grad-weight* (``output_mask[1]``, or ``mm(grad.T, x)``): the same multiply-accumulates as the forward op,
  always (every parameter is trained: a frozen parameter is not modelled);
- bias gradients are sums over the batch and the pixels: additions, 0 MACs;
- a product of two tensors (``matmul`` / ``@``, ``bmm``, ``mm``, a two-operand ``einsum``): one product like the
  forward one per operand that requires grad (in the columns: grad-input for the first, grad-weight for the
  second); scaled-dot-product attention: its fused backward computes four products, 2 × the forward MACs;
- pooling, upsampling, batch norm, activations, additions and element-wise products have element-wise backward
  passes: 0 MACs.

``torch.utils.flop_counter.FlopCounterMode`` counts the grad-input of a convolution as the forward op, and its
grad-weight as a convolution of the input with the output gradient *without the groups*: N·Ho·Wo·k²·Cin·Cout,
that is ``groups`` × the forward op (32× for a ResNeXt 3×3 conv, C× for a depthwise one).  ``flop_counter_*``
columns follow that convention, so that they equal FlopCounterMode on a real forward + backward pass exactly; the
``*_macs`` columns count the arithmetic the kernels do.  Any other op with multiply-accumulates (``addmm`` or
``baddbmm`` called as functions, ...) has no backward price here: it is listed in ``backward_unmodelled``.

**Training memory** = weights + buffers (batch-norm running statistics) + gradients (one per parameter, in the
parameters' dtype) + optimizer state + the input batch + the activations autograd saves for the backward pass
(:mod:`octprof.memory`, exact by PyTorch's derivative formulas for the ops it knows).  Optimizer state, as
``torch.optim`` keeps it: plain SGD nothing; SGD with momentum one ``momentum_buffer`` per parameter; Adam /
AdamW ``exp_avg`` and ``exp_avg_sq`` per parameter (``amsgrad`` a third), plus a float32 ``step`` scalar per
parameter tensor, kept on the CPU unless ``capturable`` or ``fused`` (4 bytes each: left out of the total).  All
of these coexist at the end of a forward pass whose previous step kept its gradients; workspaces (cuDNN, im2col),
the allocator's caching and the gradients of activations in flight during backward are not in the model.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any

from octprof.core.errors import bad
from octprof.train_observe import OPTIMIZERS, check_optimizer, observe_training

__all__ = [
    "OPTIMIZERS",
    "backward_rows",
    "observe_training",
    "optimizer_state_bytes",
    "paper_training",
    "requires_grad",
    "saved_caveats",
    "train_cost",
    "train_layers",
    "train_table",
]

MIB = 2**20
_PATHS = ("h2h", "h2l", "l2h", "l2l")


# -- which tensors require grad ------------------------------------------------------------------------------------


def requires_grad(analysis: Any) -> dict[str, bool]:
    """``{node name: whether its output requires grad}`` in a training step: the network input does not; an op
    with parameters (or reading one) does; any other op does when one of its inputs does (a piece of a split or
    chunk when the split input does; ``detach`` never)."""
    g = analysis.plan.graph
    with_params = {r["node"] for r in analysis.rows if r.get("params") and r.get("node")}
    modules = {g[n].module for n in with_params if n in g.by_name and g[n].op == "call_module"}
    out: dict[str, bool] = {}
    for n in g:
        if n.kind == "input" or str(n.target).rsplit(".", 1)[-1] in ("detach", "detach_"):
            out[n.name] = False
            continue
        own = n.name in with_params or (n.op == "call_module" and n.module in modules)
        sources = (*n.inputs, n.attrs["item_of"]) if n.attrs.get("item_of") else n.inputs  # split/chunk pieces
        out[n.name] = own or any(out.get(i, False) for i in sources)
    return out


# -- training MACs -------------------------------------------------------------------------------------------------


# torch callables whose backward is two products like the forward one (one per operand that requires grad)
_PRODUCTS = ("matmul", "bmm", "mm", "einsum")


def _classify(analysis: Any) -> tuple[list[tuple[dict[str, Any], Any, int, bool, bool]], dict[str, int]]:
    """Every priced row with multiply-accumulates: ``(row, node, groups, grad of the first operand, grad of the
    second)`` where the backward is modelled, and the ops where it is not, by target."""
    from octprof.core.layer import layer_cost

    plan = analysis.plan
    g = plan.graph
    grad = requires_grad(analysis)
    path_groups: dict[str, dict[str, int]] = {}
    modelled: list[tuple[dict[str, Any], Any, int, bool, bool]] = []
    unmodelled: dict[str, int] = {}
    for r in analysis.rows:
        if not r["macs"] or r.get("node") not in g.by_name:
            continue
        node = g[r["node"]]
        first = bool(node.inputs) and grad.get(node.inputs[0], False)
        if r["op"] == "linear":
            modelled.append((r, node, 1, first, True))
        elif r["op"] == "conv2d":
            cp = plan.convs.get(node.name)
            if r["path"] in _PATHS and cp is not None and cp.spec is not None:
                if node.name not in path_groups:
                    path_groups[node.name] = {c.path: c.groups for c in layer_cost(cp.spec).rows if c.path in _PATHS}
                groups = path_groups[node.name][r["path"]]
            else:
                groups = int(node.attrs.get("groups", 1))
            modelled.append((r, node, groups, first, True))
        elif node.op == "call_module" and _conv_module(analysis, node) is not None:
            # Conv1d / Conv3d / ConvTranspose*d, priced by FlopCounterMode's forward count: the same backward
            modelled.append((r, node, _conv_module(analysis, node).groups, first, True))
        elif (
            node.op == "call_function"
            and str(node.target).rsplit(".", 1)[-1] in _PRODUCTS
            and len(node.inputs) == 2
            and len(node.in_shapes) == 2
        ):
            modelled.append((r, node, 1, first, grad.get(node.inputs[1], False)))
        elif str(node.target).endswith("scaled_dot_product_attention") and len(node.inputs) >= 3:
            # the fused backward computes all four products (grads of v, of the scores, of q and k): 2 x forward,
            # whichever of q, k, v require grad (none: no backward at all)
            anyone = any(grad.get(i, False) for i in node.inputs[:3])
            modelled.append((r, node, 1, anyone, anyone))
        else:
            unmodelled[node.target] = unmodelled.get(node.target, 0) + 1
    return modelled, unmodelled


def _conv_module(analysis: Any, node: Any) -> Any:
    from torch import nn

    try:
        m = analysis.captured.gm.get_submodule(node.module)
    except AttributeError:
        return None
    return m if isinstance(m, nn.modules.conv._ConvNd) else None


def backward_rows(analysis: Any) -> list[dict[str, Any]]:
    """One row per op with multiply-accumulates whose backward is modelled: every convolution path (octave paths,
    vanilla convs, Conv1d / Conv3d / transposed convs) and linear layer, and every product of two tensors
    (matmul, ``@``, bmm, mm, two-operand einsum).  Its forward ``macs``, ``grad_input_macs`` (the gradient of the
    input, or of a product's first operand: 0 where it does not require grad), ``grad_weight_macs`` (of the
    weight, or of a product's second operand), ``train_macs`` (their sum), ``groups`` and FlopCounterMode's count
    of the three (``flop_counter_flops``: 2 × (forward + grad-input + groups × grad-weight))."""
    out: list[dict[str, Any]] = []
    for r, node, groups, first, second in _classify(analysis)[0]:
        macs = int(r["macs"])
        gi = macs if first else 0
        gw = macs if second else 0
        out.append(
            {
                "layer": r["layer"],
                "op": r["op"] if r["op"] != "unknown" else node.target.rsplit(".", 1)[-1],
                "path": r["path"],
                "groups": groups,
                "macs": macs,
                "grad_input_macs": gi,
                "grad_weight_macs": gw,
                "train_macs": macs + gi + gw,
                "flop_counter_flops": 2 * (macs + gi + groups * gw),
                "node": node.name,
            }
        )
    return out


def train_layers(analysis: Any) -> Any:
    """:func:`backward_rows` as a DataFrame (one row per conv path, linear layer and product)."""
    import pandas as pd

    return pd.DataFrame(backward_rows(analysis))


def _unmodelled(analysis: Any) -> dict[str, int]:
    """Ops with multiply-accumulates whose backward the closed form does not price (attention kernels, ...), by
    target."""
    return _classify(analysis)[1]


# -- training memory -----------------------------------------------------------------------------------------------


def buffer_bytes(analysis: Any) -> int:
    """Bytes of the octave network's buffers: the traced network's (floating ones in the network's dtype) and those
    of the modules forward never calls (``octify`` keeps them), plus one ``num_batches_tracked`` counter (int64)
    for every batch norm that runs as two per-frequency norms."""
    db = analysis.plan.graph.dtype_bytes
    gm = analysis.captured.gm
    unreached = [analysis.model.get_submodule(name) for name in analysis.captured.unreached]
    total = 0
    for b in [*gm.buffers(), *(b for m in unreached for b in m.buffers())]:
        total += b.numel() * (db if b.is_floating_point() else b.element_size())
    for n in analysis.plan.graph:
        s = analysis.plan.splits.get(n.name)
        if n.kind != "batch_norm" or n.op != "call_module" or s is None or not s.split or not (s.high and s.low):
            continue
        try:
            bn = gm.get_submodule(n.module)
        except AttributeError:
            continue
        counter = getattr(bn, "num_batches_tracked", None)
        if counter is not None:
            total += counter.element_size()
    return total


def optimizer_state_bytes(weight_bytes: int, optimizer: str) -> int:
    """Bytes of ``torch.optim`` state on the device: 0 (sgd), 1 (momentum) or 2 (adam) copies of the weights."""
    return check_optimizer(optimizer) * weight_bytes


def saved_caveats(analysis: Any) -> list[str]:
    """Ops whose saved-for-backward bytes the memory model (which prices them as in inference) gets wrong in a
    training step, as their rules say (:meth:`octprof.core.rules.Rule.saved_caveat`): a dropout active in training
    (its output is a new tensor and it keeps its mask) and an in-place ReLU6 / hardtanh (autograd keeps one more map
    than the model counts).  ``"label (why)"``; ``saved_exact`` is false when there is any."""
    from octprof.core.rules import get_rule

    out: list[str] = []
    for n in analysis.plan.graph:
        why = get_rule(n.kind).saved_caveat(n)
        if why:
            out.append(f"{n.label} ({why})")
    return out


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def train_cost(analysis: Any, optimizer: str = "momentum") -> dict[str, Any]:
    """Training MACs and memory of one planned network (batch and dtype are the analysis's)."""
    from octprof.memory import memory_model

    check_optimizer(optimizer)
    rows = backward_rows(analysis)
    t = analysis.total(warn=False)
    fwd_other = t["macs"] - sum(r["macs"] for r in rows)  # ops priced by FlopCounterMode's forward count
    gi = sum(r["grad_input_macs"] for r in rows)
    gw = sum(r["grad_weight_macs"] for r in rows)
    db = analysis.plan.graph.dtype_bytes
    weights = t["params"] * db
    # parameters of modules forward never calls are in the network but get no gradient, hence no optimizer state
    unreached = sum(
        p.numel() for name in analysis.captured.unreached for p in analysis.model.get_submodule(name).parameters()
    )
    trained = (t["params"] - unreached) * db
    summary = memory_model(analysis).summary()
    caveats = saved_caveats(analysis)
    parts = {
        "weight_bytes": weights,
        "buffer_bytes": buffer_bytes(analysis),
        "grad_bytes": trained,
        "optimizer_bytes": optimizer_state_bytes(trained, optimizer),
        "input_bytes": summary["input_bytes"],
        "saved_bytes": summary["saved_bytes"],
    }
    total = sum(parts.values())
    unmodelled = _unmodelled(analysis)
    return {
        "macs": t["macs"],
        "grad_input_macs": gi,
        "grad_weight_macs": gw,
        "train_macs": t["macs"] + gi + gw,
        "train_flops": 2 * (t["macs"] + gi + gw),
        "flop_counter_train_flops": sum(r["flop_counter_flops"] for r in rows) + 2 * fwd_other,
        "params": t["params"],
        **parts,
        "saved_exact": summary["saved_exact"] and not caveats,
        "saved_caveats": ", ".join(
            f"{k} ×{v}" for k, v in sorted(_count(c.split(" (", 1)[1][:-1] for c in caveats).items())
        ),
        "train_mem_bytes": total,
        "train_mem_mib": round(total / MIB, 1),
        "backward_unmodelled": ", ".join(f"{k} ×{v}" for k, v in sorted(unmodelled.items())),
    }


# -- the paper's published training memory -------------------------------------------------------------------------


def paper_training() -> list[dict[str, Any]]:
    """The paper's Table 7 training memory (``octprof/data/paper_training.csv``), with its source."""
    text = resources.files("octprof.data").joinpath("paper_training.csv").read_text(encoding="utf-8")
    out = []
    for r in csv.DictReader(io.StringIO(text)):
        out.append(
            {
                **r,
                "alpha": float(r["alpha"]),
                "input_size": int(r["input_size"]),
                "batch": int(r["batch"]),
                "memory_mb": int(r["memory_mb"]),
            }
        )
    return out


PAPER_NOTE = (
    "paper_mb: the paper's Table 7, training memory measured on one V100 with MXNet (a process's device memory: "
    "workspaces, allocator caching and cuDNN included), a different quantity from train_mem_mib, the closed-form "
    "state of one step (MiB = 2^20 bytes)"
)


# -- a table over architectures and α ------------------------------------------------------------------------------


def train_table(
    archs: Sequence[Any] | Any,
    alphas: Any = (0.0, 0.125, 0.25, 0.5, 0.75),
    input_size: Any = None,
    batch: int = 1,
    dtype: Any = "float32",
    optimizer: str = "momentum",
    vanilla: Sequence[str] = (),
    stride_rule: str | None = None,
    check: bool = False,
    check_device: str = "meta",
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    odd_size: str = "vanilla",
) -> Any:
    """One row per (architecture, α): training MACs and training memory at ``batch`` and ``dtype`` with
    ``optimizer`` (see the module docstring), ``train_macs_rel`` / ``train_mem_rel`` relative to α = 0 of the same
    network, and the paper's Table 7 figure (``paper_mb``) where the row is one of its models.  ``check`` runs one
    training step of the real octave network (:func:`observe_training`, on ``check_device``) and adds its counts
    and an ``agree`` column: FlopCounterMode's total equals ``flop_counter_train_flops``, the weight, buffer,
    gradient and optimizer bytes equal the closed form's, and so do the saved bytes where ``saved_exact``.

    ``df.attrs["notes"]``: lines explaining the columns; ``df.attrs["unpriced"]``: ops nothing priced (no rule and
    no FlopCounterMode count), by target, as in :func:`octprof.report.network_table`."""
    import pandas as pd

    from octprof.analysis import Network
    from octprof.core.grid import parse_grid
    from octprof.machine import DTYPES

    if isinstance(archs, str) or not isinstance(archs, Sequence):
        archs = [archs]
    grid = parse_grid(alphas) if not isinstance(alphas, (list, tuple)) else parse_grid(list(alphas))
    check_optimizer(optimizer)
    dtype_name = dtype if isinstance(dtype, str) else {v: k for k, v in DTYPES.items()}.get(dtype, "")
    if dtype_name not in DTYPES:
        raise bad("--dtype", str(dtype), f"expected one of {', '.join(DTYPES)}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise bad("--batch", batch, "expected an integer >= 1")
    paper = paper_training()
    rows: list[dict[str, Any]] = []
    jobs = list(archs)
    unpriced: dict[str, int] = {}
    for arch in progress(jobs) if progress else jobs:
        net = Network(
            arch,
            input_size,
            batch,
            dtype=DTYPES[dtype_name],
            vanilla=vanilla,
            stride_rule=stride_rule,
            odd_size=odd_size,
        )
        base: dict[str, Any] | None = None
        for alpha in sorted({0.0, *grid}):
            an = net.analyze(alpha, strict_patterns=alpha in grid)
            cost = train_cost(an, optimizer)
            if alpha == 0.0:
                base = cost
            if alpha not in grid:
                continue
            for target, k in an.unpriced_counts().items():
                unpriced[target] = max(unpriced.get(target, 0), k)
            shape = net.captured.input_shape
            size = "x".join(str(d) for d in shape[2:])
            row: dict[str, Any] = {
                "arch": net.source.name,
                "alpha": alpha,
                "input_size": size,
                "batch": shape[0],
                "dtype": dtype_name,
                "optimizer": optimizer,
                **cost,
            }
            assert base is not None
            row["train_macs_rel"] = round(cost["train_macs"] / base["train_macs"], 4) if base["train_macs"] else None
            row["train_mem_rel"] = round(cost["train_mem_bytes"] / base["train_mem_bytes"], 4)
            match = [
                p
                for p in paper
                if p["arch"] == net.source.name
                and p["alpha"] == alpha
                and p["batch"] == shape[0]
                and p["dtype"] == dtype_name
                and (shape[2], shape[3]) == (p["input_size"], p["input_size"])
            ]
            row["paper_mb"] = match[0]["memory_mb"] if match else None
            if check:
                obs = observe_training(an, check_device, optimizer)
                row.update(obs)
                row["agree"] = (
                    obs["flop_counter_train_flops"] == cost["flop_counter_train_flops"]
                    and (obs["observed_saved_bytes"] == cost["saved_bytes"] or not cost["saved_exact"])
                    and obs["observed_weight_bytes"] == cost["weight_bytes"]
                    and obs["observed_buffer_bytes"] == cost["buffer_bytes"]
                    and obs["observed_grad_bytes"] == cost["grad_bytes"]
                    and obs["observed_optimizer_bytes"] == cost["optimizer_bytes"]
                )
            rows.append(row)
    df = pd.DataFrame(rows)
    notes = [
        "train_macs = forward macs + grad_input_macs (every conv and linear layer whose input requires grad: not the "
        "stem) + grad_weight_macs (every conv and linear layer; products of tensors: per operand that requires grad); "
        "train_flops = 2 x train_macs; "
        "flop_counter_train_flops = FlopCounterMode's convention (its conv grad-weight ignores groups)",
        f"train_mem_bytes = weights + buffers + gradients + optimizer state ({optimizer}: "
        f"{OPTIMIZERS[optimizer]} cop{'y' if OPTIMIZERS[optimizer] == 1 else 'ies'} of the weights) + input batch "
        "+ activations saved for backward; no workspaces, no allocator caching",
    ]
    if not df.empty and df["paper_mb"].notna().any():
        notes.append(PAPER_NOTE)
    if not df.empty and (~df["saved_exact"]).any():
        notes.append(
            "saved_exact False: norms or ops without a rule are assumed to keep their input; saved_caveats: ops the "
            "memory model prices as in inference (dropout, in-place ReLU6 / hardtanh)"
        )
    if not df.empty and (df["backward_unmodelled"] != "").any():
        notes.append("backward_unmodelled: ops with multiply-accumulates whose backward is not in train_macs")
    df.attrs["notes"] = notes
    df.attrs["unpriced"] = unpriced
    return df
