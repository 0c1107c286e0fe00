"""Seed 001's custom losses: the soft F-beta loss and the L1 activity penalty.

The registry-driven tests in test_contract.py cover ``soft_fbeta`` once it is registered; these
check the derivation itself (against torch autograd of seed 001's formula), the edge cases the
chapter discusses, and the penalty helper.
"""
from __future__ import annotations

import numpy as np
import pytest

import lossbook as lb
from lossbook.counterparts import _torch_soft_fbeta
from lossbook.custom import _soft_fbeta, _soft_fbeta_extremes, l1_activity_penalty, soft_fbeta_parts

torch = pytest.importorskip("torch")


def _seed001_torch(y, p, beta, eps=1e-7):
    tp, fp, fn = (y * p).sum(), ((1 - y) * p).sum(), (y * (1 - p)).sum()
    precision = tp / (tp + fp + eps)
    recall = tp / (tp + fn + eps)
    return 1 - (1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall + eps)


@pytest.mark.parametrize("shape", [(7,), (9, 3), (300,)])
@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0, 3.7])
def test_soft_fbeta_value_and_grad_match_torch_autograd(shape, beta):
    rng = np.random.default_rng(len(shape) + int(10 * beta))
    y = rng.integers(0, 2, size=shape).astype(float)
    p = rng.uniform(0.01, 0.99, size=shape)
    value, grad = _soft_fbeta(y, p, with_grad=True, beta=beta, epsilon=1e-7)
    pt = torch.tensor(p, requires_grad=True)
    ref = _seed001_torch(torch.tensor(y), pt, beta)
    ref.backward()
    assert abs(value - ref.item()) < 1e-14
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert abs(value - _torch_soft_fbeta(y, p, beta=beta, epsilon=1e-7)) < 1e-14


def test_parts_agree_with_loss_and_with_sklearn_on_hard_predictions():
    from sklearn.metrics import fbeta_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=50).astype(float)
    hard = rng.integers(0, 2, size=50).astype(float)
    for beta in (0.5, 1.0, 2.0):
        parts = soft_fbeta_parts(y, hard, beta=beta)
        assert abs(1 - parts["fbeta"] - _soft_fbeta(y, hard, with_grad=False, beta=beta, epsilon=1e-7)) < 1e-15
        # on 0/1 predictions the soft counts are the counts: F-beta up to the epsilons
        assert abs(parts["fbeta"] - fbeta_score(y, hard, beta=beta)) < 1e-6


def test_edge_cases_are_finite_and_as_the_chapter_says():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    # no positives in the batch: loss 1 and no gradient, whatever the predictions
    v, g = _soft_fbeta(np.zeros(4), np.array([0.9, 0.1, 0.5, 0.7]), with_grad=True, beta=1.0, epsilon=1e-7)
    assert v == 1.0 and np.all(g == 0)
    # TP = 0 (all mass on negatives, or none at all): loss 1, gradient 0
    for p in (1 - y, np.zeros(4)):
        v, g = _soft_fbeta(y, p, with_grad=True, beta=1.0, epsilon=1e-7)
        assert v == 1.0 and np.all(g == 0)
    # perfect predictions: loss of the order of epsilon
    v = _soft_fbeta(y, y.copy(), with_grad=False, beta=1.0, epsilon=1e-7)
    assert 0 < v < 1e-6
    for yt, yp, hp in _soft_fbeta_extremes():
        v, g = _soft_fbeta(yt, yp, with_grad=True, beta=1.0, epsilon=1e-7)
        assert np.isfinite(v) and np.all(np.isfinite(g)) and 0 <= v <= 1


def test_larger_beta_weighs_recall():
    # a prediction with high recall and low precision scores better as beta grows
    y = np.array([1.0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
    p = np.full(10, 0.8)
    losses = [_soft_fbeta(y, p, with_grad=False, beta=b, epsilon=1e-7) for b in (0.5, 1.0, 2.0)]
    assert losses[0] > losses[1] > losses[2]


def test_registered_soft_fbeta():
    loss = lb.LOSSES["soft_fbeta"]
    assert loss.family == "custom"
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    p = np.array([0.9, 0.2, 0.6, 0.3, 0.4])
    assert abs(loss(y, p) - _seed001_torch(torch.tensor(y), torch.tensor(p), 1.0).item()) < 1e-14
    with pytest.raises(ValueError, match="y_true"):
        loss(np.array([1.0, 0.5]), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="beta"):
        loss(y, p, beta=0.0)
    with pytest.raises(TypeError, match="batch loss"):
        loss(y, p, reduction="none")


def test_l1_activity_penalty():
    a = np.array([[0.0, -2.0, 3.0], [1.0, 0.0, -0.5]])
    v, g = l1_activity_penalty(a, 0.1, with_grad=True)
    assert abs(v - 0.65) < 1e-15
    np.testing.assert_array_equal(g, 0.1 * np.sign(a))
    at = torch.tensor(a, requires_grad=True)
    (0.1 * at.abs().sum()).backward()
    np.testing.assert_array_equal(g, at.grad.numpy())  # torch's abs has subgradient 0 at 0 too
    assert l1_activity_penalty(a, 0.0) == 0.0
    with pytest.raises(ValueError, match="factor"):
        l1_activity_penalty(a, -1.0)
    with pytest.raises(ValueError, match="activations"):
        l1_activity_penalty(np.array([np.nan]), 1.0)
