"""``octprof table --mode train``: training MACs and training memory per network and α (see :mod:`octprof.train`).

A helper of the ``table`` command, not a command of its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from octprof.cli.columns import is_data_format, select_columns
from octprof.cli.options import emit, fail_if_disagree, unpriced_notes
from octprof.core.errors import bad
from octprof.progress import progress

# What the human formats show unless --columns says otherwise (csv and json carry every column): within 120
# characters.  The settings every row shares (batch, dtype, optimizer) are named once, in a note.
DEFAULT_COLUMNS: tuple[str, ...] = (
    "arch",
    "alpha",
    "train_macs",
    "train_macs_rel",
    "saved_bytes",
    "train_mem_mib",
    "train_mem_rel",
    "paper_mb",
)
SETTINGS: tuple[str, ...] = ("batch", "dtype", "optimizer")
PRESETS: dict[str, tuple[str, ...]] = {
    "costs": ("arch", "alpha", "macs", "train_macs", "train_flops", "train_macs_rel", "flop_counter_train_flops"),
    "memory": (
        "arch",
        "alpha",
        "weight_bytes",
        "buffer_bytes",
        "grad_bytes",
        "optimizer_bytes",
        "input_bytes",
        "saved_bytes",
        "train_mem_mib",
        "train_mem_rel",
        "paper_mb",
    ),
    "settings": SETTINGS,
}
CHECK_COLUMNS: tuple[str, ...] = ("flop_counter_train_flops", "observed_saved_bytes", "agree")
# With --check: what the check compares, side by side (the relative columns make way)
CHECK_DEFAULT: tuple[str, ...] = (
    "arch",
    "alpha",
    "train_macs",
    "flop_counter_train_flops",
    "saved_bytes",
    "observed_saved_bytes",
    "train_mem_mib",
    "agree",
)


def train_report(
    names: Sequence[str],
    alphas: list[float],
    optimizer: str,
    dtype: str,
    per_layer: bool,
    columns: str | None,
    output: str | None,
    size: Any,
    batch: int,
    vanilla: Sequence[str],
    stride_rule: str | None,
    check: bool,
    fmt: str | None,
    strict: bool = False,
    odd_size: str = "vanilla",
) -> None:
    from octprof.train import train_layers, train_table

    if per_layer:
        from octprof.analysis import Network
        from octprof.machine import DTYPES

        if len(names) != 1 or len(alphas) != 1:
            raise bad("--per-layer", f"{len(names)} networks x {len(alphas)} alphas", "expected one network, one α")
        if dtype not in DTYPES:
            raise bad("--dtype", dtype, f"expected one of {', '.join(DTYPES)}")
        net = Network(
            names[0], size, batch, dtype=DTYPES[dtype], vanilla=vanilla, stride_rule=stride_rule, odd_size=odd_size
        )
        df = train_layers(net.analyze(alphas[0]))
        notes = [
            "one row per conv path, linear layer and product; grad_input_macs 0 where the input does not require grad; "
            "flop_counter_flops = FlopCounterMode's count of forward + backward (grad-weight x groups)"
        ]
        cols = select_columns(columns, list(df.columns), list(df.columns), data=is_data_format(fmt, output))
        emit(df.to_dict("records"), fmt, output, cols, notes=notes)
        return
    df = train_table(
        names,
        alphas,
        size,
        batch,
        dtype,
        optimizer,
        vanilla,
        stride_rule,
        check=check,
        progress=lambda it: progress(it, total=len(it), desc="pricing", unit="net×α"),
        odd_size=odd_size,
    )
    # select_columns gives CSV and JSON every column and keeps the available defaults only
    default = list(CHECK_DEFAULT if check else DEFAULT_COLUMNS)
    if "paper_mb" in default and "paper_mb" in df.columns and not df["paper_mb"].notna().any():
        default.remove("paper_mb")
    notes = list(df.attrs.get("notes", ()))
    shared = {c: df[c].iloc[0] for c in SETTINGS if c in df.columns and len(df) and df[c].nunique() == 1}
    default += [c for c in SETTINGS if c in df.columns and c not in shared]  # a setting that varies is a column

    unpriced_notes(df.attrs.get("unpriced") or {}, notes, strict)
    if check:
        notes.append(
            "check: one training step of the real octave network on the meta device; flop_counter_train_flops "
            "= FlopCounterMode over forward + backward; observed_saved_bytes = storages packed by "
            "torch.autograd.graph.saved_tensors_hooks (compared where saved_exact); agree also compares weights, "
            "buffers, gradients and optimizer state"
        )
    cols = select_columns(columns, list(df.columns), default, PRESETS, data=is_data_format(fmt, output))
    hidden = {c: v for c, v in shared.items() if c not in cols}
    if hidden:
        notes.insert(0, "every row: " + ", ".join(f"{c} {v}" for c, v in hidden.items()))
    emit(df.to_dict("records"), fmt, output, cols, notes=notes)
    if check:
        fail_if_disagree(df, "the training step")
