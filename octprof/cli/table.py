"""``octprof table``: whole networks priced per α (the Table-1 view of a network), or one network per layer."""

from __future__ import annotations

import click

from octprof.cli.columns import columns_option, footnotes, is_data_format, select_columns
from octprof.cli.options import (
    ALPHA_GRID,
    emit,
    fail_if_disagree,
    format_option,
    handle_errors,
    output_option,
    traced_whole_notes,
    unpriced_notes,
)
from octprof.core.errors import bad
from octprof.core.inputs import parse_input_size
from octprof.progress import progress

# The compact default fits 120 characters for every zoo network (resnet200's macs, resnext101_32x4d's name).
DEFAULT_COLUMNS = ("arch", "alpha", "macs", "paper_flops", "params", "macs_rel", "paper_flops_rel", "fmap_elems_rel")
CHECK_COLUMNS = ("arch", "alpha", "macs", "fvcore_flops", "fvcore", "flops", "flop_counter", "agree")
PRESETS: dict[str, tuple[str, ...]] = {
    "costs": ("arch", "alpha", "macs", "flops", "paper_flops", "fvcore_flops", "params"),
    "gains": ("arch", "alpha", "macs_rel", "paper_flops_rel", "fvcore_flops_rel", "params_rel", "fmap_elems_rel"),
    "memory": ("arch", "alpha", "act_elems", "act_bytes", "fmap_elems", "act_elems_rel", "fmap_elems_rel"),
    "plan": ("arch", "alpha", "input_size", "batch", "octave_layers", "merges", "refused", "unpriced"),
    "check": CHECK_COLUMNS,
}
# (columns, definition): printed under a table once, when one of its columns is shown
DEFINITIONS: tuple[tuple[str | tuple[str, ...], str], ...] = (
    ("macs", "macs = multiply-accumulates of convolutions and linear layers"),
    (("flops", "flop_counter"), "flops = 2 x macs; flop_counter = FlopCounterMode's count on the octave network"),
    (
        "paper_flops",
        "paper_flops = the paper's convention: multiply-adds + bias additions + pooling outputs x kernel area + "
        "global-pool inputs + ReLU outputs (BN, additions, upsampling 0)",
    ),
    (
        ("fvcore_flops", "fvcore"),
        "fvcore_flops = fvcore's convention: 1 per multiply-add, BatchNorm 2 per element, nearest upsampling 1 "
        "per output, adaptive average pooling 1 per input (pooling, additions, ReLU 0); fvcore = fvcore's own "
        "count on the octave network",
    ),
    (
        "agree",
        "agree = fvcore equals fvcore_flops, flop_counter equals flops and the octave network's parameters equal "
        "params, exactly",
    ),
    ("params", "params = parameters, every one counted once"),
    (
        ("act_elems", "act_elems_rel", "act_bytes"),
        "act_elems = elements of every tensor produced (octave intermediates included)",
    ),
    (("fmap_elems", "fmap_elems_rel"), "fmap_elems = elements of each op's output (the feature-map memory of Table 1)"),
    ("*_rel", "*_rel = relative to alpha 0 of the same network"),
    ("octave_layers", "octave_layers = convolutions priced as octave layers"),
    (("merges", "refused"), "merges = split maps merged back before an op; refused = ops the proof refused"),
    ("unpriced", "unpriced = ops that nothing priced (totals exclude them)"),
    (("alpha_in", "alpha_out"), "alpha_in / alpha_out = low-frequency share of a conv's input / output channels"),
    (("conv_mode", "vanilla_reason"), "conv_mode = octave or vanilla; vanilla_reason = why a conv stayed vanilla"),
)
# --per-layer: one network at one alpha
LAYER_COLUMNS = ("layer", "op", "alpha_in", "alpha_out", "macs", "paper_flops", "params", "conv_mode")
LAYER_PRESETS: dict[str, tuple[str, ...]] = {
    "costs": ("layer", "op", "macs", "flops", "paper_flops", "fvcore_flops", "params"),
    "memory": ("layer", "op", "act_elems", "fmap_elems"),
    "plan": ("layer", "op", "alpha_in", "alpha_out", "conv_mode", "vanilla_reason"),
}


def expand_timm(pattern: str) -> list[str]:
    """``timm:resnet1*`` → every timm model that matches (``timm.list_models``)."""
    try:
        import timm
    except ImportError:
        raise bad("--arch", pattern, "timm is not installed", "pip install 'octprof[timm]'") from None
    names = timm.list_models(pattern.split(":", 1)[1])
    if not names:
        raise bad("--arch", pattern, "the pattern matches no timm model", "see timm.list_models('PATTERN')")
    return [f"timm:{n}" for n in names]


