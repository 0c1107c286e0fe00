"""Listwise and pairwise ranking losses on lists: RankNet, ListNet, ListMLE and the softmax loss.

Every loss here takes ``(y_true, y_pred)`` of shape ``(N, L)``: N lists (queries) of L items each,
``y_true`` the graded relevance of each item (non-negative reals; higher is more relevant) and
``y_pred`` the model's score of each item.  A *sample* is a list: the per-sample value is the loss
of one list, so ``reduction="mean"`` averages over lists.  (The in-batch hinge of
``lossbook/ranking.py`` instead treats the whole batch as one list.)

* ``ranknet``: the pairwise logistic loss over the pairs of a list whose relevance differs
  (Burges et al. 2005), the mean over those pairs by default (TF-Ranking's per-list convention);
* ``listnet``: cross-entropy between the top-one probabilities of the relevance and of the scores,
  both softmaxes (Cao et al. 2007);
* ``softmax_ranking``: optax's ``ranking_softmax_loss``, -sum y log softmax(s), the relevance used
  as it is (``normalize=True``: divided by its sum, TF-Ranking's ``SoftmaxLoss`` per list);
* ``listmle``: the Plackett-Luce negative log-likelihood of the order that sorts the relevance
  (Xia et al. 2008);
* ``lambdarank``: RankNet's pairs, each weighted by the change of NDCG if the two items swapped
  places in the current order (Burges et al. 2006), the weights held constant: its gradient is
  the LambdaRank gradient, and its value jumps where two items of different grades swap places.

Lists with no relevant item (all zeros) are valid input; each loss's docstring says what it gives
there.  Every loss is invariant to adding a constant to all scores of a list.
Their framework counterparts are in ``lossbook/counterparts.py``.
Chapter: ``book/ranking/listwise``.
"""
from __future__ import annotations

import numpy as np

from .core import Hyper, Loss
from .probabilistic import _logistic, _softmax_parts
from .validation import _row_sums

__all__ = ["ranknet", "listnet", "softmax_ranking", "listmle", "lambdarank"]


def _require_lists(y_pred):
    if y_pred.ndim != 2:
        raise ValueError(f"y_pred must have shape (N, L): N lists of L items each; got shape {y_pred.shape}")


# --------------------------------------------------------------------------------------------
# RankNet: the pairwise logistic loss
# --------------------------------------------------------------------------------------------
def _ranknet(y_true, y_pred, *, with_grad, normalize):
    r"""RankNet's pairwise logistic loss over the ordered pairs of each list (Burges et al. 2005).

    For one list with relevance ``y`` and scores ``s``, over the pairs in which item i is more
    relevant than item j:

    .. math::  \ell = \frac{1}{Z} \sum_{(i, j):\, y_i > y_j} \log\big(1 + e^{-(s_i - s_j)}\big),
               \qquad Z = \begin{cases} |\{(i, j): y_i > y_j\}| & \text{normalize=True} \\
                                        1 & \text{normalize=False} \end{cases}

    Each term is the cross-entropy of RankNet's pair probability
    :math:`P_{ij} = \sigma(s_i - s_j)` against the target :math:`\bar P_{ij} = 1` (Burges et al.'s
    cost with "i above j"); pairs of equal relevance (Burges's target 1/2) are left out, as in
    TF-Ranking and in most implementations.  ``normalize=True`` (default) divides by the list's
    number of such pairs: TF-Ranking's ``PairwiseLogisticLoss`` per list (``compute_per_list``),
    so that long and short lists weigh the same; ``normalize=False`` is Burges et al.'s sum.  A
    list without a pair (all relevances equal, all zero included, or L = 1) has loss 0 and
    gradient 0 (TF-Ranking's ``divide_no_nan``).

    Gradient: with :math:`\lambda_{ij} = \sigma(-(s_i - s_j))` on each counted pair,

    .. math::  \frac{\partial \ell}{\partial s_k} = \frac{1}{Z}\Big(\sum_{j:\, y_k > y_j} (-\lambda_{kj})
               + \sum_{i:\, y_i > y_k} \lambda_{ik}\Big)

    (Burges's lambdas: a push up from every pair in which k should be above, down from every pair
    in which it should be below).  Stability: each term is a softplus and each lambda a sigmoid
    of the score difference, from one :math:`e^{-|x|}` (``probabilistic._logistic``): scores of
    +-1e4 give terms of 2e4 and exact 0/1 lambdas.  Cost O(N L^2) in time and memory.
    Chapter: ``book/ranking/listwise``.
    """
    _require_lists(y_pred)
    pairs = y_true[:, :, None] > y_true[:, None, :]  # [n, i, j]: i is more relevant than j
    return _weighted_pairs(pairs, pairs, y_pred, with_grad=with_grad, normalize=normalize)


