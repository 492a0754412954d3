"""octprof: exact FLOPs, memory and latency of Octave Convolution networks.

Importing ``octprof`` stays light: the cost core (``octprof.core``) is pure Python; torch-based parts
(``octprof.nn``, ``octprof.convert``, ``octprof.crosscheck``, ``octprof.measure``) load on first use.
"""

from __future__ import annotations

from octprof.core import (
    CostRow,
    LayerCost,
    OctConvSpec,
    OctprofError,
    flops_ratio,
    layer_cost,
    memory_ratio,
    split_channels,
    table1,
)

__version__ = "0.1.0"

__all__ = [
    "CostRow",
    "LayerCost",
    "OctConvSpec",
    "OctprofError",
    "__version__",
    "flops_ratio",
    "layer_cost",
    "memory_ratio",
    "split_channels",
    "table1",
]
