r"""Sparsemax and its loss: a softmax that can give classes exactly zero probability.

* ``sparsemax`` (``lb.sparsemax``; Martins & Astudillo 2016): the Euclidean projection of a row of scores onto
  the probability simplex, :math:`\mathrm{sparsemax}(z) = \arg\min_{p \in \Delta} \lVert p - z\rVert^2`,
  by the sort-based algorithm;
* ``sparsemax_loss``: the loss whose gradient is ``sparsemax(z) - one_hot(y)``, as the softmax
  cross-entropy's is ``softmax(z) - one_hot(y)``.

Both are Fenchel-Young losses (Blondel et al. 2020): with a convex regulariser :math:`\Omega` of
the simplex, :math:`L_\Omega(z; y) = \Omega^*(z) + \Omega(y) - \langle z, y\rangle \ge 0`, whose
gradient is :math:`\nabla\Omega^*(z) - y`.  The negative Shannon entropy
:math:`\Omega(p) = \sum_j p_j \log p_j` gives :math:`\Omega^* = \mathrm{logsumexp}`, softmax and
the cross-entropy; the Gini regulariser :math:`\Omega(p) = \frac12\lVert p\rVert^2` gives sparsemax
and the sparsemax loss.  The framework counterparts (optax, torch, Keras) are in
``lossbook/counterparts.py``.
Chapter: ``book/probabilistic/sparsemax``.
"""
from __future__ import annotations

import numpy as np

from . import validation as V
from .core import Loss, put
from .probabilistic import _configs_extremes, _flat_index
from .validation import _row_sums

__all__ = ["sparsemax", "sparsemax_loss"]


# ============================================================================================
# the projection onto the simplex
# ============================================================================================
def _threshold(z):
    """The sort-based algorithm on rows of ``z`` (N, C), shifted by each row's max.

    Returns ``u = z - max`` (every entry <= 0, the top one 0), the threshold ``tau_u`` of ``u``
    (N, 1), the support size ``k`` (N, 1) and the k-th largest ``u`` (N, 1): the support is
    ``u >= kth``, and ``sparsemax(z) = max(u - tau_u, 0)``.

    With the entries sorted, s_1 >= s_2 >= ..., the k-th is in the support when
    1 + k s_k > s_1 + ... + s_k, that is when sum_{j<=k} (s_j - s_k) < 1: a sum of terms >= 0, so
    the test only involves entries within 1 of the max.  Then tau = (s_1 + ... + s_k - 1) / k.
    The shift changes nothing in exact arithmetic (sparsemax(z + c) = sparsemax(z)); in float64 it
    keeps the support's entries in (-1, 0], where their differences with tau are exact to an ulp of 1:
    at logits of 1e4 the unshifted sum would carry errors of an ulp of 1e4 (2e-12).
    """
    u = z - z.max(axis=-1, keepdims=True)
    s = np.sort(u, axis=-1)[:, ::-1]  # descending (a reversed view)
    cums = np.cumsum(s, axis=-1)
    ranks = np.arange(1, z.shape[-1] + 1)
    k = np.count_nonzero(cums - ranks * s < 1.0, axis=-1)[:, None]  # >= 1: the max is always in
    tau = (np.take_along_axis(cums, k - 1, axis=-1) - 1.0) / k
    return u, tau, k, np.take_along_axis(s, k - 1, axis=-1)


def sparsemax(z):
    r"""Sparsemax: the Euclidean projection of each row of scores onto the probability simplex.

    .. math::  \mathrm{sparsemax}(z) = \arg\min_{p \in \Delta^{C}} \lVert p - z \rVert^2
               = \max(z - \tau(z), 0), \qquad \sum_j \max(z_j - \tau, 0) = 1

    Like softmax it maps scores to probabilities and commutes with adding a constant to a row;
    unlike softmax it returns exact zeros: a class 1 or more below the top gets none.
    ``tau`` comes from the sort-based algorithm of Martins & Astudillo (2016, Algorithm 1): with
    the scores sorted, s_1 >= s_2 >= ..., the support is the largest k with
    :math:`1 + k s_k > \sum_{j \le k} s_j` and :math:`\tau = (\sum_{j \le k} s_j - 1)/k`,
    O(C log C) per row, vectorised over rows.  Rows are shifted by their max first (see
    ``_threshold``), so logits of +-1e4 lose no digits.  For two classes,
    :math:`\mathrm{sparsemax}(z)_1 = \mathrm{clip}((z_1 - z_2 + 1)/2, 0, 1)`.

    Args:
        z: scores, shape ``(N, C)`` (one row per sample) or ``(C,)`` (one row), finite.

    Returns:
        The probabilities, shape of ``z``: each row >= 0 and summing to 1.

    Keras's ``keras.activations.sparsemax`` (Keras 3.15.1, every backend) computes tau from the sum
    of *all* the cumulative sums in the support instead of the k-th, so its rows do not sum to 1
    once two or more classes are in the support (keras-team/keras#23425, fixed by #23469).

    >>> import lossbook as lb
    >>> lb.sparsemax([[1.0, 0.8, 0.0], [3.0, 1.0, 0.0]])
    array([[0.6, 0.4, 0. ],
           [1. , 0. , 0. ]])

    Chapter: ``book/probabilistic/sparsemax``.
    """
    arr = V.as_float_array("z", z)
    if arr.ndim > 2:
        raise ValueError(f"z must have shape (N, C) or (C,); got {arr.shape}")
    rows = arr.reshape(-1, arr.shape[-1])
    u, tau, _, _ = _threshold(rows)
    return np.maximum(u - tau, 0.0).reshape(arr.shape)


