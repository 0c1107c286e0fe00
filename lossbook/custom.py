"""Custom losses (seed 001): the soft F-beta loss, and the L1 activity penalty of ``add_loss()``.

``soft_fbeta`` is a *batch* loss: F-beta is a ratio of counts over the whole batch, so the loss is
not a sum of per-sample terms and has no ``reduction`` or ``sample_weight``.  The L1 activity
penalty is not a loss of ``(y_true, y_pred)`` at all but a term added to the objective from inside
a layer; it is a helper here, not a registered loss (the chapter ``book/custom/add-loss`` says why).
Chapters: ``book/custom``.
Their framework counterparts (torch, Keras, ...), with the recipes, are in ``lossbook/counterparts.py``.
"""
from __future__ import annotations

import numpy as np

from .core import KERAS_EPSILON, Hyper, Loss
from . import validation as V

__all__ = ["soft_fbeta", "soft_fbeta_parts", "l1_activity_penalty"]


# --------------------------------------------------------------------------------------------
# Soft F-beta
# --------------------------------------------------------------------------------------------
def soft_fbeta_parts(y_true, y_pred, *, beta=1.0, epsilon=KERAS_EPSILON) -> dict:
    """The soft counts, soft precision / recall and soft F-beta of seed 001's loss, as floats.

    No validation: a teaching helper for the chapter (the loss itself validates).
    """
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    tp = float(np.sum(y * p))
    fp = float(np.sum((1.0 - y) * p))
    fn = float(np.sum(y * (1.0 - p)))
    precision = tp / (tp + fp + epsilon)
    recall = tp / (tp + fn + epsilon)
    b2 = beta * beta
    f = (1.0 + b2) * precision * recall / (b2 * precision + recall + epsilon)
    return dict(tp=tp, fp=fp, fn=fn, precision=precision, recall=recall, fbeta=f)


def _soft_fbeta(y_true, y_pred, *, with_grad, beta, epsilon):
    r"""Soft F-beta loss, seed 001's custom loss: one minus F-beta of *soft* counts over the batch.

    With :math:`p_i \in [0, 1]` the predicted probabilities and :math:`y_i \in \{0, 1\}` the
    labels (every entry of the batch, summed over all axes),

    .. math::

        TP = \sum_i y_i p_i,\quad FP = \sum_i (1 - y_i) p_i,\quad FN = \sum_i y_i (1 - p_i),

        P = \frac{TP}{TP + FP + \epsilon},\quad R = \frac{TP}{TP + FN + \epsilon},\quad
        L = 1 - \frac{(1 + \beta^2) P R}{\beta^2 P + R + \epsilon}

    with :math:`\epsilon` in the three denominators exactly where seed 001 puts Keras's
    ``K.epsilon()`` (1e-7).  Since :math:`TP + FP = \sum_i p_i = S_p` and
    :math:`TP + FN = \sum_i y_i = S_y`, with :math:`D = \beta^2 P + R + \epsilon`:

    .. math::

        \frac{\partial P}{\partial p_i} = \frac{y_i - P}{S_p + \epsilon},\quad
        \frac{\partial R}{\partial p_i} = \frac{y_i}{S_y + \epsilon},\quad
        \frac{\partial L}{\partial p_i} = -\frac{1 + \beta^2}{D^2}
        \Big[R (R + \epsilon) \frac{\partial P}{\partial p_i}
        + P (\beta^2 P + \epsilon) \frac{\partial R}{\partial p_i}\Big]

    Stability: every denominator is at least :math:`\epsilon > 0`, so probabilities of exactly 0
    and 1, a batch with no positives (:math:`L = 1`, gradient 0) and all-zero predictions
    (:math:`L = 1`, gradient 0) all give finite values.  :math:`L = 1` is the loss's global
    maximum (:math:`F \ge 0`), and the gradient vanishes there because :math:`F` is computed as a
    product of :math:`P` and :math:`R`, both 0 when :math:`TP = 0`; the count form
    :math:`(1+\beta^2) TP / ((1+\beta^2) TP + \beta^2 FN + FP)` has a non-zero gradient at
    all-zero predictions when the batch holds positives.  A batch loss: one value for the
    whole batch, no ``reduction``, no ``sample_weight``.  Chapter: ``book/custom/soft-fbeta``.
    """
    y, p = y_true, y_pred
    b2 = beta * beta
    tp = np.sum(y * p)
    s_p = np.sum(p)  # TP + FP: all predicted mass
    s_y = np.sum(y)  # TP + FN: all positives
    # seed 001 writes TP + FP and TP + FN; they are these sums (equal up to rounding), and the
    # sums keep the gradient short
    precision = tp / (s_p + epsilon)
    recall = tp / (s_y + epsilon)
    denom = b2 * precision + recall + epsilon  # >= epsilon > 0
    loss = 1.0 - (1.0 + b2) * precision * recall / denom
    if not with_grad:
        return float(loss)
    d_precision = (y - precision) / (s_p + epsilon)
    d_recall = y / (s_y + epsilon)
    grad = -(1.0 + b2) / denom ** 2 * (recall * (recall + epsilon) * d_precision
                                       + precision * (b2 * precision + epsilon) * d_recall)
    return float(loss), grad