def _weighted_pairs(pairs, weight, y_pred, *, with_grad, normalize):
    """(1/Z) sum_{i,j} weight_ij softplus(-(s_i - s_j)) per list, and its gradient in s with the
    weights held constant; ``pairs`` [n, i, j] marks the pairs counted in Z, ``weight`` is 0 elsewhere
    (RankNet: the pairs themselves, weight 1; LambdaRank: |Delta NDCG|)."""
    diff = y_pred[:, :, None] - y_pred[:, None, :]  # s_i - s_j
    _, softplus_neg, _, sigmoid_neg = _logistic(diff)  # softplus(-(s_i - s_j)), sigmoid(-(s_i - s_j))
    count = pairs.sum(axis=(1, 2))
    divisor = np.maximum(count, 1).astype(float) if normalize else np.ones(len(count))  # no pair: 0 / 1
    loss = np.where(pairs, weight * softplus_neg, 0.0).sum(axis=(1, 2)) / divisor
    if not with_grad:
        return loss
    lam = np.where(pairs, weight * sigmoid_neg, 0.0)
    # s_k is the i of its pairs (row k, pulled up) and the j of others (column k, pushed down)
    grad = (lam.sum(axis=1) - lam.sum(axis=2)) / divisor[:, None]
    return loss, grad


# --------------------------------------------------------------------------------------------
# ListNet and the softmax loss: cross-entropies against a distribution over the list
# --------------------------------------------------------------------------------------------
def _cross_entropy_rows(target, scores, target_total):
    """-sum_i t_i log softmax(s)_i per row, and its gradient softmax(s) * T - t (T the target's total).

    log softmax = shifted - log_norm with shifted <= 0 and log_norm >= 0 (``_softmax_parts``): the
    loss adds two sums of terms >= 0, and log_norm = log1p(r) keeps the digits of a tiny r.
    """
    shifted, log_norm, softmax = _softmax_parts(scores)
    loss = log_norm[:, 0] * target_total - np.einsum("ij,ij->i", target, shifted)
    grad = softmax * target_total[:, None]
    grad -= target
    return loss, grad


def _listnet(y_true, y_pred, *, with_grad):
    r"""ListNet: cross-entropy between the top-one probabilities of the relevance and of the scores.

    Cao et al. (2007) map a list of values to the probability that each item is ranked first,
    with :math:`\phi = \exp`: the softmax.  The loss of a list is the cross-entropy of the
    scores' top-one distribution against the relevance's:

    .. math::  \ell = -\sum_{i=1}^{L} P_y(i) \log P_s(i), \qquad
               P_y = \mathrm{softmax}(y), \quad P_s = \mathrm{softmax}(s)

    .. math::  \frac{\partial \ell}{\partial s} = \mathrm{softmax}(s) - \mathrm{softmax}(y)

    The target is the softmax of the relevance itself, as in Cao et al., not the relevance divided
    by its sum (that is ``softmax_ranking(normalize=True)``): relevance 0 still has probability
    :math:`e^0 / \sum_j e^{y_j} > 0`, and the grades' scale matters (relevance 0/1 and 0/4 give
    different targets).  It is a cross-entropy, not a KL divergence: at :math:`s = y` the loss is
    the entropy of :math:`P_y` (the gradient is 0).  A list with all relevances equal (all zero
    included) has the uniform target, loss :math:`\mathrm{logsumexp}(s) - \bar s \ge \log L`,
    least when all its scores are equal.

    Stability: both softmaxes are shifted by their row's maximum (``probabilistic._softmax_parts``),
    so relevance or scores of 1e4 are finite, and the loss adds terms >= 0 only (log-softmax as
    :math:`s - m - \mathrm{log1p}(r)`).  Cost O(N L).  Chapter: ``book/ranking/listwise``.
    """
    _require_lists(y_pred)
    _, _, target = _softmax_parts(y_true)  # P_y: rows of probabilities summing to 1
    loss, grad = _cross_entropy_rows(target, y_pred, np.ones(len(y_pred)))
    return (loss, grad) if with_grad else loss


