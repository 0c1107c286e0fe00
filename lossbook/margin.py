"""Margin losses: the hinge family.

A margin loss charges nothing once a score is on the right side of a decision boundary by at
least a margin, and charges linearly (or quadratically) for every unit short of it (the exception
is ``hinge_embedding``'s similar-pair term, which charges the distance itself).  None of them is
derived as a negative log-likelihood; the classification ones are convex surrogates of the 0-1 loss.

Label conventions are explicit here, never guessed from the data:

* ``hinge`` / ``squared_hinge`` take labels in {-1, 1}; ``labels="01"`` declares {0, 1} labels
  (mapped to 2y - 1).  Keras instead converts {0, 1} silently, and only when *every* label of the
  batch is 0 or 1; lossbook raises on a 0 unless told.
* Scores are used as given.  torchmetrics squashes predictions through a sigmoid (softmax) when any
  of them leaves [0, 1]; lossbook does not: the chapter shows that step as a convention difference.

Chapters: ``book/margin/hinge``, ``book/margin/multiclass-hinge``, ``book/margin/hinge-embedding``.
Their framework counterparts (torch, Keras, ...), with the recipes, are in ``lossbook/counterparts.py``.
"""
from __future__ import annotations

import numpy as np

from .core import Hyper, Loss, mean_last, width

__all__ = ["hinge", "squared_hinge", "categorical_hinge", "multiclass_hinge", "hinge_embedding",
           "multi_margin", "margin_ranking"]

KINK_TOL = 1e-3  # how close to a hinge point the finite-difference tests keep away from


class _SignedLoss(Loss):
    """A loss on labels in {-1, 1} whose error for a 0 label says how to declare {0, 1} labels."""

    def prepare(self, y_true, y_pred, hyper):
        try:
            return super().prepare(y_true, y_pred, hyper)
        except ValueError as exc:
            if "y_true must be labels in {-1, 1}" in str(exc) and "found 0.0" in str(exc):
                raise ValueError(f"{exc}; for labels in {{0, 1}} pass labels='01' "
                                 "(lossbook never guesses the encoding from the data, as Keras does)") from None
            raise


def _signed(y_true, labels):
    """Labels as -1/+1: ``labels="01"`` maps {0, 1} -> {-1, 1} by 2y - 1."""
    return 2.0 * y_true - 1.0 if labels == "01" else y_true


def _labels_domain(hp):
    return "binary" if hp["labels"] == "01" else "signed"


def _pick(scores, labels):
    """scores[i, labels[i]] for every row i."""
    return scores[np.arange(scores.shape[0]), labels]


def _others_max(scores, labels):
    """The largest score among the wrong classes of each row, and where it is."""
    masked = scores.copy()
    masked[np.arange(scores.shape[0]), labels] = -np.inf  # the true class never competes with itself
    where = masked.argmax(axis=-1)
    return _pick(masked, where), where


def _top2_gap(scores, labels):
    """Gap between the best and second-best wrong-class scores (a tie is a kink of the max)."""
    masked = scores.copy()
    masked[np.arange(scores.shape[0]), labels] = -np.inf
    top = np.sort(masked, axis=-1)
    return top[:, -1] - top[:, -2] if scores.shape[1] > 2 else np.full(scores.shape[0], np.inf)


def _row_mask(rows, shape):
    return np.broadcast_to(np.asarray(rows)[:, None], shape)


def _row_sums(x):
    """Sum over the last axis of (N, C); einsum is several times faster than ``x.sum(axis=-1)`` on short rows."""
    return np.einsum("ij->i", x)


# --------------------------------------------------------------------------------------------
# Binary hinge and squared hinge
# --------------------------------------------------------------------------------------------
def _hinge(y_true, y_pred, *, with_grad, labels):
    r"""Hinge loss (the SVM loss), labels in {-1, 1}.

    .. math::  \ell_i = \frac{1}{D}\sum_{d} \max(0,\, 1 - y_{id}\, s_{id}),
               \qquad \frac{\partial \ell_i}{\partial s_{id}} = -\frac{y_{id}}{D}\,[\,y_{id} s_{id} < 1\,]

    ``y_pred`` holds raw scores s (any real number; a tanh output in the book's MLPs).  At the
    kink y s = 1 the subgradient 0 is returned (what torch's ``relu`` backward gives).
    ``labels="01"`` declares labels in {0, 1}, mapped to 2y - 1; the default refuses a 0 label
    instead of guessing.  Nothing to stabilise: the loss is piecewise linear.
    Chapter: ``book/margin/hinge``.
    """
    y = _signed(y_true, labels)
    slack = y * y_pred  # exact: y is +-1
    np.subtract(1.0, slack, out=slack)  # 1 - y s, in place (slack is ours)
    active = slack > 0
    loss = mean_last(np.maximum(slack, 0.0, out=slack))
    if not with_grad:
        return loss
    grad = np.zeros_like(y_pred)
    np.negative(y, out=grad, where=active)  # -y where the hinge is active, 0 elsewhere
    if width(y_pred) > 1:
        grad /= width(y_pred)
    return loss, grad


