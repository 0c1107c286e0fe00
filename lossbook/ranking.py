"""Ranking losses: scores whose *order* should follow graded relevance labels.

``pairwise_ranking_hinge`` is a *batch* loss: it compares every sample of a batch with every other
one, so it is not a sum of per-sample terms and takes no ``reduction`` or ``sample_weight``.  Its
pair matrices cost O(N^2) memory; ``pairwise_ranking_hinge_chunked`` computes the same value
and gradient one block of rows at a time in O(N * chunk_size).  The two ranking metrics the
chapters report, ``ndcg_at_k`` and ``pairwise_accuracy``, live here too.
Chapter: ``book/ranking``.
Their framework counterparts (torch, Keras, ...), with the recipes, are in ``lossbook/counterparts.py``.
"""
from __future__ import annotations

import numpy as np

from . import validation as V
from .core import Hyper, Loss

__all__ = ["pairwise_ranking_hinge", "pairwise_ranking_hinge_chunked", "ndcg_at_k", "pairwise_accuracy"]


# --------------------------------------------------------------------------------------------
# the pair terms of a block of rows: shared by the dense loss and the chunked one
# --------------------------------------------------------------------------------------------
def _pair_block(labels, scores, rows, margin):
    """Pairs (i, j) for the rows ``i`` in ``rows`` against every column ``j``.

    ``w[i, j] = relu(l_j - l_i)``: how much more relevant j is than i (0 unless j should rank higher);
    ``z[i, j] = s_i - s_j + margin``: the pair violates the margin when ``z > 0``.
    Returns the block's sum of ``w * relu(z)``, its sum of ``w``, and ``active = w * [z > 0]``
    (the derivative of the pair terms with respect to ``z``; 0 on the kink ``z == 0``, as torch's
    relu backward does).
    """
    w = np.maximum(labels[None, :] - labels[rows, None], 0.0)  # (B, N)
    z = scores[rows, None] - scores[None, :] + margin  # (B, N)
    active = w * (z > 0)
    return float(np.sum(active * z)), float(np.sum(w)), active


def _finish(total, weight_sum, n, normalize, epsilon):
    """The divisor: sum of label differences + epsilon, or the number of ordered pairs N(N-1)."""
    if normalize:
        return weight_sum + epsilon  # epsilon > 0 keeps 0/0 away when every label is equal
    return float(max(n * (n - 1), 1))  # a single sample has no pair: loss 0, not 0/0


def _flat(labels, scores):
    """(N,) or (N, 1) inputs as (N,) views; anything wider is not one score per sample."""
    for name, arr in (("y_pred", scores), ("y_true", labels)):
        if arr.ndim == 2 and arr.shape[1] != 1:
            raise ValueError(f"{name} must have shape (N,) or (N, 1), one value per sample; got {arr.shape}")
    return labels.reshape(-1), scores.reshape(-1)


def _pairwise_ranking_hinge(y_true, y_pred, *, with_grad, margin, normalize, epsilon):
    r"""In-batch pairwise ranking hinge with graded labels (seed 004).

    Over all ordered pairs ``(i, j)``, ``i != j``, of a batch of ``N`` samples with relevance labels
    ``l`` (``y_true``) and scores ``s`` (``y_pred``):

    .. math::  L = \frac{1}{Z} \sum_{i \ne j} \max(0,\, l_j - l_i)\, \max(0,\, s_i - s_j + m),
               \qquad Z = \begin{cases} \sum_{i \ne j} \max(0,\, l_j - l_i) + \epsilon & \text{normalize} \\
                                        N(N-1) & \text{otherwise} \end{cases}

    A pair contributes when j is more relevant than i and i's score is not at least ``m`` below
    j's; the label difference weighs it.  ``normalize=True`` divides by the total weight (seed
    004's graded-label version); ``normalize=False`` averages over the N(N-1) ordered pairs (seed
    004's first snippet leaves the (N, N) matrix unreduced: its ``.sum()`` is N(N-1) times this,
    its ``.mean()`` is (N-1)/N times this).

    Gradient: with :math:`a_{ij} = \max(0, l_j - l_i)\,[s_i - s_j + m > 0]`, each score receives
    from the pairs it is in,

    .. math::  \frac{\partial L}{\partial s_k} = \frac{1}{Z}\Big(\sum_j a_{kj} - \sum_i a_{ik}\Big),

    (+ where k should rank lower, - where it should rank higher); 0 is used on the kink
    :math:`s_i - s_j + m = 0`.  Stability: scores and labels enter only through differences,
    and each term is (label gap) x (score gap), finite while that product stays below ~1e308;
    ``epsilon`` > 0 makes an all-equal-label batch give 0 (not
    0/0).  Memory: four (N, N) float64 arrays at the peak, 32 N^2 bytes (288 MB at N = 3000,
    measured in the chapter); ``lossbook.ranking.pairwise_ranking_hinge_chunked`` needs
    32 N chunk_size.  Chapter: ``book/ranking/pairwise-ranking``.
    """
    labels, scores = _flat(y_true, y_pred)
    n = scores.shape[0]
    total, weight_sum, active = _pair_block(labels, scores, slice(None), margin)
    divisor = _finish(total, weight_sum, n, normalize, epsilon)
    loss = total / divisor
    if not with_grad:
        return loss
    # s_k appears as s_i (row k, +) and as s_j (column k, -) in the pairs it belongs to
    grad = (active.sum(axis=1) - active.sum(axis=0)) / divisor
    return loss, grad.reshape(y_pred.shape)