def _softmax_ranking(y_true, y_pred, *, with_grad, normalize):
    r"""The softmax ranking loss: cross-entropy of the scores' softmax against the relevance.

    .. math::  \ell = -\sum_{i=1}^{L} w_i \log \frac{e^{s_i}}{\sum_j e^{s_j}}, \qquad
               w = \begin{cases} y & \text{normalize=False (optax)} \\
                                  y / \sum_j y_j & \text{normalize=True (TF-Ranking, per list)} \end{cases}

    .. math::  \frac{\partial \ell}{\partial s} = \mathrm{softmax}(s) \sum_j w_j - w

    ``normalize=False`` (default) is ``optax.losses.ranking_softmax_loss`` (optax 0.2.8): the
    labels are used as they are, not divided by their sum, so a list's weight grows with its total
    relevance (with one relevant item of relevance 1 both forms are the softmax cross-entropy of
    that item).  ``normalize=True`` is the per-list value of TF-Ranking's ``SoftmaxLoss``, the
    cross-entropy against the distribution :math:`y / \sum y`; TF-Ranking then weighs each list by
    :math:`\sum y`, which gives back optax's form.  Bruch et al. (2019) show that with binary
    relevance this loss bounds NDCG and MRR.  A list with no relevant item (all zeros) has loss 0
    and gradient 0 in both forms: optax's :math:`\sum 0 \cdot \log p = 0`, and TF-Ranking gives
    such a list weight 0.

    Stability: log-softmax as :math:`s - m - \mathrm{log1p}(r)` (m the row's max, r the sum of the
    others' :math:`e^{s - m}`): two sums of terms >= 0, finite at scores of +-1e4 (as
    ``categorical_crossentropy(from_logits=True)``, which this is with unnormalised targets).
    Cost O(N L).  Chapter: ``book/ranking/listwise``.
    """
    _require_lists(y_pred)
    total = _row_sums(y_true)
    if normalize:
        relevant = total > 0
        w = y_true / np.where(relevant, total, 1.0)[:, None]  # an all-zero list stays all zero
        total = relevant.astype(float)  # sum(y / sum y) is 1, exactly, in the maths
    else:
        w = y_true
    loss, grad = _cross_entropy_rows(w, y_pred, total)
    return (loss, grad) if with_grad else loss


# --------------------------------------------------------------------------------------------
# ListMLE: the Plackett-Luce likelihood of the relevance order
# --------------------------------------------------------------------------------------------
def _stage_log_sum_exp(s):
    """For scores sorted by relevance, the log-sum-exp of every stage s[k:], as (M, S) with
    lse(s[k:]) = M[k] + log S[k]: M[k] the stage's maximum and S[k] = sum_{j >= k} e^(s_j - M[k])
    in [1, L - k] (a reverse cumulative log-sum-exp).

    Each stage is shifted by its own maximum, so lse(s[k+1:]) - s[k] is computed from differences
    of scores (M[k+1] - s[k]), never from two large numbers that are nearly equal (at scores of
    1e4, lse - s_k from a float lse near 1e4 would keep only 12 digits).  The sums come from the
    end: S[k] = e^(s_k - M[k]) + e^(M[k+1] - M[k]) S[k+1], every exponent <= 0.
    """
    n, length = s.shape
    top = np.maximum.accumulate(s[:, ::-1], axis=1)[:, ::-1]  # M[k] = max(s[k:])
    sums = np.empty_like(s)
    sums[:, -1] = 1.0
    own = np.exp(s - top)
    carry = np.exp(top[:, 1:] - top[:, :-1])  # e^(M[k+1] - M[k]) <= 1
    for k in range(length - 2, -1, -1):
        sums[:, k] = own[:, k] + carry[:, k] * sums[:, k + 1]
    return top, sums


