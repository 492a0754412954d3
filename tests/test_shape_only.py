"""The proof's shape-only kernels agree with PyTorch's real kernels: on random arguments, an op on meta tensors
inside :class:`octprof.shape_only.ShapeOnly` gives the shape and dtype the CPU kernel gives on real tensors of the
same shapes, or both raise.  (The real kernel is the oracle, not the meta one: the meta convolution does not check
the bias's size, and the proof must refuse what a real run refuses.)"""

from __future__ import annotations

import operator
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octprof.shape_only import ShapeOnly, broadcast

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype, device="meta")


def outcome(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``(shape, dtype)`` of ``fn``'s result, or ``"raises"``."""
    try:
        out = fn(*args, **kwargs)
    except (RuntimeError, ValueError, IndexError):
        return "raises"
    return tuple(out.shape), out.dtype


def _real(a: Any) -> Any:
    if isinstance(a, torch.Tensor):
        return torch.zeros(a.shape, dtype=a.dtype)
    if isinstance(a, (list, tuple)):
        return type(a)(_real(v) for v in a)
    return a


def same(fn: Any, *args: Any, **kwargs: Any) -> None:
    want = outcome(fn, *_real(args), **{k: _real(v) for k, v in kwargs.items()})
    with ShapeOnly():
        got = outcome(fn, *args, **kwargs)
    assert got == want, (fn, [tuple(a.shape) if isinstance(a, torch.Tensor) else a for a in args], kwargs)


size = st.integers(1, 9)


@SETTINGS
@given(
    nd=st.integers(1, 3),
    batch=st.integers(1, 2),
    groups=st.integers(1, 3),
    cin_g=st.integers(1, 3),
    cout_g=st.integers(1, 3),
    extra_in=st.sampled_from([0, 0, 0, 1]),  # sometimes channels that do not match the weight
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    d=st.integers(1, 2),
    n=st.lists(size, min_size=3, max_size=3),
    bias=st.sampled_from([None, "ok", "bad"]),
)
def test_conv(nd, batch, groups, cin_g, cout_g, extra_in, k, s, p, d, n, bias) -> None:
    x = meta(batch, cin_g * groups + extra_in, *n[:nd])
    w = meta(cout_g * groups, cin_g, *(k,) * nd)
    b = None if bias is None else meta(cout_g * groups + (bias == "bad"))
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    same(conv, x, w, b, s, p, d, groups)
    same(conv, x, w, b, stride=(s,) * nd, padding=(p,) * nd, dilation=d, groups=groups)


def test_conv_groups_not_dividing_output() -> None:
    same(F.conv2d, meta(1, 4, 8, 8), meta(3, 2, 3, 3), None, 1, 1, 1, 2)


@SETTINGS
@given(
    nd=st.integers(1, 3),
    k=st.integers(1, 4),
    s=st.one_of(st.none(), st.integers(1, 3)),
    p=st.integers(0, 2),
    ceil=st.booleans(),
    n=st.lists(size, min_size=3, max_size=3),
)
def test_avg_pool(nd, k, s, p, ceil, n) -> None:
    x = meta(2, 3, *n[:nd])
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[nd - 1]
    same(pool, x, k, s, p, ceil)
    same(pool, x, (k,) * nd, stride=s, padding=p, ceil_mode=ceil)


@SETTINGS
@given(
    nd=st.integers(1, 3),
    n=st.lists(size, min_size=3, max_size=3),
    scale=st.sampled_from([0.5, 1.0, 2.0, 2.5, 3.0, 1.7]),
    out=st.lists(st.integers(1, 12), min_size=3, max_size=3),
    by_size=st.booleans(),
)
def test_interpolate_nearest(nd, n, scale, out, by_size) -> None:
    x = meta(1, 2, *n[:nd])
    if by_size:
        same(F.interpolate, x, size=out[:nd], mode="nearest")
    else:
        same(F.interpolate, x, scale_factor=scale, mode="nearest")
        same(F.interpolate, x, scale_factor=(scale,) * nd, mode="nearest")


@SETTINGS
@given(
    shapes=st.lists(st.lists(st.integers(1, 4), min_size=2, max_size=2), min_size=1, max_size=4),
    rank=st.integers(2, 4),
    dim=st.integers(-4, 3),
)
def test_cat(shapes, rank, dim) -> None:
    tensors = [meta(*[*s, 3, 2][:rank]) for s in shapes]
    same(torch.cat, tensors, dim)
    same(torch.cat, tensors, dim=dim)


@SETTINGS
@given(
    a=st.lists(st.integers(1, 3), min_size=0, max_size=4),
    b=st.lists(st.integers(1, 3), min_size=0, max_size=4),
    op=st.sampled_from([torch.add, torch.mul, torch.sub, torch.div, operator.add, operator.mul, operator.truediv]),
)
def test_binary(a, b, op) -> None:
    same(op, meta(*a), meta(*b))
    same(op, meta(*a), 2.0)
    same(op, 3, meta(*a))
    try:
        want: Any = tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        want = "raises"
    try:
        got: Any = broadcast(tuple(a), tuple(b))
    except RuntimeError:
        got = "raises"
    assert got == want


@pytest.mark.parametrize("c, stats", [(4, 4), (4, 3)])
def test_batch_norm(c: int, stats: int) -> None:
    x = meta(2, c, 5, 5)
    same(F.batch_norm, x, meta(stats), meta(stats), meta(stats), meta(stats), False)


def test_mixed_dtypes_run_pytorch_rules() -> None:
    # type promotion is PyTorch's: the shape-only rule steps aside; a conv refuses mixed dtypes as the real kernel does
    same(torch.add, meta(2, 3, dtype=torch.float16), meta(2, 3))
    same(torch.cat, [meta(2, 3, dtype=torch.float16), meta(2, 3)], 0)
    same(F.conv2d, meta(1, 2, 5, 5, dtype=torch.float16), meta(3, 2, 3, 3))
    same(F.conv2d, meta(1, 2, 5, 5), meta(3, 2, 3, 3), meta(3, dtype=torch.float16))


@SETTINGS
@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=3),
    fin=st.integers(1, 5),
    fout=st.integers(1, 5),
    extra_in=st.sampled_from([0, 0, 1]),  # sometimes features that do not match the weight
    bias=st.sampled_from([None, "ok", "bad", "scalar"]),
    dtypes=st.lists(st.sampled_from([torch.float32, torch.float32, torch.float64]), min_size=3, max_size=3),
)
def test_linear(lead, fin, fout, extra_in, bias, dtypes) -> None:
    x = meta(*lead, fin + extra_in, dtype=dtypes[0])
    w = meta(fout, fin, dtype=dtypes[1])
    b = {None: None, "ok": meta(fout), "bad": meta(fout + 1), "scalar": meta(1)}[bias]
    b = None if b is None else b.to(dtypes[2])
    same(F.linear, x, w, b)
    same(F.linear, x, weight=w, bias=b)


