"""The execute-once machinery (tests/nbcache.py): nbval's run feeds the book, and slow notebooks fail.

The end-to-end tests run nbval on small notebooks written here, in a subprocess, with the cache
in a temporary folder (NBCACHE_BUILD), so they touch nothing of the real build.
"""
import os
import pathlib
import subprocess
import sys

import nbformat
import pytest

import nbcache

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _notebook(path: pathlib.Path, *sources: str) -> pathlib.Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A page")]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, str(path))
    return path


def _nbval(tmp_path, *args):
    env = dict(os.environ, NBCACHE_BUILD=str(tmp_path / "_build"))
    cmd = [sys.executable, "-m", "pytest", "-p", "tests.nbcache", "--nbval-lax", "-p", "no:cacheprovider",
           "--rootdir", str(tmp_path), *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _cache(tmp_path):
    from jupyter_cache import get_cache

    return get_cache(str(tmp_path / "_build" / ".jupyter_cache"))


def test_slow_notebooks_are_the_ones_over_the_limit():
    durations = {"a.ipynb": 12.0, "b.ipynb": 91.0, "c.ipynb": 95.5}
    assert nbcache.slow_notebooks(durations, 90) == [("c.ipynb", 95.5), ("b.ipynb", 91.0)]
    assert nbcache.slow_notebooks(durations, 100) == []


def test_the_log_check_counts_cached_and_executed_notebooks():
    log = "Using cached notebook: ID=1\nUsing cached notebook: ID=2\nExecuting notebook using local CWD\n"
    assert nbcache.executions_in_log(log) == (2, 1)


def test_the_log_check_fails_when_the_build_executed_a_notebook(tmp_path):
    n = len(nbcache.notebooks())
    good = tmp_path / "good.log"
    good.write_text("Using cached notebook: ID=1\n" * n)
    assert nbcache.check_log(str(good)) == 0
    bad = tmp_path / "bad.log"
    bad.write_text("Using cached notebook: ID=1\n" * (n - 1) + "Executing notebook using local CWD\n")
    assert nbcache.check_log(str(bad)) == 1
    short = tmp_path / "short.log"
    short.write_text("Using cached notebook: ID=1\n")
    assert nbcache.check_log(str(short)) == 1


def test_the_fingerprint_follows_the_package(tmp_path):
    (tmp_path / "lossbook").mkdir()
    (tmp_path / "lossbook" / "a.py").write_text("x = 1\n")
    (tmp_path / "requirements.txt").write_text("numpy\n")
    before = nbcache.fingerprint(tmp_path)
    (tmp_path / "lossbook" / "a.py").write_text("x = 2\n")
    assert nbcache.fingerprint(tmp_path) != before


def test_a_passing_notebook_is_cached_with_its_outputs_and_a_changed_one_is_not(tmp_path):
    nb = _notebook(tmp_path / "ok.ipynb", "x = 6 * 7\nprint(x)", "x")
    run = _nbval(tmp_path, nb)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "notebook times (limit 90 s each)" in run.stdout
    record = _cache(tmp_path).match_cache_notebook(nbformat.read(str(nb), as_version=4))
    cached = _cache(tmp_path).get_cache_bundle(record.pk).nb
    code = [c for c in cached.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2]
    assert code[0].outputs[0].text == "42\n"
    assert code[1].outputs[0].data["text/plain"] == "42"
    assert cached.metadata["language_info"]["name"] == "python"
    # the same notebook with one character of its code changed has no match: it runs again
    changed = nbformat.read(str(nb), as_version=4)
    changed.cells[1].source = "x = 6 * 8\nprint(x)"
    with pytest.raises(KeyError):
        _cache(tmp_path).match_cache_notebook(changed)


def test_a_failing_notebook_fails_nbval_and_is_not_cached(tmp_path):
    nb = _notebook(tmp_path / "bad.ipynb", "x = 1", "assert x == 2, 'the claim is false'", "y = 3")
    run = _nbval(tmp_path, nb)
    assert run.returncode == 1
    assert "the claim is false" in run.stdout
    with pytest.raises(KeyError):
        _cache(tmp_path).match_cache_notebook(nbformat.read(str(nb), as_version=4))


def test_a_notebook_over_the_time_limit_fails_the_run(tmp_path):
    nb = _notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(1.5)")
    slow = _nbval(tmp_path, "--nb-time-limit", "1", nb)
    assert slow.returncode == 1, slow.stdout
    assert "FAILED notebook time: " in slow.stdout and "slow.ipynb took" in slow.stdout
    relaxed = _nbval(tmp_path, "--nb-time-limit", "60", nb)
    assert relaxed.returncode == 0, relaxed.stdout
