"""Shape-only kernels for the proof: the ops of an octave network, run on meta tensors by the arithmetic of shapes.

On the meta device PyTorch computes an op's output shape by running its meta kernel, often a Python decomposition
(``torch._refs``) that costs tens of microseconds and far more than the shape arithmetic itself: ``empty_like``
computes strides, an elementwise op computes a type promotion and a memory-format permutation, ``cat`` and the
convolutions run their full reference checks.  The proof (:mod:`octprof.prove`) only needs what a real kernel
would accept and the shape it would give, so inside :class:`ShapeOnly` the ops below give an empty meta tensor of
the right shape directly.  Each checks what the real kernel checks and raises where it raises:

- elementwise unary ops: any input; binary ops: the operands must broadcast;
- ``batch_norm``: statistics and affine parameters with one entry per channel;
- ``conv1d/2d/3d``: input, weight and bias of one dtype (the meta kernel does not check it, the real ones do),
  input and weight of the same rank, ``in_channels = weight.shape[1] × groups``,
  output channels divisible by ``groups``, one bias entry per output channel, an output of at least one element
  per axis;
- ``avg_pool1d/2d/3d``: padding at most half the kernel, PyTorch's ceil-mode rule (a last window that would start
  in the right padding is dropped), at least one output element per axis, and in 3-D an input at least as large
  as the kernel on every axis;
- ``interpolate`` (nearest): an output size given, or ``floor(size × scale)``, of at least one per axis;
- ``cat``: operands of one rank and dtype, equal sizes but along ``dim``;
- ``linear``: input, weight and bias of one dtype, as many input features as the weight's columns (the bias, when
  there is one, with one entry per output feature);
- ``adaptive_avg_pool1d/2d/3d``: a batched input without an empty axis, an output size of at least one per axis
  (``None``: the input's size on that axis);
- ``mean``: a floating-point input, the dims in range and none twice.

Anything else, and any call with an argument these rules do not cover (string padding, unbatched inputs, mixed
dtypes, symbolic sizes...), runs PyTorch's own meta kernel.  ``tests/test_shape_only.py`` checks every rule
against PyTorch's meta kernels on random arguments: the same shape, or both raise.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from octprof.core.layer import conv_output_size

__all__ = ["ShapeOnly", "broadcast", "like"]

_NI = NotImplemented


def like(x: torch.Tensor) -> torch.Tensor:
    """A meta tensor of ``x``'s shape and dtype (``empty_like`` on meta runs a stride computation that costs ~40x
    more; the proof checks shapes, and its maps are contiguous)."""
    return torch.empty(x.shape, dtype=x.dtype, device="meta")


def _meta(x: Any) -> bool:
    return isinstance(x, torch.Tensor) and x.is_meta


def broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of two shapes; raises as the kernels do where they do not broadcast."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton dimension {i}"
            )
    return tuple(out)


def _unary(args: Any, kwargs: Any) -> Any:
    x = args[0] if args else None
    return like(x) if _meta(x) else _NI


def _inplace(args: Any, kwargs: Any) -> Any:
    x = args[0] if args else None
    return x if _meta(x) else _NI


def _binary(args: Any, kwargs: Any) -> Any:
    if len(args) < 2 or kwargs:
        return _NI
    a, b = args[0], args[1]
    ta, tb = isinstance(a, torch.Tensor), isinstance(b, torch.Tensor)
    if (ta and not a.is_meta) or (tb and not b.is_meta) or not (ta or tb):
        return _NI
    if ta and tb and a.dtype != b.dtype:
        return _NI  # type promotion: PyTorch's rule
    if not (ta and tb) and not isinstance(b if ta else a, (int, float, bool)):
        return _NI
    shape = broadcast(tuple(a.shape) if ta else (), tuple(b.shape) if tb else ())
    return torch.empty(shape, dtype=(a if ta else b).dtype, device="meta")


def _batch_norm(args: Any, kwargs: Any) -> Any:
    x = args[0] if args else None
    if not _meta(x):
        return _NI
    c = x.shape[1] if x.dim() > 1 else 0
    stats = [*args[1:3], kwargs.get("weight", args[3] if len(args) > 3 else None)]
    for t in stats:
        if isinstance(t, torch.Tensor) and t.numel() != c:
            raise RuntimeError(f"batch_norm: running_mean should contain {c} elements not {t.numel()}")
    return like(x)


def _ints(v: Any, nd: int) -> tuple[int, ...] | None:
    """``v`` as ``nd`` plain ints (an int, or a sequence of one or ``nd``), else None."""
    if type(v) is int:
        return (v,) * nd
    if isinstance(v, (tuple, list)) and all(type(i) is int for i in v):
        if len(v) == nd:
            return tuple(v)
        if len(v) == 1:
            return (v[0],) * nd
    return None


def _bind(args: Any, kwargs: Any, signature: tuple[tuple[str, Any], ...]) -> list[Any] | None:
    """The call's arguments in ``signature``'s order (``(name, default)`` pairs), or None when the call passes an
    argument the signature does not have (then PyTorch's own kernel runs and names it)."""
    if len(args) > len(signature) or (kwargs and not set(kwargs) <= {n for n, _ in signature}):
        return None
    return [args[i] if i < len(args) else kwargs.get(n, d) for i, (n, d) in enumerate(signature)]


def _conv(nd: int) -> Callable[[Any, Any], Any]:
    signature = (
        ("input", None), ("weight", None), ("bias", None), ("stride", 1), ("padding", 0), ("dilation", 1),
        ("groups", 1),
    )  # fmt: skip

    def rule(args: Any, kwargs: Any) -> Any:
        bound = _bind(args, kwargs, signature)
        if bound is None:
            return _NI
        x, w, b, stride, padding, dilation, groups = bound
        if not (_meta(x) and _meta(w)) or (b is not None and not _meta(b)) or type(groups) is not int:
            return _NI
        s, p, d = _ints(stride, nd), _ints(padding, nd), _ints(dilation, nd)
        if s is None or p is None or d is None or x.dim() != nd + 2 or w.dim() != nd + 2:
            return _NI  # string padding, unbatched input, a weight of another rank: PyTorch's own checks
        if x.dtype != w.dtype or (b is not None and b.dtype != x.dtype):  # the real kernels' check (not the meta one's)
            raise RuntimeError(
                f"Input type ({x.dtype}), weight type ({w.dtype}) and bias type "
                f"({None if b is None else b.dtype}) should be the same"
            )
        if groups < 1 or any(v < 1 for v in (*s, *d)) or any(v < 0 for v in p):
            return _NI
        cout, cin_g, *k = w.shape
        if x.shape[1] != cin_g * groups:
            raise RuntimeError(
                f"Given groups={groups}, weight of size {list(w.shape)}, expected input{list(x.shape)} to have "
                f"{cin_g * groups} channels, but got {x.shape[1]} channels instead"
            )
        if cout % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0")
        if b is not None and tuple(b.shape) != (cout,):
            raise RuntimeError(
                f"Given weight of size {list(w.shape)}, expected bias to be 1-dimensional with {cout} elements"
            )
        out = []
        for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d):
            o = conv_output_size(n, ki, pi, di, si)
            if n + 2 * pi < di * (ki - 1) + 1 or o < 1:
                raise RuntimeError(
                    f"Calculated padded input size per channel: {n + 2 * pi}. Kernel size: {di * (ki - 1) + 1}. "
                    "Kernel size can't be greater than actual input size"
                )
            out.append(o)
        return torch.empty((x.shape[0], cout, *out), dtype=x.dtype, device="meta")

    return rule


