"""benchmarks/_results.py: the helpers every benchmark script measures with."""

import pytest

from benchmarks._results import run_json_child


def test_run_json_child_returns_the_last_json_line_and_the_childs_peak_memory(tmp_path):
    # the child prints a progress line, then its result; it holds ~300 MB at its peak
    (tmp_path / "child_mod.py").write_text(
        "import json, sys\n"
        "print('warming up')\n"
        "block = bytearray(300 * 1024 * 1024)\n"
        "block[::4096] = b'x' * len(block[::4096])\n"  # touch every page: resident
        "print(json.dumps({'mode': sys.argv[1], 'n': 3}))\n")
    res = run_json_child("child_mod", ["fast"], cwd=tmp_path)
    assert res["mode"] == "fast" and res["n"] == 3
    assert 0.28 < res["peak_rss_gb"] < 2.0


def test_run_json_child_names_the_failing_child(tmp_path):
    (tmp_path / "bad_mod.py").write_text("raise SystemExit(3)\n")
    with pytest.raises(RuntimeError, match=r"bad_mod 'x'.*failed"):
        run_json_child("bad_mod", ["x"], cwd=tmp_path)