def pairwise_ranking_hinge_chunked(y_true, y_pred, *, margin=0.3, normalize=True, epsilon=1e-6, chunk_size=256,
                                   with_grad=False):
    """``pairwise_ranking_hinge`` computed ``chunk_size`` rows of the pair matrix at a time.

    Same value and gradient as the dense loss (to float64 rounding: only the order of the sums
    differs), with peak memory O(N * chunk_size) (about 32 N chunk_size bytes) instead of O(N^2).
    Time stays O(N^2): every pair is still visited.  Returns the loss, or
    ``(loss, grad)`` with ``with_grad=True``.  Validation is the dense loss's.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    yt, yp, hp = pairwise_ranking_hinge.prepare(y_true, y_pred, dict(margin=margin, normalize=normalize,
                                                                      epsilon=epsilon))
    labels, scores = _flat(yt, yp)
    n = scores.shape[0]
    total, weight_sum = 0.0, 0.0
    grad = np.zeros(n)
    for start in range(0, n, chunk_size):
        rows = slice(start, min(start + chunk_size, n))
        t, w, active = _pair_block(labels, scores, rows, hp["margin"])
        total += t
        weight_sum += w
        if with_grad:
            grad[rows] += active.sum(axis=1)  # these rows as the i of their pairs
            grad -= active.sum(axis=0)  # every column as the j of a pair with these rows
        del active  # free the block before the next one is built
    divisor = _finish(total, weight_sum, n, hp["normalize"], hp["epsilon"])
    loss = total / divisor
    return (loss, (grad / divisor).reshape(yp.shape)) if with_grad else loss


# --------------------------------------------------------------------------------------------
# kinks, configurations and extremes for the registry tests, and the registration
# --------------------------------------------------------------------------------------------
def _kinks(y_true, y_pred, *, margin, **_):
    """Samples in a weighted pair that sits (within 1e-6) on the hinge's kink s_i - s_j + m = 0."""
    labels, scores = _flat(np.asarray(y_true, float), np.asarray(y_pred, float))
    w = labels[None, :] > labels[:, None]
    near = np.abs(scores[:, None] - scores[None, :] + margin) <= 1e-6 * max(1.0, float(np.max(np.abs(scores))))
    hit = w & near
    return (hit.any(axis=1) | hit.any(axis=0)).reshape(np.shape(y_pred))


_CONFIGS = ({}, {"margin": 1.0, "normalize": False}, {"margin": 0.0, "epsilon": 1e-3})


def _extremes():
    """Valid extreme input, for every tested configuration."""
    l4 = np.array([0.0, 1.0, 2.0, 3.0])
    out = []
    for hp in _CONFIGS:
        m = hp.get("margin", 0.3)
        out += [
            (l4, np.array([1e4, -1e4, 3e3, -2e3]), hp),  # huge scores: every term linear, nothing overflows
            (np.full(4, 2.0), np.array([0.5, -1.0, 2.0, 0.0]), hp),  # all labels equal: 0 / (0 + eps) = 0
            (l4, m * np.arange(4.0), hp),  # neighbours exactly one margin apart: on the kinks
            (np.array([1.0]), np.array([5.0]), hp),  # one sample, no pair: 0
            (l4 * 1e6, np.array([3.0, 2.0, 1.0, 0.0]), hp),  # huge label differences
        ]
    return out


