"""Small models for the gate tests, referenced as ``tests.gate_models:tiny``.

``tiny`` at α = 0 on a 3×16×16 input (multiply-accumulates):
conv1 3→16 3×3: 16·16 · 16·3·9 = 110,592; conv2 and conv3 16→16 3×3: 16·16 · 16·16·9 = 589,824 each;
fc 16→10: 160; total 1,290,400.  The stem conv's output and the map before global pooling stay vanilla, so
at α > 0 only conv2's output is split.  ``tiny_regressed`` keeps the same convolutions but flattens the
16×16×16 map into its classifier (fc 4096→10 instead of 16→10: 40,800 more), a vanilla cost at every α:
both ``macs`` and ``macs_rel`` go up.
"""

from __future__ import annotations

from torch import nn

TINY_MACS_ALPHA0 = 16 * 16 * 16 * 3 * 9 + 2 * 16 * 16 * 16 * 16 * 9 + 16 * 10  # 1,290,400


def _body() -> list[nn.Module]:
    return [
        nn.Conv2d(3, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
    ]


def tiny() -> nn.Module:
    """Three 3×3 convolutions, global pooling and a 16→10 classifier."""
    return nn.Sequential(*_body(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def tiny_regressed() -> nn.Module:
    """``tiny`` with a classifier over the whole flattened map: more vanilla cost at every α."""
    return nn.Sequential(*_body(), nn.Flatten(), nn.Linear(16 * 16 * 16, 10))


def broken() -> nn.Module:
    """A factory that fails, for the error path."""
    raise RuntimeError("cannot build this model")