def _squared_hinge(y_true, y_pred, *, with_grad, labels):
    r"""Squared hinge loss, labels in {-1, 1}.

    .. math::  \ell_i = \frac{1}{D}\sum_{d} \max(0,\, 1 - y_{id}\, s_{id})^2,
               \qquad \frac{\partial \ell_i}{\partial s_{id}} = -\frac{2}{D}\, y_{id}\,\max(0,\, 1 - y_{id} s_{id})

    Differentiable everywhere (the gradient is continuous at y s = 1), but it punishes a badly
    wrong score quadratically.  ``labels="01"`` as for :data:`hinge`.  Chapter: ``book/margin/hinge``.
    """
    y = _signed(y_true, labels)
    slack = y * y_pred  # exact: y is +-1
    np.subtract(1.0, slack, out=slack)  # in place (slack is ours): 1 - y s, then its positive part
    np.maximum(slack, 0.0, out=slack)
    loss = mean_last(slack * slack)
    if not with_grad:
        return loss
    grad = slack  # no longer needed as such: turned in place into -2 y slack / D
    grad *= y
    grad *= -2.0
    if width(y_pred) > 1:
        grad /= width(y_pred)
    return loss, grad


def _hinge_kinks(y_true, y_pred, *, labels):
    return np.abs(1.0 - _signed(y_true, labels) * y_pred) < KINK_TOL


_LABELS = Hyper("pm1", ("pm1", "01"), "label encoding: 'pm1' for {-1, 1}, '01' for {0, 1} (mapped to 2y - 1)")

hinge = _SignedLoss(
    "hinge",
    _hinge,
    family="margin",
    chapter="margin/hinge",
    references=("cortes1995support",),
    summary="max(0, 1 - y s): the SVM loss, a convex surrogate of the 0-1 loss",
    y_true=_labels_domain,
    hyper={"labels": _LABELS},
    kinks=_hinge_kinks,
    configs=({}, {"labels": "01"}),
)

squared_hinge = _SignedLoss(
    "squared_hinge",
    _squared_hinge,
    family="margin",
    chapter="margin/hinge",
    summary="max(0, 1 - y s)^2: the smooth cousin of the hinge",
    y_true=_labels_domain,
    hyper={"labels": _LABELS},
    configs=({}, {"labels": "01"}),
)


# --------------------------------------------------------------------------------------------
# Keras's categorical hinge
# --------------------------------------------------------------------------------------------
def _categorical_hinge(y_true, y_pred, *, with_grad):
    r"""Keras's categorical hinge, one-hot targets.

    .. math::  \ell_i = \max\bigl(0,\; 1 + \max_c\,(1 - y_{ic})\,s_{ic} - \sum_c y_{ic} s_{ic}\bigr)
               = \max\bigl(0,\; 1 + \max(m_i, 0) - s_{i y_i}\bigr),\quad m_i = \max_{c \ne y_i} s_{ic}

    The masked true class enters the max as a 0, so this equals Crammer-Singer
    (:data:`multiclass_hinge`) only when some wrong-class score is >= 0.  Gradient, where the hinge
    is active: -1 on the true class, +1 on the class that attains the max (none when the 0 of the
    masked true class wins).  Chapter: ``book/margin/multiclass-hinge``.
    """
    pos = np.einsum("ij,ij->i", y_true, y_pred)  # sum_c y_c s_c, without an (N, C) product
    masked = (1.0 - y_true) * y_pred  # Keras's mask: the true class becomes a 0 competing in the max
    where = masked.argmax(axis=-1)
    rows = np.arange(len(where))
    neg = masked[rows, where]
    slack = 1.0 + neg - pos
    active = slack > 0
    loss = np.maximum(slack, 0.0, out=slack)
    if not with_grad:
        return loss
    grad = np.zeros_like(y_pred)
    np.negative(y_true, out=grad, where=active[:, None])  # -1 on the true class of active rows
    wins = active & (y_true[rows, where] == 0)  # when the true class's masked 0 wins, the max is a constant
    grad[rows[wins], where[wins]] = 1.0
    return loss, grad