_LOSS_KW = dict(
    family="ranking",
    chapter="ranking/pairwise-ranking",
    summary="in-batch pairwise ranking hinge over all N(N-1) pairs, weighted by label differences",
    hyper={
        "margin": Hyper(0.3, ">=0", "how far below a more relevant sample's score a score must stay (seed 004: 0.3)"),
        "normalize": Hyper(True, "bool", "divide by the sum of label differences + epsilon (True) or by N(N-1)"),
        "epsilon": Hyper(1e-6, ">0", "added to the normaliser: an all-equal-label batch gives 0, not 0/0"),
    },
    kinks=_kinks,
    configs=_CONFIGS,
    ndims=(1,),
    extremes=_extremes,
)

pairwise_ranking_hinge = Loss("pairwise_ranking_hinge", _pairwise_ranking_hinge, batch=True,
                              references=("herbrich2000ranking", "joachims2002clickthrough"), **_LOSS_KW)


# --------------------------------------------------------------------------------------------
# ranking metrics
# --------------------------------------------------------------------------------------------
def _lists(y_true, y_score):
    yt = V.as_float_array("y_true", y_true)
    ys = V.as_float_array("y_score", y_score)
    V.check_same_shape(yt, ys)
    if yt.ndim > 2:
        raise ValueError(f"y_true must have shape (n_items,) or (n_lists, n_items); got {yt.shape}")
    return np.atleast_2d(yt), np.atleast_2d(ys)


def ndcg_at_k(y_true, y_score, k=None) -> float:
    """Normalised discounted cumulative gain at ``k``, averaged over lists (sklearn's ``ndcg_score``).

    For one list of items with relevance ``y_true`` ranked by ``y_score`` (highest first):
    ``DCG@k = sum_{r=1..k} rel_(r) / log2(r + 1)`` with linear gains, and NDCG is DCG divided by the
    DCG of the ideal order.  Tied scores share the average gain of their tie group at the positions
    the group occupies (sklearn's ``ignore_ties=False``), so the order of equal scores does not
    matter.  A list with no relevant item scores 0.  ``y_true`` (non-negative) and ``y_score``
    have shape ``(n_items,)`` (one list) or ``(n_lists, n_items)``.
    """
    yt, ys = _lists(y_true, y_score)
    V.check_domain("y_true", yt, "nonneg")
    n_items = yt.shape[1]
    if k is None:
        k = n_items
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    discount = 1.0 / np.log2(np.arange(2, n_items + 2))
    discount[k:] = 0.0  # only the top k positions count
    scores = []
    for rel, score in zip(yt, ys):
        ideal = np.sum(np.sort(rel)[::-1] * discount)
        if ideal == 0:
            scores.append(0.0)
            continue
        # group tied scores: each group spreads its mean gain over the positions it occupies
        _, group, counts = np.unique(-score, return_inverse=True, return_counts=True)
        group_gain = np.bincount(group, weights=rel) / counts
        ends = np.cumsum(counts)
        position_discount = np.add.reduceat(discount, ends - counts)  # sum of discounts per group
        scores.append(float(np.sum(group_gain * position_discount)) / ideal)
    return float(np.mean(scores))


def pairwise_accuracy(y_true, y_score) -> float:
    """Share of the pairs with different labels whose scores are in the labels' order (ties count 1/2).

    O(N^2) memory for ``(n_items,)`` input: meant for a few thousand items.
    """
    yt, ys = _lists(y_true, y_score)
    right, pairs = 0.0, 0
    for rel, score in zip(yt, ys):
        should = rel[None, :] > rel[:, None]  # j more relevant than i
        d = score[None, :] - score[:, None]
        right += np.sum(should & (d > 0)) + 0.5 * np.sum(should & (d == 0))
        pairs += int(np.sum(should))
    if pairs == 0:
        raise ValueError("y_true has no two different labels: pairwise accuracy is undefined")
    return float(right / pairs)
