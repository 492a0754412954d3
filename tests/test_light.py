"""Instant answers: commands that need no torch import neither torch nor pandas nor matplotlib; `import octprof`
stays light while `octprof.OctConv2d` / `octprof.octify` / `octprof.analyze` load on first use; progress bars go
to stderr only when it is a terminal."""

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "pandas", "matplotlib")

# Each command runs in one fresh interpreter, one after the other; after each, the heavy modules are looked up.
NO_TORCH_COMMANDS = [
    ["--help"],
    *[[name, "--help"] for name in ("table1", "layer", "gate", "plot", "table", "list", "paper", "bench", "calibrate")],
    *[["plot", name, "--help"] for name in ("tradeoff", "gains", "breakdown")],
    ["table1"],
    ["table1", "--alpha", "0:1:0.25", "--format", "json"],
    ["layer", "--in-channels", "64", "--out-channels", "128", "--stride", "2"],
    ["layer", "--in-channels", "64", "--out-channels", "64", "--format", "csv"],
    ["list"],
    ["list", "--columns", "all", "--format", "json"],
    ["list", "--filter", "resnet*"],
    ["paper", "--published"],
    ["paper", "--published", "--table", "2", "--format", "json"],
]

PROBE = """
import json, sys
from octprof.cli import main
out = []
for args in json.loads(sys.argv[1]):
    try:
        main.main(args, prog_name="octprof", standalone_mode=False)
    except SystemExit:
        pass
    out.append([m for m in HEAVY if m in sys.modules])
sys.__stderr__.write("PROBE" + json.dumps(out) + "\\n")
""".replace("HEAVY", repr(HEAVY))


