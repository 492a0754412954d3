"""Rendering records and writing files atomically."""

import json
import os

import pytest

from octprof.core.errors import OctprofError
from octprof.core.fmt import render, write_atomic
from octprof.core.grid import parse_grid

RECS = [{"name": "a_b", "macs": 1234567, "ratio": 0.4375}, {"name": "c", "macs": 0, "ratio": None}]


def test_render_every_format():
    assert "1,234,567" in render(RECS, "table")
    assert render(RECS, "csv").splitlines() == ["name,macs,ratio", "a_b,1234567,0.4375", "c,0,"]
    assert json.loads(render(RECS, "json")) == RECS
    md = render(RECS, "markdown")
    assert md.splitlines()[1].startswith("|--") and "| a_b" in md
    tex = render(RECS, "latex")
    assert r"a\_b" in tex and "1{,}234{,}567" in tex
    with pytest.raises(OctprofError, match="format: got 'xml'; expected one of table, markdown"):
        render(RECS, "xml")


def test_parse_grid_list_and_range():
    assert parse_grid("0:1:0.125") == [i / 8 for i in range(9)]
    assert parse_grid("0, 0.5,0.5") == [0.0, 0.5]
    assert parse_grid("0:0.3:0.1") == [0.0, 0.1, 0.2, 0.3]  # decimal steps, end included


def test_write_atomic_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("old")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new" * 1000)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary left behind
