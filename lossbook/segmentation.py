"""Overlap losses for segmentation: soft Dice, Tversky, soft Jaccard (IoU) and the Lovász hinge.

A sample is one image, its pixels flattened into a row: ``y_true`` and ``y_pred`` have shape
``(N, D)`` (reshape ``(N, H, W)`` or ``(N, H, W, 1)`` masks to ``(N, H * W)``).  Each loss is a
ratio of sums over the pixels of one image, so the per-sample loss is the loss of one image and
``reduction="mean"`` averages images (Berman et al.'s ``per_image=True``); the batch's pixels taken
as one image (Keras's default ``axis=None``) is the loss of ``y.reshape(1, -1)``.

* ``dice``, ``tversky``, ``jaccard``: soft masks ``y_true`` in [0, 1] against probabilities
  ``y_pred``; with soft counts ``I = sum y p``, ``FP = sum (1 - y) p``, ``FN = sum y (1 - p)``
  each is ``1 - (c I + smooth) / (c I + a FP + b FN + smooth + epsilon)``;
* ``lovasz_hinge``: binary masks against logits; the Lovász extension of the Jaccard loss applied to
  the pixels' hinge errors (Berman et al. 2018).

Their framework counterparts (Keras, optax, torch expressions) are in ``lossbook/counterparts.py``.
Chapter: ``book/segmentation/overlap``.
"""
from __future__ import annotations

import numpy as np

from .core import KERAS_EPSILON, Hyper, Loss

__all__ = ["dice", "tversky", "jaccard", "lovasz_hinge"]


def _require_images(y_pred):
    if y_pred.ndim != 2:
        raise ValueError(f"y_pred must have shape (N, D), one row of D pixels per image (flatten each mask); "
                         f"got {y_pred.shape}")


# ============================================================================================
# Dice, Tversky, Jaccard: one ratio of soft counts
# ============================================================================================
def _overlap(y, p, *, with_grad, c, a, b, smooth, epsilon):
    r"""``1 - (c I + s) / (c I + a FP + b FN + s + eps)`` per row, written as the ratio of non-negative sums
    ``(a FP + b FN + eps) / (c I + a FP + b FN + s + eps)``: no ``1 - ratio`` cancellation, so a loss of
    1e-17 (a nearly perfect mask) keeps its digits.  Shared by the three losses below."""
    _require_images(p)
    if smooth == 0 and epsilon == 0:
        raise ValueError("smooth and epsilon cannot both be 0: an empty mask predicted empty would be 0/0 "
                         "(Keras uses smooth=0, epsilon=1e-7)")
    inter = np.einsum("ij,ij->i", y, p)  # I = sum y p
    fp = np.einsum("ij,ij->i", 1.0 - y, p)  # FP = sum (1 - y) p
    fn = np.einsum("ij,ij->i", y, 1.0 - p)  # FN = sum y (1 - p)
    num = a * fp + b * fn + epsilon
    kept = c * inter + smooth  # what the loss does not count against the prediction
    den = num + kept  # >= smooth + epsilon > 0
    loss = num / den
    if not with_grad:
        return loss
    # d num / dp = a (1 - y) - b y and d den / dp = that + c y, so by the quotient rule
    # dL/dp = [(a (1 - y) - b y) kept - num c y] / den^2, taken as (.. kept/den - loss c y) / den (no den^2 to
    # underflow when smooth + epsilon is tiny)
    d_num = a * (1.0 - y) - b * y
    grad = (d_num * (kept / den)[:, None] - (c * loss)[:, None] * y) / den[:, None]
    return loss, grad


_SMOOTH = Hyper(1.0, ">=0", "added to the numerator and the denominator: an empty mask predicted empty has loss 0, "
                            "and small objects' gradients are damped")
_EPSILON = Hyper(0.0, ">=0", "added to the denominator only (Keras's 1e-7, with smooth=0)")
_KERAS = {"smooth": 0.0, "epsilon": KERAS_EPSILON}