def _listmle(y_true, y_pred, *, with_grad):
    r"""ListMLE: the Plackett-Luce negative log-likelihood of the order that sorts the relevance.

    With :math:`\pi` the permutation that sorts ``y`` in decreasing order (Xia et al. 2008), the
    Plackett-Luce model picks the items one at a time, each with the softmax of the scores of the
    items not yet picked:

    .. math::  \ell = -\sum_{k=1}^{L} \Big(s_{\pi(k)} - \log \sum_{j=k}^{L} e^{s_{\pi(j)}}\Big)
               = \sum_{k=1}^{L-1} \mathrm{softplus}\big(c_{k+1} - s_{\pi(k)}\big),
               \qquad c_k = \log \sum_{j=k}^{L} e^{s_{\pi(j)}}

    (the last stage has one item and costs 0).  Each term is a logistic loss of item
    :math:`\pi(k)` against everything ranked below it, their scores pooled by log-sum-exp; with
    L = 2 the loss is RankNet's :math:`\mathrm{softplus}(s_{\pi(2)} - s_{\pi(1)})`.

    Gradient: with :math:`a_k = c_{k+1} - s_{\pi(k)}` (:math:`\sigma(a_k)` is the probability that
    stage k does *not* pick :math:`\pi(k)`) and :math:`R_1 = 0`,
    :math:`R_{m+1} = \sigma(a_m)(1 + R_m)`,

    .. math::  \frac{\partial \ell}{\partial s_{\pi(m)}} = \sum_{k<m} \frac{e^{s_{\pi(m)}}}{e^{c_k}}
               - \sigma(a_m) = \sigma(-a_m) R_m - \sigma(a_m), \qquad \sigma(a_L) = 0

    (:math:`R_m \sigma(-a_m)` is the probability mass the earlier stages gave :math:`\pi(m)`; every
    factor lies in [0, 1], so nothing overflows and nothing cancels but the final difference).

    Ties: ``y`` is sorted with a stable sort, so items of equal relevance are taken in their order
    in the list (index order), deterministically.  TF-Ranking's ``ListMLELoss`` breaks ties at
    random instead; no single permutation is right for a tie, and a list whose relevances are all
    equal (all zero included) gets the likelihood of its index order, a nonzero loss: leave such
    lists out of the batch if they carry no information.

    Stability: the stage log-sum-exps :math:`c_k` come from a reverse cumulative log-sum-exp in
    which every stage is shifted by its own maximum (``_stage_log_sum_exp``), so
    :math:`c_{k+1} - s_{\pi(k)}` is built from score differences; softplus and the sigmoids come
    from one :math:`e^{-|a|}` (``probabilistic._logistic``).  Scores of +-1e4 are finite and
    accurate.  Cost O(N L log L) (the sort).  Chapter: ``book/ranking/listwise``.
    """
    _require_lists(y_pred)
    n, length = y_pred.shape
    order = np.argsort(-y_true, axis=1, kind="stable")  # most relevant first; ties in index order
    s = np.take_along_axis(y_pred, order, axis=1)
    if length == 1:
        return (np.zeros(n), np.zeros((n, 1))) if with_grad else np.zeros(n)
    top, sums = _stage_log_sum_exp(s)
    a = (top[:, 1:] - s[:, :-1]) + np.log(sums[:, 1:])  # c_{k+1} - s_k, k = 1 .. L-1
    softplus_a, _, sigmoid_a, sigmoid_neg_a = _logistic(a)
    loss = softplus_a.sum(axis=1)
    if not with_grad:
        return loss
    pushed = np.empty_like(s)  # R_m: the mass earlier stages gave item m, before sigma(-a_m)
    pushed[:, 0] = 0.0
    for m in range(length - 1):
        pushed[:, m + 1] = sigmoid_a[:, m] * (1.0 + pushed[:, m])
    g = pushed  # the last item: sigma(-a_L) = 1, sigma(a_L) = 0
    g[:, :-1] = sigmoid_neg_a * pushed[:, :-1] - sigmoid_a
    grad = np.empty_like(y_pred)
    np.put_along_axis(grad, order, g, axis=1)  # back to the list's own order
    return loss, grad


# --------------------------------------------------------------------------------------------
# LambdaRank: RankNet's pairs weighted by the change of NDCG of a swap
# --------------------------------------------------------------------------------------------
def _discount_gaps(length):
    """[a, b] = |D(a + 1) - D(b + 1)| for places a, b = 0 .. L-1, with D(r) = 1 / log2(1 + r).

    With r = 1 + place (1-based), D = ln 2 / ln r, and for r_lo < r_hi the gap is
    ln 2 * log1p((r_hi - r_lo) / r_lo) / (ln r_lo ln r_hi): the difference of two logarithms as one
    log1p of their ratio, so that neighbours far down the list (D(23) - D(24) is 1.3% of either)
    keep their digits instead of cancelling.
    """
    r = np.arange(length, dtype=float) + 2.0  # 1 + place, place 1-based
    lo, hi = np.minimum.outer(r, r), np.maximum.outer(r, r)
    return np.log(2.0) * np.log1p((hi - lo) / lo) / np.multiply.outer(np.log(r), np.log(r))