def _env(**extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("OCTPROF_PROGRESS", None)
    return env


def test_no_torch_commands_import_no_torch_pandas_matplotlib():
    r = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(NO_TORCH_COMMANDS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    loaded = json.loads(r.stderr.split("PROBE", 1)[1])
    assert len(loaded) == len(NO_TORCH_COMMANDS)
    heavy = {" ".join(cmd): mods for cmd, mods in zip(NO_TORCH_COMMANDS, loaded) if mods}
    assert not heavy, f"commands that imported heavy modules (first listed is the culprit): {heavy}"


def test_list_shows_every_zoo_entry_without_building_one():
    r = subprocess.run(
        [sys.executable, "-m", "octprof", "list", "--columns", "all", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    from octprof.zoo import get_entry, list_models

    assert [x["arch"] for x in rows] == list_models()
    r50 = next(x for x in rows if x["arch"] == "resnet50")
    e = get_entry("resnet50")
    assert r50["vanilla"] == "layer4.*" and r50["stride_pool"] == " ".join(e.stride_pool) == "layer4.0.conv2"
    assert r50["description"] == e.description and "(3, 4, 6, 3)" in r50["description"]


def test_zoo_factories_are_named_and_build_on_first_use():
    from octprof.zoo import FactoryRef, ZooEntry, get_entry

    e = get_entry("resnet26")
    assert isinstance(e.factory, FactoryRef) and e.factory.ref == "octprof.zoo.models:preact_resnet"
    own = ZooEntry("mine", factory=lambda: "built")  # a callable stays a callable
    assert own.factory() == "built"


def test_import_octprof_is_light_and_exports_load_lazily():
    code = (
        "import sys, octprof\n"
        "assert not [m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules], 'import octprof is heavy'\n"
        "assert {'OctConv2d', 'octify', 'analyze'} <= set(dir(octprof)) <= set(dir(octprof)) | set(octprof.__all__)\n"
        "from octprof import OctConv2d\n"
        "import octprof.nn\n"
        "assert OctConv2d is octprof.nn.OctConv2d and 'torch' in sys.modules\n"
        "try:\n    octprof.no_such_name\nexcept AttributeError as e:\n    assert 'no_such_name' in str(e)\n"
        "else:\n    raise SystemExit('no AttributeError')\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_top_level_octify_and_analyze():
    import torch
    from torch import nn

    import octprof

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1)
    ).eval()
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(octprof.octify(model, alpha=0.0, input_size=16, batch=2)(x), model(x))
    octave = octprof.octify(model, alpha=0.5, input_size=16)
    assert octave(x).shape == (2, 4, 16, 16)
    assert sum(isinstance(m, octprof.OctConv2d) for m in octave.modules()) == 2
    # The stem conv stays vanilla (3·8·9·16² = 55,296); the middle conv takes a vanilla map and splits its output
    # 4 + 4: H→H 8·4·9·256 = 73,728 + H→L on the pooled 8×8 map 8·4·9·64 = 18,432; the last conv feeds the
    # output, so it gives a vanilla map: H→H 4·4·256 = 4,096 + L→H 4·4·64 = 1,024.  Vanilla: 55,296 +
    # 8·8·9·256 = 147,456 + 8·4·256 = 8,192.
    assert octprof.analyze(model, alpha=0.5, input_size=16).total()["macs"] == 55_296 + 73_728 + 18_432 + 5_120
    assert octprof.analyze(model, alpha=0.0, input_size=16).total()["macs"] == 55_296 + 147_456 + 8_192


# ------------------------------------------------------------------------------------------------------ progress


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize("tty", [True, False])
def test_progress_bar_only_on_a_terminal(tty, monkeypatch):
    from octprof.progress import progress, progress_enabled

    monkeypatch.delenv("OCTPROF_PROGRESS", raising=False)
    stream = _Stream(tty)
    assert progress_enabled(stream) is tty
    assert list(progress(["a", "b", "c"], desc="pricing", unit="net", stream=stream)) == ["a", "b", "c"]
    if tty:
        assert "pricing" in stream.getvalue() and "/3" in stream.getvalue()
    else:
        assert stream.getvalue() == ""
    bar = progress(total=2, desc="bench", stream=stream)  # by hand, as bench drives it
    bar.update()
    bar.set_description("bench resnet50")
    bar.close()
    assert ("bench" in stream.getvalue()) is tty


@pytest.mark.parametrize("value, shown", [("1", True), ("on", True), ("0", False), ("off", False)])
def test_progress_environment_override(value, shown, monkeypatch):
    from octprof.progress import progress_enabled

    monkeypatch.setenv("OCTPROF_PROGRESS", value)
    assert progress_enabled(_Stream(not shown)) is shown


def _table_stderr(tty: bool) -> str:
    """stderr of `octprof table` on a small zoo network, through a pseudo-terminal or a pipe."""
    args = [sys.executable, "-m", "octprof", "table", "--arch", "resnet26", "--input-size", "32", "--alpha", "0,0.5"]
    if not tty:
        r = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=300)
        assert r.returncode == 0, r.stderr
        return r.stderr
    leader, follower = pty.openpty()
    try:
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=follower, cwd=ROOT, env=_env())
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert p.wait(timeout=300) == 0
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_table_progress_on_a_terminal_silent_on_a_pipe():
    assert "pricing" in _table_stderr(tty=True)
    assert "pricing" not in _table_stderr(tty=False)


def test_network_table_progress_steps_once_per_network_and_alpha(monkeypatch):
    from octprof.analysis import Network
    from octprof.report import network_table

    seen = []

    def bar(steps):  # what the CLI's progress bar is given: one step per (network, α), consumed to the end
        assert len(steps) == 6
        for k in steps:
            seen.append((k, len(priced)))
            yield k
        seen.append(("end", len(priced)))

    priced = []
    real = Network.analyze

    def counting(self, alpha, *a, **kw):
        priced.append(alpha)
        return real(self, alpha, *a, **kw)

    monkeypatch.setattr(Network, "analyze", counting)
    df = network_table(["tests.gate_models:tiny"] * 2, [0, 0.25, 0.5], input_size=16, progress=bar)
    assert len(df) == 6
    # each network prices α = 0 as its base, then every α of the grid; a step is asked for after each of the grid
    assert [k for k, _ in seen] == [0, 1, 2, 3, 4, 5, "end"]
    assert [n for _, n in seen] == [0, 2, 3, 4, 6, 7, 8]


def test_an_entry_registered_first_does_not_hide_the_zoo():
    code = (
        "from octprof.zoo import ZooEntry, list_models, register\n"
        "register(ZooEntry('mine', factory='tests.gate_models:tiny'))\n"
        "names = list_models()\n"
        "assert names[0] == 'mine' and 'resnet50' in names and 'i3d_resnet50' in names, names\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
