"""Identities, extremes and worked examples of the cross-entropy family (the registry tests in
test_contract.py already compare every loss with torch and Keras on random input)."""
from __future__ import annotations

import numpy as np
import pytest

import lossbook as lb

RNG = np.random.default_rng(0)


def _logits(n=20, c=4, scale=3.0):
    return RNG.normal(scale=scale, size=(n, c))


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ------------------------------------------------------------------------------------------
# identities
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("from_logits", [False, True])
def test_focal_with_gamma_zero_is_bce(from_logits):
    x = RNG.normal(scale=3, size=(30, 2))
    y = RNG.integers(0, 2, size=x.shape).astype(float)
    pred = x if from_logits else _sigmoid(x)
    for fn in ("__call__", "grad"):
        focal = getattr(lb.binary_focal_crossentropy, fn)(y, pred, gamma=0.0, from_logits=from_logits, reduction="sum")
        bce = getattr(lb.binary_crossentropy, fn)(y, pred, from_logits=from_logits, reduction="sum")
        np.testing.assert_allclose(focal, bce, rtol=1e-14, atol=1e-15)


def test_focal_down_weights_easy_examples():
    y = np.array([1.0, 1.0])
    p = np.array([0.9, 0.1])  # easy, hard
    ratio = lb.binary_focal_crossentropy(y, p, reduction="none") / lb.binary_crossentropy(y, p, reduction="none")
    np.testing.assert_allclose(ratio, [0.1 ** 2, 0.9 ** 2], rtol=1e-14)


def test_focal_class_balancing_is_alpha_t():
    y = np.array([1.0, 0.0])
    p = np.array([0.3, 0.3])
    plain = lb.binary_focal_crossentropy(y, p, reduction="none")
    balanced = lb.binary_focal_crossentropy(y, p, reduction="none", apply_class_balancing=True, alpha=0.25)
    np.testing.assert_allclose(balanced, [0.25 * plain[0], 0.75 * plain[1]], rtol=1e-14)


def test_bce_logits_equals_probabilities():
    x = RNG.normal(scale=2, size=(10, 3))
    y = RNG.uniform(size=x.shape)
    np.testing.assert_allclose(lb.binary_crossentropy(y, x, from_logits=True, reduction="none"),
                               lb.binary_crossentropy(y, _sigmoid(x), reduction="none"), rtol=1e-12)
    # chain rule: dL/dx = dL/dp * p(1-p)
    p = _sigmoid(x)
    np.testing.assert_allclose(lb.binary_crossentropy.grad(y, x, from_logits=True),
                               lb.binary_crossentropy.grad(y, p) * p * (1 - p), rtol=1e-10)


def test_kl_is_cross_entropy_minus_entropy():
    y = _softmax(_logits())
    p = _softmax(_logits())
    entropy = -np.sum(y * np.log(y), axis=-1)
    np.testing.assert_allclose(lb.kl_divergence(y, p, reduction="none"),
                               lb.categorical_crossentropy(y, p, reduction="none") - entropy, rtol=1e-12)
    # same gradient: the entropy does not depend on p
    np.testing.assert_allclose(lb.kl_divergence.grad(y, p), lb.categorical_crossentropy.grad(y, p), rtol=1e-14)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_is_categorical_on_one_hot(from_logits):
    z = _logits()
    pred = z if from_logits else _softmax(z)
    labels = RNG.integers(0, z.shape[1], size=z.shape[0])
    one_hot = np.eye(z.shape[1])[labels]
    for fn in ("__call__", "grad"):
        np.testing.assert_allclose(
            getattr(lb.sparse_categorical_crossentropy, fn)(labels, pred, from_logits=from_logits),
            getattr(lb.categorical_crossentropy, fn)(one_hot, pred, from_logits=from_logits), rtol=1e-13)


def test_nll_of_log_softmax_is_cross_entropy_from_logits():
    z = _logits(scale=10)
    log_p = z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1, keepdims=True)
    labels = RNG.integers(0, z.shape[1], size=z.shape[0])
    np.testing.assert_allclose(lb.negative_log_likelihood(labels, log_p, reduction="none"),
                               lb.sparse_categorical_crossentropy(labels, z, from_logits=True, reduction="none"),
                               rtol=1e-12, atol=1e-13)  # both round z - logsumexp(z): absolute error ~1e-15


def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot():
    z = _logits()
    y = np.eye(z.shape[1])[RNG.integers(0, z.shape[1], size=z.shape[0])]
    np.testing.assert_allclose(lb.categorical_crossentropy.grad(y, z, from_logits=True, reduction="sum"),
                               _softmax(z) - y, rtol=1e-12, atol=1e-15)


