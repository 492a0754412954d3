"""The paper's architectures: vanilla definitions plus the paper's conversion presets.

Each entry pairs a factory for the *vanilla* network (plain ``nn.Conv2d`` everywhere) with the preset that
tells the planner how the paper converts it to its octave version:

- ``vanilla``: fnmatch patterns over qualified module names; a convolution whose name matches gives a vanilla
  output (α_out = 0) whatever the network α.  This is how the paper keeps its last stage vanilla.
- ``alpha_overrides``: optional ``(pattern, α)`` pairs overriding the output split of matching convolutions.
- ``stride_rule``: ``"pool"`` (the paper: 2×2 average pooling, then stride-1 convolutions) or ``"conv"``.
- ``stride_pool``: fnmatch patterns of strided convolutions that take the stride rule although neither their
  input nor their output is split.  The official code builds every convolution after the stem with its octave
  operator, which pools for stride 2 even at α = 0 (e.g. the 3×3 conv of the vanilla last stage of ResNets).

The registry follows timm's habit (``timm.list_models(filter)``, ``timm.create_model(name)``): here
``list_models(filter)`` and ``create_model(name)``.  Each entry is a :class:`~octprof.zoo.registry.ModelSource`
(``ZooEntry`` is the same type), registered by ``octprof.zoo.presets`` as plain data whose factories are named
``module:function`` and imported when a network is built, so that listing the zoo needs no torch.
"""

from __future__ import annotations

import difflib
import fnmatch
from typing import Any

from octprof.core.errors import OctprofError
from octprof.zoo.registry import REGISTRY, FactoryRef, ModelSource, ZooEntry, register

__all__ = ["FactoryRef", "ModelSource", "ZooEntry", "create_model", "get_entry", "list_models", "register"]


def _load() -> None:
    # The presets register themselves on their first import (plain data; the factories load with the first network
    # built); a later import is a dictionary lookup, and entries a user registered first are kept.
    from octprof.zoo import presets  # noqa: F401


def list_models(filter: str = "*") -> list[str]:
    """Names of the zoo's architectures matching an fnmatch ``filter``, in registration order."""
    _load()
    return [name for name in REGISTRY if fnmatch.fnmatchcase(name, filter)]


def get_entry(name: str) -> ModelSource:
    """The zoo entry called ``name``; an unknown name raises ValueError listing close names."""
    _load()
    try:
        return REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(REGISTRY), n=4, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise OctprofError(f"arch: unknown architecture {name!r}; allowed: {', '.join(REGISTRY)}.{hint}") from None


def create_model(name: str) -> Any:
    """The vanilla network of zoo architecture ``name`` (eval mode)."""
    return get_entry(name).create()
