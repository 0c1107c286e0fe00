"""lossbook against 50-digit references: float64 value and gradient within a few ulp.

Each loss in ``lossbook.reference.REFERENCES`` is evaluated on its random sample inputs and on its
extreme inputs, one sample at a time; the largest error in ulp must stay within the bound the
reference declares.
"""
from __future__ import annotations

import numpy as np
import pytest

import lossbook as lb

reference = pytest.importorskip("lossbook.reference")
from lossbook.testing import extreme_inputs, sample_inputs  # noqa: E402

NAMES = sorted(reference.REFERENCES)


def _grid(loss):
    for hyper in loss.configs:
        for ndim in loss.ndims:
            for seed in range(3):
                yield (*sample_inputs(loss, hyper, ndim, seed=seed), hyper)
            yield from extreme_inputs(loss, hyper, ndim)


@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_within_declared_ulp(name):
    loss = lb.LOSSES[name]
    fn, max_ulp, why = reference.REFERENCES[name]
    worst_value = worst_grad = 0.0
    for y_true, y_pred, hyper in _grid(loss):
        values, grads = loss.value_and_grad(y_true, y_pred, reduction="none", **hyper)
        for i in range(y_pred.shape[0]):
            exact, exact_grad = fn(y_true[i], y_pred[i], **loss.resolve(hyper))
            worst_value = max(worst_value, reference.ulp_error(values[i], exact))
            for g, e in zip(np.atleast_1d(grads[i]), exact_grad):
                worst_grad = max(worst_grad, reference.ulp_error(g, e))
    assert worst_value <= max_ulp, f"{name}: value off by {worst_value:.1f} ulp (allowed {max_ulp}: {why})"
    assert worst_grad <= max_ulp, f"{name}: gradient off by {worst_grad:.1f} ulp (allowed {max_ulp}: {why})"


def test_the_measure_can_fail():
    assert reference.ulp_error(1.0 + 2**-52, 1) == pytest.approx(1.0)
    assert reference.ulp_error(0.1 + 0.2, reference.mp.mpf(3) / 10) > 0.5
