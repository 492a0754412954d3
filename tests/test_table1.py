"""The paper's Table 1, reproduced from the closed form."""

import pytest

from octprof.core.gains import PAPER_TABLE1, flops_ratio, memory_ratio, table1

# Chen et al. 2019, Table 1, as printed (percent): alpha -> (FLOPs, memory)
PRINTED = {
    0.0: (100, 100),
    0.125: (82, 91),
    0.25: (67, 81),
    0.5: (44, 63),
    0.75: (30, 44),
    0.875: (26, 35),
    1.0: (25, 25),
}


@pytest.mark.parametrize("alpha", list(PRINTED))
def test_table1_within_one_point_of_the_paper(alpha):
    flops, mem = PRINTED[alpha]
    assert abs(100 * flops_ratio(alpha) - flops) <= 1
    assert abs(100 * memory_ratio(alpha) - mem) <= 1


def test_table1_rows_one_decimal_and_the_paper_value():
    rows = {r["alpha"]: r for r in table1()}
    assert rows[0.875]["memory_ratio_pct"] == 34.4 and rows[0.875]["paper_memory_pct"] == 35
    assert rows[0.5]["flops_ratio_pct"] == 43.8 and rows[0.5]["paper_flops_pct"] == 44
    assert set(rows) == set(PAPER_TABLE1)
    assert table1([0.3])[0]["paper_flops_pct"] is None


def test_general_ratio_sums_the_four_paths():
    # alpha_in = 0.5, alpha_out = 0: h2h 0.5 + l2h 0.5/4 = 0.625
    assert flops_ratio(0.5, 0.0) == 0.625
    assert flops_ratio(0.0, 0.5) == 0.625
    assert flops_ratio(1.0, 1.0) == 0.25


def test_closed_form_ratio_is_the_limit_of_the_integer_counts():
    from octprof.core import OctConvSpec, layer_cost

    for alpha in (0.125, 0.25, 0.5, 0.75):
        spec = OctConvSpec(256, 256, 3, 32, alpha_in=alpha, alpha_out=alpha)
        ratio = layer_cost(spec).macs / layer_cost(spec.vanilla()).macs
        assert ratio == pytest.approx(flops_ratio(alpha), abs=1e-12)
