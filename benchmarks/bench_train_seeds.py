"""Speed-up of ``lossbook.training.train_seeds`` (all seeds as one batched model) over ``train``
run seed after seed, on the book's two heaviest multi-seed set-ups:

* seed 003's regression MLP: ``datasets.regression()``, sizes [20, 25, 1] (relu, linear), MSE,
  SGD lr 0.01 momentum 0.9, batch 32, 50 epochs, validation on the test half;
* seed 003's make_circles MLP: ``datasets.circles(n_samples=1000, n_train=500)``, sizes
  [2, 50, 1] (relu, sigmoid), BCE, SGD lr 0.01 momentum 0.9, batch 32, 200 epochs.

Each is timed with lossbook's loss through the bridge (``loss.torch()``, what the chapters use for
side-by-side runs) and, for comparison, torch's own loss module.  The one-by-one baseline times
every seed separately in the same run, so "5 seeds" and "10 seeds" share it.  ``train_seeds`` is
timed twice: as specified (the loss called once per seed on its slice of the batched predictions)
and with ``per_sample_loss`` (the loss called once on all seeds' batches).  "max rel diff" is the
largest relative difference of the last epoch's loss and val_loss between the batched and the
one-by-one runs (float32 rounding, grown over thousands of steps).

    .venv/bin/python benchmarks/bench_train_seeds.py [--seeds 5 10] [--quick]

The appendix page ``book/appendix/benchmarks`` calls :func:`run` on the regression set-up with a
tenth of the epochs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lossbook as lb  # noqa: E402
from lossbook.frameworks import import_torch  # noqa: E402
from lossbook.training import mlp, torch_loss_keras_order, train, train_seeds  # noqa: E402


def setups(quick):
    torch = import_torch()
    reg = lb.datasets.regression()
    circ = lb.datasets.circles(n_samples=1000, n_train=500)
    common = dict(lr=0.01, momentum=0.9, batch_size=32)
    yield ("regression [20,25,1] MSE", reg, [20, 25, 1], ["relu", "linear"], 5 if quick else 50,
           {"lossbook bridge": (lb.mean_squared_error.torch(), lb.mean_squared_error.torch(reduction="none")),
            "torch.nn.MSELoss": (torch_loss_keras_order(torch.nn.MSELoss()),
                                 torch_loss_keras_order(torch.nn.MSELoss(reduction="none")))}, common)
    yield ("circles [2,50,1] BCE", circ, [2, 50, 1], ["relu", "sigmoid"], 20 if quick else 200,
           {"lossbook bridge": (lb.binary_crossentropy.torch(), lb.binary_crossentropy.torch(reduction="none")),
            "torch.nn.BCELoss": (torch_loss_keras_order(torch.nn.BCELoss()),
                                 torch_loss_keras_order(torch.nn.BCELoss(reduction="none")))}, common)


def run(seed_counts=(5, 10), quick=False, only=None, losses=None, verbose=True, epochs=None):
    """Time one-by-one against batched training; return one dict per (set-up, loss, number of seeds).

    ``only``: keep the set-ups whose title starts with it ("regression", "circles"); ``losses``:
    keep these loss names ("lossbook bridge", "torch.nn.MSELoss", ...).  ``quick``: a tenth of the epochs;
    ``epochs``: that many epochs instead, whatever the set-up.
    """
    say = print if verbose else (lambda *a, **k: None)
    epochs_override = epochs
    torch = import_torch()
    say(f"torch threads: {torch.get_num_threads()}; epochs {'/10 (quick)' if quick else 'as the article'}")
    say(f"{'set-up':28s} {'loss':18s} {'seeds':>5s} {'one-by-one s':>12s} {'batched s':>10s} {'speed-up':>8s} "
        f"{'+per_sample s':>13s} {'speed-up':>8s} {'max rel diff':>12s}")
    rows = []
    warm = lb.datasets.regression(n_samples=200, n_train=100)  # first-call costs out of the timings
    for fn in (lb.mean_squared_error.torch(), torch_loss_keras_order(torch.nn.MSELoss())):
        train(mlp([20, 25, 1], ["relu", "linear"]), fn, warm.X_train, warm.y_train, epochs=2, lr=0.01)
        train_seeds([20, 25, 1], ["relu", "linear"], fn, warm.X_train, warm.y_train, seeds=[0, 1], epochs=2, lr=0.01)
    for title, data, sizes, acts, setup_epochs, loss_fns, common in setups(quick):
        if only and not title.startswith(only):
            continue
        epochs = epochs_override or setup_epochs
        for loss_name, (loss_fn, per_sample) in loss_fns.items():
            if losses and loss_name not in losses:
                continue
            seeds = list(range(max(seed_counts)))
            kw = dict(epochs=epochs, validation_data=(data.X_test, data.y_test), **common)
            one, hist_one = [], []
            for s in seeds:
                t0 = time.perf_counter()
                hist_one.append(train(mlp(sizes, acts, seed=s), loss_fn, data.X_train, data.y_train, seed=s, **kw))
                one.append(time.perf_counter() - t0)
            for k in seed_counts:
                t0 = time.perf_counter()
                hist = train_seeds(sizes, acts, loss_fn, data.X_train, data.y_train, seeds=seeds[:k], **kw)
                batched = time.perf_counter() - t0
                t0 = time.perf_counter()
                hist_fast = train_seeds(sizes, acts, loss_fn, data.X_train, data.y_train, seeds=seeds[:k],
                                        per_sample_loss=per_sample, **kw)
                fast = time.perf_counter() - t0
                diff = max(abs(h[key][-1] - h1[key][-1]) / abs(h1[key][-1])
                           for hs in (hist, hist_fast) for h, h1 in zip(hs, hist_one) for key in ("loss", "val_loss"))
                base = sum(one[:k])
                rows.append({"setup": title, "loss": loss_name, "seeds": k, "epochs": epochs, "one_by_one_s": base,
                             "batched_s": batched, "speedup": base / batched, "batched_per_sample_s": fast,
                             "speedup_per_sample": base / fast, "max_rel_diff": diff})
                say(f"{title:28s} {loss_name:18s} {k:5d} {base:12.2f} {batched:10.2f} {base / batched:7.2f}x "
                    f"{fast:13.2f} {base / fast:7.2f}x {diff:12.1e}", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=[5, 10], help="numbers of seeds to compare")
    ap.add_argument("--quick", action="store_true", help="a tenth of the epochs")
    args = ap.parse_args(argv)
    return run(args.seeds, args.quick)


if __name__ == "__main__":
    main()
