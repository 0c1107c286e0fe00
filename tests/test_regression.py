"""Loss-specific tests for the regression family (the registry-driven contract tests cover the rest).

Identities between losses, exact values at extreme errors, the worked examples of seed 001, the
published pinball example, and Keras's clipping reproduced by ``clip=`` / ``epsilon=``.
"""
from __future__ import annotations

import numpy as np
import pytest

import lossbook as lb

RNG = np.random.default_rng(123)
Y = RNG.normal(size=(40, 3))
P = Y + RNG.standard_t(df=2, size=(40, 3))


# ------------------------------------------------------------------------------------------
# identities
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("beta", [0.1, 0.5, 1.0, 2.0, 7.5])
def test_smooth_l1_is_huber_over_beta(beta):
    np.testing.assert_allclose(lb.smooth_l1(Y, P, reduction="none", beta=beta),
                               lb.huber(Y, P, reduction="none", delta=beta) / beta, rtol=1e-15)
    np.testing.assert_allclose(lb.smooth_l1.grad(Y, P, beta=beta), lb.huber.grad(Y, P, delta=beta) / beta, rtol=1e-15)


def test_huber_and_smooth_l1_limits():
    mae = lb.mean_absolute_error(Y, P)
    assert lb.smooth_l1(Y, P, beta=1e-12) == pytest.approx(mae, rel=1e-10)
    assert lb.huber(Y, P, delta=1e-12) < 1e-10
    big = 10 * np.max(np.abs(P - Y))
    assert lb.huber(Y, P, delta=big) == pytest.approx(0.5 * lb.mean_squared_error(Y, P), rel=1e-14)


def test_huber_continuous_at_delta_and_matches_torch_both_sides():
    torch = pytest.importorskip("torch")
    delta = 1.5
    e = np.array([delta - 1e-12, delta, delta + 1e-12, -delta])
    ours = lb.huber(np.zeros(4), e, reduction="none", delta=delta)
    theirs = torch.nn.HuberLoss(reduction="none", delta=delta)(torch.tensor(e), torch.zeros(4, dtype=torch.float64))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-15)
    assert ours[1] == 0.5 * delta ** 2


def test_quantile_half_is_half_mae_and_minimiser_is_the_quantile():
    np.testing.assert_allclose(lb.quantile(Y, P, reduction="none", q=0.5),
                               0.5 * lb.mean_absolute_error(Y, P, reduction="none"), rtol=1e-15)
    y = np.random.default_rng(0).exponential(size=201)  # odd count: a unique quantile
    for q in (0.1, 0.5, 0.9):
        c = np.quantile(y, q, method="inverted_cdf")
        at = lb.quantile(y, np.full_like(y, c), q=q)
        for step in (1e-6, -1e-6):
            assert lb.quantile(y, np.full_like(y, c + step), q=q) > at


def test_quantile_published_example():
    # the TensorFlow Addons pinball-loss documentation: y=[0,0,1,1], y_pred=[1,1,1,0], tau=0.1 -> 0.475
    assert lb.quantile([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0], q=0.1) == pytest.approx(0.475, abs=1e-15)


def test_subgradients_at_zero_error():
    z = np.zeros(3)
    assert np.all(lb.mean_absolute_error.grad(z, z) == 0)
    assert np.all(lb.mean_absolute_percentage_error.grad(np.ones(3), np.ones(3)) == 0)
    np.testing.assert_allclose(lb.quantile.grad(z, z, reduction="sum", q=0.2), 0.5 - 0.2)


# ------------------------------------------------------------------------------------------
# log-cosh: exact at extreme errors, accurate at tiny ones
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("e", [1e4, -1e4, 1e8, -1e8, 1e300])
def test_log_cosh_equals_its_asymptote_exactly(e):
    value, grad = lb.log_cosh.value_and_grad([0.0], [e], reduction="none")
    assert value[0] == abs(e) - np.log(2.0)  # log1p(exp(-2|e|)) underflows to exactly 0
    assert grad[0] == np.sign(e)


@pytest.mark.parametrize("e", [1e-300, 1e-10, 1e-4, 0.3, 0.999, 1.0, 1.001, 5.0, 30.0, 700.0, 711.0])
def test_log_cosh_against_mpmath(e):
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(60):
        exact = float(mpmath.log(mpmath.cosh(mpmath.mpf(e))))
    assert lb.log_cosh([0.0], [e]) == pytest.approx(exact, rel=4e-16)
    assert lb.log_cosh([0.0], [-e]) == pytest.approx(exact, rel=4e-16)


def test_log_cosh_is_a_rounded_huber():
    e = np.linspace(-30, 30, 6001)
    lc = lb.log_cosh(np.zeros_like(e), e, reduction="none")
    hub = lb.huber(np.zeros_like(e), e, reduction="none", delta=1.0)
    assert np.all(lc <= hub + 1e-15)  # log cosh e <= e^2/2 and <= |e| - 1/2 + ...
    assert np.all(np.abs(lc - (np.abs(e) - np.log(2.0)))[np.abs(e) > 20] < 1e-15)


