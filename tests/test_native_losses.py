"""The benchmark's framework entries compute the loss they are timed against (value and gradient).

``benchmarks/native_losses.py`` holds the torch and Keras code that ``make bench`` times beside
lossbook.  A wrong entry would make a fast number meaningless, so each is checked here against
lossbook on small inputs: the value, and the gradient of every differentiated input.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import lossbook as lb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_losses  # noqa: E402
import native_losses  # noqa: E402

from lossbook.frameworks import import_torch  # noqa: E402

torch = import_torch()
TORCH = native_losses.torch_table(torch)
CASES = [(loss, hyper) for loss, hyper in bench_losses.cases() if loss.name in TORCH]


def _ids(cases):
    return [bench_losses.case_label(loss, hyper) for loss, hyper in cases]


def test_every_benchmarked_loss_has_a_torch_entry():
    timed = {loss.name for loss, _ in bench_losses.cases()}
    assert timed - set(TORCH) == set(), "losses timed for lossbook alone"
    assert set(TORCH) <= set(lb.LOSSES)


def _compare(loss, hyper, fn):
    inputs = bench_losses.make_inputs(loss, hyper, 60)
    tensors = bench_losses.make_tensors(torch, loss, inputs, torch.float64)
    out = fn(*tensors)
    out.backward()
    value, grads = loss.value_and_grad(*inputs, **hyper)
    grads = grads if isinstance(grads, tuple) else (grads,)
    np.testing.assert_allclose(float(out.detach()), value, rtol=1e-9, atol=1e-12)
    for g, i in zip(grads, loss.diff_args):
        np.testing.assert_allclose(tensors[i].grad.numpy(), g, rtol=1e-7, atol=1e-12,
                                   err_msg=f"{loss.name}: gradient w.r.t. {loss.arg_names[i]}")


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_torch_entry_value_and_gradient_match_lossbook(case):
    loss, hyper = case
    try:
        fn = TORCH[loss.name][1](loss.resolve(hyper))
    except NotImplementedError:
        pytest.skip("the entry does not express this setting")
    _compare(loss, hyper, fn)


def test_a_wrong_entry_is_caught():
    mse = lb.mean_squared_error
    _compare(mse, {}, lambda yt, yp: ((yp - yt) ** 2).mean())
    with pytest.raises(AssertionError):  # forgot the mean over samples
        _compare(mse, {}, lambda yt, yp: ((yp - yt) ** 2).sum())
    with pytest.raises(AssertionError, match="gradient"):  # right value, gradient off by one
        _compare(mse, {}, lambda yt, yp: ((yp - yt) ** 2).mean() + (yp - yp.detach()).sum())


def test_keras_entries_match_lossbook_in_float32():
    from lossbook.frameworks import import_keras

    keras_fns = native_losses.keras_table(import_keras())
    checked = 0
    for loss, hyper in bench_losses.cases():
        if loss.name not in keras_fns or loss.name in native_losses.KERAS_CONVENTIONS:
            continue
        try:
            fn = keras_fns[loss.name](loss.resolve(hyper))
        except NotImplementedError:
            continue
        inputs = bench_losses.make_inputs(loss, hyper, 60)
        tensors = bench_losses.make_tensors(torch, loss, inputs, torch.float32)
        got = float(fn(*tensors).detach())
        np.testing.assert_allclose(got, loss(*inputs, **hyper), rtol=2e-4, atol=1e-6,
                                   err_msg=bench_losses.case_label(loss, hyper))
        checked += 1
    assert checked >= 15


def test_memory_regime_is_checked_and_recorded(tmp_path):
    import csv
    import subprocess

    with pytest.raises(ValueError, match="memory regime"):
        bench_losses.set_memory("lukewarm")
    script = Path(bench_losses.__file__)
    done = subprocess.run([sys.executable, str(script), "--memory", "cold", "--sizes", "1e3", "--repeat", "1",
                           "--losses", "mean_absolute_error", "--no-keras", "--min-time", "0.001", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "memory: cold" in done.stdout and "ratio table" in done.stdout
    with open(tmp_path / "bench_losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["memory"], r["loss"], r["N"]) for r in rows] == [("cold", "mean_absolute_error", "1000")]
    assert float(rows[0]["lossbook_ms"]) > 0 and float(rows[0]["torch64_ms"]) > 0
