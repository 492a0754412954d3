"""octprof: exact FLOPs, memory and latency of Octave Convolution networks.

Importing ``octprof`` stays light: the cost core (``octprof.core``) is pure Python; torch-based parts
(``octprof.nn``, ``octprof.convert``, ``octprof.crosscheck``, ``octprof.measure``) load on first use.  The
names users reach for first are exported here lazily (torch is imported when one of them is first read)::

    import octprof
    a = octprof.analyze("resnet50", alpha=0.5)     # octprof.analysis.analyze
    net = octprof.octify(model, alpha=0.5)          # the real octave network of any nn.Module
    conv = octprof.OctConv2d(64, 64, 3, alpha_in=0.5, alpha_out=0.5)
"""

from __future__ import annotations

from typing import Any

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

# name -> module that defines it; imported on first attribute access (PEP 562), so `import octprof` needs no torch
_LAZY: dict[str, str] = {
    "OctConv2d": "octprof.nn",
    "analyze": "octprof.analysis",
    "octify": "octprof.analysis",
    "Network": "octprof.analysis",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'octprof' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later reads skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "CostRow",
    "LayerCost",
    "Network",
    "OctConv2d",
    "OctConvSpec",
    "OctprofError",
    "__version__",
    "analyze",
    "flops_ratio",
    "layer_cost",
    "memory_ratio",
    "octify",
    "split_channels",
    "table1",
]