def _dice(y_true, y_pred, *, with_grad, smooth, epsilon):
    r"""Soft Dice loss: one minus the Dice coefficient of the soft mask and the predicted probabilities.

    Per image (a row of D pixels), with :math:`I = \sum_d y_d p_d`:

    .. math::  \ell = 1 - \frac{2 I + s}{\sum_d y_d + \sum_d p_d + s + \epsilon}
               = \frac{FP + FN + \epsilon}{2 I + FP + FN + s + \epsilon},
               \qquad FP = \sum_d (1 - y_d)\, p_d,\ \ FN = \sum_d y_d (1 - p_d)

    .. math::  \frac{\partial \ell}{\partial p_d} =
               \frac{(1 - 2 y_d)(2 I + s) - 2 y_d (FP + FN + \epsilon)}{(2 I + FP + FN + s + \epsilon)^2}

    With binary masks and binary predictions, the ratio :math:`2I / (|Y| + |P|)` is the Dice coefficient, which is
    the F1 score of the pixels: soft Dice is one minus the soft F1 of :data:`lossbook.soft_fbeta`,
    over one image instead of the batch.  Milletari et al.'s V-Net loss squares the denominator's
    terms (:math:`\sum p^2 + \sum y^2`); the frameworks and lossbook use the plain sums.

    ``smooth`` (default 1, the ``(2 * intersection + 1) / (sum + 1)`` of the widespread Keras
    snippet) makes an empty mask predicted empty a loss of 0; ``epsilon`` is added to the
    denominator only.  Conventions elsewhere:

    * Keras (``keras.losses.Dice``): ``1 - 2 I / (sum y + sum p + 1e-7)``, that is smooth=0,
      epsilon=1e-7 (its docstring's formula shows no epsilon; an empty mask predicted empty costs
      1, the maximum).  Its default ``axis=None`` sums over the whole batch: one Dice for all
      images; ``axis=1`` (``(1, 2, 3)`` for images) with ``reduction=None`` gives lossbook's
      per-image values.
    * optax (``optax.losses.dice_loss(predictions, targets)``, prediction first): logits by
      default (sigmoid for one channel, softmax for several); it writes Dice in Tversky's form
      ``(I + s) / (I + FP/2 + FN/2 + s)``, so its ``smooth=1`` is lossbook's ``smooth=2``.  With
      ``apply_softmax=False`` it requires each pixel's channels to sum to 1, so probabilities go in
      as two channels ``[p, 1 - p]`` (targets ``[y, 1 - y]``), class 0 read off ``reduction="none"``.
    * torch has no Dice loss (segmentation libraries add one).

    Stability: the loss is computed as the ratio of non-negative sums on the right, never as
    ``1 - ratio``, so probabilities of exactly 0 and 1 and masks of all zeros or all ones give the
    exact value, and a nearly perfect prediction's tiny loss keeps its digits.  ``smooth`` and
    ``epsilon`` cannot both be 0.  Chapter: ``book/segmentation/overlap``.
    """
    return _overlap(y_true, y_pred, with_grad=with_grad, c=2.0, a=1.0, b=1.0, smooth=smooth, epsilon=epsilon)