@click.command("table")
@click.option(
    "--arch",
    "archs",
    multiple=True,
    metavar="NAME",
    help="Zoo name (see 'octprof list'), torchvision:NAME, or 'all' for the whole zoo. Repeatable.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="MODULE:FACTORY",
    help="Any model: an importable module and a factory returning an nn.Module. Repeatable.",
)
@click.option(
    "--input-size",
    default=None,
    help="S or HxW for 2-D networks, L for 1-D, TxHxW for 3-D (default: the architecture's, else 224); a "
    "comma-separated list prices each size (a resolution study: 224,256,288,320).",
)
@click.option(
    "--alpha",
    type=ALPHA_GRID,
    default="0,0.125,0.25,0.5,0.75",
    show_default=True,
    help="α grid: a list 0,0.125,0.5 or a range 0:1:0.125.",
)
@click.option("--batch", type=int, default=1, show_default=True)
@click.option(
    "--vanilla",
    "vanilla",
    multiple=True,
    metavar="PATTERN",
    help="Keep the outputs of convs whose module name matches PATTERN vanilla (fnmatch). Repeatable.",
)
@click.option(
    "--stride-rule",
    type=click.Choice(["pool", "conv"]),
    default=None,
    help="Stride 2 by average pooling (the paper) or strided convs (default: the preset's).",
)
@click.option(
    "--odd-size",
    type=click.Choice(["vanilla", "ceil"]),
    default="vanilla",
    show_default=True,
    help="Maps of odd size: kept vanilla (the official code) or split with ceil-mode pooling and exact "
    "upsampling (299-pixel Inception/Xception, SqueezeNet convert).",
)
@click.option(
    "--temporal-octave",
    is_flag=True,
    help="3-D networks: the low part is an octave lower in time too (default: H and W only).",
)
@click.option(
    "--paths",
    default=None,
    metavar="h2h,h2l,l2h,l2l",
    help="Ablation: the paths every octave conv keeps (where the split begins or ends, the path feeding the "
    "present part is kept too). Default: all four.",
)
@click.option(
    "--paths-for",
    "paths_for",
    multiple=True,
    metavar="PATTERN=PATHS",
    help="The paths of the octave convs whose module name matches PATTERN (fnmatch), e.g. "
    "'layer4.*=h2h,h2l,l2h,l2l'; the last matching wins over --paths. Repeatable.",
)
@click.option(
    "--no-auto-leaf",
    "no_auto_leaf",
    is_flag=True,
    help="Refuse a network torch.fx cannot trace into instead of tracing the failing submodules whole (the "
    "default: each is one opaque op, priced by what FlopCounterMode counts, its convs vanilla, and listed).",
)
@columns_option(PRESETS, "--columns gains,act_bytes or --columns all")
@click.option("--per-layer", is_flag=True, help="One row per layer (of one network at one α).")
@click.option(
    "--jobs",
    type=int,
    default=1,
    show_default=True,
    help="Price the networks of a sweep in this many processes.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1) when an op is not priced (no rule, and FlopCounterMode counts nothing for it).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Build the real octave network and count it with fvcore and "
    "FlopCounterMode; adds their counts and an agreement column.",
)
@click.option(
    "--mode",
    type=click.Choice(["infer", "train"]),
    default="infer",
    show_default=True,
    help="infer: inference cost; train: training MACs (forward + backward) and training memory.",
)
@click.option(
    "--optimizer",
    type=click.Choice(["sgd", "momentum", "adam"]),
    default=None,
    help="With --mode train: the optimizer whose state is counted (default momentum).",
)
@click.option("--dtype", default=None, help="With --mode train: float32 (default), float16, bfloat16 or float64.")
@format_option
@output_option
@handle_errors
def table(
    archs: tuple[str, ...],
    models: tuple[str, ...],
    input_size: str | None,
    alpha: list[float],
    batch: int,
    vanilla: tuple[str, ...],
    stride_rule: str | None,
    odd_size: str,
    temporal_octave: bool,
    paths: str | None,
    paths_for: tuple[str, ...],
    no_auto_leaf: bool,
    columns_text: str | None,
    per_layer: bool,
    jobs: int,
    strict: bool,
    check: bool,
    mode: str,
    optimizer: str | None,
    dtype: str | None,
    fmt: str | None,
    output: str | None,
) -> None:
    """Price whole networks for an α grid: totals in every convention and relative to α = 0."""
    from octprof.report import network_table

    if batch < 1:
        raise bad("--batch", batch, "expected an integer >= 1")
    for name, value in (("--optimizer", optimizer), ("--dtype", dtype)):
        if value is not None and mode != "train":
            raise bad(name, value, "only with --mode train")
    names: list[str] = []
    for a in archs:
        if a == "all":
            from octprof.zoo import list_models

            names += list_models()
        elif a.startswith("timm:") and any(c in a for c in "*?["):
            names += expand_timm(a)
        else:
            names.append(a)
    names += list(models)
    if not names:
        raise bad("--arch", None, "give at least one --arch NAME or --model MODULE:FACTORY", "see 'octprof list'")
    sizes = [parse_input_size(t, "--input-size") for t in (input_size or "").split(",")] if input_size else [None]
    size = sizes[0]
    overrides = []
    for item in paths_for:
        pat, eq, p = item.partition("=")
        if not eq or not pat or not p:
            raise bad("--paths-for", item, "expected PATTERN=PATHS, e.g. 'layer4.*=h2h,h2l,l2h,l2l'")
        overrides.append((pat, p))
    options = {"odd_size": odd_size, "temporal": temporal_octave, "paths": paths, "paths_for": tuple(overrides)}
    options["auto_leaf"] = not no_auto_leaf
    if mode == "train":
        from octprof.cli.train_mode import train_report

        if len(sizes) != 1 or temporal_octave or paths or overrides or no_auto_leaf:
            raise bad(
                "--mode",
                "train",
                "takes one --input-size and no --temporal-octave, --paths, --paths-for, --no-auto-leaf",
            )
        opts = dict(
            size=size, batch=batch, vanilla=vanilla, stride_rule=stride_rule, check=check, fmt=fmt, strict=strict
        )
        opts["odd_size"] = odd_size
        train_report(names, alpha, optimizer or "momentum", dtype or "float32", per_layer, columns_text, output, **opts)
        return
    if per_layer:
        from octprof.analysis import Network

        if len(names) != 1 or len(alpha) != 1 or len(sizes) != 1:
            raise bad(
                "--per-layer",
                f"{len(names)} networks x {len(alpha)} alphas x {len(sizes)} sizes",
                "expected one network, one α, one input size",
            )
        an = Network(names[0], size, batch, vanilla=vanilla, stride_rule=stride_rule, **options).analyze(alpha[0])
        df = an.by_layer()
        cols = select_columns(
            columns_text, list(df.columns), LAYER_COLUMNS, LAYER_PRESETS, data=is_data_format(fmt, output)
        )
        notes = footnotes(cols, DEFINITIONS)
        for m in an.merges():
            notes.append(f"merge: {m['merged_input']} is merged back to one map before {m['op']} ({m['target']})")
        notes.append(an.conv_summary())
        from octprof.analysis import traced_whole_line

        line = traced_whole_line(an.captured)
        if line:
            traced_whole_notes({an.source.name: line}, [])  # stderr only: the conv summary above says it
        for r in an.refusals():
            notes.append(f"refused: {r['op']} cannot take a split map ({r['why']}); it runs on merged maps")
        unpriced_notes(an.unpriced_counts(), notes, strict)
        emit(df.to_dict("records"), fmt, output, cols, notes=notes)
        return
    frames = [
        network_table(
            names,
            alpha,
            size_i,
            batch,
            vanilla,
            stride_rule,
            check=check,
            progress=lambda it: progress(it, total=len(it), desc="pricing", unit="net×α"),
            jobs=jobs,
            options=options,
        )
        for size_i in sizes
    ]
    df = frames[0]
    if len(frames) > 1:  # one table over the sizes: rows by size, then network and α; relative columns per size
        import pandas as pd

        df = pd.concat(frames, ignore_index=True)
        df.attrs["unpriced"] = {k: v for f in frames for k, v in f.attrs.get("unpriced", {}).items()}
        df.attrs["conv_summary"] = frames[-1].attrs.get("conv_summary", {})
        df.attrs["traced_whole"] = {k: v for f in frames for k, v in f.attrs.get("traced_whole", {}).items()}
    cols = select_columns(
        columns_text,
        list(df.columns),
        CHECK_COLUMNS if check else DEFAULT_COLUMNS,
        PRESETS,
        data=is_data_format(fmt, output),
    )
    if df.attrs.get("unpriced") and "unpriced_ops" not in cols:
        cols.append("unpriced_ops")  # what nothing priced travels in every format, whatever --columns says
    notes = footnotes(cols, DEFINITIONS)
    for (arch, a), line in df.attrs.get("conv_summary", {}).items():
        if a == max(alpha):  # one line per network, at the largest alpha of the grid
            notes.append(f"{arch} at alpha {a:g}: {line}")
    traced_whole_notes(df.attrs.get("traced_whole", {}), [])  # stderr only: the conv summaries above say it
    unpriced_notes(df.attrs.get("unpriced", {}), notes, strict)
    emit(df.to_dict("records"), fmt, output, cols, notes=notes)
    if check:
        fail_if_disagree(df, "the counters")
