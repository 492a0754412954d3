"""Rules of per-element and per-channel ops: activations, dropout, arithmetic, concatenation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from octprof.core.graph import OpNode, Shape
from octprof.core.rules.base import (
    NN,
    NOTHING_SAVED,
    Call,
    Rule,
    Saved,
    TensorSplit,
    op_name,
    rule,
)


def _grad_attrs(call: Call) -> dict[str, Any]:
    """``grad``: whether the output needs a gradient (an op on constants made from sizes keeps nothing)."""
    return {"grad": call.requires_grad()}


@rule
class Activation(Rule):
    kind = "activation"
    modules = tuple(
        f"{NN}.activation.{c}"
        for c in (
            "ReLU",
            "ReLU6",
            "SiLU",
            "Hardswish",
            "Hardsigmoid",
            "Sigmoid",
            "Tanh",
            "GELU",
            "LeakyReLU",
            "ELU",
            "Mish",
            "PReLU",
        )
    )
    _functional = (
        "relu",
        "relu_",
        "relu6",
        "silu",
        "hardswish",
        "hardsigmoid",
        "sigmoid",
        "tanh",
        "gelu",
        "leaky_relu",
        "elu",
        "mish",
    )
    functions = (
        *(f"torch.nn.functional.{f}" for f in _functional),
        "torch.relu",
        "torch.relu_",
        "torch.sigmoid",
        "torch.tanh",
        "torch._C._nn.gelu",
    )
    methods = ("relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_")
    paper_per_out = 1  # the paper counts one per ReLU output; octprof counts every activation the same way

    def module_attrs(self, m: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"inplace": bool(getattr(m, "inplace", False))}
        if any(c.__name__ == "PReLU" for c in type(m).__mro__):
            out.update(prelu=True, num_parameters=m.num_parameters)
        return out

    def call_attrs(self, call: Call) -> dict[str, Any]:
        # F.relu6(x, inplace), F.hardtanh(x, min_val, max_val, inplace); names ending in "_" are in place anyway
        name = call.target.rsplit(".", 1)[-1]
        index = 3 if name == "hardtanh" else 1
        return {"inplace": name.endswith("_") or bool(call.arg(index, "inplace", False))}

    def saved_caveat(self, node: OpNode) -> str | None:
        # an in-place hardtanh (ReLU6 is one) keeps its result for backward, and autograd keeps one more map than
        # the model's "its input" (the input is overwritten)
        name = op_name(node).rstrip("_")
        if node.attrs.get("inplace") and name in ("relu6", "hardtanh"):
            return f"in-place {'ReLU6' if name == 'relu6' else name}"
        return None

    convert = "activation"

    def params(self, node: OpNode, part_channels: int) -> int:
        if not node.attrs.get("prelu"):
            return 0
        return part_channels if node.attrs.get("num_parameters", 1) > 1 else 1

    def cost(self, node: OpNode, ins: Sequence[TensorSplit], out: TensorSplit | None) -> list[dict]:
        rows = super().cost(node, ins, out)
        if node.attrs.get("prelu") and node.attrs.get("num_parameters", 1) == 1:
            for row in rows[1:]:  # one shared slope, counted once
                row["params"] = 0
        return rows

    # activations whose backward reads their output (the rest read their input; ReLU6 is a hardtanh: input)
    _keeps_output = ("relu", "sigmoid", "tanh", "elu")

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        name = op_name(node)
        keeps_output = name.startswith(self._keeps_output) and not name.startswith("relu6")
        return Saved(inputs=0, output=True) if keeps_output else Saved()


@rule
class Dropout(Rule):
    kind = "dropout"
    modules = (
        f"{NN}.dropout.Dropout",
        f"{NN}.dropout.Dropout2d",
        f"{NN}.linear.Identity",
        "torchvision.ops.stochastic_depth.StochasticDepth",
    )
    functions = ("torch.nn.functional.dropout", "torchvision.ops.stochastic_depth.stochastic_depth")
    methods = ("contiguous", "clone")

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED

    def view(self, node: OpNode) -> bool:
        return "clone" not in op_name(node)

    def module_attrs(self, m: Any) -> dict[str, Any]:
        return {"p": float(getattr(m, "p", 0.0) or 0.0)}

    def call_attrs(self, call: Call) -> dict[str, Any]:
        if "dropout" not in call.target:  # clone, contiguous, stochastic depth
            return {}
        return {"p": float(call.arg(1, "p", 0.5)) if call.arg(2, "training", True) else 0.0}

    def saved_caveat(self, node: OpNode) -> str | None:
        # active in training, a dropout makes a new tensor and keeps its mask; the model prices it as in inference
        return "dropout in training" if node.attrs.get("p", 0.0) > 0 else None

    def kernel(self, node: OpNode) -> str:
        return "none"


@rule
class Add(Rule):
    kind = "add"
    functions = ("_operator.add", "_operator.iadd", "torch.add")
    methods = ("add", "add_")
    convert = "add"

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED


@rule
class Mul(Rule):
    kind = "mul"
    functions = ("_operator.mul", "_operator.imul", "torch.mul")
    methods = ("mul", "mul_")
    convert = "mul"

    def call_attrs(self, call: Call) -> dict[str, Any]:
        return _grad_attrs(call)

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        # each factor's gradient reads the other; a product with a number keeps nothing (the number is not a tensor),
        # nor does a product of constants (a position encoding made from sizes: no gradient)
        return Saved(inputs=-1) if len(node.inputs) > 1 and node.attrs.get("grad", True) else NOTHING_SAVED


@rule
class Sub(Rule):
    kind = "sub"
    functions = ("_operator.sub", "_operator.isub", "torch.sub", "torch.subtract")
    methods = ("sub", "sub_")
    convert = "sub"

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED


@rule
class Div(Rule):
    kind = "div"
    functions = ("_operator.truediv", "_operator.itruediv", "torch.div", "torch.true_divide")
    methods = ("div", "div_", "true_divide")
    convert = "div"

    def call_attrs(self, call: Call) -> dict[str, Any]:
        return _grad_attrs(call)

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        # a / b keeps b (and a, for b's gradient) when b is a tensor; dividing by a number keeps nothing, nor does a
        # quotient of constants (no gradient)
        return Saved(inputs=2) if len(node.inputs) > 1 and node.attrs.get("grad", True) else NOTHING_SAVED


@rule
class Cat(Rule):
    kind = "cat"
    functions = ("torch.cat", "torch.concat", "torch.concatenate")
    flow = "cat"
    convert = "cat"

    def call_attrs(self, call: Call) -> dict[str, Any]:
        return {"dim": int(call.arg(1, "dim", 0))}

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED


@rule
class Pointwise(Rule):
    """Per-element arithmetic besides the four operators: powers (``x ** 2``, ``torch.pow``, ``square``, ``sqrt``,
    ``rsqrt``), ``sin`` / ``cos``, ``exp`` / ``log`` (Swin v2's logit scale), ``abs``, ``-x`` (EVA's rotary
    embedding), ``clamp`` and the bitwise not of a mask (``~m``).  Each part is computed on its own
    (``per_frequency``; a tensor operand that is a split map or a per-channel vector takes its part).  Every
    convention counts 0: FlopCounterMode counts none of them, fvcore has no handle for any, and the paper's
    convention counts multiply-adds, bias additions, pooling and ReLU outputs only (products and quotients 0)."""

    kind = "pointwise"
    _names = ("pow", "square", "sqrt", "rsqrt", "sin", "cos", "exp", "log", "abs", "neg", "clamp", "clip")
    functions = (
        "_operator.pow",
        "_operator.ipow",
        "_operator.invert",
        "_operator.neg",
        "torch.bitwise_not",
        *(f"torch.{f}" for f in _names),
    )
    methods = (*_names, "bitwise_not", "logical_not")
    convert = "per_frequency"

    def call_attrs(self, call: Call) -> dict[str, Any]:
        # which operands of a power are tensors: x ** 2, 2 ** x, x ** y keep different tensors for backward
        return {
            **_grad_attrs(call),
            "tensors": (call.shape(0, "input") is not None, call.shape(1, "exponent") is not None),
        }

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        if not node.attrs.get("grad", True):
            return NOTHING_SAVED
        name = "pow" if node.target == "_operator.ipow" else op_name(node)
        if name in ("sqrt", "rsqrt", "exp"):  # d sqrt(x) = 1 / (2 sqrt(x)), d rsqrt(x) = -rsqrt(x)^3 / 2, d exp = exp
            return Saved(inputs=0, output=True)
        if name == "pow":
            base, exponent = node.attrs.get("tensors", (True, False))
            if base and exponent:  # x ** y: both operands and the result
                return Saved(inputs=-1, output=True)
            if exponent:  # 2 ** x: the exponent (the only tensor input) and the result
                return Saved(inputs=1, output=True)
            return Saved()  # x ** 2: its base
        if name in ("square", "sin", "cos", "log", "abs", "clamp", "clip"):  # their input (clamp: for its mask)
            return Saved()
        return NOTHING_SAVED  # neg: a constant gradient; invert, bitwise_not, logical_not: no gradient

    def saved_caveat(self, node: OpNode) -> str | None:
        return "in-place power" if node.target.endswith(("ipow", "pow_")) else None


@rule
class Cast(Rule):
    """``x.to(dtype)``, ``x.float()``, …: a per-element conversion (``per_frequency``), no arithmetic in any
    convention; the same dtype (and device) returns the input itself (a view, no kernel).  Keeps nothing for
    backward (the gradient is converted back)."""

    kind = "cast"
    methods = ("to", "float", "double", "half", "bfloat16", "type_as")
    convert = "per_frequency"

    def call_attrs(self, call: Call) -> dict[str, Any]:
        src, dst = call.dtype(0, "self"), call.out_dtype()
        return {"alias": src is not None and src == dst and not call.arg(99, "copy", False)}

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        return NOTHING_SAVED

    def view(self, node: OpNode) -> bool:
        return bool(node.attrs.get("alias"))

    def kernel(self, node: OpNode) -> str:
        return "none" if self.view(node) else "memory"


@rule
class AddCMul(Rule):
    """``torch.addcmul(x, a, b, value=v)`` = x + v·a·b and ``addcdiv`` = x + v·a/b (ResMLP's affine layer: a
    per-channel scale and shift): per element, so each part is computed on its own (``per_frequency``; each operand
    that is a split map or a per-channel vector takes its part).  0 in every convention (FlopCounterMode counts it
    0, fvcore has no handle for ``aten::addcmul``, and the paper's convention counts neither products nor additions).
    Keeps its two factors for backward (each one's gradient reads the other), not the addend."""

    kind = "addcmul"
    functions = ("torch.addcmul", "torch.addcdiv")
    methods = ("addcmul", "addcdiv", "addcmul_", "addcdiv_")
    convert = "per_frequency"

    def call_attrs(self, call: Call) -> dict[str, Any]:
        # the tensor operands, in order (x, a, b): the rule's inputs are the tensor ones among them
        addend = call.arg(0, "input")
        # ResMLP's addend is a parameter (read by get_attr: not a tensor the memory model follows)
        return {**_grad_attrs(call), "activation_addend": getattr(addend, "op", "get_attr") != "get_attr"}

    def saved(self, node: OpNode, shape: Shape) -> Saved:
        if not node.attrs.get("grad", True):
            return NOTHING_SAVED
        # the factors (parameters are not followed: a parameter addend adds nothing); an activation addend is counted
        # too (saved_caveat)
        return Saved(inputs=-1)

    def saved_caveat(self, node: OpNode) -> str | None:
        return "addcmul keeps its factors, not its addend" if node.attrs.get("activation_addend", True) else None
