"""Relative gains of an octave layer in closed form: the paper's Table 1 for any α grid.

With input split α_in and output split α_out, the four paths cost (relative to the vanilla convolution)
H→H (1−α_in)(1−α_out), H→L (1−α_in)α_out/4, L→H α_in(1−α_out)/4 and L→L α_in·α_out/4: the low map has a quarter
of the pixels.  With α_in = α_out = α the sum is 1 − ¾α(2 − α), the paper's Table 1.  The output feature map
keeps (1 − α) of its channels at full resolution and α at a quarter of the pixels: 1 − ¾α.

These are the limits for channels large enough that ``int(α·C)`` = α·C; ``layer_cost`` gives exact integers.
"""

from __future__ import annotations

from typing import Any

from octprof.core.layer import check_alpha

# The paper's Table 1 as printed (percent), keyed by α: (relative FLOPs, relative memory).
PAPER_TABLE1: dict[float, tuple[int, int]] = {
    0.0: (100, 100),
    0.125: (82, 91),
    0.25: (67, 81),
    0.5: (44, 63),
    0.75: (30, 44),
    0.875: (26, 35),
    1.0: (25, 25),
}
PAPER_TABLE1_SOURCE = "Chen et al., Drop an Octave (ICCV 2019), Table 1"
PAPER_ALPHAS: tuple[float, ...] = tuple(PAPER_TABLE1)


def flops_ratio(alpha_in: float, alpha_out: float | None = None) -> float:
    """Multiply-adds of an octave layer relative to the vanilla one (Table 1 when α_in = α_out)."""
    a = check_alpha("alpha_in", alpha_in)
    b = a if alpha_out is None else check_alpha("alpha_out", alpha_out)
    return (1 - a) * (1 - b) + ((1 - a) * b + a * (1 - b) + a * b) / 4


def memory_ratio(alpha_out: float) -> float:
    """Feature-map memory of the layer's output relative to the vanilla one: 1 − ¾α."""
    b = check_alpha("alpha_out", alpha_out)
    return 1 - 0.75 * b


def table1(alphas: Any = PAPER_ALPHAS) -> list[dict[str, Any]]:
    """Table 1 for any α grid: one record per α with the formula's percentages (one decimal) and, where the
    paper printed one, its value.  At α = 0.875 the memory formula gives 34.4 % where the paper printed 35."""
    rows = []
    for alpha in alphas:
        a = check_alpha("alpha", alpha)
        paper = PAPER_TABLE1.get(a)
        rows.append(
            {
                "alpha": a,
                "flops_ratio_pct": round(100 * flops_ratio(a), 1),
                "memory_ratio_pct": round(100 * memory_ratio(a), 1),
                "paper_flops_pct": paper[0] if paper else None,
                "paper_memory_pct": paper[1] if paper else None,
            }
        )
    return rows