def test_label_smoothing_is_a_target_mixture():
    z = _logits()
    y = np.eye(z.shape[1])[RNG.integers(0, z.shape[1], size=z.shape[0])]
    s, c = 0.2, z.shape[1]
    np.testing.assert_allclose(lb.categorical_crossentropy(y, z, from_logits=True, label_smoothing=s),
                               lb.categorical_crossentropy(y * (1 - s) + s / c, z, from_logits=True), rtol=1e-14)
    yb = np.array([1.0, 0.0])
    np.testing.assert_allclose(lb.binary_crossentropy(yb, [0.7, 0.2], label_smoothing=s),
                               lb.binary_crossentropy([0.9, 0.1], [0.7, 0.2]), rtol=1e-14)


def test_poisson_log_input_equals_rate_input():
    eta = RNG.normal(size=(8, 2))
    y = RNG.poisson(3.0, size=eta.shape).astype(float)
    np.testing.assert_allclose(lb.poisson(y, eta, log_input=True, reduction="none"),
                               lb.poisson(y, np.exp(eta), reduction="none"), rtol=1e-12)


def test_poisson_minimum_is_at_the_count():
    y = np.array([0.5, 3.0, 10.0])
    np.testing.assert_allclose(lb.poisson.grad(y, y, reduction="none"), 0.0, atol=1e-15)


# ------------------------------------------------------------------------------------------
# extremes: finite where the math is finite, inf where it is not (documented, never NaN)
# ------------------------------------------------------------------------------------------
def test_bce_logits_extremes_are_exact():
    x = np.array([1e4, -1e4, 1e4, -1e4])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(lb.binary_crossentropy(y, x, from_logits=True, reduction="none"), [0, 0, 1e4, 1e4])
    np.testing.assert_allclose(lb.binary_crossentropy.grad(y, x, from_logits=True, reduction="none"), [0, 0, 1, -1])


def test_bce_probability_extremes():
    assert lb.binary_crossentropy([1.0, 0.0], [1.0, 0.0]) == 0.0
    np.testing.assert_allclose(lb.binary_crossentropy.grad([1.0, 0.0], [1.0, 0.0], reduction="none"), [-1.0, 1.0])
    with np.errstate(all="raise"):  # no warning either
        assert lb.binary_crossentropy([1.0], [0.0]) == np.inf
        assert lb.binary_crossentropy.grad([1.0], [0.0])[0] == -np.inf
    # log1p keeps the small-p digits: -log(1 - 1e-20) = 1e-20, where log(1 - p) would give 0
    assert lb.binary_crossentropy([0.0], [1e-20]) == pytest.approx(1e-20, rel=1e-12)


def test_softmax_extremes():
    z = np.array([[1e4, -1e4, 0.0]])
    assert lb.sparse_categorical_crossentropy([0], z, from_logits=True) == 0.0
    assert lb.sparse_categorical_crossentropy([1], z, from_logits=True) == 2e4
    np.testing.assert_allclose(lb.categorical_crossentropy.grad([[0.0, 1.0, 0.0]], z, from_logits=True), [[1, -1, 0]])
    assert lb.categorical_crossentropy([[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]]) == np.inf
    assert lb.kl_divergence([[0.0, 1.0, 0.0]], [[0.0, 1.0, 0.0]]) == 0.0


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_extremes_finite(gamma):
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    v, g = lb.binary_focal_crossentropy.value_and_grad(y, x, gamma=gamma, from_logits=True, reduction="none")
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(v[:4], [0, 0, 1e4, 1e4])
    p = np.array([1.0, 0.0, 1e-300])
    v, g = lb.binary_focal_crossentropy.value_and_grad([1.0, 0.0, 0.0], p, gamma=gamma, reduction="none")
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))


# ------------------------------------------------------------------------------------------
# Keras's epsilon clipping and torch's log clamp, as numbers
# ------------------------------------------------------------------------------------------
def test_epsilon_reproduces_keras_clip():
    v = lb.binary_crossentropy([1.0, 0.0], [0.0, 1.0], epsilon=1e-7, reduction="none")
    np.testing.assert_allclose(v, [-np.log(1e-7)] * 2, rtol=1e-7)
    assert v[0] == pytest.approx(16.1181, abs=1e-4)
    # the clip kills the gradient: a confidently wrong prediction gets no push back
    np.testing.assert_array_equal(lb.binary_crossentropy.grad([1.0, 0.0], [0.0, 1.0], epsilon=1e-7), [0.0, 0.0])
    with pytest.raises(ValueError, match="epsilon"):
        lb.binary_crossentropy([1.0], [0.3], epsilon=0.6)
    with pytest.raises(ValueError, match="epsilon"):
        lb.binary_crossentropy([1.0], [0.3], epsilon=1e-7, from_logits=True)


