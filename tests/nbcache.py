"""Execute every notebook once: nbval runs it as a test, and the book build reuses its outputs.

This module is a pytest plugin and a small command line.

As a plugin (``pytest -p tests.nbcache --nbval-lax book``) it does two things beside nbval:

* When every cell of a notebook has passed, it writes the notebook, with the outputs nbval
  collected, into the jupyter-cache that the book build reads (``execute_notebooks: cache`` in
  ``_config.yml``). The book build then finds the notebook executed and only renders it. A
  notebook with a failing cell is never cached, so the book build cannot show a broken page as
  if it had passed.
* It adds up each notebook's time (kernel start, every cell, kernel stop), prints the slowest ten,
  and fails the run when one of them took longer than ``--nb-time-limit`` seconds (90 by default).

As a command (``python -m tests.nbcache execute``) it runs nbval, two notebooks at a time, on just
the notebooks the cache does not hold, so that ``make book`` executes on both cores and a second
``make book`` executes nothing.

A notebook is looked up by jupyter-cache's hash of its code cells and kernel. The notebooks also
run the ``lossbook`` package, so the cache remembers a fingerprint of the package's sources and of
``requirements.txt``; when that changes, every cached notebook is dropped and runs again.
"""
from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# _build is where jupyter-book keeps its cache (_build/.jupyter_cache) and doctrees; the tests of
# this module point NBCACHE_BUILD elsewhere
BUILD = pathlib.Path(os.environ.get("NBCACHE_BUILD", ROOT / "_build"))
CACHE = BUILD / ".jupyter_cache"
FINGERPRINT = BUILD / ".jupyter_cache.fingerprint"
LOCK = BUILD / ".jupyter_cache.lock"
TIME_LIMIT = 90.0


