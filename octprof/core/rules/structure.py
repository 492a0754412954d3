"""Rules of ops that reshape, move or read data, the network's inputs and outputs, ops run on merged maps
(slices, norms, data movement, split / chunk) and ops no rule knows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from octprof.core.graph import OpNode, Shape, numel
from octprof.core.rules.base import (
    NN,
    NOTHING_SAVED,
    Call,
    Rule,
    Saved,
    TensorSplit,
    cost_row,
    op_name,
    rule,
)


@rule
class Flatten(Rule):
    kind = "flatten"
    modules = (f"{NN}.flatten.Flatten",)
    functions = (
        "torch.flatten",
        "torch.reshape",
        "torch.squeeze",
        "torch.unsqueeze",
        "torch.transpose",
        "torch.permute",
        "torch.swapaxes",
        "torch.movedim",
        "torch.sum",
        "torch.mean",
    )
    # ``x.reshape_as(y)`` / ``x.view_as(y)`` read only ``y``'s shape (LeViT): views, as reshape and view
    methods = (
        *("flatten", "view", "reshape", "squeeze", "unsqueeze", "permute", "transpose", "mean", "sum"),
        *("reshape_as", "view_as"),
    )
    flow = "vanilla"
    convert = "keep"

    _views = (
        *("flatten", "view", "reshape", "squeeze", "unsqueeze", "permute", "transpose", "contiguous"),
        *("reshape_as", "view_as"),
    )

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED

    def view(self, node: OpNode) -> bool:
        return op_name(node) in self._views or "flatten" in node.target.lower()

    def kernel(self, node: OpNode) -> str:
        return "memory" if op_name(node) in ("mean", "sum") else "none"  # reductions read their input


class _Unpriced(Rule):
    """Ops that produce no cost row: the network's inputs and output, constants, metadata reads."""

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        return []

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED

    def kernel(self, node: OpNode) -> str:
        return "none"


@rule
class Output(_Unpriced):
    kind = "output"
    flow = "vanilla"
    convert = "keep"


@rule
class Input(_Unpriced):
    kind = "input"
    flow = "meta"
    convert = "keep"


@rule
class Constant(Input):
    kind = "constant"

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        """A parameter read by ``get_attr`` (layer scale, positional embeddings) counts its elements once."""
        p = node.attrs.get("param_elems", 0)
        return [cost_row(node, "", None, node.out_shape, params=p, act_elems=0, note="parameter")] if p else []


@rule
class Meta(_Unpriced):
    kind = "meta"
    functions = ("builtins.getattr", "_operator.getitem")
    methods = ("size", "dim")
    flow = "meta"
    convert = "meta"


class _Merged(Rule):
    """Ops whose split inputs are merged before them; they run on the vanilla maps, so their cost is the vanilla
    one.  Parameters: those of the module (``module_params``), counted once."""

    flow = "merge"
    convert = "merge"

    def counts(self, node: OpNode) -> dict[str, Any]:
        return {}

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        counts = {"params": node.attrs.get("module_params", 0), **self.counts(node)}
        return [cost_row(node, "", ins[0].shape if ins else None, node.out_shape, **counts)]


@rule
class Slice(_Merged):
    """Indexing a tensor: channel slices (GhostNet, DPN), spatial crops.  A view: no arithmetic in any convention."""

    kind = "slice"
    methods = ("narrow",)
    functions = ("torch.narrow",)

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED

    def view(self, node: OpNode) -> bool:
        return True


