"""Time value + gradient of every registered loss: lossbook vs torch (float64, float32) vs Keras.

    .venv/bin/python benchmarks/bench_losses.py                 # N = 1e3 ... 1e6, ~ a few minutes
    .venv/bin/python benchmarks/bench_losses.py --quick         # smaller sizes, fewer repeats (< 1 min)
    .venv/bin/python benchmarks/bench_losses.py --losses huber log_cosh --sizes 1e5 1e6 --repeat 9
    .venv/bin/python benchmarks/bench_losses.py --memory cold --sizes 1e6    # see set_memory

For each loss in ``lossbook.LOSSES`` (default hyperparameters; plus ``from_logits=True`` where
the loss has it) and each size N (the number of entries of ``y_pred``: (N,) for pointwise
losses, (N/10, 10) for losses on rows of class scores, (N/2, 2) for margin ranking), it times

* ``lossbook``: ``loss.value_and_grad(y_true, y_pred)`` on float64 NumPy, validation included
  (what a user calls);
* ``lb_core``: the same without validation (``loss._per_sample(..., with_grad=True)`` plus the
  reduction), to tell the cost of the checks from the cost of the maths;
* ``torch64`` / ``torch32``: the torch-native loss (``native_losses.py``) forward + ``backward()``
  on a leaf tensor, float64 and float32;
* ``keras``: Keras 3's loss class on the torch backend (float32: Keras computes in floatx), forward
  + ``backward()``.

Every measurement is the median over ``--repeat`` rounds; in each round the contenders run one
after another on the same input (in rotating order), so the ratios compare like with like even on
a busy machine.  Each value is checked against lossbook's before it is timed.  Results go to
``benchmarks/results/`` (git-ignored): ``bench_losses.csv``, ``bench_losses.png`` and
``bench_losses_meta.json`` (versions, thread count, load average).

After the timings it prints the ratio table (lossbook / torch64, / torch32, / keras at every N)
and checks the book's speed targets at the largest N: lossbook within 1.0x of torch eager (float64) on
most losses, never worse than 2x, and faster than Keras at every size.

Losses with inputs other than ``(y_true, y_pred)`` (triplet, contrastive, ...) are timed against
torch with a gradient into every differentiated input; Keras has no loss class for them (seed 001
packs a triplet into one ``y_pred``), so they have no Keras column.  A loss whose cost grows as N^2
is left out (``EXCLUDED``).
The appendix page ``book/appendix/benchmarks`` imports :func:`run`, :func:`ratio_table`,
:func:`targets` and :func:`plot` to redo all this at small N when the book builds.

At N = 1e6 the cost of getting fresh memory from the OS (page faults) rivals the arithmetic, and
glibc's adaptive malloc makes it come and go between runs; ``--memory cold`` and ``--memory warm``
fix it one way or the other for every contender (:func:`set_memory`).  ``make bench`` runs the
default at every N, then both fixed regimes at N = 1e6.

``import lossbook`` makes torch single-threaded unless OMP_NUM_THREADS is set (see
``lossbook.frameworks.limit_threads``); the thread count is printed and saved.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import lossbook as lb  # noqa: E402  (sets the torch thread count before torch is imported)
from lossbook.core import _reduce_fresh_grad, reduce  # noqa: E402
from lossbook.testing import sample_inputs  # noqa: E402

import native_losses  # noqa: E402

CONTENDERS = ("lossbook", "lb_core", "torch64", "torch32", "keras")
FRAMEWORKS = ("torch64", "torch32", "keras")  # the ratio table's columns: lossbook / each
ROW_WIDTH = {"margin_ranking": 2,  # torch's MarginRankingLoss compares pairs
             "ctc": 20}  # (N, T, C) = (N, 5, 4) scores per sequence
DEFAULT_WIDTH = 10  # classes per row for losses on (N, C) scores
#: losses not timed here, and why
EXCLUDED = {"pairwise_ranking_hinge": "O(N^2) pairs in time and memory; its chapter measures its growth and "
                                      "its chunked variant",
            "info_nce": "an (N, N) matrix of similarities: at N = 1e6 it would take 8 TB; contrastive batches "
                        "hold hundreds to thousands of rows",
            "nt_xent": "an (N, N) matrix of similarities: at N = 1e6 it would take 8 TB; contrastive batches "
                       "hold hundreds to thousands of rows",
            "supervised_contrastive": "an (N, N) matrix of similarities, as nt_xent",
            "batch_hard_triplet": "an (N, N, D) array of differences: metric-learning batches hold tens to "
                                  "hundreds of rows"}
#: the book's speed targets, at the largest N: lossbook / torch64 <= WITHIN on most losses, never > NEVER_WORSE
WITHIN, NEVER_WORSE = 1.0, 2.0

#: how large arrays get their memory (glibc's malloc; see set_memory)
MEMORY_REGIMES = ("default", "cold", "warm")
REGIME_NOTES = {"default": "glibc's adaptive malloc, what a user gets",
                "cold": "every large array mapped fresh: page faults each time",
                "warm": "large arrays reused from the heap: no page faults"}
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


def set_memory(regime):
    """Fix how glibc's malloc serves large arrays, for lossbook and torch alike.

    At N = 1e6 an array is 8 MB, and what it costs to *get* that memory rivals the arithmetic done
    in it.  By default glibc adapts: an 8 MB block is first mapped fresh from the OS (the first
    write to each 4 KiB page then faults and the kernel zeroes the page), but after such a block
    is freed, blocks of that size come from the heap and are reused, until the heap is trimmed
    again.  Which of the two a call meets depends on what ran before it: this is most of the
    benchmark's run-to-run noise at large N.  The two fixed regimes remove it:

    * ``"cold"``: every block over 128 KiB is mapped fresh and returned on free (each array pays
      its page faults: what a process's first large arrays cost);
    * ``"warm"``: large blocks come from a heap that is never trimmed (memory is reused, no page
      faults: the arithmetic alone).

    ``"default"`` leaves glibc's adaptive behaviour alone.  Call it first thing in a fresh process
    (``--memory``): malloc serves a request from free heap space before it maps anything, so a
    process that has already grown its heap is never quite cold.  Returns False where malloc is
    not glibc's.
    """
    if regime == "default":
        return True
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if regime == "cold":
        ok = mallopt(_M_MMAP_THRESHOLD, 128 * 1024) and mallopt(_M_TRIM_THRESHOLD, 128 * 1024)
    elif regime == "warm":
        ok = mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024) and mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    else:
        raise ValueError(f"memory regime must be one of {MEMORY_REGIMES}, got {regime!r}")
    return bool(ok)


def cases(names=None):
    """(loss, hyper) to benchmark: defaults, plus from_logits=True where the loss has it."""
    for name, loss in lb.LOSSES.items():
        if (names and name not in names) or (not names and name in EXCLUDED):
            continue
        yield loss, {}
        if "from_logits" in loss.hyper:
            yield loss, {"from_logits": True}


def case_label(loss, hyper):
    return loss.name + ("" if not hyper else "[" + ",".join(f"{k}={v}" for k, v in hyper.items()) + "]")


def make_inputs(loss, hyper, n, seed=0):
    """The loss's inputs with N entries in y_pred: ``(y_true, y_pred)``, or the loss's own ``args``."""
    ndim = 1 if 1 in loss.ndims else 2
    if ndim == 1:
        return sample_inputs(loss, hyper, 1, seed, n=n)
    d = ROW_WIDTH.get(loss.name, DEFAULT_WIDTH)
    return sample_inputs(loss, hyper, 2, seed, n=max(n // d, 1), d=d)


# ------------------------------------------------------------------------------------------------
# the contenders: zero-argument callables doing one value + gradient
# ------------------------------------------------------------------------------------------------
def lossbook_runner(loss, hyper, inputs):
    return lambda: loss.value_and_grad(*inputs, **hyper)


def core_runner(loss, hyper, inputs):
    *arrays, hp = loss.prepare(*inputs, hyper)  # validated once, outside the timing

    def run():
        losses, g = loss._per_sample(*arrays, with_grad=True, **hp)
        if getattr(loss, "batch", False):
            return losses, g
        if isinstance(g, tuple):
            return reduce(losses, "mean", None), tuple(_reduce_fresh_grad(gi, "mean", None, arrays) for gi in g)
        return reduce(losses, "mean", None), _reduce_fresh_grad(g, "mean", None, arrays)
    return run


def make_tensors(torch, loss, inputs, dtype):
    """The inputs as torch tensors (class labels as int64); those lossbook differentiates require grad."""
    labels = getattr(loss, "pair", True) and loss.shape == "labels"
    tensors = [torch.tensor(x, dtype=torch.int64 if labels and i == 0 else dtype) for i, x in enumerate(inputs)]
    for i in loss.diff_args:
        tensors[i].requires_grad_()
    return tensors


def tensor_runner(torch, fn, loss, inputs, dtype):
    """fn on torch tensors of the inputs, forward + backward into every differentiated input."""
    tensors = make_tensors(torch, loss, inputs, dtype)
    leaves = [tensors[i] for i in loss.diff_args]

    def run():
        for t in leaves:
            t.grad = None
        out = fn(*tensors)
        out.backward()
        return out
    return run


def value_of(out):
    if isinstance(out, tuple):
        return float(out[0])
    return float(out.detach())


# ------------------------------------------------------------------------------------------------
def time_round_robin(runners: dict, repeat: int, min_time: float) -> dict:
    """Median seconds per call of each runner; each measurement loops a runner >= min_time."""
    loops = {}
    for name, run in runners.items():
        run()  # warm-up (first-call costs: allocation, Keras's tracing of the loss object)
        t0 = time.perf_counter()
        run()
        one = max(time.perf_counter() - t0, 1e-7)
        loops[name] = max(1, math.ceil(min_time / one))
    times = {name: [] for name in runners}
    order = list(runners)
    for r in range(repeat):
        for name in order[r % len(order):] + order[:r % len(order)]:
            run, k = runners[name], loops[name]
            t0 = time.perf_counter()
            for _ in range(k):
                run()
            times[name].append((time.perf_counter() - t0) / k)
    return {name: statistics.median(ts) for name, ts in times.items()}


def fmt_ms(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    ms = 1e3 * x
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"


def fmt_ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"


def run(names=None, sizes=(1e3, 1e4, 1e5, 1e6), repeat=7, min_time=0.02, keras=True, verbose=True):
    """Time every case at every size; return ``(rows, meta)``.

    ``rows``: one dict per (case, N) with the median seconds of each contender (None when it has no
    entry).  ``meta``: versions, thread count, load average, settings, and the notes on what was
    skipped or computed something else (``meta["skipped"]``, ``meta["mismatches"]``).
    """
    say = print if verbose else (lambda *a, **k: None)
    sizes = [int(s) for s in sizes]
    from lossbook.frameworks import import_torch, versions

    torch = import_torch()
    torch_fns = native_losses.torch_table(torch)
    keras_fns = {}
    if keras:
        from lossbook.frameworks import import_keras

        keras_fns = native_losses.keras_table(import_keras())

    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "torch_threads": torch.get_num_threads(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "cpu_count": os.cpu_count(),
            "loadavg_start": os.getloadavg(), "sizes": sizes, "repeat": repeat, "min_time_s": min_time,
            "versions": versions() if keras_fns else {"numpy": np.__version__, "torch": torch.__version__}}
    say(f"lossbook benchmark  {meta['date']}  torch threads: {meta['torch_threads']} "
        f"(OMP_NUM_THREADS={meta['OMP_NUM_THREADS']}), {meta['cpu_count']} CPUs, "
        f"load average {', '.join(f'{x:.1f}' for x in meta['loadavg_start'])}")
    say("versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    say(f"sizes {sizes}, median of {repeat} rounds, each >= {1e3 * min_time:.0f} ms of calls; times in ms "
        f"per value + gradient; ratios = lossbook / other (< 1: lossbook faster)\n")

    header = ["loss", "N", "shape", "lossbook", "lb_core", "torch64", "torch32", "keras",
              "lb/t64", "lb/t32", "lb/keras"]
    widths = [48, 8, 11, 9, 9, 9, 9, 9, 7, 7, 8]
    line = "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths)))
    say(line)
    say("-" * len(line))

    rows, skipped, mismatches = [], [], []
    if not names:
        skipped += [f"{k}: {why}" for k, why in EXCLUDED.items() if k in lb.LOSSES]
    for loss, hyper in cases(names):
        label = case_label(loss, hyper)
        hp = loss.resolve(hyper)
        fns = {}
        pair = getattr(loss, "pair", True)
        for tag, table in (("torch", torch_fns), ("keras", keras_fns)):
            entry = table.get(loss.name) if pair or tag == "torch" else None
            factory = entry[1] if isinstance(entry, tuple) else entry
            if factory is None:
                if tag == "keras" and not keras:
                    continue
                skipped.append(f"{label}: no {tag} counterpart to time")
                continue
            try:
                fns[tag] = factory(hp)
            except NotImplementedError as e:
                skipped.append(f"{label}: {tag} counterpart does not express {e}")
        kind = torch_fns.get(loss.name, ("", None))[0]
        if kind == "composed":
            label += " *"
        for n in sizes:
            inputs = make_inputs(loss, hyper, n)
            yp = inputs[1] if pair else inputs[0]
            try:
                runners = {"lossbook": lossbook_runner(loss, hyper, inputs), "lb_core": core_runner(loss, hyper, inputs)}
                ref = loss(*inputs, **hyper)
            except Exception as exc:  # a loss still being written must not stop the benchmark of the others
                skipped.append(f"{label} N={n}: not timed ({type(exc).__name__}: {exc})")
                continue
            if "torch" in fns:
                runners["torch64"] = tensor_runner(torch, fns["torch"], loss, inputs, torch.float64)
                runners["torch32"] = tensor_runner(torch, fns["torch"], loss, inputs, torch.float32)
            if "keras" in fns:
                runners["keras"] = tensor_runner(torch, fns["keras"], loss, inputs, torch.float32)
            for name, tol in (("torch64", 1e-6), ("keras", 1e-3)):
                if name in runners:
                    got = value_of(runners[name]())
                    if not abs(got - ref) <= tol * max(abs(ref), 1e-12):
                        if name == "keras" and loss.name in native_losses.KERAS_CONVENTIONS:
                            note = f"{label}: keras differs by convention: {native_losses.KERAS_CONVENTIONS[loss.name]}"
                            if note not in skipped:
                                skipped.append(note)
                            continue
                        mismatches.append(f"{label} N={n}: {name} value {got:.10g} vs lossbook {ref:.10g} "
                                          f"(rel {abs(got - ref) / max(abs(ref), 1e-300):.1e})")
            t = time_round_robin(runners, repeat, min_time)
            row = {"loss": label, "N": n, "shape": "x".join(map(str, yp.shape))}
            row.update({c: t.get(c) for c in CONTENDERS})
            rows.append(row)
            lbt = t["lossbook"]
            cells = [label, str(n), row["shape"]] + [fmt_ms(t.get(c)) for c in CONTENDERS] + [
                fmt_ratio(lbt, t.get("torch64")), fmt_ratio(lbt, t.get("torch32")), fmt_ratio(lbt, t.get("keras"))]
            say("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))),
                flush=True)

    meta["loadavg_end"] = os.getloadavg()
    meta["skipped"], meta["mismatches"] = skipped, mismatches
    say("\n* torch side composed from tensor ops (torch.nn has no such loss); see native_losses.py")
    if skipped:
        say("\nnot timed, or timed with a different convention:")
        for s in skipped:
            say("  " + s)
    if mismatches:
        say("\nVALUE MISMATCHES (a native entry computes something else; its timing is suspect):")
        for s in mismatches:
            say("  " + s)
    return rows, meta


def ratio_table(rows, frameworks=FRAMEWORKS):
    """Per loss, lossbook / framework at every N: ``{label: {(framework, N): ratio or None}}`` and the sizes."""
    sizes = sorted({r["N"] for r in rows})
    table = {}
    for r in rows:
        cell = table.setdefault(r["loss"], {})
        for f in frameworks:
            cell[(f, r["N"])] = None if r.get(f) is None else r["lossbook"] / r[f]
    return table, sizes


def format_ratio_table(rows, frameworks=FRAMEWORKS) -> str:
    """The ratio table as text: one line per loss, lossbook / framework at each N (< 1: lossbook faster)."""
    table, sizes = ratio_table(rows, frameworks)
    width = max([len(k) for k in table] + [4])
    head1 = "lossbook / ...".ljust(width) + "".join(f" | {f:^{7 * len(sizes)}}" for f in frameworks)
    head2 = "loss".ljust(width) + "".join(" | " + "".join(f"{_n_label(n):>7}" for n in sizes) for _ in frameworks)
    lines = [head1, head2, "-" * len(head2)]
    alone = [label for label, cell in table.items() if all(v is None for v in cell.values())]
    for label, cell in table.items():
        if label in alone:
            continue
        parts = []
        for f in frameworks:
            parts.append(" | " + "".join(f"{'-' if cell[(f, n)] is None else f'{cell[(f, n)]:.2f}':>7}"
                                         for n in sizes))
        lines.append(label.ljust(width) + "".join(parts))
    if alone:
        lines.append(f"(lossbook only, no framework entry to compare with: {', '.join(alone)})")
    return "\n".join(lines)


def ratio_frame(rows, frameworks=FRAMEWORKS):
    """The ratio table as a pandas DataFrame: one row per loss, columns (framework, N)."""
    import pandas as pd

    table, sizes = ratio_table(rows, frameworks)
    cols = pd.MultiIndex.from_tuples([(f"lossbook / {f}", n) for f in frameworks for n in sizes], names=["", "N"])
    data = [[cell[(f, n)] for f in frameworks for n in sizes] for cell in table.values()]
    frame = pd.DataFrame(data, index=pd.Index(list(table), name="loss"), columns=cols, dtype=float)
    return frame.dropna(how="all")


def _n_label(n):
    e = math.log10(n)
    return f"1e{int(e)}" if e == int(e) else str(n)


def targets(rows, n=None):
    """Issue 8's targets at size ``n`` (default: the largest measured): a dict of results and the text.

    * ``within``: losses with lossbook / torch64 <= 1.0 (target: most of them);
    * ``over2``: losses with lossbook / torch64 > 2.0 (target: none);
    * ``slower_than_keras``: (loss, N) where lossbook took longer than Keras, at any N (target: none).
    """
    n = n or max(r["N"] for r in rows)
    at = [r for r in rows if r["N"] == n and r["torch64"] is not None]
    within = [(r["loss"], r["lossbook"] / r["torch64"]) for r in at if r["lossbook"] <= WITHIN * r["torch64"]]
    between = [(r["loss"], r["lossbook"] / r["torch64"]) for r in at
               if WITHIN * r["torch64"] < r["lossbook"] <= NEVER_WORSE * r["torch64"]]
    over2 = [(r["loss"], r["lossbook"] / r["torch64"]) for r in at if r["lossbook"] > NEVER_WORSE * r["torch64"]]
    keras_rows = [r for r in rows if r["keras"] is not None]
    slow_k = [(r["loss"], r["N"], r["lossbook"] / r["keras"]) for r in keras_rows if r["lossbook"] > r["keras"]]
    res = {"N": n, "timed": len(at), "within": within, "between": between, "over2": over2,
           "keras_timed": len(keras_rows), "slower_than_keras": slow_k,
           "most_within": len(within) > len(at) / 2, "none_over2": not over2, "keras_everywhere": not slow_k}
    ok = {True: "MET", False: "NOT MET"}
    fmt = lambda xs: ", ".join(f"{name} {x:.2f}" for name, x in xs) or "none"  # noqa: E731
    text = [f"the book's speed targets at N = {n} (lossbook / torch64, both float64; median of the rounds):",
            f"  [{ok[res['most_within']]}] within {WITHIN:.1f}x on most losses: {len(within)} of {len(at)}: {fmt(within)}",
            f"  [{ok[res['none_over2']]}] never worse than {NEVER_WORSE:.0f}x: over it: {fmt(over2)}",
            f"  (between {WITHIN:.0f}x and {NEVER_WORSE:.0f}x: {fmt(between)})",
            f"  [{ok[res['keras_everywhere']]}] faster than Keras at every N: slower in {len(slow_k)} of "
            f"{len(keras_rows)} (loss, N): "
            + (", ".join(f"{name} N={m} {x:.2f}" for name, m, x in slow_k) or "none")]
    val = [r for r in at if r["lb_core"] is not None and 1 - r["lb_core"] / r["lossbook"] > 0.2]
    text.append("  validation > 20% of lossbook's time: "
                + (", ".join(f"{r['loss']} {1 - r['lb_core'] / r['lossbook']:.0%}" for r in val) or "none"))
    return res, "\n".join(text)


def write_results(rows, meta, out):
    import matplotlib

    matplotlib.use("Agg")  # a file, no window
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "bench_losses.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["memory", "loss", "N", "shape"] + [f"{c}_ms" for c in CONTENDERS]
                   + ["lb_over_torch64", "lb_over_torch32", "lb_over_keras"])
        for r in rows:
            w.writerow([meta.get("memory", "default"), r["loss"], r["N"], r["shape"]]
                       + ["" if r[c] is None else f"{1e3 * r[c]:.6g}" for c in CONTENDERS]
                       + ["" if r[c] is None else f"{r['lossbook'] / r[c]:.4g}" for c in FRAMEWORKS])
    (out / "bench_losses_meta.json").write_text(json.dumps(meta, indent=1, default=str))
    plot(rows, meta, out / "bench_losses.png")
    return [out / "bench_losses.csv", out / "bench_losses.png", out / "bench_losses_meta.json"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=None, help="sizes N (default 1e3 1e4 1e5 1e6)")
    ap.add_argument("--repeat", type=int, default=None, help="rounds per measurement, median taken (default 7)")
    ap.add_argument("--losses", nargs="+", default=None, help="registered loss names (default: all)")
    ap.add_argument("--quick", action="store_true", help="N up to 1e5, 3 rounds, short loops")
    ap.add_argument("--min-time", type=float, default=None, help="seconds each measurement loops for")
    ap.add_argument("--no-keras", action="store_true", help="skip Keras (saves its ~7 s import)")
    ap.add_argument("--memory", choices=MEMORY_REGIMES, default="default",
                    help="how large arrays get their memory (see set_memory); results go to results/<memory>/ "
                         "unless --out is given")
    ap.add_argument("--out", default=None, help="output folder")
    args = ap.parse_args(argv)

    sizes = args.sizes or ([1e3, 1e4, 1e5] if args.quick else [1e3, 1e4, 1e5, 1e6])
    repeat = args.repeat or (3 if args.quick else 7)
    min_time = args.min_time if args.min_time is not None else (0.004 if args.quick else 0.02)
    if args.losses:
        unknown = sorted(set(args.losses) - set(lb.LOSSES))
        if unknown:
            ap.error(f"unknown loss name(s) {unknown}; registered: {', '.join(lb.LOSSES)}")

    if not set_memory(args.memory):
        ap.error(f"--memory {args.memory} needs glibc's mallopt")
    print(f"memory: {args.memory} ({REGIME_NOTES[args.memory]})")
    rows, meta = run(args.losses, sizes, repeat, min_time, keras=not args.no_keras)
    meta["memory"] = args.memory
    print(f"\nratio table: lossbook / framework at each N (< 1: lossbook faster), medians of {repeat} "
          f"rounds measured side by side, memory {args.memory}:\n")
    print(format_ratio_table(rows))
    print()
    print(targets(rows)[1])
    out = args.out or (HERE / "results" if args.memory == "default" else HERE / "results" / args.memory)
    paths = write_results(rows, meta, out)
    print("\nwrote " + ", ".join(map(str, paths)))
    return rows


def plot(rows, meta, path=None):
    """Time against N per loss, one panel each; saved to ``path`` when given; returns the figure."""
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(r["loss"] for r in rows))
    cols = min(6, len(labels))
    nrows = math.ceil(len(labels) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(max(2.6 * cols, 6.0), 2.2 * nrows + 0.8), squeeze=False, sharex=True)
    from lossbook.plotting import COLORS, use_style

    use_style()  # the book's figure style: one colour per framework
    styles = {"lossbook": (COLORS["lossbook"], "-"), "lb_core": (COLORS["lossbook"], ":"),
              "torch64": (COLORS["torch"], "-"), "torch32": (COLORS["torch"], "--"), "keras": (COLORS["keras"], "-")}
    for ax, label in zip(axes.flat, labels):
        sel = [r for r in rows if r["loss"] == label]
        for c, (color, ls) in styles.items():
            pts = [(r["N"], 1e3 * r[c]) for r in sel if r[c] is not None]
            if pts:
                ax.loglog(*zip(*pts), color=color, ls=ls, marker=".", label=c)
        ax.set_title(label.replace(" *", "*"), fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in axes.flat[len(labels):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("ms per value+grad", fontsize=7)
    for ax in axes[-1, :]:
        ax.set_xlabel("N", fontsize=7)
    legend = {}
    for ax in axes.flat:  # every contender that appears in some panel (not every loss has all of them)
        for h, name in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(name, h)
    names = [c for c in styles if c in legend]
    handles = [legend[c] for c in names]
    fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.975), ncol=len(names), fontsize=8)
    fig.suptitle(f"value + gradient time against N (torch threads: {meta['torch_threads']}; {meta['date']})",
                 fontsize=9, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


if __name__ == "__main__":
    main()
