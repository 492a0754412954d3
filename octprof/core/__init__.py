"""octprof's cost core: pure Python, standard library only (no torch, no pandas).

Layer specifications, per-path closed forms returning integers, relative gains (the paper's Table 1),
the per-op rule registry and the α plan over an op graph all live here, so that pricing never needs torch.
So do the parsing and validation of user input (``octprof.core.inputs``: sizes, element types, integer lists,
α grids, architecture names), rendering (``octprof.core.fmt``) and safe file writing (``octprof.core.files``).
"""

from octprof.core.errors import OctprofError, bad
from octprof.core.gains import flops_ratio, memory_ratio, table1
from octprof.core.layer import (
    GLUE,
    PATHS,
    CostRow,
    LayerCost,
    OctConvSpec,
    layer_cost,
    split_channels,
)

__all__ = [
    "GLUE",
    "PATHS",
    "CostRow",
    "LayerCost",
    "OctConvSpec",
    "OctprofError",
    "bad",
    "flops_ratio",
    "layer_cost",
    "memory_ratio",
    "split_channels",
    "table1",
]
