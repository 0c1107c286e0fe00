"""Dice, Tversky, Jaccard and the Lovász hinge: the identities the registry-driven battery does not see
(the losses' relations to each other and to soft F1, Keras's and optax's conventions reproduced with
numbers, the Lovász extension's tightness and convexity)."""
from fractions import Fraction

import numpy as np
import pytest

import lossbook as lb
from lossbook.counterparts import _torch_lovasz_hinge

RNG = np.random.default_rng(0)
Y, P = RNG.uniform(size=(5, 12)), RNG.uniform(size=(5, 12))
MASKS = (RNG.uniform(size=(5, 12)) < 0.4).astype(float)
LOGITS = RNG.normal(size=(5, 12)) * 2
KERAS = {"smooth": 0.0, "epsilon": 1e-7}


# ---------------------------------------------------------------------------------------------
# Dice, Tversky, Jaccard
# ---------------------------------------------------------------------------------------------
def test_soft_dice_is_one_minus_soft_f1():
    """One image's soft Dice loss is lb.soft_fbeta (beta = 1) of that image: 2 TP / (2 TP + FP + FN)
    (soft_fbeta takes binary labels)."""
    for y, p in zip(MASKS, P):
        dice = lb.dice(y[None], p[None], smooth=0.0, epsilon=1e-300)
        f1_loss = lb.soft_fbeta(y, p, beta=1.0, epsilon=1e-300)
        assert dice == pytest.approx(f1_loss, rel=1e-14)


def test_tversky_at_one_half_is_dice_with_twice_the_smoothing_and_at_one_is_jaccard():
    for s in (0.0, 0.5, 1.0):
        eps = 1e-7 if s == 0 else 0.0
        np.testing.assert_allclose(lb.tversky(Y, P, alpha=0.5, beta=0.5, smooth=s, epsilon=eps / 2, reduction="none"),
                                   lb.dice(Y, P, smooth=2 * s, epsilon=eps, reduction="none"), rtol=1e-14)
        np.testing.assert_allclose(lb.tversky(Y, P, alpha=1.0, beta=1.0, smooth=s, epsilon=eps, reduction="none"),
                                   lb.jaccard(Y, P, smooth=s, epsilon=eps, reduction="none"), rtol=1e-14)


def test_jaccard_and_dice_are_tied_without_smoothing():
    """IoU = Dice / (2 - Dice), so the losses satisfy l_J = 2 l_D / (1 + l_D)."""
    l_d = lb.dice(Y, P, smooth=0.0, epsilon=1e-300, reduction="none")
    l_j = lb.jaccard(Y, P, smooth=0.0, epsilon=1e-300, reduction="none")
    np.testing.assert_allclose(l_j, 2 * l_d / (1 + l_d), rtol=1e-14)
    assert np.all(l_j >= l_d)


def test_tversky_alpha_weighs_false_positives():
    """A prediction with only false positives: the loss grows with alpha, not with beta."""
    y, p = np.array([[1.0, 1.0, 0.0, 0.0]]), np.array([[1.0, 1.0, 1.0, 0.0]])
    assert lb.tversky(y, p, alpha=0.9, beta=0.1) > lb.tversky(y, p, alpha=0.1, beta=0.9)
    assert lb.tversky(y, p, alpha=0.9, beta=0.1, smooth=0.0, epsilon=1e-300) == pytest.approx(0.9 / 2.9, rel=1e-15)


def test_an_empty_mask_predicted_empty_costs_nothing_with_smoothing_and_everything_in_keras():
    empty = np.zeros((1, 6))
    for loss in (lb.dice, lb.tversky, lb.jaccard):
        assert loss(empty, empty) == 0.0
        assert loss(empty, empty, **KERAS) == 1.0
        assert np.all(loss.grad(empty, empty) >= 0)  # any predicted pixel would cost


def test_a_nearly_perfect_mask_keeps_its_digits():
    """1 - ratio would round a loss of 1e-17 to 0 or to 1.1e-16; the ratio of the error counts does not."""
    y, p = np.array([[1.0, 1.0, 0.0, 0.0]]), np.array([[1 - 2.0 ** -53, 1.0, 2.0 ** -60, 0.0]])
    fn, fp = Fraction(2) ** -53, Fraction(2) ** -60
    exact = (fn + fp) / (Fraction(2) * (2 - fn) + fn + fp + 1)  # (FP + FN) / (2 I + FP + FN + 1)
    assert lb.dice(y, p) == float(exact)
    assert 1 - (2 * np.sum(y * p) + 1) / (np.sum(y) + np.sum(p) + 1) != float(exact)


def test_keras_dice_docstring_example():
    """keras.losses.Dice's documented numbers: per image (axis=(1, 2, 3)) and over the whole batch (axis=None)."""
    y_true = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    y_pred = np.array([[0.0, 1.0, 0.0, 1.0], [0.4, 0.0, 0.0, 0.9]])
    np.testing.assert_allclose(lb.dice(y_true, y_pred, reduction="none", **KERAS), [0.5, 0.75757575], rtol=1e-7)
    assert lb.dice(y_true.reshape(1, -1), y_pred.reshape(1, -1), **KERAS) == pytest.approx(0.6164384, rel=1e-7)