def _tversky(y_true, y_pred, *, with_grad, alpha, beta, smooth, epsilon):
    r"""Tversky loss: Dice with false positives weighted by alpha and false negatives by beta.

    .. math::  \ell = 1 - \frac{I + s}{I + \alpha\, FP + \beta\, FN + s + \epsilon}
               = \frac{\alpha\, FP + \beta\, FN + \epsilon}{I + \alpha\, FP + \beta\, FN + s + \epsilon}

    with :math:`I = \sum_d y_d p_d`, :math:`FP = \sum_d (1 - y_d) p_d`,
    :math:`FN = \sum_d y_d (1 - p_d)` over one image's pixels, and

    .. math::  \frac{\partial \ell}{\partial p_d} =
               \frac{(\alpha (1 - y_d) - \beta y_d)(I + s) - y_d (\alpha FP + \beta FN + \epsilon)}
               {(I + \alpha FP + \beta FN + s + \epsilon)^2}

    Salehi et al. (2017) weight false positives by alpha and false negatives by beta; beta > alpha
    favours recall (small lesions).  alpha = beta = 1/2 is :data:`dice` with twice the smoothing
    (``tversky(smooth=s) == dice(smooth=2 s)``); alpha = beta = 1 is :data:`jaccard`.

    Conventions elsewhere:

    * Keras (``keras.losses.Tversky``, defaults alpha = beta = 0.5): smooth=0, epsilon=1e-7, and
      its ``alpha`` multiplies ``sum y (1 - p)``, the false *negatives*, although its docstring
      says false positives: lossbook's (alpha, beta) is Keras's ``Tversky(alpha=beta,
      beta=alpha)``.  ``axis=1``, ``reduction=None`` for per-image values, as for Dice.
    * optax (``optax.losses.dice_loss(..., alpha=, beta=)``): exactly this formula, alpha on false
      positives, with ``smooth=1`` by default (lossbook's default too); probabilities go in as for
      :data:`dice`.

    Stability as :data:`dice`: the ratio of non-negative sums.  Chapter: ``book/segmentation/overlap``.
    """
    return _overlap(y_true, y_pred, with_grad=with_grad, c=1.0, a=alpha, b=beta, smooth=smooth, epsilon=epsilon)


def _jaccard(y_true, y_pred, *, with_grad, smooth, epsilon):
    r"""Soft Jaccard (IoU) loss: one minus the intersection over the union, with soft counts.

    .. math::  \ell = 1 - \frac{I + s}{\sum_d y_d + \sum_d p_d - I + s + \epsilon}
               = \frac{FP + FN + \epsilon}{I + FP + FN + s + \epsilon}

    .. math::  \frac{\partial \ell}{\partial p_d} =
               \frac{(1 - 2 y_d)(I + s) - y_d (FP + FN + \epsilon)}{(I + FP + FN + s + \epsilon)^2}

    with :math:`I = \sum_d y_d p_d` over one image's pixels (Rahman and Wang 2016).  For binary
    masks and predictions it is one minus the IoU; with s = epsilon = 0, Jaccard and Dice losses
    are tied by :math:`\ell_J = 2\ell_D / (1 + \ell_D)`.  It is the Tversky loss with
    alpha = beta = 1.  Neither torch nor Keras nor optax names it; Keras's
    ``Tversky(alpha=1, beta=1)`` and optax's ``dice_loss(alpha=1, beta=1)`` compute it.
    Stability as :data:`dice`.  Chapter: ``book/segmentation/overlap``.
    """
    return _overlap(y_true, y_pred, with_grad=with_grad, c=1.0, a=1.0, b=1.0, smooth=smooth, epsilon=epsilon)


def _overlap_extremes(configs):
    """Masks of all zeros and all ones, probabilities of exactly 0 and 1, a nearly perfect prediction."""
    y = np.array([[0.0] * 4, [1.0] * 4, [1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0], [0.0] * 4, [1.0] * 4,
                  [0.3, 1.0, 0.0, 0.5]])
    p = np.array([[0.0] * 4, [1.0] * 4, [1 - 1e-16, 1e-300, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0], [1.0] * 4, [0.0] * 4,
                  [1e-300, 1.0, 1.0, 0.5]])
    return [(y, p, dict(h)) for h in configs]


_DICE_CONFIGS = ({}, _KERAS)
_TVERSKY_CONFIGS = ({}, {"alpha": 0.3, "beta": 0.7}, {"alpha": 0.7, "beta": 0.3, **_KERAS})
_JACCARD_CONFIGS = ({}, _KERAS)