def _avg_pool(nd: int) -> Callable[[Any, Any], Any]:
    signature = (
        ("input", None), ("kernel_size", None), ("stride", None), ("padding", 0), ("ceil_mode", False),
        ("count_include_pad", True), ("divisor_override", None),
    )  # fmt: skip

    def rule(args: Any, kwargs: Any) -> Any:
        bound = _bind(args, kwargs, signature)
        if bound is None:
            return _NI
        x, kernel, stride, padding, ceil, _, divisor = bound
        if not _meta(x) or x.dim() != nd + 2 or type(ceil) is not bool or divisor is not None:
            return _NI
        k = _ints(kernel, nd)
        s = k if stride is None or stride == () or stride == [] else _ints(stride, nd)
        p = _ints(padding, nd)
        if k is None or s is None or p is None or any(v < 1 for v in (*k, *s)) or any(v < 0 for v in p):
            return _NI
        if nd == 3 and any(n < ki for n, ki in zip(x.shape[2:], k)):  # the 3-D kernels' own check
            raise RuntimeError(f"input image {tuple(x.shape[2:])} smaller than kernel size {k}")
        out = []
        for n, ki, si, pi in zip(x.shape[2:], k, s, p):
            if pi > ki // 2:
                raise RuntimeError("pad should be at most half of effective kernel size")
            span = n + 2 * pi - ki
            o = (-(-span // si) if ceil else span // si) + 1
            if ceil and (o - 1) * si >= n + pi:  # the last window would start in the right padding
                o -= 1
            if o < 1:
                raise RuntimeError(f"Given input size {tuple(x.shape[1:])}, calculated output size is too small")
            out.append(o)
        return torch.empty((*x.shape[:2], *out), dtype=x.dtype, device="meta")

    return rule


_INTERPOLATE = (
    ("input", None), ("size", None), ("scale_factor", None), ("mode", "nearest"), ("align_corners", None),
    ("recompute_scale_factor", None), ("antialias", False),
)  # fmt: skip


def _interpolate(args: Any, kwargs: Any) -> Any:
    bound = _bind(args, kwargs, _INTERPOLATE)
    if bound is None:
        return _NI
    x, size, scale, mode, align, recompute, antialias = bound
    if not _meta(x) or mode != "nearest" or align is not None or recompute or antialias or not 3 <= x.dim() <= 5:
        return _NI
    nd = x.dim() - 2
    if (size is None) == (scale is None):
        return _NI  # PyTorch names the error
    if size is not None:
        out = _ints(size, nd)
        if out is None:
            return _NI
    else:
        factors = (scale,) * nd if isinstance(scale, (int, float)) else tuple(scale)
        if len(factors) != nd or not all(isinstance(f, (int, float)) for f in factors):
            return _NI
        out = tuple(math.floor(float(n) * f) for n, f in zip(x.shape[2:], factors))
    if any(o < 1 for o in out):
        raise ValueError(f"Input and output sizes should be greater than 0, but got output {out}")
    return torch.empty((*x.shape[:2], *out), dtype=x.dtype, device="meta")


def _cat(args: Any, kwargs: Any) -> Any:
    if len(args) + len(kwargs) > 2 or any(k not in ("tensors", "dim") for k in kwargs):
        return _NI
    tensors = args[0] if args else kwargs.get("tensors")
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    if not isinstance(tensors, (tuple, list)) or not tensors or type(dim) is not int:
        return _NI
    if not all(_meta(t) for t in tensors):
        return _NI
    first = tensors[0]
    nd, dtype = first.dim(), first.dtype
    if nd == 0 or any(t.dim() != nd or t.dtype != dtype for t in tensors):
        return _NI  # legacy empty 1-D operands, scalars, type promotion: PyTorch's rule
    if not -nd <= dim < nd:
        return _NI
    dim %= nd
    shape = list(first.shape)
    total = 0
    for i, t in enumerate(tensors):
        for a, (m, n) in enumerate(zip(t.shape, shape)):
            if a != dim and m != n:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {dim}. Expected size {n} but got size {m} for "
                    f"tensor number {i} in the list."
                )
        total += t.shape[dim]
    shape[dim] = total
    return torch.empty(shape, dtype=dtype, device="meta")


def _adaptive_avg_pool(nd: int) -> Callable[[Any, Any], Any]:
    signature = (("input", None), ("output_size", None))

    def rule(args: Any, kwargs: Any) -> Any:
        bound = _bind(args, kwargs, signature)
        if bound is None:
            return _NI
        x, size = bound
        if not _meta(x) or x.dim() != nd + 2 or any(n < 1 for n in x.shape[1:]):
            return _NI  # unbatched or empty inputs: PyTorch's own checks
        if nd > 1 and isinstance(size, (tuple, list)) and len(size) == nd:  # None keeps the input's size (2-D, 3-D)
            size = [n if o is None else o for n, o in zip(x.shape[2:], size)]
        out = _ints(size, nd)
        if out is None or any(o < 1 for o in out):
            return _NI
        return torch.empty((*x.shape[:2], *out), dtype=x.dtype, device="meta")

    return rule


def _linear(args: Any, kwargs: Any) -> Any:
    bound = _bind(args, kwargs, (("input", None), ("weight", None), ("bias", None)))
    if bound is None:
        return _NI
    x, w, b = bound
    if not (_meta(x) and _meta(w)) or (b is not None and not _meta(b)) or x.dim() < 1 or w.dim() != 2:
        return _NI
    if x.dtype != w.dtype or (b is not None and b.dtype != x.dtype):  # the real kernels' check (not the meta one's)
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {x.dtype} != {w.dtype}")
    if b is not None and tuple(b.shape) != (w.shape[0],):
        if b.dim() != 1 or b.shape[0] == 1:
            return _NI  # a bias that broadcasts: PyTorch's rule
        raise RuntimeError(f"linear: a bias of {b.shape[0]} entries for {w.shape[0]} output features")
    if x.shape[-1] != w.shape[1]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({x.shape[-1]} input features, weight {tuple(w.shape)})"
        )
    return torch.empty((*x.shape[:-1], w.shape[0]), dtype=x.dtype, device="meta")


