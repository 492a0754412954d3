"""What a network to analyse is — :class:`ModelSource`, one type for the zoo's entries and for every other source
(torchvision, timm, a user's ``module:factory``, a module) — and the zoo's registry of named entries.

Plain data, no torch: ``octprof list`` reads the registry without building a network; torch is imported when a
network is first created.  :func:`octprof.source.resolve` turns whatever a user names into a :class:`ModelSource`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from octprof.core.errors import OctprofError, bad

__all__ = ["REGISTRY", "FactoryRef", "ModelSource", "ZooEntry", "register"]


@dataclass(frozen=True)
class FactoryRef:
    """A factory named ``module:function``, imported on its first call (the zoo's metadata stays torch-free)."""

    ref: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, _, name = self.ref.partition(":")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)


@dataclass(frozen=True)
class ModelSource:
    """A network to analyse and the conversion preset that comes with it (the zoo's entries carry the paper's).

    ``factory`` builds the vanilla network: a callable, or a ``module:function`` string (wrapped in a
    :class:`FactoryRef`).  The preset, read by the planner: ``vanilla`` (fnmatch patterns of convolutions whose
    output stays vanilla), ``alpha_overrides`` (``(pattern, α)`` output splits), ``stride_rule`` (``pool`` or
    ``conv``), ``stride_pool`` (strided convolutions that pool although nothing around them is split) and
    ``leaf_modules`` (module types the tracer keeps whole).  ``description`` and ``source`` (the official file the
    preset follows) are what ``octprof list`` shows.  ``user_code``: the factory is a user's, so what it raises is
    reported as the user's error, not octprof's."""

    name: str
    factory: Callable[..., Any] | str
    input_size: Any = 224
    vanilla: tuple[str, ...] = ()
    alpha_overrides: tuple[tuple[str, float], ...] = ()
    stride_rule: str = "pool"
    stride_pool: tuple[str, ...] = ()
    leaf_modules: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    source: str = ""
    user_code: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.factory, str):
            object.__setattr__(self, "factory", FactoryRef(self.factory))

    def create(self, device: Any = None) -> Any:
        """Build the vanilla network (a ``torch.nn.Module``) in eval mode, on ``device`` if given (``meta``: no
        weights initialised)."""
        import torch
        from torch import nn

        try:
            if device is not None:
                with torch.device(device):
                    model = self.factory(**self.kwargs)  # type: ignore[operator]
            else:
                model = self.factory(**self.kwargs)  # type: ignore[operator]
        except Exception as e:
            if not self.user_code or isinstance(e, OctprofError):
                raise
            first = str(e).splitlines()[0] if str(e) else ""
            raise OctprofError(
                f"model: {self.name!r} raised {type(e).__name__}: {first} (in your factory, not in octprof; "
                "set OCTPROF_DEBUG=1 for the traceback)"
            ) from e
        if not isinstance(model, nn.Module):
            raise bad("model", self.name, f"the factory returned {type(model).__name__}, not a torch.nn.Module")
        return model.eval()


#: The zoo's entries were a type of their own; they are model sources.
ZooEntry = ModelSource

#: The zoo: name -> entry, in registration order (:func:`octprof.zoo.list_models` and ``get_entry`` read it).
REGISTRY: dict[str, ModelSource] = {}


def register(entry: ModelSource) -> ModelSource:
    """Add ``entry`` to the zoo under its name; a name registered twice is an error."""
    if entry.name in REGISTRY:
        raise ValueError(f"zoo: architecture {entry.name!r} is registered twice")
    REGISTRY[entry.name] = entry
    return entry
