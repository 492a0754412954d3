"""The paper's architectures: vanilla definitions plus the paper's conversion presets.

Each entry pairs a factory for the *vanilla* network (plain ``nn.Conv2d`` everywhere) with the preset that
tells the planner how the paper converts it to its octave version:

- ``vanilla``: fnmatch patterns over qualified module names; a convolution whose name matches gives a vanilla
  output (α_out = 0) whatever the network α.  This is how the paper keeps its last stage vanilla.
- ``alpha``: optional ``{pattern: α}`` overrides for the output split of matching convolutions.
- ``stride_rule``: ``"pool"`` (the paper: 2×2 average pooling, then stride-1 convolutions) or ``"conv"``.
- ``stride_pool``: fnmatch patterns of strided convolutions that take the stride rule although neither their
  input nor their output is split.  The official code builds every convolution after the stem with its octave
  operator, which pools for stride 2 even at α = 0 (e.g. the 3×3 conv of the vanilla last stage of ResNets).

The registry follows timm's habit: ``list_models(filter)``, ``create_model(name)``.  The entries are plain data
(``octprof.zoo.presets``) whose factories are named ``module:function`` and imported when a network is built,
so that listing the zoo needs no torch.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from octprof.core.errors import OctprofError

__all__ = ["FactoryRef", "ZooEntry", "create_model", "get_entry", "list_models", "register"]


@dataclass(frozen=True)
class FactoryRef:
    """A factory named ``module:function``, imported on its first call (the zoo's metadata stays torch-free)."""

    ref: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, _, name = self.ref.partition(":")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)


@dataclass(frozen=True)
class ZooEntry:
    """One architecture of the zoo: a vanilla factory and the paper's conversion preset.  ``factory`` is a
    callable or a ``module:function`` string (wrapped in a :class:`FactoryRef`)."""

    name: str
    factory: Callable[..., Any] | str
    input_size: int = 224
    vanilla: tuple[str, ...] = ()
    alpha: tuple[tuple[str, float], ...] = ()
    stride_rule: str = "pool"
    stride_pool: tuple[str, ...] = ()
    description: str = ""
    source: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.factory, str):
            object.__setattr__(self, "factory", FactoryRef(self.factory))

    def create(self) -> Any:
        """Build the vanilla network (a ``torch.nn.Module``) in eval mode."""
        model = self.factory(**self.kwargs)  # type: ignore[operator]
        model.eval()
        return model


_REGISTRY: dict[str, ZooEntry] = {}


def register(entry: ZooEntry) -> ZooEntry:
    if entry.name in _REGISTRY:
        raise ValueError(f"zoo: architecture {entry.name!r} is registered twice")
    _REGISTRY[entry.name] = entry
    return entry


def _load() -> None:
    # The presets register themselves on their first import (plain data; the factories load with the first network
    # built); a later import is a dictionary lookup, and entries a user registered first are kept.
    from octprof.zoo import presets  # noqa: F401


def list_models(filter: str = "*") -> list[str]:
    """Names of the zoo's architectures matching an fnmatch ``filter``, in registration order."""
    _load()
    return [name for name in _REGISTRY if fnmatch.fnmatchcase(name, filter)]


def get_entry(name: str) -> ZooEntry:
    """The zoo entry called ``name``; an unknown name raises ValueError listing close names."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=4, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise OctprofError(f"arch: unknown architecture {name!r}; allowed: {', '.join(_REGISTRY)}.{hint}") from None


def create_model(name: str) -> Any:
    """The vanilla network of zoo architecture ``name`` (eval mode)."""
    return get_entry(name).create()