def _mean(args: Any, kwargs: Any) -> Any:
    bound = _bind(args, kwargs, (("input", None), ("dim", None), ("keepdim", False)))
    if bound is None:
        return _NI
    x, dim, keepdim = bound
    if not _meta(x) or not (x.dtype.is_floating_point or x.dtype.is_complex) or type(keepdim) is not bool:
        return _NI  # an integer input (PyTorch refuses it), a dtype or out argument: PyTorch's rule
    nd = x.dim()
    if nd == 0 or (dim is not None and not (type(dim) is int or (isinstance(dim, (tuple, list)) and dim))):
        return _NI
    dims = range(nd) if dim is None else (dim,) if type(dim) is int else dim
    if not all(type(d) is int for d in dims):
        return _NI
    if any(not -nd <= d < nd for d in dims):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dims})")
    axes = {d % nd for d in dims}
    if len(axes) != len(dims):
        raise RuntimeError(f"mean: a dim appears multiple times in the list of dims {tuple(dims)}")
    shape = [1 if i in axes else n for i, n in enumerate(x.shape) if keepdim or i not in axes]
    return torch.empty(shape, dtype=x.dtype, device="meta")


def _handlers() -> dict[Any, Any]:
    T = torch.Tensor
    unary = (
        F.relu, F.relu6, F.silu, F.hardswish, F.hardsigmoid, F.gelu, F.leaky_relu, F.elu, F.mish, F.hardtanh,
        torch.relu, torch.sigmoid, torch.tanh, T.relu, T.sigmoid, T.tanh, F.dropout,
    )  # fmt: skip
    inplace = (torch.relu_, T.relu_, T.sigmoid_, T.tanh_)
    binary = (
        torch.add, torch.mul, torch.sub, torch.div, T.add, T.mul, T.sub, T.div, T.__add__, T.__radd__,
        T.__mul__, T.__rmul__, T.__sub__, T.__rsub__, T.__truediv__, T.__rtruediv__, operator.add, operator.mul,
        operator.sub, operator.truediv,
    )  # fmt: skip
    out: dict[Any, Any] = {F.batch_norm: _batch_norm, F.interpolate: _interpolate, torch.cat: _cat, F.linear: _linear}
    out.update(dict.fromkeys((torch.mean, T.mean), _mean))
    out.update(dict.fromkeys(unary, _unary))
    out.update(dict.fromkeys(inplace, _inplace))
    out.update(dict.fromkeys(binary, _binary))
    for nd, conv, pool, adaptive in (
        (1, F.conv1d, F.avg_pool1d, F.adaptive_avg_pool1d),
        (2, F.conv2d, F.avg_pool2d, F.adaptive_avg_pool2d),
        (3, F.conv3d, F.avg_pool3d, F.adaptive_avg_pool3d),
    ):
        out[conv] = _conv(nd)
        out[pool] = _avg_pool(nd)
        out[adaptive] = _adaptive_avg_pool(nd)
    return out


class ShapeOnly(torch.overrides.TorchFunctionMode):
    """Inside this mode the ops of the module docstring give an empty meta tensor of the right shape by the
    arithmetic of shapes, after the checks their real kernels make; every other call runs as usual."""

    _handlers: dict[Any, Any] | None = None

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        handlers = ShapeOnly._handlers
        if handlers is None:
            handlers = ShapeOnly._handlers = _handlers()
        kwargs = kwargs or {}
        handler = handlers.get(func)
        if handler is not None:
            out = handler(args, kwargs)
            if out is not _NI:
                return out
        return func(*args, **kwargs)