def _categorical_hinge_kinks(y_true, y_pred):
    masked = (1.0 - y_true) * y_pred
    top = np.sort(masked, axis=-1)
    pos = np.sum(y_true * y_pred, axis=-1)
    near = (np.abs(1.0 + top[:, -1] - pos) < KINK_TOL) | (top[:, -1] - top[:, -2] < KINK_TOL)
    return _row_mask(near, y_pred.shape)


categorical_hinge = Loss(
    "categorical_hinge",
    _categorical_hinge,
    family="margin",
    chapter="margin/multiclass-hinge",
    references=("crammer2001multiclass",),
    summary="Keras's multiclass hinge: Crammer-Singer with a 0 in the max",
    y_true="one_hot",
    ndims=(2,),
    kinks=_categorical_hinge_kinks,
)


# --------------------------------------------------------------------------------------------
# torchmetrics' multiclass hinge: Crammer-Singer or one-vs-all
# --------------------------------------------------------------------------------------------
def _multiclass_hinge(y_true, y_pred, *, with_grad, mode, squared):
    r"""Multiclass hinge with integer labels, torchmetrics's two definitions.

    Crammer-Singer (``mode="crammer_singer"``), one hinge per sample on the margin between the true
    class and the best wrong class:

    .. math::  \ell_i = h_i^{q},\quad h_i = \max\bigl(0,\; 1 - s_{i y_i} + \max_{c \ne y_i} s_{ic}\bigr)

    One-vs-all (``mode="one_vs_all"``), one binary hinge per class with target +1 for the true class
    and -1 for the others, summed over the classes:

    .. math::  \ell_i = \sum_c \max(0,\; 1 - t_{ic}\, s_{ic})^{q},\quad t_{ic} = \pm 1

    with q = 2 when ``squared`` and 1 otherwise.  Gradients (where active): Crammer-Singer gives
    -q h^{q-1} on the true class and +q h^{q-1} on the best wrong class; one-vs-all gives
    -q t_{ic} h_{ic}^{q-1} per class.

    Scores are used as given.  torchmetrics applies a softmax to every score when any score leaves
    [0, 1]; lossbook does not.  torchmetrics returns the mean over samples (a vector of C per-class
    means for one-vs-all, whose sum is lossbook's mean).  Chapter: ``book/margin/multiclass-hinge``.
    """
    q = 2.0 if squared else 1.0
    n, c = y_pred.shape
    rows = np.arange(n)
    if mode == "crammer_singer":
        best_other, where = _others_max(y_pred, y_true)
        h = np.maximum(1.0 - _pick(y_pred, y_true) + best_other, 0.0)
        loss = h ** q
        if not with_grad:
            return loss
        slope = np.where(h > 0, q * h ** (q - 1.0), 0.0)  # d h^q / d h, 0 where the hinge is flat
        grad = np.zeros_like(y_pred)
        grad[rows, y_true] -= slope
        grad[rows, where] += slope
        return loss, grad
    t = -np.ones_like(y_pred)
    t[rows, y_true] = 1.0
    h = np.maximum(1.0 - t * y_pred, 0.0)
    loss = np.sum(h ** q, axis=-1)
    if not with_grad:
        return loss
    return loss, -t * np.where(h > 0, q * h ** (q - 1.0), 0.0)


def _multiclass_hinge_kinks(y_true, y_pred, *, mode, squared):
    y_true = y_true.astype(np.int64)
    if mode == "one_vs_all":
        t = -np.ones_like(y_pred)
        t[np.arange(len(y_true)), y_true] = 1.0
        return np.abs(1.0 - t * y_pred) < KINK_TOL if not squared else np.zeros(y_pred.shape, bool)
    best_other, _ = _others_max(y_pred, y_true)
    h = 1.0 - _pick(y_pred, y_true) + best_other
    near = ((np.abs(h) < KINK_TOL) & (not squared)) | ((_top2_gap(y_pred, y_true) < KINK_TOL) & (h > -KINK_TOL))
    return _row_mask(near, y_pred.shape)


