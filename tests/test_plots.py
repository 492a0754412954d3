"""Figures: the data each plot draws (lines' x and y, log axis, labels, legend), files, bad input, the CLI."""

import itertools
import json
import math
import os

import pytest
from click.testing import CliRunner
from matplotlib.colors import to_rgba

from octprof import plots
from octprof.cli import main
from octprof.core.errors import OctprofError
from octprof.core.gains import flops_ratio, memory_ratio
from octprof.report import network_table

FIG4_ARCHS = [
    "densenet121",
    "resnet26",
    "resnet50",
    "se_resnet50",
    "resnext50_32x4d",
    "resnet101",
    "resnext101_32x4d",
    "resnet200",
]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def legend_texts(fig):
    texts = []
    for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        if leg is not None:
            texts += [t.get_text() for t in leg.get_texts()]
    return texts


def line_by_label(ax, label):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


@pytest.fixture
def results_csv(tmp_path):
    p = tmp_path / "results.csv"
    p.write_text(
        "arch,alpha,top1,top5,label,input_size\n"
        "tests.gate_models:tiny,0,70.0,90.0,tiny net,16\n"
        "tests.gate_models:tiny,0.5,69.5,89.0,tiny net,16\n"
        "resnet26,0,73.2,,,64\n"
        "resnet26,0.25,76.1,,,64\n"
        "resnet26,0.5,75.5,,,64\n"
    )
    return p


# ------------------------------------------------------------------------------------------------ tradeoff


@pytest.fixture(scope="module")
def figure4():
    return plots.tradeoff()


def test_tradeoff_default_is_figure4_with_octprofs_flops(figure4):
    fig = figure4
    data = fig.octprof_data
    paper = plots.paper_figure4()
    assert list(dict.fromkeys(data["line"])) == FIG4_ARCHS
    assert len(data) == len(paper) == 33
    # y: the shipped top-1 accuracies, row for row
    assert data["y"].tolist() == paper["top1"].tolist()
    # x: octprof's own paper_flops at each row's input size, in GFLOPs
    r50 = network_table(["resnet50"], [0, 0.125, 0.25, 0.5, 0.75], input_size=224)
    got = data[data["arch"] == "resnet50"].sort_values("alpha")
    assert got["paper_flops"].tolist() == r50["paper_flops"].tolist()
    assert got["x"].tolist() == pytest.approx((r50["paper_flops"] / 1e9).tolist())
    # the paper prints 4.1 GFLOPs for ResNet-50 (Table 2)
    assert got["x"].iloc[0] == pytest.approx(4.1, abs=0.05)


def test_tradeoff_draws_each_line_on_a_log_axis_with_labels(figure4):
    fig = figure4
    (ax,) = fig.axes
    data = fig.octprof_data
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    assert "paper_flops" in ax.get_xlabel() and "GFLOPs" in ax.get_xlabel()
    assert ax.get_ylabel() == "top-1 accuracy (%)"
    assert "Figure 4" in fig.get_suptitle()
    for arch in FIG4_ARCHS:
        line = line_by_label(ax, arch)
        pts = data[data["line"] == arch].sort_values("alpha")
        assert list(line.get_xdata()) == pytest.approx(pts["x"].tolist())
        assert list(line.get_ydata()) == pytest.approx(pts["y"].tolist())
    assert legend_texts(fig) == [*FIG4_ARCHS, "α = 0 (vanilla)"]
    # α = 0: one marker per architecture in the series' colour with a black edge
    edged = [ln for ln in ax.get_lines() if to_rgba(ln.get_markeredgecolor()) == to_rgba("black")]
    assert len(edged) == len(FIG4_ARCHS)
    for ln in edged:
        ((x,), (y,)) = ln.get_xdata(), ln.get_ydata()
        (row,) = data[(data["x"] == x) & (data["y"] == y)].itertuples()
        assert row.baseline and to_rgba(ln.get_markerfacecolor()) == to_rgba(line_by_label(ax, row.line).get_color())
    # α written by every octave point
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == sorted(f"{a:g}" for a in data.loc[~data["baseline"], "alpha"])


