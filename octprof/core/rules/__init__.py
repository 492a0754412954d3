"""The one registry of per-op rules, shared by tracing, planning, pricing and conversion.

A rule says, for one kind of op:

- which torch callables it covers (by name, so that this module needs no torch): module classes (matched
  along the class's MRO), functions (``module.qualname``) and tensor methods;
- how the op propagates the high/low split (``flow``):
  ``same``   the output shares the split of its map inputs (per-channel and elementwise ops);
  ``conv``   a convolution: its output split comes from α (or from its users), its input split is free;
  ``cat``    a concatenation along channels: the output's parts are the sums of the inputs' parts;
  ``gpool``  global pooling: the output vector keeps the input's channel split (each frequency pooled);
  ``vanilla`` the input must be vanilla (flatten, linear, reshape, the network output);
  ``meta``   reads only metadata (``x.size()``), any split;
  ``merge``  split inputs are merged back to one full-resolution map before it (slices, crops, norms over
             channels, data movement): priced by its rule at full resolution;
  ``chunk``  split / chunk along channels: each piece of a split map is split in proportion (else merged);
  ``opaque`` no rule: merged like ``merge``; priced by what ``FlopCounterMode`` counted for it in the vanilla
             trace (matmul, einsum, attention, transposed convolutions), listed as not priced when
             that is nothing;
- how it is priced in every convention (integers), per frequency part;
- how it is converted (``convert``: the name of a strategy in ``octprof.convert``).

Adding an op is adding one rule here.

The registry lives in :mod:`octprof.core.rules.base`; the rules by family in ``layers``, ``elementwise``,
``pooling`` and ``structure`` (imported here in that order: the order in which they register).
"""

from __future__ import annotations

from octprof.core.rules import elementwise, layers, pooling, structure  # noqa: F401  (registers the rules)
from octprof.core.rules.base import (
    CONVERTS,
    FLOWS,
    NN,
    NOTHING_SAVED,
    RULES,
    Call,
    NodeFilter,
    OctaveLayer,
    Rule,
    Saved,
    TensorSplit,
    call_memo,
    cost_row,
    counts_activation,
    explicit_padding,
    fmt_shape,
    get_rule,
    match_function,
    match_method,
    match_module,
    memo,
    merge_row,
    ntuple,
    octave_capable,
    octave_factors,
    op_name,
    pair,
    rule,
)

__all__ = [
    "CONVERTS",
    "FLOWS",
    "NN",
    "NOTHING_SAVED",
    "RULES",
    "Call",
    "NodeFilter",
    "OctaveLayer",
    "Rule",
    "Saved",
    "TensorSplit",
    "call_memo",
    "cost_row",
    "counts_activation",
    "explicit_padding",
    "fmt_shape",
    "get_rule",
    "match_function",
    "match_method",
    "match_module",
    "memo",
    "merge_row",
    "ntuple",
    "octave_capable",
    "octave_factors",
    "op_name",
    "pair",
    "rule",
]