_OVERLAP_KW = dict(family="probabilistic", chapter="segmentation/overlap", y_true="probability",
                   y_pred="probability", ndims=(2,))

dice = Loss(
    "dice",
    _dice,
    summary="soft Dice loss: one minus the Dice coefficient (soft F1) of each image's mask and probabilities",
    hyper={"smooth": _SMOOTH, "epsilon": _EPSILON},
    configs=_DICE_CONFIGS,
    extremes=lambda: _overlap_extremes(_DICE_CONFIGS),
    references=("milletari2016vnet",),
    **_OVERLAP_KW,
)

tversky = Loss(
    "tversky",
    _tversky,
    summary="Tversky loss: Dice with false positives weighted by alpha and false negatives by beta",
    hyper={"alpha": Hyper(0.5, ">=0", "weight of the false positives, sum (1 - y) p"),
           "beta": Hyper(0.5, ">=0", "weight of the false negatives, sum y (1 - p)"),
           "smooth": _SMOOTH, "epsilon": _EPSILON},
    configs=_TVERSKY_CONFIGS,
    extremes=lambda: _overlap_extremes(_TVERSKY_CONFIGS),
    references=("salehi2017tversky",),
    **_OVERLAP_KW,
)

jaccard = Loss(
    "jaccard",
    _jaccard,
    summary="soft Jaccard (IoU) loss: one minus each image's soft intersection over union",
    hyper={"smooth": _SMOOTH, "epsilon": _EPSILON},
    configs=_JACCARD_CONFIGS,
    extremes=lambda: _overlap_extremes(_JACCARD_CONFIGS),
    references=("rahman2016iou",),
    **_OVERLAP_KW,
)


# ============================================================================================
# Lovász hinge: the Lovász extension of the Jaccard loss, on hinge errors
# ============================================================================================
def _jaccard_increments(y_sorted):
    r"""Berman et al.'s ``lovasz_grad``: the Jaccard loss's increments along the sorted pixels, per row.

    With G positives, c_k of them and n_k = k - c_k negatives among the first k pixels, the Jaccard
    loss of mispredicting those k is J_k = 1 - (G - c_k) / (G + n_k) = k / U_k, U_k = G + n_k >= 1.
    Its increments in closed form (no difference of two rounded J's): 1 / U_k where pixel k is
    positive, (G - c_k) / (U_k U_{k-1}) where it is negative, and J_1 = 1 / U_1 for the first.
    All >= 0, so the loss below is a sum of non-negative terms.
    """
    d = y_sorted.shape[1]
    positives = y_sorted.sum(axis=1, keepdims=True)  # G
    pos_seen = np.cumsum(y_sorted, axis=1)  # c_k (integers: exact)
    union = positives + (np.arange(1, d + 1) - pos_seen)  # U_k = G + n_k
    prev_union = union - (1.0 - y_sorted)  # U_{k-1}: 0 only for a first negative pixel when G = 0
    first = prev_union == 0
    first[:, 0] = True
    negative = (positives - pos_seen) / (union * np.maximum(prev_union, 1.0))
    return np.where((y_sorted == 1) | first, 1.0 / union, negative)


