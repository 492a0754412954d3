"""``octprof layer``: the closed-form cost of one octave convolution, path by path, optionally cross-checked."""

from __future__ import annotations

import re
from typing import Any

import click

from octprof.cli.options import emit, format_option, handle_errors, output_option
from octprof.core.errors import bad
from octprof.core.inputs import DTYPE_BYTES, parse_map_size
from octprof.core.layer import OctConvSpec, layer_cost


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
    "--check",
    is_flag=True,
    help="Build the real OctConv2d and count it with fvcore and "
    "FlopCounterMode; adds their counts and an agreement column.",
)
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
    fmt: str | None,
    output: str | None,
) -> None:
    """Closed-form cost of one octave convolution: one row per path (h2h, h2l, l2h, l2l) and per glue op
    (pool, upsample, add), with totals, in every counting convention."""
    h, w = parse_map_size(size, "--size")
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
        DTYPE_BYTES[dtype],
        stride_rule,
    )
    cost = layer_cost(spec)
    vanilla = layer_cost(spec.vanilla())
    records: list[dict[str, Any]] = cost.records()
    records[-1]["note"] = f"{100 * cost.macs / vanilla.macs:.1f}% of vanilla macs"
    notes = [
        f"vanilla {spec.kernel_size[0]}x{spec.kernel_size[1]} conv: {vanilla.macs:,} macs, {vanilla.params:,} "
        f"params, {vanilla.output_elems:,} output elements; this layer: {100 * cost.macs / vanilla.macs:.1f}% "
        f"of the macs, {100 * cost.output_elems / vanilla.output_elems:.1f}% of the output feature map",
        "macs = multiply-accumulates; flops = 2 x macs; paper_flops = macs + bias adds + pooling outputs x 4; "
        "fvcore_flops = macs + nearest-upsampling outputs",
        f"bytes at {dtype} ({DTYPE_BYTES[dtype]} B/element); act_elems = elements each row produces",
    ]
    columns = list(records[0])
    if check:
        from octprof.crosscheck import CONVENTIONS, layer_crosscheck

        checked = {r["path"]: r for r in layer_crosscheck(spec)}
        for rec in records:
            c = checked.get(rec["path"])
            rec["fvcore"] = c["fvcore"] if c else None
            rec["flop_counter"] = c["flop_counter"] if c else None
            rec["agree"] = c["agree"] if c else None
        columns += ["fvcore", "flop_counter", "agree"]
        notes += [
            "fvcore: fvcore's count per path module (total: the whole layer, compare with fvcore_flops); "
            "flop_counter: FlopCounterMode (compare with flops = 2 x macs)",
            *CONVENTIONS,
        ]
        if not all(r["agree"] for r in checked.values()):
            emit(records, fmt, output, columns, notes=notes)
            raise click.ClickException("cross-check: the closed form and the counters disagree (see 'agree')")
    emit(records, fmt, output, columns, notes=notes)