@SETTINGS
@given(
    nd=st.integers(1, 3),
    n=st.lists(size, min_size=3, max_size=3),
    out=st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=3, max_size=3),
    one=st.booleans(),
    batched=st.sampled_from([True, True, False]),
)
def test_adaptive_avg_pool(nd, n, out, one, batched) -> None:
    x = meta(*((2,) if batched else ()), 3, *n[:nd])
    pool = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)[nd - 1]
    size = out[0] if one or nd == 1 else out[:nd]
    if size is None or (nd == 1 and out[0] is None):
        size = 1
    same(pool, x, size)
    same(pool, x, output_size=size)


@SETTINGS
@given(
    shape=st.lists(st.integers(0, 3), min_size=0, max_size=4),
    dim=st.one_of(st.none(), st.integers(-5, 4), st.lists(st.integers(-5, 4), min_size=0, max_size=3)),
    keepdim=st.booleans(),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.int64]),
    method=st.booleans(),
)
def test_mean(shape, dim, keepdim, dtype, method) -> None:
    x = meta(*shape, dtype=dtype)
    if method:
        same(torch.Tensor.mean, x, dim, keepdim)
        same(torch.Tensor.mean, x, dim=dim, keepdim=keepdim)
    else:
        same(torch.mean, x, dim, keepdim=keepdim)