multiclass_hinge = Loss(
    "multiclass_hinge",
    _multiclass_hinge,
    family="margin",
    chapter="margin/multiclass-hinge",
    references=("crammer2001multiclass", "weston1999support"),
    summary="torchmetrics's multiclass hinge: Crammer-Singer or one-vs-all, optionally squared",
    shape="labels",
    hyper={"mode": Hyper("crammer_singer", ("crammer_singer", "one_vs_all"), "which multiclass hinge"),
           "squared": Hyper(False, "bool", "square each hinge")},
    kinks=_multiclass_hinge_kinks,
    configs=({}, {"squared": True}, {"mode": "one_vs_all"}, {"mode": "one_vs_all", "squared": True}),
)


# --------------------------------------------------------------------------------------------
# torch's MultiMarginLoss (Weston-Watkins)
# --------------------------------------------------------------------------------------------
def _multi_margin(y_true, y_pred, *, with_grad, p, margin):
    r"""torch's MultiMarginLoss: Weston-Watkins multiclass hinge, divided by the number of classes.

    .. math::  \ell_i = \frac{1}{C}\sum_{c \ne y_i} \max(0,\; \Delta - s_{i y_i} + s_{ic})^{p},
               \qquad p \in \{1, 2\}

    Gradient: each active wrong class c gets p h_{ic}^{p-1}/C, the true class minus their sum.
    Every wrong class that comes within the margin Delta (``margin``) of the true one pays, not only
    the best of them (that is Crammer-Singer).  Chapter: ``book/margin/multiclass-hinge``.
    """
    n, c = y_pred.shape
    rows = np.arange(n)
    h = (margin - _pick(y_pred, y_true))[:, None] + y_pred
    np.maximum(h, 0.0, out=h)  # in place: h is ours
    h[rows, y_true] = 0.0  # the true class does not compete with itself
    if p == 1:  # no power to take: the loss sums the hinges, the gradient is 1 where one is active
        loss = _row_sums(h) / c
        if not with_grad:
            return loss
        grad = np.greater(h, 0.0, out=h)  # 1.0 where a hinge is active, into h's own array
        grad /= c
    else:  # p == 2: squared hinges, gradient 2 h
        loss = np.einsum("ij,ij->i", h, h) / c
        if not with_grad:
            return loss
        grad = h
        grad *= 2.0
        grad /= c
    grad[rows, y_true] = -_row_sums(grad)
    return loss, grad


def _multi_margin_kinks(y_true, y_pred, *, p, margin):
    y_true = y_true.astype(np.int64)
    h = margin - _pick(y_pred, y_true)[:, None] + y_pred
    near = np.abs(h) < KINK_TOL
    near[np.arange(len(y_true)), y_true] = False
    return _row_mask(near.any(axis=-1), y_pred.shape) if p == 1 else np.zeros(y_pred.shape, bool)


multi_margin = Loss(
    "multi_margin",
    _multi_margin,
    family="margin",
    chapter="margin/multiclass-hinge",
    summary="Weston-Watkins multiclass hinge (torch's MultiMarginLoss): every wrong class within the margin pays",
    shape="labels",
    hyper={"p": Hyper(1, (1, 2), "power of each hinge (torch allows 1 and 2)"),
           "margin": Hyper(1.0, ">0", "the margin Delta")},
    kinks=_multi_margin_kinks,
    configs=({}, {"p": 2}, {"margin": 0.5}),
)


# --------------------------------------------------------------------------------------------
# torch's HingeEmbeddingLoss: a loss on distances
# --------------------------------------------------------------------------------------------
def _hinge_embedding(y_true, y_pred, *, with_grad, margin):
    r"""torch's HingeEmbeddingLoss: a loss on *distances* between the two members of a pair.

    .. math::  \ell_i = \frac{1}{D}\sum_d \begin{cases} x_{id} & y_{id} = 1\ \text{(similar pair)} \\
               \max(0,\; \Delta - x_{id}) & y_{id} = -1\ \text{(dissimilar pair)} \end{cases}

    ``y_pred`` holds distances x >= 0 (lossbook refuses negative ones: with y = 1 a negative
    "distance" gives a negative loss, which torch returns without complaint).  ``y_true`` in
    {1, -1}; torch also accepts any other target and then adds *both* terms, which lossbook refuses.
    Gradient: 1/D for similar pairs, -1/D for dissimilar pairs closer than the margin Delta
    (``margin``), 0 otherwise.  It is not the SVM hinge of :data:`hinge`.
    Chapter: ``book/margin/hinge-embedding``.
    """
    similar = y_true == 1
    pushed = (~similar) & (y_pred < margin)
    loss = mean_last(np.where(similar, y_pred, np.where(pushed, margin - y_pred, 0.0)))
    if not with_grad:
        return loss
    return loss, np.where(similar, 1.0, np.where(pushed, -1.0, 0.0)) / width(y_pred)