@rule
class DataMove(_Merged):
    """Ops every convention counts as zero: splitting, padding, rolling, flipping, repeating (``repeat``,
    ``repeat_interleave``: GCViT's global query, a copy that keeps nothing for backward), softmax, and the functions
    torchvision's Swin and video MViT keep as calls in a traced graph (a gather, a pad, reshapes)."""

    kind = "data"
    functions = (
        "torch.repeat_interleave",
        "torch.unbind",
        "torch.roll",
        "torch.flip",
        "torch.stack",
        "torch.nn.functional.pad",
        "torch._C._nn.pad",
        "torch.nn.functional.softmax",
        "torch.softmax",
        "torch.pixel_shuffle",
        "torch.pixel_unshuffle",
        "torch.tile",
        # torchvision's Swin keeps these as calls in a traced graph (torch.fx.wrap): a gather of the relative
        # position bias table, and the pad + strided slices + cat of patch merging
        "torchvision.models.swin_transformer._get_relative_position_bias",
        "torchvision.models.swin_transformer._patch_merging_pad",
        # ... and video MViT's reshapes of its token sequences, and their split along a dimension
        "torchvision.models.video.mvit._unsqueeze",
        "torchvision.models.video.mvit._squeeze",
        "torchvision.models.video.mvit._add_shortcut",  # a residual add: 0 in every convention, as `add`
        "torch.tensor_split",
    )
    modules = (
        f"{NN}.pixelshuffle.PixelShuffle",
        f"{NN}.pixelshuffle.PixelUnshuffle",
        f"{NN}.activation.Softmax",
        # padding modules (NASNet's and CPUBone's ZeroPad2d), as F.pad
        *(
            f"{NN}.padding.{k}Pad{d}d"
            for k in ("Zero", "Constant", "Reflection", "Replication", "Circular")
            for d in (1, 2, 3)
        ),
    )
    methods = (
        "tile",
        "unbind",
        "roll",
        "flip",
        "expand",
        "expand_as",
        "repeat",
        "repeat_interleave",
        "softmax",
        "tensor_split",
    )

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        # views, padding, rolling, flipping keep nothing; softmax keeps its output
        return Saved(inputs=0, output=True) if "softmax" in op_name(node) else NOTHING_SAVED

    def saved_exact(self, node: OpNode) -> bool:
        return node.out_shape is not None

    def view(self, node: OpNode) -> bool:
        return op_name(node) in ("expand", "expand_as")


@rule
class Chunk(_Merged):
    """``torch.split`` / ``chunk`` (Res2Net, CSP): along channels, a split map gives split pieces, each with its
    share of both frequencies (piece i of C channels out of a map with L low channels gets L·c_i/C low channels,
    when that is a whole number for every piece); along another axis, or where the shares are not whole, the map
    is merged first.  The pieces are views: no arithmetic in any convention."""

    kind = "chunk"
    functions = ("torch.split", "torch.functional.split", "torch.chunk")
    methods = ("split", "chunk")
    flow = "chunk"
    convert = "chunk"

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        return []


@rule
class Norm(_Merged):
    """LayerNorm, GroupNorm and InstanceNorm (they normalise across channels, so the parts are merged first).
    fvcore: 5 per input element with an affine transform, 4 without; the paper's convention and macs: 0."""

    kind = "norm"
    modules = (
        f"{NN}.normalization.LayerNorm",
        f"{NN}.normalization.GroupNorm",
        f"{NN}.instancenorm.InstanceNorm1d",
        f"{NN}.instancenorm.InstanceNorm2d",
        f"{NN}.instancenorm.InstanceNorm3d",
    )
    functions = (
        "torch.nn.functional.layer_norm",
        "torch.nn.functional.group_norm",
        "torch.nn.functional.instance_norm",
    )

    def module_attrs(self, m: Any) -> dict[str, Any]:
        return {"affine": bool(getattr(m, "elementwise_affine", getattr(m, "affine", False)))}

    def counts(self, node: OpNode) -> dict[str, Any]:
        return {
            "fvcore_flops": numel(node.in_shapes[0]) * (5 if node.attrs.get("affine") else 4) if node.in_shapes else 0
        }

    def saved_exact(self, node: OpNode) -> bool:
        return False  # the model assumes the input; the statistics kept differ per norm and backend