def _swap_weights(y_true, y_pred, pairs):
    """|Delta NDCG_ij| on the pairs: |y_i - y_j| |D(r_i) - D(r_j)| / IDCG, 0 elsewhere.

    The places r come from a stable sort of -s: tied scores are placed in index order.  The grades
    are divided by the list's largest first (NDCG does not change when all grades are scaled), so
    that grades of 1e-300 give IDCG >= 1, not a subnormal that has lost its digits.
    """
    n, length = y_pred.shape
    place = np.argsort(np.argsort(-y_pred, axis=1, kind="stable"), axis=1)  # 0 = scored highest
    top = y_true.max(axis=1, keepdims=True)
    u = y_true / np.where(top > 0, top, 1.0)  # in [0, 1]; an all-zero list has no pair
    discount = 1.0 / np.log2(np.arange(length) + 2.0)
    ideal = (-np.sort(-u, axis=1) * discount).sum(axis=1)  # IDCG: grades in decreasing order
    gain_gap = np.abs(u[:, :, None] - u[:, None, :]) / np.where(ideal > 0, ideal, 1.0)[:, None, None]
    gaps = _discount_gaps(length)[place[:, :, None], place[:, None, :]]
    return np.where(pairs, gain_gap * gaps, 0.0)


def _lambdarank(y_true, y_pred, *, with_grad, normalize):
    r"""LambdaRank (Burges et al. 2006): RankNet's pairs, each weighted by the change of NDCG if the
    two items swapped places, the weights held constant.

    With :math:`r_i` the place of item i in the list sorted by score (1 = scored highest),
    :math:`D(r) = 1/\log_2(1 + r)` and linear gains:

    .. math::  \ell = \frac{1}{Z} \sum_{(i, j):\, y_i > y_j} |\Delta\mathrm{NDCG}_{ij}|\,
               \log\big(1 + e^{-(s_i - s_j)}\big), \qquad
               |\Delta\mathrm{NDCG}_{ij}| = \frac{|y_i - y_j|\,|D(r_i) - D(r_j)|}{\mathrm{IDCG}}

    with :math:`\mathrm{IDCG} = \sum_k y_{(k)} D(k)` (the grades in decreasing order) and Z as in
    ``ranknet``: the list's number of pairs with ``normalize=True`` (default, as ``lb.ranknet``),
    1 with ``normalize=False`` (Burges's sum).  A list without a pair (all grades equal, all zero
    included, or L = 1) has loss 0 and gradient 0.

    Gradient: the weights depend on s only through the order, so they are piecewise constant and
    between two changes of the order, with :math:`\lambda_{ij} = \sigma(-(s_i - s_j))`,

    .. math::  \frac{\partial \ell}{\partial s_k} = \frac{1}{Z}\Big(
               \sum_{i:\, y_i > y_k} |\Delta\mathrm{NDCG}_{ik}|\,\lambda_{ik}
               - \sum_{j:\, y_k > y_j} |\Delta\mathrm{NDCG}_{kj}|\,\lambda_{kj}\Big)

    which is the LambdaRank gradient (Burges 2010, "From RankNet to LambdaRank to LambdaMART",
    with linear gains :math:`y` where Burges uses :math:`2^y - 1`).  Burges et al. define only that
    gradient; the value here is the loss it is the gradient of, region by region.  The value is in
    general *discontinuous* where two adjacent items of different grades swap places: the weights
    of the other pairs that involve either of them change (a list of two items has no other pair).  No continuously differentiable loss has this
    gradient; ``.grad`` is the derivative wherever the order does not change, and at tied scores it
    takes the order of the stable sort (index order).  The finite-difference tests stay away from
    lists with two scores within a relative 1e-4 of each other (``kinks``).

    No framework ships it: torch, Keras and optax have no LambdaRank loss (TF-Ranking has lambda
    weights for its pairwise losses; TensorFlow is not used here).  Stability: softplus and sigmoid
    from one :math:`e^{-|x|}` (``probabilistic._logistic``), as ``ranknet``; the discount gaps as
    log1p of a ratio (``_discount_gaps``), no cancellation; grades divided by the list's largest
    before IDCG.  Scores of +-1e4 and grades of 1e-300 or 1e4 are finite and accurate.  Cost
    O(N L^2) in time and memory.  Chapter: ``book/ranking/listwise``.
    """
    _require_lists(y_pred)
    pairs = y_true[:, :, None] > y_true[:, None, :]  # [n, i, j]: i is more relevant than j
    weight = _swap_weights(y_true, y_pred, pairs)
    return _weighted_pairs(pairs, weight, y_pred, with_grad=with_grad, normalize=normalize)