def _lovasz_hinge(y_true, y_pred, *, with_grad):
    r"""Lovász hinge loss (Berman et al. 2018): a convex surrogate of one minus the IoU, on logits.

    Per image, with the pixels' hinge errors :math:`e_d = 1 - s_d (2 y_d - 1)` (s the logits,
    y in {0, 1}) sorted in decreasing order, :math:`e_{\pi(1)} \ge \dots \ge e_{\pi(D)}`:

    .. math::  \ell = \sum_{k=1}^{D} \max(e_{\pi(k)}, 0)\; g_k, \qquad
               g_k = \Delta_J(\{\pi(1), \dots, \pi(k)\}) - \Delta_J(\{\pi(1), \dots, \pi(k-1)\})

    where :math:`\Delta_J(M) = |M| / |\{y = 1\} \cup M|` is the Jaccard loss of mispredicting the
    pixels M (:math:`\Delta_J(\emptyset) = 0`).  This is the Lovász extension of
    :math:`\Delta_J` at the vector of hinge errors: piecewise linear, convex, and equal to
    :math:`\Delta_J(M)` when the errors are 1 on M and 0 elsewhere.  Its (sub)gradient holds the
    order fixed:

    .. math::  \frac{\partial \ell}{\partial s_d} = -(2 y_d - 1)\, g_{\pi^{-1}(d)}\, [e_d > 0]

    The loss has kinks where two errors tie (the order changes) and where an error crosses 0; on
    them lossbook takes the order of a stable sort of the float64 errors (ties in index order) and
    0 for the hinge (torch's ``relu``).  An all-zero mask gives g = (1, 0, ..., 0): the loss is the
    largest error's hinge; an all-one mask, g = 1/D: the mean hinge.

    Berman et al.'s ``lovasz_hinge_flat`` (``lovasz_losses.py``, torch) computes the increments as
    differences of the Jaccard losses; lossbook computes them in closed form (see
    ``_jaccard_increments``), each correctly rounded, so the loss, a sum of non-negative products,
    is accurate to a few ulp; logits of +-1e4 are fine.  Their ``per_image=True`` is
    lossbook's ``reduction="mean"``; ``per_image=False`` is the loss of ``y.reshape(1, -1)``.
    Neither torch, Keras nor optax has the loss.  Chapter: ``book/segmentation/overlap``.
    """
    _require_images(y_pred)
    sign = 2.0 * y_true - 1.0
    errors = 1.0 - y_pred * sign
    order = np.argsort(-errors, axis=1, kind="stable")  # decreasing errors, ties in index order
    e_sorted = np.take_along_axis(errors, order, axis=1)
    g = _jaccard_increments(np.take_along_axis(y_true, order, axis=1))
    loss = np.einsum("ij,ij->i", np.maximum(e_sorted, 0.0), g)
    if not with_grad:
        return loss
    grad = np.empty_like(y_pred)
    np.put_along_axis(grad, order, np.where(e_sorted > 0, g, 0.0), axis=1)
    grad *= -sign  # de/ds = -(2y - 1)
    return loss, grad


def _lovasz_kinks(y_true, y_pred):
    """Pixels whose error is near 0 or near another pixel's error in the same image (the order may flip)."""
    e = 1.0 - np.asarray(y_pred, float) * (2.0 * np.asarray(y_true, float) - 1.0)
    tol = 1e-5 * np.maximum(1.0, np.abs(e))
    close = np.abs(e[:, :, None] - e[:, None, :]) < tol[:, :, None]
    close[:, np.arange(e.shape[1]), np.arange(e.shape[1])] = False
    return (np.abs(e) < tol) | close.any(axis=2)


def _lovasz_extremes():
    y = np.array([[0.0] * 4, [1.0] * 4, [1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0],
                  [0.0, 1.0, 1.0, 0.0]])
    s = np.array([[1e4, -1e4, 0.0, 1.0], [-1e4, 1e4, -1.0, 1.0], [1e4, -1e4, 1e4, -1e4], [-1e4, 1e4, -1e4, 1e4],
                  [1.0, -1.0, 1.0, -1.0], [0.0, 0.0, 0.0, 0.0]])  # errors of 0, ties, the largest logits
    return [(y, s, {})]


lovasz_hinge = Loss(
    "lovasz_hinge",
    _lovasz_hinge,
    family="margin",
    chapter="segmentation/overlap",
    summary="Lovász hinge: the Lovász extension of the Jaccard loss at each image's pixel hinge errors, on logits",
    y_true="binary",
    y_pred="real",
    ndims=(2,),
    kinks=_lovasz_kinks,
    extremes=_lovasz_extremes,
    references=("berman2018lovasz",),
)