@rule
class Unfold(_Merged):
    """Sliding windows: ``x.unfold(dim, size, step)`` (HaloNet's key/value blocks: a view), ``F.unfold`` /
    ``nn.Unfold`` (im2col: a copy of every window) and ``F.fold`` / ``nn.Fold`` (col2im: the windows summed back
    into a map, VOLO's outlook attention).  Windows cross the split's geometry (a low part's windows are not the
    low part of the windows), so split maps are merged first.  0 in every convention: FlopCounterMode counts none,
    fvcore has no handle for ``aten::im2col`` / ``col2im`` / ``unfold``, and the paper's convention counts no
    additions.  Keeps nothing for backward (each one's gradient is the other, given the sizes)."""

    kind = "unfold"
    modules = (f"{NN}.fold.Unfold", f"{NN}.fold.Fold")
    functions = ("torch.nn.functional.unfold", "torch.nn.functional.fold")
    methods = ("unfold",)

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED

    def view(self, node: OpNode) -> bool:
        return node.op == "call_method"  # Tensor.unfold: a strided view of its input

    def kernel(self, node: OpNode) -> str:
        return "none" if self.view(node) else "memory"

    def saved_caveat(self, node: OpNode) -> str | None:
        # CPU's col2im hands back its map in a buffer the size of its input (the windows): the op after it keeps
        # that whole buffer when it keeps its input
        return "fold's output sits in a buffer of its input's size" if op_name(node) == "fold" else None


@rule
class Normalize(_Merged):
    """``F.normalize(x, p, dim)``: x divided by its p-norm along ``dim`` (XCiT's and EdgeNeXt's cross-covariance
    attention, along the tokens' last axis; along channels by default).  A norm across an axis: split maps are
    merged first.  0 in every convention (FlopCounterMode counts none of ``linalg_vector_norm``, ``clamp_min``,
    ``div``; fvcore has no handle for them; the paper's convention counts no norm).  Keeps its input, the norm and
    the clamped norm (each one element per vector along ``dim``) for backward."""

    kind = "normalize"
    functions = ("torch.nn.functional.normalize",)

    def call_attrs(self, call: Call) -> dict[str, Any]:
        return {"dim": int(call.arg(2, "dim", 1)), "grad": call.requires_grad()}

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        if not node.attrs.get("grad", True) or not node.in_shapes:
            return NOTHING_SAVED
        x = node.in_shapes[0]
        vectors = numel(x) // x[node.attrs.get("dim", 1)] if x else 0
        return Saved(copy_elems=2 * vectors)


@rule
class CumSum(_Merged):
    """``torch.cumsum`` / ``x.cumsum(dim)`` (EdgeNeXt's and XCiT's Fourier position encoding, on a mask): a scan
    along an axis, which the split's geometry does not keep: split maps are merged first.  0 in every convention
    (additions; FlopCounterMode counts none, fvcore has no handle for ``aten::cumsum``).  Keeps nothing for
    backward (the gradient is a reversed cumulative sum)."""

    kind = "cumsum"
    functions = ("torch.cumsum",)
    methods = ("cumsum",)

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED


@rule
class Max(_Merged):
    """``x.max(dim)`` / ``x.min(dim)`` (values and indices: VOLO's class-attention head), ``x.max()`` (one value)
    and ``torch.max(x, y)`` (per element); ``amax`` / ``amin`` (Hiera, CSATv2) and ``x.norm(p, dim)`` /
    ``torch.linalg.vector_norm``.  A reduction across an axis: split maps are merged first.  0 in every convention
    (comparisons and norms: FlopCounterMode counts none, fvcore ignores ``aten::max``, has no handle for the
    others).  For backward, a reduction along a dim keeps its int64 indices, a full reduction (and ``amax``,
    ``amin``, a norm) its input and result, the per-element form both inputs."""

    kind = "max"
    functions = ("torch.max", "torch.min", "torch.amax", "torch.amin", "torch.norm", "torch.linalg.vector_norm")
    methods = ("max", "min", "amax", "amin", "norm")

    def call_attrs(self, call: Call) -> dict[str, Any]:
        if call.target.rsplit(".", 1)[-1] in ("amax", "amin", "norm", "vector_norm"):
            # one tensor out whatever the dims; backward reads the input and the result (a mask, or x / ||x||)
            return {"form": "all", "dim": None, "keepdim": False, "grad": call.requires_grad()}
        other = call.shape(1, "other") is not None
        dim = call.arg(1, "dim", None)
        keepdim = bool(call.arg(2, "keepdim", False))
        return {
            "form": "elementwise" if other else ("all" if dim is None else "dim"),
            "dim": None if other or dim is None else int(dim),
            "keepdim": keepdim,
            "grad": call.requires_grad(),
        }

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        form = node.attrs.get("form", "all")
        if not node.attrs.get("grad", True) or form == "dim":
            return NOTHING_SAVED  # along a dim: the indices, an output the model does not follow (saved_caveat)
        return Saved(inputs=-1) if form == "elementwise" else Saved(output=True)

    def saved_caveat(self, node: OpNode) -> str | None:
        if node.attrs.get("form") == "dim" and node.attrs.get("grad", True):
            return "max/min along a dim keeps its indices (a tuple output)"
        return None

    def view(self, node: OpNode) -> bool:
        return False


@rule
class Create(Rule):
    """Tensors made from sizes alone: ``torch.arange``, ``zeros``, ``ones``, ``full``, ``empty`` (the Fourier
    position encodings of EdgeNeXt and XCiT start from them).  They read no tensor (flow ``meta``: only sizes), so
    they are never split and are left as they are; a map-shaped one is vanilla (no conv produces it).  0 in every
    convention (FlopCounterMode counts none; fvcore ignores ``aten::arange`` / ``zeros`` / ``ones`` / ``full`` /
    ``empty``); the tensor made counts as an activation; nothing is kept for backward; one fill kernel."""

    kind = "create"
    functions = tuple(f"torch.{f}" for f in ("arange", "zeros", "ones", "full", "empty"))
    flow = "meta"
    convert = "keep"

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED


def sdpa_macs(query: Shape, key: Shape, value: Shape, out: Shape | None = None) -> int:
    """Multiply-accumulates of ``scaled_dot_product_attention(query, key, value)``: the two products
    ``q @ k^T`` and ``softmax(...) @ v`` over every batch dimension of the output (broadcast batch dimensions and
    grouped-query heads included), ``prod(batch) * Lq * Lk * (E + Ev)``: FlopCounterMode's ``sdpa_flop_count`` / 2.
    The mask, the scale and the softmax are not counted (FlopCounterMode counts them 0)."""
    lq, e = query[-2], query[-1]
    lk, ev = key[-2], value[-1]
    if out is not None:
        batch = out[:-2]
    else:  # broadcast the batch dimensions (GQA: the query has the most heads)
        dims = [query[:-2], key[:-2], value[:-2]]
        rank = max(len(d) for d in dims)
        padded = [(1,) * (rank - len(d)) + tuple(d) for d in dims]
        batch = tuple(max(col) for col in zip(*padded))
    return numel(batch) * lq * lk * (e + ev)


