import os
import warnings

import pytest

# fvcore's import-time DeprecationWarnings must not break the suite.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        import fvcore.nn  # noqa: F401
    except ImportError:  # pragma: no cover - fvcore is a runtime dependency
        pass

try:
    import torch

    HAS_CUDA = torch.cuda.is_available()
except ImportError:  # pragma: no cover
    HAS_CUDA = False


def pytest_collection_modifyitems(config, items):
    skip_cuda = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords and not HAS_CUDA:
            item.add_marker(skip_cuda)


@pytest.fixture(autouse=True)
def _no_debug_env(monkeypatch):
    monkeypatch.delenv("OCTPROF_DEBUG", raising=False)
    yield


os.environ.setdefault("MPLBACKEND", "Agg")
