"""lossbook against 50-digit references: float64 value and gradient within a few ulp.

Each loss in ``lossbook.reference.REFERENCES`` is evaluated on its random sample inputs, on its own
extreme inputs and on the extreme grid (``reference.extreme_grid``: logits of +-1e-8 ...
+-1e4, probabilities of 0, 1e-300 ... 1 - 1e-16 and 1 where the loss is finite, errors of 1e-10 ...
1e8, margins exactly at the hinge); the largest error in ulp must stay within the bound the
reference declares.  Where a formula adds terms of opposite sign, the reference says how large
those terms are and the error is counted in ulps of that size (see ``reference.Exact``).
"""
from __future__ import annotations

import numpy as np
import pytest

import lossbook as lb

reference = pytest.importorskip("lossbook.reference")
from lossbook.testing import extreme_inputs, sample_inputs  # noqa: E402

NAMES = sorted(reference.REFERENCES)
#: families whose references are still to come (empty: every registered loss has one)
PENDING_FAMILIES: set[str] = set()


def _random_and_own_extremes(loss):
    for hyper in loss.configs:
        for ndim in loss.ndims:
            for seed in range(3):
                yield (hyper, *sample_inputs(loss, hyper, ndim, seed=seed))
            for *inputs, hp in extreme_inputs(loss, hyper, ndim):
                yield (hp, *inputs)


def _grid(name):
    """``(hyper, *inputs)`` entries: random, the loss's own extremes, the extreme grid."""
    yield from _random_and_own_extremes(lb.LOSSES[name])
    yield from reference.extreme_grid(name)


def _worst(name):
    """The largest value and gradient errors (ulp) of lossbook over the whole grid of ``name``."""
    loss = lb.LOSSES[name]
    worst_value = worst_grad = 0.0
    for hyper, *inputs in _grid(name):
        values, grads = reference.evaluate(loss, hyper, *inputs)
        ex = reference.exacts(name, hyper, *inputs)
        worst_value = max(worst_value, reference.value_errors(ex, values).max())
        worst_grad = max(worst_grad, reference.grad_errors(ex, grads).max())
    return worst_value, worst_grad


@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_within_declared_ulp(name):
    ref = reference.REFERENCES[name]
    worst_value, worst_grad = _worst(name)
    assert worst_value <= ref.max_ulp, f"{name}: value off by {worst_value:.1f} ulp (allowed {ref.max_ulp}: {ref.why})"
    assert worst_grad <= ref.max_ulp, f"{name}: gradient off by {worst_grad:.1f} ulp (allowed {ref.max_ulp}: {ref.why})"


def test_every_registered_loss_has_a_reference():
    missing = sorted(n for n, loss in lb.LOSSES.items()
                     if n not in reference.REFERENCES and loss.family not in PENDING_FAMILIES)
    assert not missing, f"no 50-digit reference in lossbook/reference.py for {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_bounds_above_four_ulp_say_why(name):
    ref = reference.REFERENCES[name]
    assert ref.max_ulp <= 4 or len(ref.why) > 40, f"{name}: a bound of {ref.max_ulp} ulp needs a reason"


@pytest.mark.parametrize("name", NAMES)
def test_grid_covers_every_configuration(name):
    loss = lb.LOSSES[name]
    covered = {tuple(sorted(h.items())) for h, *_ in reference.extreme_grid(name)}
    assert covered == {tuple(sorted(h.items())) for h in loss.configs}


def test_the_measure_can_fail():
    assert reference.ulp_error(1.0 + 2**-52, 1) == pytest.approx(1.0)
    assert reference.ulp_error(0.1 + 0.2, reference.mp.mpf(3) / 10) > 0.5
    # a scale widens the unit, but only to the size of the terms
    assert reference.ulp_error(2**-53, 0, scale=1) == pytest.approx(0.5)
    assert reference.ulp_error(1e-300, 0) == float("inf")
    # relative error: 1 for a non-zero answer where the truth is 0, inf for nan
    assert reference.rel_error(1e-7, 0) == 1.0 and reference.rel_error(float("nan"), 1) == float("inf")
    assert reference.rel_error(100.0, reference.mp.log(10) * 300) == pytest.approx(0.8552, abs=1e-4)
    # the naive BCE on logits, log(1 + exp(-x)), is far outside the bound at x = 40
    x = np.array([40.0])
    naive = np.log(1 + np.exp(-x))
    ex = reference.exacts("binary_crossentropy", {"from_logits": True}, np.array([1.0]), x)
    assert reference.value_errors(ex, naive).max() > reference.REFERENCES["binary_crossentropy"].max_ulp


def test_a_one_ulp_slip_is_seen():
    """lossbook's own values, nudged by 8 ulp, fail the 4 ulp bound of the cross-entropy."""
    hyper, y_true, y_pred = reference.extreme_grid("categorical_crossentropy")[1]  # from_logits
    values, _ = lb.categorical_crossentropy.value_and_grad(y_true, y_pred, reduction="none", **hyper)
    ex = reference.exacts("categorical_crossentropy", hyper, y_true, y_pred)
    nudged = values + 8 * np.spacing(np.abs(values))
    assert reference.value_errors(ex, values).max() <= 4 < reference.value_errors(ex, nudged).max()


@pytest.mark.parametrize("a, b", [
    (300.0 + 1e-10, 300.0),          # close: one log1p of an exact difference
    (5.0, 0.5), (1e300, 0.0),        # r >= -1/2, far apart
    (0.2, 3.0), (-0.999999, 1e10),   # r < -1/2: the log of (1 + a) / (1 + b)
    (1e300, -1.0 + 2.0 ** -52),      # r overflows: the plain difference of the logs
])
def test_log1p_diff_branches_against_50_digits(a, b):
    import mpmath

    from lossbook.regression import _log1p_diff

    with mpmath.workdps(50):
        exact = mpmath.log1p(mpmath.mpf(a)) - mpmath.log1p(mpmath.mpf(b))
    got = _log1p_diff(np.array([a]), np.array([b]))[0]
    assert np.isfinite(got)
    assert abs(got - float(exact)) <= 4 * np.spacing(abs(float(exact))), (got, float(exact))
