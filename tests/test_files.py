"""Files are never damaged: atomic writes through symlinks, device nodes and FIFOs left in place, ``-`` for
stdout, an output that is also an input refused, concurrent gate updates serialised by a lock file, no temporary
file left by an interrupted or killed writer, long names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from octprof.cli import main
from octprof.core.errors import OctprofError
from octprof.core.files import check_output, locked, same_file, target, write_atomic

ROOT = Path(__file__).resolve().parents[1]
TINY = "tests.gate_models:tiny"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------------------------------------ the writer


def test_write_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "data" / "real.csv"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert oct(real.stat().st_mode & 0o777) == oct(0o640)  # the target's permissions kept
    assert names(tmp_path) == ["data", "link.csv"] and names(real.parent) == ["real.csv"]  # temp in the target's folder


def test_write_through_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "made.json")
    write_atomic(link, "{}")
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "{}"


def test_a_character_device_is_written_not_replaced(tmp_path):
    link = tmp_path / "sink"
    link.symlink_to("/dev/null")
    before = os.stat("/dev/null")
    write_atomic("/dev/null", "text")
    write_atomic(link, b"bytes")
    after = os.stat("/dev/null")
    assert (after.st_ino, after.st_rdev, after.st_mode) == (before.st_ino, before.st_rdev, before.st_mode)
    assert link.is_symlink()


def test_a_fifo_is_written_in_place_and_one_without_reader_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OctprofError, match=r"--output: .*a FIFO that no process reads"):
        write_atomic(fifo, "x")
    got: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    t = threading.Thread(target=reader)
    t.start()
    deadline = time.monotonic() + 10
    while True:  # the reader opens the FIFO in its own time
        try:
            write_atomic(fifo, "through the pipe\n")
            break
        except OctprofError:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    t.join(10)
    assert got == [b"through the pipe\n"]
    assert Path(fifo).is_fifo()  # still a FIFO, not a regular file


@pytest.mark.parametrize("kind", ["folder", "socket"])
def test_non_regular_targets_are_refused_clearly(tmp_path, kind):
    path = tmp_path / "thing"
    if kind == "folder":
        path.mkdir()
    else:
        import socket

        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
    with pytest.raises(OctprofError, match=f"--output: got .*is a {kind}"):
        write_atomic(path, "x")
    assert names(tmp_path) == ["thing"]


def test_dash_is_standard_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_atomic("-", "to stdout\n")
    assert capsys.readouterr().out == "to stdout\n"
    assert names(tmp_path) == []  # no file named '-'
    r = run("table1", "--alpha", "0,0.5", "--format", "csv", "-o", "-")
    assert r.exit_code == 0 and r.output.splitlines()[0].startswith("alpha,")
    assert names(tmp_path) == []


def test_a_250_character_name_works(tmp_path):
    path = tmp_path / ("n" * 246 + ".csv")  # 250 characters: the temporary name must not be longer
    write_atomic(path, "a,b\n")
    assert path.read_text() == "a,b\n" and names(tmp_path) == [path.name]


def test_errors_name_the_parameter(tmp_path):
    with pytest.raises(OctprofError, match=r"--profile: got .*folder .* does not exist"):
        write_atomic(tmp_path / "no" / "p.json", "x", param="--profile")
    ro = tmp_path / "ro.txt"
    ro.write_text("keep")
    os.chmod(ro, 0o444)
    if os.access(ro, os.W_OK):  # root writes anything
        pytest.skip("running as root")
    with pytest.raises(OctprofError, match="read-only"):
        write_atomic(ro, "x")


def test_target_kinds(tmp_path):
    assert target("-") == ("-", "stdout")
    assert target(tmp_path / "new.txt") == (str(tmp_path / "new.txt"), "replace")
    assert target("/dev/null")[1] == "direct"


def test_same_file_sees_links_and_relative_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("a.json").write_text("{}")
    Path("l.json").symlink_to("a.json")
    os.link("a.json", "h.json")
    assert same_file("a.json", "l.json") and same_file("./a.json", str(tmp_path / "h.json"))
    assert not same_file("a.json", "-") and not same_file("a.json", "b.json")
    with pytest.raises(OctprofError, match=r"--output: got 'l.json'; is the same file as --baseline"):
        check_output("l.json", "--output", {"--baseline": "a.json"})


# ----------------------------------------------------------------------------------- interrupted and killed

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from octprof.core.files import write_atomic

    real_fsync = os.fsync

    def slow_fsync(fd):
        print("writing", flush=True)
        time.sleep(30)  # killed in here, the temporary file written but not yet renamed
        real_fsync(fd)

    os.fsync = slow_fsync
    write_atomic(sys.argv[1], "new" * 100000)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_killed_writer_leaves_the_old_file_and_no_temporary(tmp_path, sig):
    out = tmp_path / "out.json"
    out.write_text("old")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE, env=env, cwd=tmp_path)
    assert p.stdout is not None and p.stdout.readline() == b"writing\n"
    assert len(names(tmp_path)) == 2  # the temporary file exists now
    p.send_signal(sig)
    rc = p.wait(30)
    assert rc != 0
    if sig != signal.SIGINT:
        assert rc == -sig  # the signal still ends the process as it would have
    assert out.read_text() == "old"
    assert names(tmp_path) == ["out.json"]


def test_a_signal_whose_handler_returns_still_aborts_the_write(tmp_path, monkeypatch):
    """SIGTERM during the write: the temporary file goes, the caller's own handler still sees the signal, and
    the write reports that it did not happen."""
    out = tmp_path / "out.txt"
    out.write_text("old")
    seen: list[int] = []
    real_fsync = os.fsync

    def fsync(fd):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # interrupted by the handler
        real_fsync(fd)

    old = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(InterruptedError, match="interrupted by SIGTERM; the file was left as it was"):
            write_atomic(out, "new")
    finally:
        signal.signal(signal.SIGTERM, old)
    assert seen == [signal.SIGTERM]
    assert out.read_text() == "old" and names(tmp_path) == ["out.txt"]


# ---------------------------------------------------------------------------------------------- the CLI


def test_output_extension_sets_the_format_and_unknown_ones_are_refused(tmp_path):
    r = run("table1", "-o", tmp_path / "out.xlsx")
    assert r.exit_code == 1 and "--output: got" in r.output and "unknown extension '.xlsx'" in r.output
    assert names(tmp_path) == []
    r = run("table1", "--format", "csv", "-o", tmp_path / "out.json")
    assert r.exit_code == 1 and "the extension says json but --format is csv" in r.output
    r = run("table1", "-o", tmp_path / "out.json")
    assert r.exit_code == 0 and json.loads((tmp_path / "out.json").read_text())[0]["alpha"] == 0
    r = run("table1", "--format", "csv", "-o", tmp_path / "out.dat")  # an explicit format: any other name
    assert r.exit_code == 0 and (tmp_path / "out.dat").read_text().startswith("alpha,")
    r = run("table1", "-o", tmp_path / "plain")  # no extension: a text table
    assert r.exit_code == 0 and "flops_ratio_pct" in (tmp_path / "plain").read_text()


def test_cli_output_to_dev_null_and_through_a_symlink(tmp_path):
    r = run("table1", "-o", "/dev/null")
    assert r.exit_code == 0, r.output
    assert Path("/dev/null").is_char_device()
    real = tmp_path / "real.csv"
    real.write_text("old")
    (tmp_path / "link.csv").symlink_to(real)
    r = run("table1", "-o", tmp_path / "link.csv")
    assert r.exit_code == 0 and real.read_text().startswith("alpha,") and (tmp_path / "link.csv").is_symlink()


def test_gate_output_over_its_own_baseline_is_refused(tmp_path):
    b = tmp_path / "b.json"
    assert run("gate", "--baseline", b, "--update", "--arch", TINY, "--alpha", "0", "--input-size", "8").exit_code == 0
    before = b.read_bytes()
    (tmp_path / "alias.json").symlink_to(b)
    for out in (b, tmp_path / "alias.json"):
        r = run("gate", "--baseline", b, "--output", out)
        assert r.exit_code == 1 and "is the same file as --baseline" in r.output
        assert len(r.output.strip().splitlines()) == 1
    assert b.read_bytes() == before


def test_plot_data_over_its_own_figure_is_refused(tmp_path):
    fig = tmp_path / "x.png"
    r = run("plot", "gains", "-o", fig, "--data", fig)
    assert r.exit_code == 1 and "--data: got" in r.output and "same file as --output" in r.output
    assert names(tmp_path) == []


# --------------------------------------------------------------------------------- concurrent gate updates


def test_lock_serialises_holders_and_cleans_up(tmp_path):
    path = tmp_path / "b.json"
    order: list[str] = []
    messages: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with locked(path):
            order.append("first in")
            first_in.set()
            time.sleep(0.4)
            order.append("first out")

    t = threading.Thread(target=first)
    t.start()
    first_in.wait(10)
    with locked(path, notify=messages.append):
        order.append("second in")
    t.join(10)
    assert order == ["first in", "first out", "second in"]
    assert messages and "waiting for another update" in messages[0]
    assert names(tmp_path) == []  # the lock file is gone
    with (
        pytest.raises(OctprofError, match=r"--baseline: .* is being updated by another process"),
        locked(path),
        locked(path, timeout=0.2),
    ):
        pass


UPDATER = textwrap.dedent(
    """
    import sys, time
    from octprof import gate
    from octprof.cli import main

    real_save = gate.save

    def slow_save(baseline, path):  # widen the read-modify-write window: without the lock one update is lost
        time.sleep(1.5)
        real_save(baseline, path)

    gate.save = slow_save
    main(sys.argv[1:])
    """
)


def test_two_concurrent_gate_updates_both_land(tmp_path):
    b = tmp_path / "b.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    common = ["gate", "--baseline", str(b), "--update", "--input-size", "8"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", UPDATER, *common, "--arch", TINY, "--alpha", a],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for a in ("0", "0.5")
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    alphas = sorted(e["alpha"] for e in json.loads(b.read_text())["entries"])
    assert alphas == [0.0, 0.5]  # neither update lost
    assert names(tmp_path) == ["b.json"]  # no lock or temporary file left