def _soft_fbeta_extremes():
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    return [
        (y, y.copy(), {}),  # perfect: loss ~ 0
        (y, 1.0 - y, {}),  # all wrong: loss 1
        (y, np.zeros(7), {}),  # predicts nothing: 0/eps everywhere, loss 1 (the maximum), gradient 0
        (y, np.ones(7), {}),
        (np.zeros(7), np.linspace(0, 1, 7), {}),  # no positives in the batch: loss 1, gradient 0
        (np.ones(7), np.linspace(0, 1, 7), {}),
    ]


_SOFT_FBETA_KW = dict(
    family="custom",
    chapter="custom/soft-fbeta",
    summary="one minus F-beta of soft counts over the batch (seed 001's custom Keras loss)",
    y_true="binary",
    y_pred="probability",
    hyper={"beta": Hyper(1.0, ">0", "weight of recall: F-beta treats recall as beta times as important as precision"),
           "epsilon": Hyper(KERAS_EPSILON, ">0", "added to the three denominators (Keras's K.epsilon())")},
    configs=({}, {"beta": 0.5}, {"beta": 2.0}),
    ndims=(1, 2),
    extremes=_soft_fbeta_extremes,
)

soft_fbeta = Loss("soft_fbeta", _soft_fbeta, batch=True, references=("vanrijsbergen1979ir",), **_SOFT_FBETA_KW)  # one value per batch


# --------------------------------------------------------------------------------------------
# L1 activity penalty (seed 001's add_loss() layer)
# --------------------------------------------------------------------------------------------
def l1_activity_penalty(activations, factor, *, with_grad=False):
    r"""Seed 001's L1 activity penalty: ``factor`` times the sum of |activations| over the batch.

    .. math::  \Omega(A) = \lambda \sum_{i,j} |a_{ij}|, \qquad
               \frac{\partial \Omega}{\partial a_{ij}} = \lambda \operatorname{sign}(a_{ij})

    (subgradient 0 at :math:`a_{ij} = 0`, as torch's ``abs`` gives).  It is a *sum* over the batch,
    as seed 001's ``reduce_sum`` is: a layer that adds it with ``add_loss`` makes the penalty grow
    with the batch size, while Keras's ``activity_regularizer=L1(factor)`` divides by the batch
    size.  Not a loss of ``(y_true, y_pred)``: it is added to one.  Returns the value, or
    ``(value, gradient)`` with ``with_grad=True``.  Chapter: ``book/custom/add-loss``.
    """
    a = V.as_float_array("activations", activations)
    factor = V.check_hyper("factor", factor, ">=0")
    value = factor * float(np.sum(np.abs(a)))
    return (value, factor * np.sign(a)) if with_grad else value


# moved to counterparts.py; re-exported for book/custom/soft-fbeta.ipynb (lb.custom.torch_soft_fbeta,
# from lossbook.custom import keras_soft_fbeta). Looked up on first use, not imported here:
# counterparts.py imports this module.
_MOVED_TO_COUNTERPARTS = ("torch_soft_fbeta", "keras_soft_fbeta")


def __getattr__(name):
    if name in _MOVED_TO_COUNTERPARTS:
        from . import counterparts

        return getattr(counterparts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
