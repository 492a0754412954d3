"""Where a network comes from: :func:`resolve` turns what a user names — a zoo name, ``torchvision:NAME``,
``timm:NAME``, ``module.path:factory`` or a module — into a :class:`~octprof.zoo.registry.ModelSource` (the one
model-source type; the zoo's entries are model sources themselves).  Libraries and the user's module are imported
only here, and only when named; a name no library has is a one-line error with close names."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence
from typing import Any

from octprof.core.errors import bad
from octprof.zoo import ModelSource

__all__ = ["ModelSource", "resolve"]


def _known(arch: str, names: Sequence[str], library: str, listing: str) -> str:
    """The model name of ``LIBRARY:NAME`` when the library has it; else a one-line error with close names."""
    name = arch.split(":", 1)[1]
    if name not in names:
        close = difflib.get_close_matches(name, list(names), n=4, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"see {listing}"
        raise bad("arch", arch, f"no such {library} model", hint)
    return name


def _copier(model: Any) -> Any:
    """A factory of copies of a caller's module: octprof switches what it analyses to eval mode and may move it,
    so it works on a copy and leaves the caller's module (its training flags, weights, device) as it was."""

    def copy_of() -> Any:
        import copy

        try:
            return copy.deepcopy(model)
        except Exception as e:
            raise bad(
                "model",
                type(model).__name__,
                f"octprof analyses a copy of a module and this one cannot be copied ({type(e).__name__})",
                "pass a factory instead: Network('mypackage.models:build')",
            ) from None

    return copy_of


def resolve(arch: Any) -> ModelSource:
    """A zoo name, ``torchvision:NAME``, ``timm:NAME``, ``module.path:factory``, a module itself (analysed as a
    copy) or a :class:`ModelSource` (returned as it is)."""
    if isinstance(arch, ModelSource):
        return arch
    from torch import nn

    if isinstance(arch, nn.Module):
        return ModelSource(type(arch).__name__, _copier(arch))
    if not isinstance(arch, str) or not arch:
        raise bad("arch", arch, "expected a zoo name, torchvision:NAME or module.path:factory")
    if arch.startswith("torchvision:"):
        try:
            import torchvision.models as tvm
        except ImportError:
            raise bad("arch", arch, "torchvision is not installed", "pip install torchvision") from None
        video = tvm.list_models(module=tvm.video)
        name = _known(
            arch,
            tvm.list_models(module=tvm) + video,
            "torchvision classification or video",
            "torchvision.models.list_models()",
        )
        # video models (torchvision.models.video) take clips: 16 frames of 112x112 by default
        size: Any = (16, 112, 112) if name in video else 224
        return ModelSource(arch, lambda: tvm.get_model(name, weights=None), size)
    if arch.startswith("timm:"):
        try:
            import timm
        except ImportError:
            raise bad("arch", arch, "timm is not installed", "pip install 'octprof[timm]'") from None
        name = _known(arch, timm.list_models(), "timm", "timm.list_models('PATTERN*')")
        return ModelSource(arch, lambda: timm.create_model(name, pretrained=False))
    if ":" in arch:
        import os
        import sys

        mod_name, _, attr = arch.partition(":")
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())  # a user's own module in the current directory
        try:
            mod = importlib.import_module(mod_name)
        except Exception as e:
            raise bad(
                "model",
                arch,
                f"cannot import module {mod_name!r} ({type(e).__name__}: {e})",
                "the module must be importable from the current directory or the installed packages",
            ) from None
        factory = getattr(mod, attr, None)
        if factory is None or not callable(factory):
            raise bad("model", arch, f"module {mod_name!r} has no callable {attr!r}")
        return ModelSource(arch, factory, user_code=True)
    from octprof.zoo import get_entry

    return get_entry(arch)
