"""Every zoo model at every α of the ablation: fvcore, FlopCounterMode and parameters equal the closed form."""

import pytest

from octprof.analysis import Network
from octprof.zoo import list_models

ALPHAS = (0.0, 0.125, 0.25, 0.5, 0.75)
_NETS: dict[str, Network] = {}


def _net(name: str) -> Network:
    if name not in _NETS:
        _NETS.clear()  # keep one real model in memory at a time
        _NETS[name] = Network(name, meta=False)
    return _NETS[name]


@pytest.mark.slow
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("name", list_models())
def test_zoo_model_crosscheck_exact(name, alpha):
    cc = _net(name).analyze(alpha).crosscheck()
    assert cc["flop_counter_flops"] == 2 * cc["macs"]
    assert cc["fvcore"] == cc["fvcore_flops"]
    assert cc["module_params"] == cc["params"]
