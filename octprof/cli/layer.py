"""``octprof layer``: the closed-form cost of one octave convolution, path by path, optionally cross-checked."""

from __future__ import annotations

import re
from typing import Any

import click

from octprof.cli.columns import columns_option, footnotes, is_data_format, select_columns
from octprof.cli.options import emit, format_option, handle_errors, output_option
from octprof.core.errors import bad
from octprof.core.layer import OctConvSpec, layer_cost

DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}
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


def parse_size(text: str) -> tuple[int, int]:
    """``HxW`` or a single ``S`` (square)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX×]\s*(\d+)\s*)?", text)
    if not m:
        raise bad("--size", text, "expected HxW (e.g. 56x56) or one number for a square map")
    h = int(m.group(1))
    w = int(m.group(2)) if m.group(2) else h
    if h < 1 or w < 1:
        raise bad("--size", text, "height and width must be positive")
    return h, w


def parse_kernel(text: str) -> int | tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX×,]\s*(\d+)\s*)?", text)
    if not m:
        raise bad("--kernel-size", text, "expected K or KHxKW (e.g. 3 or 1x7)")
    return (int(m.group(1)), int(m.group(2))) if m.group(2) else int(m.group(1))


@click.command("layer")
@click.option("--in-channels", type=int, required=True, help="Input channels C_in.")
@click.option("--out-channels", type=int, required=True, help="Output channels C_out.")
@click.option("--kernel-size", default="3", show_default=True, help="K or KHxKW.")
@click.option("--size", default="56x56", show_default=True, help="HxW of the high-frequency (full) input map.")
@click.option("--alpha-in", type=float, default=0.5, show_default=True, help="Low-frequency share of the input.")
@click.option("--alpha-out", type=float, default=0.5, show_default=True, help="Low-frequency share of the output.")
@click.option("--stride", type=int, default=1, show_default=True, help="1 or 2.")
@click.option("--padding", type=int, default=None, help="Zero padding (default: 'same', dilation*(k-1)//2).")
@click.option("--dilation", type=int, default=1, show_default=True)
@click.option("--groups", type=int, default=1, show_default=True, help="Groups; = channels for depthwise.")
@click.option("--bias/--no-bias", default=False, show_default=True)
@click.option("--batch", type=int, default=1, show_default=True)
@click.option(
    "--dtype",
    type=click.Choice(list(DTYPES)),
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
    "--check",
    is_flag=True,
    help="Build the real OctConv2d and count it with fvcore and "
    "FlopCounterMode; adds their counts and an agreement column.",
)
@columns_option(PRESETS, "--columns memory or --columns all")
@format_option
@output_option
@handle_errors
def layer(
    in_channels: int,
    out_channels: int,
    kernel_size: str,
    size: str,
    alpha_in: float,
    alpha_out: float,
    stride: int,
    padding: int | None,
    dilation: int,
    groups: int,
    bias: bool,
    batch: int,
    dtype: str,
    stride_rule: str,
    check: bool,
    columns_text: str | None,
    fmt: str | None,
    output: str | None,
) -> None:
    """Closed-form cost of one octave convolution: one row per path (h2h, h2l, l2h, l2l) and per glue op
    (pool, upsample, add), with totals, in every counting convention."""
    h, w = parse_size(size)
    spec = OctConvSpec(
        in_channels,
        out_channels,
        parse_kernel(kernel_size),
        h,
        w,
        alpha_in,
        alpha_out,
        stride,
        padding,
        dilation,
        groups,
        bias,
        batch,
        DTYPES[dtype],
        stride_rule,
    )
    cost = layer_cost(spec)
    vanilla = layer_cost(spec.vanilla())
    records: list[dict[str, Any]] = cost.records()
    records[-1]["note"] = f"{100 * cost.macs / vanilla.macs:.1f}% of vanilla macs"
    summary = (
        f"vanilla {spec.kernel_size[0]}x{spec.kernel_size[1]} conv: {vanilla.macs:,} macs, {vanilla.params:,} "
        f"params, {vanilla.output_elems:,} output elements; this layer: {100 * cost.macs / vanilla.macs:.1f}% "
        f"of the macs, {100 * cost.output_elems / vanilla.output_elems:.1f}% of the output feature map"
    )
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
    definitions = (*DEFINITIONS, (("in_bytes", "out_bytes"), f"bytes at {dtype} ({DTYPES[dtype]} B/element)"))
    notes = [summary, *footnotes(columns, definitions)]
    emit(records, fmt, output, columns, notes=notes)
    if check and not all(r["agree"] for r in checked.values()):
        raise click.ClickException("cross-check: the closed form and the counters disagree (see 'agree')")