def test_tradeoff_alpha_labels_do_not_overlap(figure4):
    """On the default Figure 4, no two α labels' rendered boxes intersect, no label covers a marker, and each label
    sits in its line's colour, near its point or joined to it by a leader line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure4)
    canvas.draw()
    renderer = canvas.get_renderer()
    (ax,) = figure4.axes
    boxes = [(t, t.get_window_extent(renderer)) for t in ax.texts]
    assert len(boxes) == 25
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"labels {a.get_text()} at {a.xy} and {b.get_text()} at {b.xy} overlap"
    frame = ax.get_window_extent(renderer)
    markers = [ax.transData.transform(p) for p in figure4.octprof_data[["x", "y"]].itertuples(index=False)]
    for t, box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        assert not any(box.contains(x, y) for x, y in markers), f"label {t.get_text()} covers a marker"
        line = figure4.octprof_data.loc[lambda d, t=t: (d["x"] == t.xy[0]) & (d["y"] == t.xy[1]), "line"].iloc[0]
        assert to_rgba(t.get_color()) == to_rgba(line_by_label(ax, line).get_color())
        far = math.hypot(*t.get_position()) > 3.5  # offset in points from the point
        assert t.arrow_patch.get_visible() == far


def test_tradeoff_default_size_is_a_paper_column(figure4):
    w, h = figure4.get_size_inches()
    assert w == pytest.approx(3.5) and h == pytest.approx(2.9)


def test_tradeoff_user_results_priced_by_octprof(results_csv):
    fig = plots.tradeoff(results_csv, convention="macs", title="mine", width=5, height=3)
    data = fig.octprof_data
    ax = fig.axes[0]
    assert fig.get_suptitle() == "mine"
    assert tuple(fig.get_size_inches()) == pytest.approx((5, 3))
    assert "macs" in ax.get_xlabel() and "GMACs" in ax.get_xlabel()
    assert list(dict.fromkeys(data["line"])) == ["tiny net", "resnet26"]  # label column, else the arch
    tiny = network_table(["tests.gate_models:tiny"], [0, 0.5], input_size=16)
    rows = data[data["line"] == "tiny net"]
    assert rows["macs"].tolist() == tiny["macs"].tolist()
    assert rows["x"].tolist() == pytest.approx((tiny["macs"] / 1e9).tolist())
    assert rows["y"].tolist() == [70.0, 69.5]
    r26 = network_table(["resnet26"], [0, 0.25, 0.5], input_size=64)
    assert data[data["arch"] == "resnet26"]["macs"].tolist() == r26["macs"].tolist()
    assert list(line_by_label(ax, "resnet26").get_ydata()) == [73.2, 76.1, 75.5]
    assert legend_texts(fig) == ["tiny net", "resnet26", "α = 0 (vanilla)"]


def test_tradeoff_top5_and_fvcore_convention(results_csv):
    fig = plots.tradeoff(results_csv, convention="fvcore_flops", accuracy="top5")
    data = fig.octprof_data
    assert fig.axes[0].get_ylabel() == "top-5 accuracy (%)"
    assert "fvcore_flops" in fig.axes[0].get_xlabel()
    assert data["y"].tolist() == [90.0, 89.0]  # rows without top5 are not drawn


def test_tradeoff_and_gains_take_dataframes():
    import pandas as pd

    df = pd.DataFrame({"arch": ["resnet26", "resnet26"], "alpha": [0, 0.5], "top1": [73.2, 75.5]})
    fig = plots.tradeoff(df, input_size=32)
    t = network_table(["resnet26"], [0, 0.5], input_size=32)
    assert fig.octprof_data["paper_flops"].tolist() == t["paper_flops"].tolist()
    bench = pd.DataFrame({"arch": ["resnet26"], "alpha": [0.5], "speedup": [1.25]})
    d = plots.gains(bench=bench).octprof_data
    assert d[d["source"] == "bench"]["y"].tolist() == pytest.approx([80.0])
    with pytest.raises(OctprofError, match="missing column"):
        plots.tradeoff(df.drop(columns="top1"))


def test_tradeoff_same_arch_at_two_sizes_gets_two_lines(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("arch,alpha,top1,input_size\nresnet26,0,70,32\nresnet26,0.5,71,32\nresnet26,0,72,64\n")
    fig = plots.tradeoff(p)
    assert list(dict.fromkeys(fig.octprof_data["line"])) == ["resnet26 @ 32", "resnet26 @ 64"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("arch,alpha\nresnet26,0\n", "missing column(s) top1"),
        ("model,top1\nresnet26,70\n", "missing column(s) arch, alpha"),
        ("arch,alpha,top1\nresnet26,0,high\n", "line 2: top1: got 'high'"),
        ("arch,alpha,top1\nresnet26,0,70\nresnet26,0.5,\n", "line 3: top1"),
        ("arch,alpha,top1\nresnet26,0,170\n", "a number in [0, 100]"),
        ("arch,alpha,top1\nresnet26,1.5,70\n", "line 2: alpha: got '1.5'"),
        ("arch,alpha,top1\nresnet26,0,70,extra\n", "results"),
        ("arch,alpha,top1\n", "no rows"),
        ("", "the file is empty"),
        ("arch,alpha,top1,input_size\nresnet26,0,70,big\n", "line 2: input_size"),
    ],
)
def test_tradeoff_bad_results_are_one_line_errors(tmp_path, text, message):
    p = tmp_path / "r.csv"
    p.write_text(text)
    with pytest.raises(OctprofError) as e:
        plots.tradeoff(p, input_size=32)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_tradeoff_unknown_architecture_names_the_line(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("arch,alpha,top1\nresnet26,0,70\nresnet5O,0,70\n")
    with pytest.raises(OctprofError, match=r"line 3: arch: got 'resnet5O'.*Did you mean"):
        plots.tradeoff(p, input_size=32)
    p.write_text("arch,alpha,top1\nno_such_module_xyz:net,0,70\n")
    with pytest.raises(OctprofError, match="cannot import module 'no_such_module_xyz'"):
        plots.tradeoff(p)
    p.write_text("arch,alpha,top1\ntorchvision:resnet1800,0,70\n")
    with pytest.raises(OctprofError, match="no such torchvision"):
        plots.tradeoff(p)


def test_tradeoff_missing_file_and_bad_options(tmp_path):
    with pytest.raises(OctprofError, match="no such file"):
        plots.tradeoff(tmp_path / "nope.csv")
    with pytest.raises(OctprofError, match="convention: got 'flops'"):
        plots.tradeoff(convention="flops")
    with pytest.raises(OctprofError, match="accuracy"):
        plots.tradeoff(accuracy="top3")
    with pytest.raises(OctprofError, match="width"):
        plots.tradeoff(width=-1)


# --------------------------------------------------------------------------------------------------- gains


def test_gains_table1_curves_and_network_points():
    fig = plots.gains(["resnet26", "tests.gate_models:tiny"], [0, 0.25, 0.5], input_size=32)
    data = fig.octprof_data
    top, bottom = fig.axes
    assert top.get_ylabel() == "macs (% of α = 0)"
    assert bottom.get_ylabel() == "feature-map memory (% of α = 0)"
    assert bottom.get_xlabel().startswith("α")
    # Table 1's curves, drawn over α in [0, 1]
    t1 = line_by_label(top, "Table 1 (one layer, α_in = α_out)")
    xs = list(t1.get_xdata())
    assert xs[0] == 0 and xs[-1] == 1
    assert list(t1.get_ydata()) == pytest.approx([100 * flops_ratio(a) for a in xs])
    m1 = line_by_label(bottom, "Table 1 (one layer, α_in = α_out)")
    assert list(m1.get_ydata()) == pytest.approx([100 * memory_ratio(a) for a in m1.get_xdata()])
    # each network's points: macs_rel on top, fmap_elems_rel below
    for arch, size in (("resnet26", 32), ("tests.gate_models:tiny", 32)):
        t = network_table([arch], [0, 0.25, 0.5], input_size=size)
        assert list(line_by_label(top, arch).get_xdata()) == [0, 0.25, 0.5]
        assert list(line_by_label(top, arch).get_ydata()) == pytest.approx((100 * t["macs_rel"]).tolist())
        assert list(line_by_label(bottom, arch).get_ydata()) == pytest.approx((100 * t["fmap_elems_rel"]).tolist())
        got = data[(data["arch"] == arch) & (data["panel"] == "flops")]["y"].tolist()
        assert got == pytest.approx((100 * t["macs_rel"]).tolist())
    assert legend_texts(fig) == ["Table 1 (one layer, α_in = α_out)", "resnet26", "tests.gate_models:tiny"]
    assert tuple(fig.get_size_inches()) == pytest.approx((3.5, 4.2))


def test_gains_convention_and_bench_time_points(tmp_path):
    bench = tmp_path / "bench.csv"
    bench.write_text("arch,alpha,device,latency_ms,speedup\nresnet26,0,cpu,10,1.0\nresnet26,0.5,cpu,8,1.25\n")
    fig = plots.gains("resnet26", "0,0.5", bench=bench, convention="paper_flops", input_size=32)
    top = fig.axes[0]
    assert top.get_ylabel() == "paper_flops (% of α = 0)"
    t = network_table(["resnet26"], [0, 0.5], input_size=32)
    assert list(line_by_label(top, "resnet26").get_ydata()) == pytest.approx((100 * t["paper_flops_rel"]).tolist())
    time = line_by_label(top, "resnet26 time, cpu")
    assert list(time.get_xdata()) == [0, 0.5]
    assert list(time.get_ydata()) == pytest.approx([100.0, 80.0])  # 100 / speedup
    assert time.get_marker() == "x"
    assert "measured time (1 / speedup)" in legend_texts(fig)
    rows = fig.octprof_data[fig.octprof_data["source"] == "bench"]
    assert rows["y"].tolist() == pytest.approx([100.0, 80.0])


def test_gains_bench_json_and_table1_only(tmp_path):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps([{"arch": "x", "alpha": 0.5, "speedup": 2.0}]))
    fig = plots.gains(bench=bench)
    d = fig.octprof_data
    assert set(d["source"]) == {"table1", "bench"}
    assert d[d["source"] == "bench"]["y"].tolist() == [50.0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("arch,alpha\nresnet26,0\n", "missing column(s) speedup"),
        ("arch,alpha,speedup\nresnet26,0,fast\n", "speedup: got 'fast'"),
        ("arch,alpha,speedup\nresnet26,0,-1\n", "positive"),
        ("arch,alpha,speedup\nresnet26,0,\n", "no row has a speedup"),
    ],
)
def test_gains_bad_bench(tmp_path, text, message):
    p = tmp_path / "b.csv"
    p.write_text(text)
    with pytest.raises(OctprofError) as e:
        plots.gains(bench=p)
    assert message in str(e.value)


def test_gains_unknown_arch():
    with pytest.raises(OctprofError, match="arch: got 'resnet5'"):
        plots.gains(["resnet5"])


# ----------------------------------------------------------------------------------------------- breakdown


def test_breakdown_by_stage_sums_to_the_network_total():
    from octprof.analysis import Network

    fig = plots.breakdown("resnet26", 0.5, input_size=64)
    data = fig.octprof_data
    meta = fig.octprof_meta
    assert meta["groups"] == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    total = Network("resnet26", 64).analyze(0.5).total()["paper_flops"]
    assert int(data["value"].sum()) == total == meta["total"]
    # the paper keeps the last stage vanilla: layer4 has vanilla convs, layer1 has all four paths
    cats = data.groupby("group")["category"].apply(set)
    assert {"h2h", "h2l", "l2h", "l2l"} <= cats["layer1"]
    assert "vanilla conv" in cats["layer4"] and "l2l" not in cats["layer4"]
    assert cats["stem"] <= {"vanilla conv", "other"}
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == meta["groups"]
    assert "paper_flops" in ax.get_xlabel() and "MFLOPs" in ax.get_xlabel()
    # the bars drawn are the data: each segment's width and left edge, in the axis unit
    drawn = sorted((round(p.get_x(), 9), round(p.get_width(), 9)) for p in ax.patches if p.get_width() > 0)
    want = sorted((round(r.left, 9), round(r.width, 9)) for r in data.itertuples())
    assert drawn == want
    assert data["width"].sum() == pytest.approx(total / meta["scale"])
    assert legend_texts(fig) == ["h2h", "h2l", "l2h", "l2l", "glue", "vanilla conv", "other"]


def test_breakdown_by_layer_macs_matches_by_layer():
    from octprof.analysis import Network

    an = Network("resnet26", 32).analyze(0.25)
    fig = plots.breakdown(an, by="layer", convention="macs")
    per_layer = fig.octprof_data.groupby("group")["value"].sum().to_dict()
    layers = an.by_layer()
    want = layers[layers["op"] == "conv2d"].groupby("layer", sort=False)["macs"].sum()
    want = {**want[want > 0].to_dict(), "other": int(layers.loc[layers["op"] != "conv2d", "macs"].sum())}
    assert want["other"] == 2048 * 1000  # the classifier: 2,048 features × 1,000 classes
    assert fig.octprof_meta["groups"] == list(want)  # network order; the fc layer folded into 'other'
    assert per_layer == want
    assert "α = 0.25" in fig.get_suptitle() and "convolution" in fig.get_suptitle()


def test_breakdown_by_layer_shows_convolutions_and_folds_the_rest():
    from octprof.analysis import Network

    an = Network("resnet26", 64).analyze(0.5)
    fig = plots.breakdown(an, by="layer")  # paper_flops: BN costs 0, ReLU and pooling do not
    layers = an.by_layer()
    convs = list(dict.fromkeys(layers.loc[layers["op"] == "conv2d", "layer"]))
    groups = fig.octprof_meta["groups"]
    assert groups == [*convs, "other"]  # every conv in network order, then one bar for everything else
    assert len(convs) == 29  # ResNet-26: stem + 8 blocks × 3 + 4 projection shortcuts
    per_group = fig.octprof_data.groupby("group")["value"].sum()
    rest = layers.loc[~layers["layer"].isin(convs), "paper_flops"].sum()
    assert per_group["other"] == rest > 0
    assert int(per_group.sum()) == an.total()["paper_flops"]
    # the height follows the number of bars: 0.75 in + 0.1 in per bar
    assert fig.get_size_inches()[1] == pytest.approx(0.75 + 0.1 * len(groups))
    (ax,) = fig.axes
    assert ax.get_yticklabels()[-1].get_text() == "other"


def test_breakdown_fixed_axis_across_alphas():
    from octprof.analysis import Network

    net = Network("resnet26", 64)
    base = plots.breakdown(net.analyze(0.0))
    xmax = max(base.octprof_meta["totals"].values())
    figs = [plots.breakdown(net.analyze(a), xmax=xmax) for a in (0.0, 0.25, 0.75)]
    limits = {f.axes[0].get_xlim() for f in figs}
    assert len(limits) == 1 and next(iter(limits))[1] == pytest.approx(xmax / figs[0].octprof_meta["scale"] * 1.04)
    assert {f.octprof_meta["unit"] for f in figs} == {base.octprof_meta["unit"]}
    assert {f.axes[0].get_xlabel() for f in figs} == {base.axes[0].get_xlabel()}
    with pytest.raises(OctprofError, match="xmax: got -1"):
        plots.breakdown(net.analyze(0.5), xmax=-1)


def test_stage_of_picks_a_depth_per_naming_scheme():
    resnet = ["conv1", "bn1", "maxpool", "layer1.0.conv1", "layer2.0.conv1", "layer2.1.add", "avgpool", "fc"]
    assert plots.stage_of(resnet) == {
        "conv1": "stem",
        "bn1": "stem",
        "maxpool": "stem",
        "layer1.0.conv1": "layer1",
        "layer2.0.conv1": "layer2",
        "layer2.1.add": "layer2",
        "avgpool": "head",
        "fc": "head",
    }
    dense = [
        "features.conv0",
        "features.denseblock1.denselayer1.conv1",
        "features.transition1.conv",
        "features.denseblock2.denselayer1.conv1",
        "features.norm5",
        "classifier",
    ]
    assert list(plots.stage_of(dense).values()) == [
        "stem",
        "features.denseblock1",
        "features.transition1",
        "features.denseblock2",
        "head",
        "head",
    ]
    # one container holding most layers ('features', 'classifier'): the stages are one level down
    mobile = [f"features.{i}.conv{j}" for i in range(3) for j in (1, 2, 3)]
    mobile += ["between", *(f"features.3.conv{j}" for j in (1, 2, 3)), "classifier.1"]
    stages = list(dict.fromkeys(plots.stage_of(mobile).values()))
    assert stages == ["features.0", "features.1", "features.2", "between", "features.3", "head"]
    assert plots.stage_of(resnet, depth=2)["layer2.1.add"] == "layer2.1"
    with pytest.raises(OctprofError, match="depth"):
        plots.stage_of(resnet, depth=0)


def test_breakdown_bad_input():
    with pytest.raises(OctprofError, match="by: got 'block'"):
        plots.breakdown("resnet26", by="block")
    with pytest.raises(OctprofError, match="alpha"):
        plots.breakdown("resnet26", alpha=2)
    with pytest.raises(OctprofError, match="arch: got 'resnet2'"):
        plots.breakdown("resnet2")


# ------------------------------------------------------------------------------------------------------ save


@pytest.fixture(scope="module")
def small_fig():
    return plots.gains()


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_save_writes_each_format_atomically(tmp_path, small_fig, ext, magic):
    path = tmp_path / f"fig.{ext}"
    path.write_bytes(b"old")
    assert plots.save(small_fig, path) == str(path)
    assert path.read_bytes().startswith(magic)
    assert os.listdir(tmp_path) == [f"fig.{ext}"]  # no temporary file left


@pytest.mark.parametrize("name", ["fig.jpg2", "fig", "fig.docx"])
def test_save_refuses_formats_matplotlib_cannot_write(tmp_path, small_fig, name):
    with pytest.raises(OctprofError) as e:
        plots.save(small_fig, tmp_path / name)
    assert "output: got" in str(e.value) and "expected .png, .svg or .pdf" in str(e.value)
    assert os.listdir(tmp_path) == []


def test_save_missing_folder(tmp_path, small_fig):
    with pytest.raises(OctprofError, match="does not exist"):
        plots.save(small_fig, tmp_path / "no" / "fig.png")


# ------------------------------------------------------------------------------------------------------- CLI


def test_cli_plot_tradeoff_with_results_and_data(tmp_path, results_csv):
    out, data = tmp_path / "t.svg", tmp_path / "t.csv"
    r = run("plot", "tradeoff", "--results", results_csv, "-o", out, "--data", data, "--convention", "macs")
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("<?xml")
    lines = data.read_text().splitlines()
    assert lines[0].startswith("line,arch,alpha,input_size,x,y,baseline")
    assert len(lines) == 6


def test_cli_plot_gains_and_breakdown(tmp_path):
    r = run(
        "plot",
        "gains",
        "--arch",
        "resnet26",
        "--alpha",
        "0,0.5",
        "--input-size",
        "32",
        "-o",
        tmp_path / "g.png",
        "--width",
        "3",
        "--height",
        "3",
        "--title",
        "gains",
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    data = tmp_path / "b.json"
    r = run(
        "plot",
        "breakdown",
        "--arch",
        "resnet26",
        "--alpha",
        "0.25",
        "--input-size",
        "32",
        "--by",
        "stage",
        "-o",
        tmp_path / "b.pdf",
        "--data",
        data,
        "--convention",
        "fvcore_flops",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(data.read_text())
    assert {r["group"] for r in rows} >= {"layer1", "layer4"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["gains", "-o", "{tmp}/g.jpg2"], "expected .png, .svg or .pdf"),
        (["breakdown", "--arch", "resnet5", "-o", "{tmp}/b.png"], "arch: got 'resnet5'"),
        (["tradeoff", "--results", "{tmp}/missing.csv", "-o", "{tmp}/t.png"], "no such file"),
        (["gains", "--bench", "{tmp}/missing.csv", "-o", "{tmp}/g.png"], "no such file"),
        (["gains", "-o", "{tmp}/nofolder/g.png"], "does not exist"),
    ],
)
def test_cli_plot_errors_are_one_line(tmp_path, args, message):
    r = run("plot", *[a.format(tmp=tmp_path) for a in args])
    assert r.exit_code == 1
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_cli_plot_output_is_required():
    r = run("plot", "gains")
    assert r.exit_code == 2 and "--output" in r.output