@rule
class SDPA(_Merged):
    """``F.scaled_dot_product_attention``: priced in closed form (:func:`sdpa_macs`) whichever kernel runs it (the
    math path, counted by FlopCounterMode as two matrix products, or a fused kernel it may count 0 for, such as
    CPU flash attention).  Split maps are merged before it.  fvcore has no handle for
    ``aten::scaled_dot_product_attention``: 0 there; the paper's convention counts multiply-adds as for matmul."""

    kind = "sdpa"
    functions = ("torch._C._nn.scaled_dot_product_attention", "torch.nn.functional.scaled_dot_product_attention")

    def call_attrs(self, call: Call) -> dict[str, Any]:
        shapes = [call.shape(0, "query"), call.shape(1, "key"), call.shape(2, "value")]
        return {"qkv_shapes": tuple(shapes)} if all(s and len(s) >= 2 for s in shapes) else {}

    def _macs(self, node: OpNode) -> int:
        shapes = node.attrs.get("qkv_shapes")
        return sdpa_macs(*shapes, node.out_shape) if shapes and node.out_shape else 0

    def counts(self, node: OpNode) -> dict[str, Any]:
        macs = self._macs(node)
        note = "fvcore: no handle for aten::scaled_dot_product_attention (0)"
        return {"macs": macs, "paper_flops": macs, "fvcore_flops": 0, "note": note}

    def unpriced(self, node: OpNode) -> bool:
        return "qkv_shapes" not in node.attrs  # shapes unknown: not priced, listed

    def saved_exact(self, node: OpNode) -> bool:
        return False  # the kernel keeps q, k, v, its output and statistics, by backend

    def kernel(self, node: OpNode) -> str:
        return "gemm"

    def gemm(self, node: OpNode) -> dict[str, Any]:
        return {"macs": self._macs(node), "weights": 0, "m": 0, "k": 0, "n": 0, "kind": "conv"}


# ops that fvcore prices as one flop per multiply-add (its handles for convolution and matrix products)
_FVCORE_MACS = ("conv", "linear", "matmul", "bmm", "einsum", "mm", "addmm", "baddbmm")
# the aten ops FlopCounterMode counts (2 per multiply-add) that fvcore counts one per multiply-add; the others it
# counts (attention kernels) fvcore has no handle for
_FVCORE_MAC_OPS = frozenset(
    f"aten.{o}" for o in ("mm", "addmm", "bmm", "baddbmm", "convolution", "_convolution", "cudnn_convolution")
)


def _fvcore_of_module(by_op: Sequence[tuple[str, int]]) -> tuple[int, str]:
    """fvcore's count for a module kept whole, from FlopCounterMode's count per aten op inside it: one per
    multiply-add of its matrix products and convolutions; what it excludes, for the row's note."""
    fv = sum(k // 2 for op, k in by_op if op in _FVCORE_MAC_OPS)
    other = sorted(op for op, k in by_op if op not in _FVCORE_MAC_OPS and k)
    note = "fvcore: its matrix products and convolutions; norms, pooling, upsampling, elementwise ops inside count 0"
    if other:
        note += f", {', '.join(other)} 0"
    return fv, note


@rule
class Unknown(Rule):
    kind = "unknown"
    flow = "opaque"
    convert = "merge"

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        counted = node.attrs.get("counted_flops", 0)
        macs = counted // 2
        name = node.target.rsplit(".", 1)[-1].lower()
        fvcore = macs if any(k in name for k in _FVCORE_MACS) else 0
        note = f"priced by FlopCounterMode: {node.target}" if counted else f"unpriced: {node.target}"
        if "counted_by_op" in node.attrs:  # a module kept whole: fvcore's conventions applied op by op
            fvcore, fv_note = _fvcore_of_module(node.attrs["counted_by_op"])
            note += f" ({fv_note})" if counted else ""
        return [
            cost_row(
                node,
                "",
                ins[0].shape if ins else None,
                node.out_shape,
                macs=macs,
                paper_flops=macs,
                fvcore_flops=fvcore,
                params=node.attrs.get("module_params", 0),
                note=note,
            )
        ]

    def unpriced(self, node: OpNode) -> bool:
        """Nothing counted its cost: no rule, and FlopCounterMode saw no arithmetic."""
        return not node.attrs.get("counted_flops", 0)

    def saved_exact(self, node: OpNode) -> bool:
        return False  # nothing is known of the op: the model assumes it keeps its input

    def kernel(self, node: OpNode) -> str:
        # an op with no rule that does arithmetic (matmul, attention, other convs): one GEMM-like kernel
        return "gemm" if node.attrs.get("counted_flops", 0) else "memory"

    def gemm(self, node: OpNode) -> dict[str, Any]:
        return {"macs": node.attrs.get("counted_flops", 0) // 2, "weights": 0, "m": 0, "k": 0, "n": 0, "kind": "conv"}
