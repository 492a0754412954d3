"""``octprof layer``: the closed-form cost of one octave convolution, path by path, optionally cross-checked."""

from __future__ import annotations

import math
import re
from typing import Any

import click

from octprof.cli.columns import columns_option, footnotes, is_data_format, select_columns
from octprof.cli.options import emit, format_option, handle_errors, output_option
from octprof.core.errors import bad
from octprof.core.inputs import DTYPE_BYTES
from octprof.core.layer import PATHS, OctConvSpec, layer_cost

DTYPES = DTYPE_BYTES  # element type -> bytes, one table for every command
COLUMNS = ("path", "note", "out_shape", "macs", "paper_flops", "fvcore_flops", "params", "act_elems")
CHECK_COLUMNS = ("path", "note", "macs", "flops", "fvcore_flops", "fvcore", "flop_counter", "agree")
PRESETS: dict[str, tuple[str, ...]] = {
    "costs": ("path", "note", "macs", "flops", "paper_flops", "fvcore_flops", "params"),
    "memory": ("path", "in_shape", "out_shape", "act_elems", "in_bytes", "out_bytes"),
    "check": CHECK_COLUMNS,
}
DEFINITIONS: tuple[tuple[str | tuple[str, ...], str], ...] = (
    ("macs", "macs = multiply-accumulates"),
    (("flops", "flop_counter"), "flops = 2 x macs; flop_counter = FlopCounterMode's count of the path's module"),
    ("paper_flops", "paper_flops = macs + bias additions + pooling outputs x 4 (the paper's convention)"),
    (
        ("fvcore_flops", "fvcore"),
        "fvcore_flops = macs + nearest-upsampling outputs (fvcore's convention); fvcore = fvcore's count of the "
        "path's module (total: the whole layer)",
    ),
    ("agree", "agree = fvcore equals fvcore_flops and flop_counter equals flops, exactly"),
    ("params", "params = weights (and bias) of each path"),
    ("act_elems", "act_elems = elements each row produces"),
)


def _pool_factors(spec: OctConvSpec) -> list[tuple[int, ...]]:
    from octprof.core.layer import geometry

    geo = geometry(spec)
    return [f for f in (geo.high_pool, geo.h2l_pool, geo.low_pool, geo.l2h_pool) if 2 in f]


_SIZE_FORMS = {1: "L (e.g. 1024)", 2: "HxW (e.g. 56x56) or one number for a square map", 3: "TxHxW (e.g. 8x56x56)"}
DEFAULT_SIZE = {1: "1024", 2: "56x56", 3: "8x56x56"}


def _numbers(text: str) -> list[int] | None:
    if not re.fullmatch(r"\s*\d+\s*(?:[xX×,]\s*\d+\s*)*", text):
        return None
    return [int(t) for t in re.split(r"[xX×,]", text)]


def parse_size(text: str, dims: int = 2) -> tuple[int, ...]:
    """The high-frequency map size: ``L`` (1-D), ``HxW`` or a single ``S`` (2-D, square), ``TxHxW`` (3-D)."""
    nums = _numbers(text)
    if nums is not None and dims == 2 and len(nums) == 1:
        nums = nums * 2
    if nums is None or len(nums) != dims:
        raise bad("--size", text, f"expected {_SIZE_FORMS[dims]} for --dims {dims}")
    if min(nums) < 1:
        raise bad("--size", text, "height and width must be positive" if dims == 2 else "sizes must be positive")
    return tuple(nums)


def parse_per_axis(name: str, text: str, dims: int, example: str) -> int | tuple[int, ...]:
    """One number for every axis, or one per axis (``1x7``, ``3x1x1``)."""
    nums = _numbers(text)
    if nums is None or len(nums) not in (1, dims):
        raise bad(name, text, f"expected one number or {dims} joined by x (e.g. {example})")
    return nums[0] if len(nums) == 1 else tuple(nums)