def fingerprint(root: pathlib.Path = ROOT) -> str:
    """A hash of what a notebook runs besides its own cells: the package and the pinned deps."""
    digest = hashlib.sha256()
    files = sorted((root / "lossbook").rglob("*.py")) + sorted((root / "lossbook").rglob("*.mplstyle"))
    files.append(root / "requirements.txt")
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@contextlib.contextmanager
def locked():
    """One writer at a time: the two xdist workers share one cache (SQLite plus files)."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_cache():
    from jupyter_cache import get_cache

    return get_cache(str(CACHE))


def refresh_fingerprint() -> bool:
    """Drop the cache when the package or the pins changed since it was written; True if dropped."""
    current = fingerprint()
    with locked():
        stale = FINGERPRINT.exists() and FINGERPRINT.read_text() != current
        if stale or not FINGERPRINT.exists():
            shutil.rmtree(CACHE, ignore_errors=True)
        FINGERPRINT.write_text(current)
    return stale


def notebooks(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    return sorted(
        p for p in (root / "book").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts
    )


def uncached(paths: list[pathlib.Path]) -> list[pathlib.Path]:
    import nbformat

    if not CACHE.exists():
        return list(paths)
    cache = open_cache()
    missing = []
    for path in paths:
        try:
            cache.match_cache_notebook(nbformat.read(str(path), as_version=4))
        except KeyError:
            missing.append(path)
    return missing


def executed_notebook(nb, outputs_by_cell: dict[int, list]):
    """The notebook as nbval ran it: its own cells, with the outputs and counts of that run."""
    import nbformat

    from ipykernel.ipkernel import IPythonKernel

    nb = copy.deepcopy(nb)
    # what an executing client records from the kernel; the build picks its code lexer from it
    nb.metadata["language_info"] = copy.deepcopy(IPythonKernel.language_info)
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        outs = []
        for out in outputs_by_cell.get(count - 1, []):
            out = nbformat.from_dict(dict(out))
            if out.output_type == "execute_result":
                out.execution_count = count
            outs.append(out)
        cell.outputs = outs
    return nb


def store(path: pathlib.Path, nb, outputs_by_cell: dict[int, list], seconds: float) -> None:
    from jupyter_cache.base import CacheBundleIn

    bundle = CacheBundleIn(
        executed_notebook(nb, outputs_by_cell),
        str(path),
        data={"execution_seconds": seconds, "executed_by": "nbval"},
    )
    with locked():
        open_cache().cache_notebook_bundle(bundle, check_validity=True, overwrite=True)


def slow_notebooks(durations: dict[str, float], limit: float) -> list[tuple[str, float]]:
    return sorted(((nb, s) for nb, s in durations.items() if s > limit), key=lambda x: -x[1])


# ----------------------------------------------------------------------------- the pytest plugin


def pytest_addoption(parser):
    group = parser.getgroup("nbcache", "execute-once notebook cache")
    group.addoption("--nb-time-limit", type=float, default=TIME_LIMIT,
                    help="fail the run when a notebook takes longer than this many seconds")
    group.addoption("--nb-no-cache", action="store_true",
                    help="do not write executed notebooks into the book's cache")


def pytest_configure(config):
    # The kernels nbval starts inherit this: lb.plotting.explorer then writes the HTML explorer the
    # book shows (frames as data, drawn by the book's script), not ipywidgets (see lossbook/explorer.py).
    os.environ.setdefault("LOSSBOOK_EXPLORER", "html")
    config._nbcache = {"files": {}, "durations": {}}
    if not hasattr(config, "workerinput") and not config.option.nb_no_cache:
        if refresh_fingerprint():
            print("nbcache: the package or the pins changed: the notebook cache was cleared")
        # Sphinx re-reads a page only when its source changed, but outputs can change under an
        # unchanged notebook (the package changed): the next build re-reads every page from the
        # cache, which takes seconds.
        shutil.rmtree(BUILD / ".doctrees", ignore_errors=True)


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _is_nbval_cell(item):
        return
    report = outcome.get_result()
    state = item.config._nbcache["files"].setdefault(
        item.parent.nodeid, {"outputs": {}, "ok": True, "start": time.monotonic()})
    if report.failed or report.skipped:
        state["ok"] = False
    if call.when == "call" and report.passed:
        state["outputs"][item.cell_num] = list(item.test_outputs or [])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    yield
    if not _is_nbval_cell(item) or item.config.option.nb_no_cache:
        return
    if nextitem is not None and nextitem.parent is item.parent:
        return
    # the last cell of this notebook has run (and the kernel is stopped)
    state = item.config._nbcache["files"].pop(item.parent.nodeid, None)
    ncells = sum(c.cell_type == "code" for c in item.parent.nb.cells)
    if state is None or not state["ok"] or len(state["outputs"]) != ncells:
        return
    path = pathlib.Path(str(item.parent.fspath))
    store(path, item.parent.nb, state["outputs"], time.monotonic() - state["start"])


def pytest_runtest_logreport(report):
    # runs in the controller (and without xdist, in the one process): time per notebook
    if "::Cell " not in report.nodeid:
        return
    nb = report.nodeid.split("::", 1)[0]
    durations = _CONTROLLER["durations"]
    durations[nb] = durations.get(nb, 0.0) + report.duration


_CONTROLLER: dict = {"durations": {}}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    durations = _CONTROLLER["durations"]
    if not durations:
        return
    limit = config.option.nb_time_limit
    tr = terminalreporter
    tr.section(f"notebook times (limit {limit:g} s each)")
    for nb, seconds in sorted(durations.items(), key=lambda x: -x[1])[:10]:
        tr.write_line(f"{seconds:7.1f} s  {nb}")
    tr.write_line(f"{sum(durations.values()):7.1f} s  in all, {len(durations)} notebooks")
    slow = slow_notebooks(durations, limit)
    for nb, seconds in slow:
        tr.write_line(f"FAILED notebook time: {nb} took {seconds:.1f} s (limit {limit:g} s)", red=True)


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):
        return  # the controller judges, over every worker's reports
    if slow_notebooks(_CONTROLLER["durations"], session.config.option.nb_time_limit):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ----------------------------------------------------------------------------- the command line


def executions_in_log(text: str) -> tuple[int, int]:
    """(notebooks the book build took from the cache, notebooks it executed itself)."""
    cached = text.count("Using cached notebook")
    executed = text.count("Executing notebook using")
    return cached, executed


def check_log(path: str) -> int:
    cached, executed = executions_in_log(pathlib.Path(path).read_text())
    print(f"nbcache: the book build rendered {cached} notebooks from nbval's cache "
          f"and executed {executed} itself")
    if executed:
        print("nbcache: FAILED: the book build executed notebooks that nbval should have run "
              "and cached (grep 'Executing notebook' in the log)", file=sys.stderr)
        return 1
    expected = len(notebooks())
    if cached != expected:
        print(f"nbcache: FAILED: {expected} notebooks in book/, but the log shows {cached} read from "
              "the cache (the build must re-read them all: remove _build/.doctrees first)",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["check-log"] and len(argv) == 2:
        return check_log(argv[1])
    if argv[:1] != ["execute"]:
        print("usage: python -m tests.nbcache execute [pytest options] | check-log LOGFILE",
              file=sys.stderr)
        return 2
    if refresh_fingerprint():
        print("nbcache: the package or the pins changed since the last run: every notebook runs again")
    paths = notebooks()
    missing = uncached(paths)
    if not missing:
        print(f"nbcache: all {len(paths)} notebooks are in the cache: nothing to execute")
        return 0
    print(f"nbcache: executing {len(missing)} of {len(paths)} notebooks with nbval, two at a time")
    # Sphinx re-reads a page only when its source changed; outputs that changed under an unchanged
    # notebook (the package changed) must be read again too. A full re-read from the cache is cheap.
    workers = ["-n", "2", "--dist", "loadfile"] if len(missing) > 1 else []
    # the time limit is make test's business: a reader's busy machine must not stop the book
    cmd = [sys.executable, "-m", "pytest", "-p", "tests.nbcache", "--nbval-lax", "-q", *workers,
           "--nb-time-limit", "inf",
           *argv[1:], *[str(p.relative_to(ROOT)) for p in missing]]
    return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main(sys.argv[1:]))