# ============================================================================================
# the sparsemax loss
# ============================================================================================
def _sparsemax_loss(y_true, y_pred, *, with_grad):
    r"""The sparsemax loss of integer labels under scores (logits), Martins & Astudillo (2016).

    .. math::  \ell_i = -z_{y} + \tfrac12 \sum_{j \in S(z)} \big(z_j^2 - \tau(z)^2\big) + \tfrac12,
               \qquad \frac{\partial \ell_i}{\partial z} = \mathrm{sparsemax}(z) - e_{y}

    with :math:`S(z)` the support of ``lb.sparsemax`` and :math:`\tau(z)` its threshold (z the
    sample's row of scores, y its label).  It is the Fenchel-Young loss of the Gini regulariser
    :math:`\Omega(p) = \frac12\lVert p\rVert^2` (Blondel et al. 2020): with p = sparsemax(z),
    :math:`\ell = \langle p, z\rangle - \frac12\lVert p\rVert^2 + \frac12 - z_y`, as the softmax
    cross-entropy is the one of the negative entropy.  It is convex, >= 0, unchanged when a constant
    is added to the row, and 0 exactly when :math:`z_y \ge z_j + 1` for every :math:`j \ne y` (a
    separation margin of 1, as the multiclass hinge's; the cross-entropy is never 0).  For two
    classes it is a function of :math:`d = z_{\bar y} - z_y` alone: 0 for d <= -1,
    :math:`(1 + d)^2/4` for :math:`|d| < 1`, d for d >= 1: a quarter of the modified Huber loss of the
    margin -d (optax's binary ``sparsemax_loss``, ``jax.nn.sparse_plus(d)``).

    Stability: the formula adds squares of the logits that cancel (1e8 at logits of 1e4, for a
    loss of order 1).  It is computed from the algebraically equal
    :math:`\ell = \frac12\lVert p - e_y\rVert^2 + \max(\tau - z_y, 0)`, two terms >= 0, with the
    row shifted by one number: by :math:`z_y` when y is in the support, where
    :math:`1 - p_y = \frac1k\sum_{j \in S \setminus y}(1 + z_j - z_y)` is a sum of positive terms,
    accurate however small (so a loss of 1e-13 keeps its digits, where 1 - p_y from a rounded p_y
    would keep none), and by the row's max when y is outside, where :math:`\ell \ge \frac12`.
    Beyond a few ulps, the result inherits only the rounding of :math:`z_j - z_y` (exact for scores
    within a factor 2 of each other).

    Conventions: integer labels, as ``optax.losses.multiclass_sparsemax_loss(scores, labels)``
    (optax's ``sparsemax_loss`` is the binary one: see above); with one-hot rows use
    ``lb.sparsemax_loss(y_onehot.argmax(-1), z)``.  torch has no sparsemax; Keras has
    ``keras.activations.sparsemax`` but no loss (and its 3.15.1 activation is wrong: see
    ``lb.sparsemax``).
    Chapter: ``book/probabilistic/sparsemax``.
    """
    labels = y_true.astype(np.int64)
    target = _flat_index(y_pred, labels)  # where each row's label sits
    u, _, k, kth = _threshold(y_pred)
    support = u >= kth
    y_in = np.take(support, target)  # is the label in the support?
    others = support.copy()
    put(others, target, False)  # the support without the label
    # v: the row minus z_y where the label is in the support, minus the max where it is not
    shift = np.where(y_in, np.take(y_pred, target), y_pred.max(axis=-1))
    v = y_pred - shift[:, None]
    w = v + y_in[:, None]  # label in: 1 + z_j - z_y > 0 on the support; label out: z_j - max
    w *= others  # only the support counts (the label's own entry is set apart)
    # label in:  c = 1 - p_y = sum_{S \ y} (1 + z_j - z_y) / k, a sum of positive terms
    # label out: c = (sum_S (z_j - max) - 1) / k = tau - max, the threshold of the shifted row
    c = (_row_sums(w) - ~y_in) / k[:, 0]
    grad = np.maximum(w - c[:, None], 0.0)  # p_j = z_j - tau on the support, off the label
    grad *= others
    miss = np.where(y_in, c, 1.0)  # 1 - p_y
    outside = np.where(y_in, 0.0, np.maximum(c - np.take(v, target), 0.0))  # max(tau - z_y, 0)
    loss = 0.5 * (miss * miss + np.einsum("ij,ij->i", grad, grad)) + outside
    if not with_grad:
        return loss
    put(grad, target, -miss)  # p_y - 1
    return loss, grad


_LABELS3 = [0.0, 1.0, 2.0]

sparsemax_loss = Loss(
    "sparsemax_loss",
    _sparsemax_loss,
    family="probabilistic",
    chapter="probabilistic/sparsemax",
    references=("martins2016sparsemax", "blondel2020fenchel"),
    summary="the sparsemax loss: the Fenchel-Young loss whose gradient is sparsemax(z) - one_hot(y)",
    shape="labels",
    extremes=_configs_extremes({(): [
        (_LABELS3, [[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]]),
        (_LABELS3, [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [-1e4, -1e4 + 0.5, -1e4 - 1.0]]),  # margin exactly 1; a tie
        (_LABELS3, [[0.0, -0.999999, -5.0], [1e4 - 1e-8, 1e4, 1e4 - 1.0], [0.0, 0.0, 0.0]]),  # losses of 1e-13 ...
    ]}),
)