def parse_kernel(text: str, dims: int = 2) -> int | tuple[int, ...]:
    return parse_per_axis("--kernel-size", text, dims, {1: "3", 2: "3 or 1x7", 3: "3 or 3x1x1"}[dims])


@click.command("layer")
@click.option("--in-channels", type=int, required=True, help="Input channels C_in.")
@click.option("--out-channels", type=int, required=True, help="Output channels C_out.")
@click.option(
    "--dims",
    type=click.Choice(["1", "2", "3"]),
    default="2",
    show_default=True,
    help="Spatial axes: 1 (audio, time series), 2 (images), 3 (video).",
)
@click.option("--kernel-size", default="3", show_default=True, help="K, or one per axis: KHxKW, KTxKHxKW.")
@click.option(
    "--size",
    default=None,
    help="The high-frequency (full) input map: L (--dims 1), HxW (2), TxHxW (3). [default: 1024, 56x56, 8x56x56]",
)
@click.option("--alpha-in", type=float, default=0.5, show_default=True, help="Low-frequency share of the input.")
@click.option("--alpha-out", type=float, default=0.5, show_default=True, help="Low-frequency share of the output.")
@click.option("--stride", default="1", show_default=True, help="1 or 2, or one per axis (e.g. 1x2x2).")
@click.option("--padding", type=int, default=None, help="Zero padding (default: 'same', dilation*(k-1)//2).")
@click.option("--dilation", type=int, default=1, show_default=True)
@click.option("--groups", type=int, default=1, show_default=True, help="Groups; = channels for depthwise.")
@click.option("--bias/--no-bias", default=False, show_default=True)
@click.option("--batch", type=int, default=1, show_default=True)
@click.option(
    "--dtype",
    type=click.Choice(list(DTYPE_BYTES)),
    default="float32",
    show_default=True,
    help="Element type, for the byte counts.",
)
@click.option(
    "--stride-rule",
    type=click.Choice(["pool", "conv"]),
    default="pool",
    show_default=True,
    help="Stride 2 as the paper (2x2 average pooling + stride-1 convs) or by strided convs.",
)
@click.option(
    "--temporal-octave",
    is_flag=True,
    help="--dims 3: the low part is an octave lower in time too (default: time kept, H and W halved).",
)
@click.option(
    "--paths",
    default="h2h,h2l,l2h,l2l",
    show_default=True,
    help="Ablation: the paths to keep, any subset that feeds every output and reads every input (e.g. h2h,l2l).",
)
@click.option(
    "--odd-size",
    type=click.Choice(["vanilla", "ceil"]),
    default="vanilla",
    show_default=True,
    help="Odd map sizes: refused (vanilla, the official code) or ceil-mode pooling and exact upsampling.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Build the real OctConv1d/2d/3d and count it with fvcore and "
    "FlopCounterMode; adds their counts and an agreement column.",
)
@columns_option(PRESETS, "--columns memory or --columns all")
@format_option
@output_option
@handle_errors
def layer(
    in_channels: int,
    out_channels: int,
    dims: str,
    kernel_size: str,
    size: str | None,
    alpha_in: float,
    alpha_out: float,
    stride: str,
    padding: int | None,
    dilation: int,
    groups: int,
    bias: bool,
    batch: int,
    dtype: str,
    stride_rule: str,
    temporal_octave: bool,
    paths: str,
    odd_size: str,
    check: bool,
    columns_text: str | None,
    fmt: str | None,
    output: str | None,
) -> None:
    """Closed-form cost of one octave convolution: one row per path (h2h, h2l, l2h, l2l) and per glue op
    (pool, upsample, add), with totals, in every counting convention."""
    nd = int(dims)
    if temporal_octave and nd != 3:
        raise bad("--temporal-octave", True, f"only --dims 3 has a time axis (got --dims {nd})")
    spec = OctConvSpec.nd(
        in_channels,
        out_channels,
        parse_kernel(kernel_size, nd),
        parse_size(DEFAULT_SIZE[nd] if size is None else size, nd),
        alpha_in=alpha_in,
        alpha_out=alpha_out,
        stride=parse_per_axis("--stride", stride, nd, {1: "2", 2: "2", 3: "1x2x2"}[nd]),
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
        batch=batch,
        dtype_bytes=DTYPES[dtype],
        stride_rule=stride_rule,
        paths=paths,
        odd_size=odd_size,
        **({"temporal": temporal_octave} if nd == 3 else {}),
    )
    cost = layer_cost(spec)
    vanilla = layer_cost(spec.vanilla())
    records: list[dict[str, Any]] = cost.records()
    volumes = sorted({math.prod(r.in_shape[2:]) // math.prod(r.out_shape[2:]) for r in cost.rows if r.path == "pool"})
    if spec.odd_size == "ceil":  # a ceil-mode window is counted whole: the kernel volume, not the ratio of sizes
        volumes = sorted({math.prod(f) for f in _pool_factors(spec)})
    pool_volume = " or ".join(map(str, volumes or [2**spec.dims]))
    records[-1]["note"] = f"{100 * cost.macs / vanilla.macs:.1f}% of vanilla macs"
    kernel_text = "x".join(map(str, spec.kernel_size)) if nd > 1 else f"kernel-{spec.kernel_size[0]}"
    summary = (
        f"vanilla {kernel_text} conv: {vanilla.macs:,} macs, {vanilla.params:,} "
        f"params, {vanilla.output_elems:,} output elements; this layer: {100 * cost.macs / vanilla.macs:.1f}% "
        f"of the macs, {100 * cost.output_elems / vanilla.output_elems:.1f}% of the output feature map"
    )
    extra = []
    if spec.odd_size == "ceil" and any(r.path == "pool" for r in cost.rows):
        extra.append(
            "ceil-mode pooling: a border window averages the elements it covers; paper_flops counts it whole "
            "(outputs x kernel volume); fvcore and FlopCounterMode count pooling 0"
        )
    if spec.paths != PATHS:
        extra.append(f"ablation: only {','.join(spec.paths)} kept (absent paths have no module and no parameters)")
    available = list(records[0])
    if check:
        from octprof.crosscheck import layer_crosscheck

        checked = {r["path"]: r for r in layer_crosscheck(spec)}
        for rec in records:
            c = checked.get(rec["path"])
            rec["fvcore"] = c["fvcore"] if c else None
            rec["flop_counter"] = c["flop_counter"] if c else None
            rec["agree"] = c["agree"] if c else None
        available += ["fvcore", "flop_counter", "agree"]
    default = CHECK_COLUMNS if check else COLUMNS
    columns = select_columns(columns_text, available, default, PRESETS, data=is_data_format(fmt, output))
    fvcore_text = (
        "fvcore_flops = macs + nearest-upsampling outputs (fvcore's convention)"
        if nd == 2
        else f"fvcore_flops = macs (fvcore has no handle for upsample_nearest{nd}d: the upsampling counts 0)"
    )
    dynamic = {
        "paper_flops": f"paper_flops = macs + bias additions + pooling outputs x {pool_volume} (paper convention)",
        ("fvcore_flops", "fvcore"): fvcore_text + "; fvcore = fvcore's count of the path's module (total: the layer)",
    }
    definitions = (
        *((key, dynamic.get(key, text)) for key, text in DEFINITIONS),
        (("in_bytes", "out_bytes"), f"bytes at {dtype} ({DTYPES[dtype]} B/element)"),
    )
    notes = [summary, *footnotes(columns, definitions), *extra]
    emit(records, fmt, output, columns, notes=notes)
    if check and not all(r["agree"] for r in checked.values()):
        raise click.ClickException("cross-check: the closed form and the counters disagree (see 'agree')")
