"""Figures of octave gains, sized for a paper column: accuracy against cost, relative cost against α, and where
the cost of a network goes, path by path.

Every function returns a :class:`matplotlib.figure.Figure` (not managed by pyplot, so nothing leaks between
calls) and attaches what it draws as ``fig.octprof_data``, a DataFrame with one row per drawn point or bar
segment (its ``line`` or ``group``, ``x`` and ``y``), so that the numbers behind a figure can be checked and
exported.  :func:`save` writes a figure atomically.

- :func:`tradeoff` — top-1 accuracy against FLOPs (log scale), one line per architecture, α by each point,
  α = 0 with a black edge.  By default the paper's Figure 4, from the shipped accuracies and octprof's own FLOPs.
- :func:`gains` — relative FLOPs and feature-map memory against α: Table 1's curves, networks' points and,
  with a benchmark file, measured relative time (1 / speedup).
- :func:`breakdown` — stacked bars of cost per path (H→H, H→L, L→H, L→L, glue, vanilla conv, other) per
  stage or per layer.
"""

from octprof.plots.breakdown import breakdown, stage_of
from octprof.plots.common import CATEGORIES, COLUMN_WIDTH, CONVENTIONS, check_output, save
from octprof.plots.data import paper_figure4, read_bench, read_results
from octprof.plots.gains import gains
from octprof.plots.tradeoff import tradeoff

__all__ = [
    "CATEGORIES",
    "COLUMN_WIDTH",
    "CONVENTIONS",
    "breakdown",
    "check_output",
    "gains",
    "paper_figure4",
    "read_bench",
    "read_results",
    "save",
    "stage_of",
    "tradeoff",
]