def test_keras_and_torch_at_confident_wrong_predictions():
    torch = pytest.importorskip("torch")
    from lossbook.frameworks import import_keras

    keras = import_keras()
    k = keras.losses.BinaryCrossentropy(reduction=None)(np.array([[1.0], [0.0]], "float32"),
                                                        np.array([[0.0], [1.0]], "float32"))
    np.testing.assert_allclose(np.asarray(k), [16.1181, 15.9424], atol=1e-4)  # float32(1 - 1e-7) is asymmetric
    p = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    t = torch.nn.BCELoss()(p, torch.tensor([1.0], dtype=torch.float64))
    t.backward()
    assert float(t.detach()) == 100.0 and float(p.grad) == pytest.approx(-1e12, rel=1e-8)


def test_keras_poisson_and_kl_match_epsilon():
    from lossbook.frameworks import import_keras

    keras = import_keras()
    y, r = np.array([[1.0], [0.0]]), np.array([[0.0], [2.0]])
    k = np.asarray(keras.losses.Poisson(reduction=None)(y.astype("float32"), r.astype("float32")), float)
    np.testing.assert_allclose(k, lb.poisson(y, r, epsilon=1e-7, reduction="none"), rtol=1e-6)
    yk, pk = np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]])
    k = float(keras.losses.KLDivergence()(yk.astype("float32"), pk.astype("float32")))
    assert k == pytest.approx(lb.kl_divergence(yk, pk, epsilon=1e-7), rel=1e-5)
    assert k == pytest.approx(7.3659, abs=1e-3)
    assert lb.kl_divergence(yk, pk) == np.inf


# ------------------------------------------------------------------------------------------
# seed 001's worked examples (Keras's own numbers, recomputed in float64)
# ------------------------------------------------------------------------------------------
def test_seed001_bce_from_logits():
    y = [1.0, 0.0, 1.0, 1.0]
    x = [-5.4, 8.7, -1.2, -4.6]
    assert lb.binary_crossentropy(y, x, from_logits=True) == pytest.approx(5.0444893, rel=1e-7)
    per = lb.binary_crossentropy(y, x, from_logits=True, reduction="none")
    assert lb.binary_crossentropy(y, x, from_logits=True, reduction="sum") == pytest.approx(per.sum(), rel=1e-15)
    w = np.array([0.8, 0.2, 0.5, 1.0])
    assert lb.binary_crossentropy(y, x, from_logits=True, sample_weight=w) == pytest.approx((w * per).mean())


def test_seed001_categorical():
    y = [[0, 1, 0], [0, 0, 1]]
    p = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    np.testing.assert_allclose(lb.categorical_crossentropy(y, p, reduction="none"), [-np.log(0.95), -np.log(0.1)])
    assert lb.categorical_crossentropy(y, p) == pytest.approx(1.1769392, rel=1e-6)
    assert lb.sparse_categorical_crossentropy([1, 2], p) == pytest.approx(1.1769392, rel=1e-6)


def test_seed001_poisson():
    y, r = [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]
    assert lb.poisson(y, r) == 0.5
    assert lb.poisson(y, r, sample_weight=[0.8, 0.2]) == pytest.approx(0.4, rel=1e-15)
    assert lb.poisson(y, r, reduction="sum") == 1.0


def test_seed001_kl_target_is_not_a_distribution():
    with pytest.raises(ValueError, match="y_true"):
        lb.kl_divergence([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    assert lb.kl_divergence([[0, 1]], [[0.6, 0.4]]) == pytest.approx(np.log(1 / 0.4))


# ------------------------------------------------------------------------------------------
# input checks specific to this family
# ------------------------------------------------------------------------------------------
def test_nll_rejects_probabilities_and_logits():
    with pytest.raises(ValueError, match="y_pred"):
        lb.negative_log_likelihood([0], [[0.7, 0.2, 0.1]])  # probabilities, not their logs
    with pytest.raises(ValueError, match="y_pred"):
        lb.negative_log_likelihood([0], [[-0.1, -2.0, -3.0]])  # <= 0 but not normalised: raw logits


def test_categorical_rejects_unnormalised_probabilities():
    with pytest.raises(ValueError, match="y_pred"):
        lb.categorical_crossentropy([[1.0, 0.0]], [[0.5, 0.4]])
    with pytest.raises(ValueError, match="y_pred"):
        lb.categorical_crossentropy([1.0, 0.0], [0.5, 0.5])  # one row must be (1, C)