# --------------------------------------------------------------------------------------------
# configurations, extremes and the registrations
# --------------------------------------------------------------------------------------------
def _extremes(configs):
    """Valid extreme lists, for each configuration: scores of +-1e4, relevance of 1e4, all-zero
    lists, ties, one-item lists."""
    def cases(hp):
        rel = np.array([[3.0, 0.0, 1.0, 2.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [1e4, 0.0, 5.0, 1e-300]])
        big = np.array([[1e4, -1e4, 0.0, 1e-8], [-1e4, 1e4, 3e3, -2e3], [1e4, 1e4, -1e4, -1e4], [1e4, 1e4, 1e4, 1e4]])
        near = 1e4 + np.array([[0.5, -0.25, 0.125, 1.0]] * 4)  # large, nearly equal scores
        return [(rel, big, hp), (rel, -big, hp), (rel, near, hp), (rel[:, :1], big[:, :1], hp),
                (np.zeros((2, 3)), np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]]), hp)]
    return lambda: [c for hp in configs for c in cases(hp)]


_NORMALIZE_PAIRS = Hyper(True, "bool", "divide each list's sum over pairs by its number of pairs (TF-Ranking); "
                                       "False: Burges et al.'s sum")
_RANKNET_CONFIGS = ({}, {"normalize": False})
_SOFTMAX_CONFIGS = ({}, {"normalize": True})
SWAP_TOL = 1e-4  # relative: lists with two scores this close sit next to a swap (lambdarank's kinks)


def _lambdarank_kinks(y_true, y_pred, *, normalize):
    """One flag per list: two of its scores within SWAP_TOL (relative) of each other, where the
    order, and with it lambdarank's weights, may change within a finite-difference step."""
    s = np.asarray(y_pred, float)
    if s.ndim != 2:
        return np.zeros(len(s), bool)
    gap = np.abs(s[:, :, None] - s[:, None, :])
    size = np.maximum(1.0, np.maximum(np.abs(s)[:, :, None], np.abs(s)[:, None, :]))
    close = (gap < SWAP_TOL * size) & ~np.eye(s.shape[1], dtype=bool)
    return close.any(axis=(1, 2))


_LISTWISE = dict(family="ranking", chapter="ranking/listwise", y_true="nonneg", y_pred="real", ndims=(2,))

ranknet = Loss(
    "ranknet", _ranknet,
    summary="RankNet's pairwise logistic loss over the pairs of each list whose relevance differs",
    hyper={"normalize": _NORMALIZE_PAIRS}, configs=_RANKNET_CONFIGS, extremes=_extremes(_RANKNET_CONFIGS),
    references=("burges2005ranknet",), **_LISTWISE)

listnet = Loss(
    "listnet", _listnet,
    summary="ListNet: cross-entropy between the top-one probabilities (softmaxes) of relevance and scores",
    extremes=_extremes(({},)), references=("cao2007listnet",), **_LISTWISE)

softmax_ranking = Loss(
    "softmax_ranking", _softmax_ranking,
    summary="the softmax ranking loss -sum y log softmax(s) per list (optax's ranking_softmax_loss)",
    hyper={"normalize": Hyper(False, "bool", "divide the relevance by its sum (TF-Ranking's per-list SoftmaxLoss); "
                                             "False: optax's ranking_softmax_loss, the relevance as it is")},
    configs=_SOFTMAX_CONFIGS, extremes=_extremes(_SOFTMAX_CONFIGS), references=("bruch2019softmax", "cao2007listnet"),
    **_LISTWISE)

listmle = Loss(
    "listmle", _listmle,
    summary="ListMLE: the Plackett-Luce negative log-likelihood of the order that sorts the relevance",
    extremes=_extremes(({},)), references=("xia2008listmle",), **_LISTWISE)

lambdarank = Loss(
    "lambdarank", _lambdarank,
    summary="LambdaRank: RankNet's pairs weighted by |Delta NDCG| of a swap, held constant (value jumps at swaps)",
    hyper={"normalize": _NORMALIZE_PAIRS}, configs=_RANKNET_CONFIGS, extremes=_extremes(_RANKNET_CONFIGS),
    kinks=_lambdarank_kinks, references=("burges2006lambdarank", "burges2010ranknet"), **_LISTWISE)