def test_keras_tversky_alpha_weighs_the_false_negatives():
    keras = pytest.importorskip("lossbook.frameworks").import_keras()
    theirs = keras.losses.Tversky(alpha=0.8, beta=0.2, axis=1, reduction=None)(Y.astype("float32"), P.astype("float32"))
    theirs = np.asarray(keras.ops.convert_to_numpy(theirs), dtype=float)
    swapped = lb.tversky(Y, P, alpha=0.2, beta=0.8, reduction="none", **KERAS)
    as_documented = lb.tversky(Y, P, alpha=0.8, beta=0.2, reduction="none", **KERAS)
    np.testing.assert_allclose(theirs, swapped, rtol=1e-5)
    assert np.max(np.abs(theirs - as_documented)) > 1e-2


def test_optax_binary_dice_loss_is_dice_of_the_sigmoid_with_smooth_two():
    pytest.importorskip("jax")
    from lossbook.frameworks import import_jax

    _, _, optax = import_jax()
    logits = RNG.normal(size=(5, 12)) * 3
    theirs = np.asarray(optax.losses.binary_dice_loss(logits, MASKS))
    ours = lb.dice(MASKS, 1 / (1 + np.exp(-logits)), smooth=2.0, reduction="none")
    np.testing.assert_allclose(theirs, ours, rtol=1e-12)
    # probabilities cannot go in as one channel: optax wants each pixel's channels to sum to 1
    with pytest.raises(ValueError, match="sum to 1"):
        optax.losses.binary_dice_loss(P, MASKS, apply_sigmoid=False)


def test_overlap_losses_need_images_and_some_smoothing():
    with pytest.raises(ValueError, match=r"shape \(N, D\)"):
        lb.dice(Y[0], P[0])
    with pytest.raises(ValueError, match="smooth"):
        lb.jaccard(Y, P, smooth=0.0)


# ---------------------------------------------------------------------------------------------
# Lovász hinge
# ---------------------------------------------------------------------------------------------
def _jaccard_loss_of_flipping(mask, flipped):
    """Delta_J(M) = |M| / |{y = 1} u M|: the IoU loss of the prediction that is right except on M."""
    return flipped.sum() / np.sum((mask == 1) | flipped)


def test_lovasz_hinge_is_the_jaccard_loss_at_binary_errors():
    """The Lovász extension is tight: errors of 1 on M and 0 elsewhere give exactly Delta_J(M)."""
    for mask in MASKS:
        for _ in range(5):
            flipped = RNG.uniform(size=mask.size) < 0.3
            margin = np.where(flipped, 0.0, 1.0)  # s (2y - 1): error 1 - margin
            logits = margin * (2 * mask - 1)
            got = lb.lovasz_hinge(mask[None], logits[None])
            assert got == pytest.approx(_jaccard_loss_of_flipping(mask, flipped), rel=1e-15, abs=0)


def test_lovasz_hinge_is_convex_in_the_logits():
    a, b = LOGITS, RNG.normal(size=LOGITS.shape) * 2
    for t in np.linspace(0.1, 0.9, 9):
        mid = lb.lovasz_hinge(MASKS, t * a + (1 - t) * b, reduction="none")
        chord = t * lb.lovasz_hinge(MASKS, a, reduction="none") + (1 - t) * lb.lovasz_hinge(MASKS, b, reduction="none")
        assert np.all(mid <= chord + 1e-12)


def test_lovasz_hinge_limits():
    """All-positive mask: the mean hinge (lb.hinge with 0/1 labels); empty mask: the largest error's hinge;
    one pixel: the hinge itself."""
    ones = np.ones_like(LOGITS)
    np.testing.assert_allclose(lb.lovasz_hinge(ones, LOGITS, reduction="none"),
                               lb.hinge(ones, LOGITS, labels="01", reduction="none"), rtol=1e-14)
    zeros = np.zeros_like(LOGITS)
    np.testing.assert_allclose(lb.lovasz_hinge(zeros, LOGITS, reduction="none"),
                               np.maximum(1 + LOGITS.max(axis=1), 0), rtol=1e-15)
    col = LOGITS[:, :1]
    np.testing.assert_allclose(lb.lovasz_hinge(MASKS[:, :1], col, reduction="none"),
                               np.maximum(1 - col[:, 0] * (2 * MASKS[:, 0] - 1), 0), rtol=1e-15)


def test_lovasz_hinge_gradient_is_bermans_autograd():
    torch = pytest.importorskip("torch")
    from lossbook.counterparts import import_torch

    assert import_torch() is torch
    s = torch.tensor(LOGITS, requires_grad=True)
    y = torch.tensor(MASKS)
    total = 0
    for labels, logits in zip(y, s):  # lovasz_hinge_flat per image, differentiated by torch
        errors = 1.0 - logits * (2.0 * labels - 1.0)
        errors_sorted, perm = torch.sort(errors, descending=True)
        gt = labels[perm]
        gts = gt.sum()
        jac = 1.0 - (gts - gt.cumsum(0)) / (gts + (1.0 - gt).cumsum(0))
        total = total + torch.dot(torch.relu(errors_sorted), torch.cat([jac[:1], jac[1:] - jac[:-1]]))
    (total / len(LOGITS)).backward()
    np.testing.assert_allclose(lb.lovasz_hinge.grad(MASKS, LOGITS), s.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_lovasz_per_batch_is_one_image_of_all_pixels():
    """Berman et al.'s per_image=False: the whole batch's pixels as one image."""
    ours = lb.lovasz_hinge(MASKS.reshape(1, -1), LOGITS.reshape(1, -1))
    assert ours == pytest.approx(_torch_lovasz_hinge(MASKS.reshape(1, -1), LOGITS.reshape(1, -1))[0], rel=1e-13)
    assert ours != pytest.approx(lb.lovasz_hinge(MASKS, LOGITS), rel=1e-3)