# ------------------------------------------------------------------------------------------
# seed 001's worked examples (values computed by Keras 3.15.1, float32)
# ------------------------------------------------------------------------------------------
def test_seed001_worked_examples():
    assert lb.mean_absolute_error([[0., 1.], [0., 0.]], [[1., 1.], [1., 0.]]) == 0.5
    assert lb.log_cosh([[0., 1.], [0., 0.]], [[1., 1.], [0., 0.]]) == pytest.approx(0.25 * np.log(np.cosh(1.0)), rel=1e-15)
    assert lb.huber([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]) == pytest.approx(0.155, rel=1e-15)


def test_seed001_worked_examples_match_keras():
    pytest.importorskip("torch")
    from lossbook.frameworks import import_keras

    keras = import_keras()
    for keras_loss, name, yt, yp in [
        (keras.losses.MeanAbsoluteError(), "mean_absolute_error", [[0., 1.], [0., 0.]], [[1., 1.], [1., 0.]]),
        (keras.losses.LogCosh(), "log_cosh", [[0., 1.], [0., 0.]], [[1., 1.], [0., 0.]]),
        (keras.losses.Huber(), "huber", [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]),
    ]:
        k = float(keras_loss(np.array(yt, "float32"), np.array(yp, "float32")))
        assert k == pytest.approx(lb.LOSSES[name](yt, yp), rel=1e-6)


# ------------------------------------------------------------------------------------------
# MSLE and MAPE: domains and Keras's floors
# ------------------------------------------------------------------------------------------
def test_msle_domain_is_named():
    with pytest.raises(ValueError, match="y_true must be greater than -1"):
        lb.mean_squared_logarithmic_error([-1.0], [0.0])
    with pytest.raises(ValueError, match="y_pred must be greater than -1"):
        lb.mean_squared_logarithmic_error([0.0], [-1.5])
    # values in (-1, 0) are inside the exact domain
    assert lb.mean_squared_logarithmic_error([-0.5], [0.0]) == pytest.approx(np.log(2.0) ** 2, rel=1e-15)


def test_msle_clip_reproduces_keras_floor_and_zero_gradient():
    keras_floor = np.log(2.0) ** 2  # y = 1 against any prediction <= 1e-7
    preds = np.array([-5.0, -1.0, -0.5, 0.0, 1e-8])
    values, grads = lb.mean_squared_logarithmic_error.value_and_grad(np.ones(5), preds, reduction="none", clip=True)
    np.testing.assert_allclose(values, keras_floor, rtol=1e-6)
    assert np.all(grads == 0)
    # negative targets are the target 1e-7 (about 0)
    assert lb.mean_squared_logarithmic_error([-3.0], [0.7], clip=True) == \
        lb.mean_squared_logarithmic_error([1e-7], [0.7])


def test_msle_clip_against_keras_with_gradients():
    torch = pytest.importorskip("torch")
    from lossbook.frameworks import import_keras

    keras = import_keras()
    y = np.linspace(-2, 3, 11)
    p = np.linspace(3, -2.2, 11)
    yp = torch.tensor(p[:, None], dtype=torch.float32, requires_grad=True)
    out = keras.losses.MeanSquaredLogarithmicError(reduction=None)(torch.tensor(y[:, None], dtype=torch.float32), yp)
    out.sum().backward()
    values, grads = lb.mean_squared_logarithmic_error.value_and_grad(y, p, reduction="none", clip=True)
    np.testing.assert_allclose(out.detach().numpy(), values, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(yp.grad.numpy()[:, 0], grads, rtol=1e-5, atol=1e-7)


def test_mape_zero_target():
    with pytest.raises(ValueError, match="y_true must be non-zero"):
        lb.mean_absolute_percentage_error([0.0, 1.0], [1.0, 1.0])
    assert lb.mean_absolute_percentage_error([0.0], [1.0], epsilon=1e-7) == pytest.approx(1e9, rel=1e-12)
    assert lb.mean_absolute_percentage_error([100.0], [0.0]) == 100.0
    assert lb.mean_absolute_percentage_error([-4.0], [-3.0]) == 25.0


def test_mape_zero_target_matches_keras():
    pytest.importorskip("torch")
    from lossbook.frameworks import import_keras

    keras = import_keras()
    k = float(keras.losses.MeanAbsolutePercentageError()(np.zeros((1, 1), "float32"), np.ones((1, 1), "float32")))
    assert k == pytest.approx(lb.mean_absolute_percentage_error([0.0], [1.0], epsilon=1e-7), rel=1e-6)


def test_counterparts_refuse_what_they_cannot_express():
    keras_msle = lb.mean_squared_logarithmic_error.counterpart("keras")
    with pytest.raises(NotImplementedError):
        keras_msle.fn(np.array([-0.5]), np.array([0.2]), clip=False)
    keras_mape = lb.mean_absolute_percentage_error.counterpart("keras")
    with pytest.raises(NotImplementedError):
        keras_mape.fn(np.array([1e-9]), np.array([0.2]), epsilon=0.0)


def test_huge_errors_do_not_overflow():
    e = np.array([1e200, -1e200])
    z = np.zeros(2)
    with np.errstate(over="raise", invalid="raise"):
        assert np.all(np.isfinite(lb.huber(z, e, reduction="none", delta=2.0)))
        assert np.all(np.isfinite(lb.smooth_l1(z, e, reduction="none", beta=2.0)))
        assert np.all(np.isfinite(lb.log_cosh(z, e, reduction="none")))
        assert np.all(np.isfinite(lb.quantile(z, e, reduction="none", q=0.3)))