def _hinge_embedding_kinks(y_true, y_pred, *, margin):
    return (y_true == -1) & (np.abs(y_pred - margin) < KINK_TOL)


hinge_embedding = Loss(
    "hinge_embedding",
    _hinge_embedding,
    family="margin",
    chapter="margin/hinge-embedding",
    summary="pull similar pairs together (loss = distance), push dissimilar ones beyond a margin",
    y_true="signed",
    y_pred="nonneg",
    hyper={"margin": Hyper(1.0, ">0", "distance beyond which a dissimilar pair costs nothing")},
    kinks=_hinge_embedding_kinks,
    configs=({}, {"margin": 2.0}),
)


# --------------------------------------------------------------------------------------------
# torch's MarginRankingLoss, with the pair in one row of y_pred
# --------------------------------------------------------------------------------------------
def _margin_ranking(y_true, y_pred, *, with_grad, margin):
    r"""torch's MarginRankingLoss, with both scores of a pair in one row of ``y_pred``.

    torch takes two score tensors x1, x2 and y in {1, -1} (1: x1 should rank higher).  lossbook
    keeps its ``(y_true, y_pred)`` contract: ``y_pred`` has shape (N, 2) holding [x1, x2] and
    ``y_true`` is the *index* of the item that should rank higher (0 for torch's y = 1, 1 for
    y = -1):

    .. math::  \ell_i = \max\bigl(0,\; \Delta - (s_{i y_i} - s_{i,1-y_i})\bigr)
               = \max\bigl(0,\; -y_i^{\pm}(x_{1i} - x_{2i}) + \Delta\bigr)

    Rows wider than 2 compare the preferred item with each of the others and average the C - 1
    pair losses (C = 2 is exactly torch's loss).  Gradient where active: -1 on the preferred
    score, +1 on the other (divided by C - 1).  ``margin`` defaults to 0, as in torch.
    Chapter: ``book/margin/hinge-embedding``.
    """
    n, c = y_pred.shape
    if c < 2:
        raise ValueError(f"y_pred must have shape (N, 2) (a pair of scores per row); got {y_pred.shape}")
    if c == 2:  # torch's own case, in closed form: one hinge per row and no (N, C) temporaries
        sign = 1.0 - 2.0 * y_true  # torch's y: +1 when the first score should win, -1 when the second
        h = y_pred[:, 1] - y_pred[:, 0]
        h *= sign  # s_other - s_preferred
        h += margin
        active = h > 0
        loss = np.maximum(h, 0.0, out=h)
        if not with_grad:
            return loss
        grad = np.empty_like(y_pred)
        np.multiply(sign, active, out=grad[:, 1])  # d/dx2 = y where active (torch's y), 0 elsewhere
        np.negative(grad[:, 1], out=grad[:, 0])  # d/dx1 = -d/dx2
        return loss, grad
    rows = np.arange(n)
    h = np.maximum(margin - _pick(y_pred, y_true)[:, None] + y_pred, 0.0)
    h[rows, y_true] = 0.0
    loss = h.sum(axis=-1) / (c - 1)
    if not with_grad:
        return loss
    grad = (h > 0) / (c - 1.0)
    grad[rows, y_true] = -grad.sum(axis=-1)
    return loss, grad


def _margin_ranking_kinks(y_true, y_pred, *, margin):
    y_true = y_true.astype(np.int64)
    h = margin - _pick(y_pred, y_true)[:, None] + y_pred
    near = np.abs(h) < KINK_TOL
    near[np.arange(len(y_true)), y_true] = False
    return _row_mask(near.any(axis=-1), y_pred.shape)


margin_ranking = Loss(
    "margin_ranking",
    _margin_ranking,
    family="margin",
    chapter="margin/hinge-embedding",
    references=("herbrich2000ranking",),
    summary="max(0, margin - (s_preferred - s_other)) for a pair of scores",
    shape="labels",
    hyper={"margin": Hyper(0.0, ">=0", "how far the preferred score must lead (torch's default: 0)")},
    kinks=_margin_ranking_kinks,
    configs=({}, {"margin": 0.5}),
)
