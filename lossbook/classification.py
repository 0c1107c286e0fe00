"""Classification losses in practice: the variants of cross-entropy and hinge that torch, Keras and
optax ship beside the plain ones.

* ``soft_margin`` (torch's ``SoftMarginLoss``): the logistic loss on {-1, 1} labels;
* ``multilabel_soft_margin`` (torch's ``MultiLabelSoftMarginLoss``): binary cross-entropy on
  logits, averaged over the classes of a multi-hot target;
* ``multilabel_margin`` (torch's ``MultiLabelMarginLoss``): a hinge on every (target, non-target)
  pair of classes;
* ``categorical_focal_crossentropy`` (Keras's ``CategoricalFocalCrossentropy``, Lin et al. 2017);
* ``poly1_crossentropy`` (Leng et al. 2022, optax's ``poly_loss_cross_entropy``);
* ``generalized_crossentropy`` (Zhang & Sabuncu 2018): between cross-entropy and MAE;
* ``distillation_kl`` (Hinton et al. 2015): the student's KL to the teacher at temperature T.

The probabilistic ones follow ``lossbook/probabilistic.py``'s conventions (exact math by default,
``epsilon`` reproduces Keras's clipping, the per-sample loss sums over the classes; see that
module's docstring).  Their framework counterparts are in ``lossbook/counterparts.py``.
Chapters: ``book/practice/`` (multilabel, imbalance, label-noise, distillation).
"""
from __future__ import annotations

import numpy as np

from .core import KERAS_EPSILON, Hyper, Loss, mean_last, put, width
from .margin import KINK_TOL, _row_mask
from .probabilistic import (_binary_crossentropy, _check_epsilon, _clip, _configs_extremes, _logistic,
                            _nan_to_zero, _require_rows, _smooth_categorical, _softmax_parts)
from .validation import _row_sums

__all__ = [
    "soft_margin",
    "multilabel_soft_margin",
    "multilabel_margin",
    "categorical_focal_crossentropy",
    "poly1_crossentropy",
    "generalized_crossentropy",
    "distillation_kl",
]

MULTILABEL = "practice/multilabel"
IMBALANCE = "practice/imbalance"
LABEL_NOISE = "practice/label-noise"
DISTILLATION = "practice/distillation"


def _log_softmax_and_complement(z):
    """log p, p and 1 - p for p = softmax(z) over the last axis, each to a few ulp.

    ``1 - p`` is formed as it is for every class but the row's largest, whose p can be 1 - 1e-30:
    there ``1 - p = 1 - e^{-log_norm} = -expm1(-log_norm)`` keeps the digits (``1 - p`` would be 0).
    The other classes have p <= 1/2, where ``1 - p`` loses nothing.
    """
    shifted, log_norm, p = _softmax_parts(z)
    log_p = shifted - log_norm
    one_minus_p = 1.0 - p
    top = np.arange(z.shape[0]) * z.shape[1] + z.argmax(axis=-1)
    put(one_minus_p, top, -np.expm1(-log_norm[:, 0]))
    return log_p, p, one_minus_p


def _log_over_complement(log_p, one_minus_p):
    """log(p) / (1 - p), with its limit -1 at p = 1 (0 / 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = log_p / one_minus_p
    r[one_minus_p == 0] = -1.0
    return r


# ============================================================================================
# Soft margin (torch's SoftMarginLoss)
# ============================================================================================
def _soft_margin(y_true, y_pred, *, with_grad):
    r"""The logistic loss on labels in {-1, 1} (torch's ``SoftMarginLoss``).

    .. math::  \ell_i = \frac{1}{D}\sum_d \log\big(1 + e^{-y_{id} x_{id}}\big)
               = \frac{1}{D}\sum_d \mathrm{softplus}(-y_{id} x_{id}), \qquad
               \frac{\partial \ell_i}{\partial x_{id}} = -\frac{y_{id}}{D}\,\sigma(-y_{id} x_{id})

    It is binary cross-entropy on logits with the label y in {-1, 1} instead of t = (1 + y)/2 in
    {0, 1}: :math:`\mathrm{softplus}(-yx) = -[t\log\sigma(x) + (1-t)\log\sigma(-x)]`; and a smooth
    hinge, :math:`\log(1 + e^{-m})` for the margin m = y x.  torch averages over every element
    (``reduction="mean"`` divides by N*D); lossbook's per-sample loss is the mean over D (Keras's
    convention), so the two means agree.

    Stability: softplus from one :math:`e^{-|m|}` with ``log1p``, and :math:`\sigma(-m)` as
    :math:`e^{-|m|}/(1 + e^{-|m|})` or :math:`1/(1 + e^{-|m|})`: finite and exact for scores of +-1e4
    (:math:`\log(1 + e^{1e4})` would overflow).  y x is exact: y is +-1.
    Chapter: ``book/practice/multilabel``.
    """
    m = y_true * y_pred  # the margin, exact
    _, softplus_minus_m, _, sigmoid_minus_m = _logistic(m)
    loss = mean_last(softplus_minus_m)
    if not with_grad:
        return loss
    grad = sigmoid_minus_m
    grad *= y_true
    np.negative(grad, out=grad)
    if width(y_pred) > 1:
        grad /= width(y_pred)
    return loss, grad


soft_margin = Loss(
    "soft_margin",
    _soft_margin,
    family="margin",
    chapter=MULTILABEL,
    summary="log(1 + exp(-y x)) on labels in {-1, 1}: the logistic loss (torch's SoftMarginLoss)",
    y_true="signed",
    y_pred="real",
)


# ============================================================================================
# Multi-label soft margin (torch's MultiLabelSoftMarginLoss)
# ============================================================================================
def _multilabel_soft_margin(y_true, y_pred, *, with_grad):
    r"""Multi-label one-vs-all logistic loss (torch's ``MultiLabelSoftMarginLoss``).

    Each of the C classes is its own yes/no question on its logit :math:`x_{ic}`; the multi-hot
    target :math:`y_{ic} \in \{0, 1\}` says which classes are present:

    .. math::  \ell_i = -\frac{1}{C}\sum_{c=1}^{C}\Big[y_{ic}\log\sigma(x_{ic})
               + (1 - y_{ic})\log\sigma(-x_{ic})\Big], \qquad
               \frac{\partial \ell_i}{\partial x_{ic}} = \frac{1}{C}\big(\sigma(x_{ic}) - y_{ic}\big)

    This is exactly ``binary_crossentropy(y, x, from_logits=True)`` on (N, C) input (the mean over
    the last axis is Keras's per-sample convention for BCE), and lossbook computes it with that
    loss's code: the same numbers, bit for bit.  torch's name hides the identity; Keras and optax
    have only the BCE.  Stability: as binary cross-entropy on logits (softplus with ``log1p``, the
    gradient without the cancellation in :math:`\sigma(x) - 1`): exact for logits of +-1e4.
    Chapter: ``book/practice/multilabel``.
    """
    _require_rows(y_pred, "class logits")
    return _binary_crossentropy(y_true, y_pred, with_grad=with_grad, from_logits=True, label_smoothing=0.0,
                                epsilon=0.0)


multilabel_soft_margin = Loss(
    "multilabel_soft_margin",
    _multilabel_soft_margin,
    family="probabilistic",
    chapter=MULTILABEL,
    summary="binary cross-entropy on logits, averaged over the classes of a multi-hot target",
    y_true="binary",
    y_pred="real",
    ndims=(2,),
)


# ============================================================================================
# Multi-label margin (torch's MultiLabelMarginLoss)
# ============================================================================================
def _multilabel_hinges(y_true, y_pred):
    """1 - (x_j - x_k) for every (target j, non-target k) of each row, 0 elsewhere: (N, C, C)."""
    pairs = y_true[:, :, None] * (1.0 - y_true)[:, None, :]  # 1 where j is a target and k is not
    slack = 1.0 - (y_pred[:, :, None] - y_pred[:, None, :])
    return slack, pairs


def _multilabel_margin(y_true, y_pred, *, with_grad):
    r"""Multi-label hinge over (target, non-target) pairs (torch's ``MultiLabelMarginLoss``).

    With :math:`T_i` the classes of sample i's multi-hot target and :math:`\bar T_i` the others,

    .. math::  \ell_i = \frac{1}{C}\sum_{j \in T_i}\sum_{k \in \bar T_i} \max\big(0,\ 1 - (x_{ij} - x_{ik})\big),

    .. math::  \frac{\partial \ell_i}{\partial x_{ij}} = -\frac{1}{C}\,\#\{k \in \bar T_i: \text{pair active}\},
               \qquad \frac{\partial \ell_i}{\partial x_{ik}} = \frac{1}{C}\,\#\{j \in T_i: \text{pair active}\},

    a pair being active when its slack :math:`1 - (x_j - x_k)` is > 0 (subgradient 0 at slack 0, as
    every hinge in lossbook).  Every target must outscore every non-target by 1.  A row with no
    target, or with every class a target, has no pair: its loss is 0 (torch agrees on both).

    lossbook takes the multi-hot ``y_true`` of shape (N, C); torch takes class *indices*, each row
    listing the targets first and padded with -1 after them (``[[3, 0, -1, -1]]`` for targets {0, 3}),
    and it stops reading a row at its first -1 (targets after a -1 are ignored, silently).  The
    torch recipe converts.  Stability: one subtraction per pair; scores of +-1e4 are fine.
    The cost is O(N C^2) in time and memory.  Chapter: ``book/practice/multilabel``.
    """
    _require_rows(y_pred, "class scores")
    c = y_pred.shape[1]
    hinge = 1.0 - (y_pred[:, :, None] - y_pred[:, None, :])  # (N, C, C): the slack of pair (j, k)
    np.maximum(hinge, 0.0, out=hinge)  # in place: one (N, C, C) array in all
    hinge *= y_true[:, :, None]  # keep the pairs whose j is a target ...
    hinge *= (1.0 - y_true)[:, None, :]  # ... and whose k is not
    loss = np.einsum("ijk->i", hinge) / c
    if not with_grad:
        return loss
    active = np.sign(hinge)  # 1 for an active pair, 0 otherwise
    grad = (np.einsum("ijk->ik", active) - np.einsum("ijk->ij", active)) / c  # + for non-targets, - for targets
    return loss, grad


def _multilabel_margin_kinks(y_true, y_pred):
    slack, pairs = _multilabel_hinges(y_true, y_pred)
    near = ((np.abs(slack) < KINK_TOL) & (pairs > 0)).any(axis=(1, 2))
    return _row_mask(near, y_pred.shape)


multilabel_margin = Loss(
    "multilabel_margin",
    _multilabel_margin,
    family="margin",
    chapter=MULTILABEL,
    summary="hinge on every (target, non-target) pair of a multi-hot target (torch's MultiLabelMarginLoss)",
    y_true="binary",
    y_pred="real",
    ndims=(2,),
    kinks=_multilabel_margin_kinks,
    extremes=_configs_extremes({(): [
        ([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]],
         [[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [1e4, -1e4, 3.0], [-1e4, 0.0, 1e4]]),
    ]}),
)


# ============================================================================================
# Categorical focal cross-entropy (Lin et al. 2017; Keras's CategoricalFocalCrossentropy)
# ============================================================================================
def _categorical_focal_crossentropy(y_true, y_pred, *, with_grad, alpha, gamma, from_logits, label_smoothing,
                                    epsilon):
    r"""Categorical focal cross-entropy (Lin et al., ICCV 2017), as Keras 3 defines it.

    Every class's cross-entropy term is scaled down by :math:`(1 - p_c)^{\gamma}`:

    .. math::  \ell_i = -\sum_{c=1}^{C} \alpha_c\, y_{ic}\,(1 - p_{ic})^{\gamma}\log p_{ic},
               \qquad p_i = \mathrm{softmax}(z_i) \text{ when } \texttt{from\_logits}

    (``alpha``: one number for every class, or a sequence of C numbers, one per class, as Keras
    accepts both.  With one-hot targets, per-class weights equal ``alpha=1`` with
    ``sample_weight=alpha[labels]``; with soft targets they do not.)  With :math:`f(p) = (1-p)^{\gamma}\log p`
    and :math:`r = \log p / (1 - p)`, :math:`f'(p) = (1-p)^{\gamma}(1/p - \gamma r)`, so

    .. math::  \frac{\partial \ell_i}{\partial p_{ic}} = -\alpha_c\,y_{ic}(1-p_{ic})^{\gamma}
               \Big(\frac{1}{p_{ic}} - \gamma r_{ic}\Big),

    two terms of the same sign (r <= 0).  On logits, with
    :math:`u_c = \alpha_c y_c f'(p_c) p_c = \alpha_c y_c (1-p_c)^{\gamma}(1 - \gamma p_c r_c) \ge 0` and
    :math:`S = \sum_c u_c`,

    .. math::  \frac{\partial \ell_i}{\partial z_{ik}} = p_k S - u_k
               = p_k (S - u_k) - u_k (1 - p_k).

    ``gamma=0, alpha=1`` is categorical cross-entropy exactly.  ``label_smoothing`` replaces y by
    :math:`y(1-s) + s/C` (Keras).  Keras divides p by its row sum and clips it to
    ``[1e-7, 1 - 1e-7]``, *also* after its softmax; lossbook's default is the exact math
    (``epsilon=0``), and ``epsilon=1e-7`` reproduces Keras on probabilities (as in
    ``categorical_crossentropy``, epsilon with ``from_logits=True`` is refused: Keras's clip of a
    softmax saturates the loss once the true class's logit trails by more than about 16).

    Stability: on logits, log p is the log-softmax with the max shift, and :math:`1 - p` of the
    row's largest class is :math:`-\mathrm{expm1}(-\log\text{norm})`, not 1 minus a rounded p that
    may be 1; :math:`r` has its limit -1 at p = 1.  The last form of the logit gradient adds two
    terms of fixed sign, so the true class of a confident right answer keeps its tiny gradient.
    On probabilities :math:`0\log 0 = 0`; p_c = 0 where y_c > 0 gives ``inf``.
    Chapter: ``book/practice/imbalance``.
    """
    _check_epsilon(epsilon, from_logits)
    _require_rows(y_pred)
    y = _smooth_categorical(y_true, label_smoothing)
    if isinstance(alpha, tuple):  # one weight per class: inside the sum; a single weight: outside it
        if len(alpha) != y_pred.shape[-1]:
            raise ValueError(f"alpha must hold one weight per class ({y_pred.shape[-1]}), got {len(alpha)}")
        y, alpha = y * np.asarray(alpha), 1.0
    inside = None
    if from_logits:
        log_p, p, one_minus_p = _log_softmax_and_complement(y_pred)
    else:
        p, inside = _clip(y_pred, epsilon)
        one_minus_p = 1.0 - p  # exact for p >= 1/2
        with np.errstate(divide="ignore"):
            log_p = np.log(p)
    factor = one_minus_p ** gamma  # 0 ** 0 = 1: gamma = 0 is cross-entropy
    weighted = y * factor
    with np.errstate(invalid="ignore"):
        elem = _nan_to_zero(weighted * log_p)  # 0 * log 0 = 0
    loss = 0.0 - alpha * _row_sums(elem)
    if not with_grad:
        return loss
    r = _log_over_complement(log_p, one_minus_p)
    if from_logits:
        u = weighted * (1.0 - gamma * p * r)  # p r: p log p / (1 - p), finite (0 at p = 0)
        s = _row_sums(u)[:, None]
        grad = p * (s - u)
        grad -= u * one_minus_p
        grad *= alpha
        return loss, grad
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # 1 / 5e-324 = inf, the true slope
        slope = 1.0 / p
        if gamma:  # (gamma = 0 would make 0 * r = nan at p = 0, where r = -inf)
            slope -= gamma * r
        grad = _nan_to_zero(weighted * slope)  # y = 0 at p = 0: the term is absent
    grad *= -alpha
    if inside is not None:
        grad[~inside] = 0.0
    return loss, grad


_FOCAL_CONFIGS = ({}, {"from_logits": True}, {"gamma": 0.0, "alpha": 1.0}, {"gamma": 0.5, "from_logits": True},
                  {"gamma": 0.5}, {"label_smoothing": 0.1, "from_logits": True}, {"epsilon": KERAS_EPSILON},
                  # one weight per class: three, as the registry's sampled inputs (lossbook.testing.D) and extremes have
                  {"alpha": (0.25, 0.5, 1.0), "from_logits": True}, {"alpha": (1.0, 0.0, 0.5)})
_ONE_HOT3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
_BIG_LOGITS = [[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]]
_PROB_EXTREMES = [(_ONE_HOT3, _ONE_HOT3), ([[0.5, 0.5, 0.0]], [[1e-300, 1.0 - 1e-16, 0.0]]),
                  ([[1.0, 0.0, 0.0]], [[1.0 - 1e-16, 1e-16, 0.0]])]


def _focal_extremes():
    table = {}
    for c in _FOCAL_CONFIGS:
        if c.get("from_logits"):
            table[tuple(c.items())] = [(_ONE_HOT3, _BIG_LOGITS)]
        elif c.get("epsilon"):
            table[tuple(c.items())] = [(_ONE_HOT3, [[0.0, 1.0, 0.0]] * 3)]
        elif c.get("label_smoothing"):
            table[tuple(c.items())] = [(_ONE_HOT3, [[1.0, 1e-300, 1e-300]] * 3)]
        else:
            table[tuple(c.items())] = _PROB_EXTREMES
    return table


categorical_focal_crossentropy = Loss(
    "categorical_focal_crossentropy",
    _categorical_focal_crossentropy,
    family="probabilistic",
    chapter=IMBALANCE,
    references=("lin2017focal",),
    summary="categorical cross-entropy with each class's term scaled by alpha (1 - p_c)^gamma (Keras's form)",
    y_true="simplex",
    y_pred=lambda hp: "real" if hp["from_logits"] else "simplex",
    hyper={
        "alpha": Hyper(0.25, "[0,1]_or_per_class", "one weight for every class (Keras's default 0.25), or one per class"),
        "gamma": Hyper(2.0, ">=0", "focusing parameter; 0 (with alpha=1) gives categorical cross-entropy"),
        "from_logits": Hyper(False, "bool", "y_pred holds logits (softmax is applied inside)"),
        "label_smoothing": Hyper(0.0, "[0,1]", "mix targets with the uniform distribution: y(1 - s) + s/C"),
        "epsilon": Hyper(0.0, "[0,1)", "clip probabilities to [epsilon, 1 - epsilon]; 1e-7 reproduces Keras"),
    },
    configs=_FOCAL_CONFIGS,
    ndims=(2,),
    extremes=_configs_extremes(_focal_extremes()),
)


# ============================================================================================
# Poly-1 cross-entropy (Leng et al. 2022)
# ============================================================================================
def _poly1_crossentropy(y_true, y_pred, *, with_grad, poly_epsilon):
    r"""Poly-1 cross-entropy (Leng et al., ICLR 2022): cross-entropy plus :math:`\epsilon_1 (1 - p_t)`.

    Cross-entropy's Taylor series in :math:`1 - p_t` is :math:`\sum_j (1-p_t)^j / j`; PolyLoss
    moves the first coefficient from 1 to :math:`1 + \epsilon_1`.  For soft targets (optax's form):

    .. math::  \ell_i = -\sum_c y_{ic}\log p_{ic} + \epsilon_1\sum_c y_{ic}(1 - p_{ic}),
               \qquad p_i = \mathrm{softmax}(z_i)

    .. math::  \frac{\partial \ell_i}{\partial z_{ik}} = p_{ik}\textstyle\sum_c y_{ic} - y_{ik}
               + \epsilon_1\,p_{ik}\Big(\sum_c y_{ic}p_{ic} - y_{ik}\Big).

    ``poly_epsilon=0`` is categorical cross-entropy on logits; the default 2.0 is optax's.  For a
    one-hot target the derivative in :math:`p_t` is :math:`-1/p_t - \epsilon_1`, so the loss keeps
    decreasing in :math:`p_t` only for :math:`\epsilon_1 \ge -1`; lossbook accepts any real.
    Logits only (optax's signature).

    Stability: the cross-entropy part as ``categorical_crossentropy(from_logits=True)``; the poly
    term sums :math:`y_c (1 - p_c)`, with :math:`1 - p` of the row's largest class formed as
    :math:`-\mathrm{expm1}(-\log\text{norm})` (not :math:`1 - \sum y p`, which rounds a confident
    answer's tiny :math:`1 - p_t` to 0).  In the gradient, :math:`\sum_c y_c p_c - y_k` is written
    :math:`(\sum_c y_c - y_k) - \sum_c y_c(1 - p_c)` where :math:`y_k \ge 1/2`, so at the true class
    it is :math:`-(1 - p_t)` with its digits.  Chapter: ``book/practice/label-noise``.
    """
    _require_rows(y_pred, "class logits")
    log_p, p, one_minus_p = _log_softmax_and_complement(y_pred)
    y = y_true
    y_total = _row_sums(y)
    y_miss = _row_sums(y * one_minus_p)  # sum y (1 - p), each term >= 0
    loss = 0.0 - np.einsum("ij,ij->i", y, log_p) + poly_epsilon * y_miss
    if not with_grad:
        return loss
    y_hit = _row_sums(y * p)[:, None]
    a = np.where(y >= 0.5, (y_total[:, None] - y) - y_miss[:, None], y_hit - y)  # sum y p - y_k
    grad = p * y_total[:, None] - y
    grad += poly_epsilon * p * a
    return loss, grad


_POLY_LOGITS = [[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4], [100.0, 0.0, -100.0]]
poly1_crossentropy = Loss(
    "poly1_crossentropy",
    _poly1_crossentropy,
    family="probabilistic",
    chapter=LABEL_NOISE,
    references=("leng2022polyloss",),
    summary="cross-entropy plus epsilon (1 - p_t): the first term of its Taylor series reweighted (PolyLoss)",
    y_true="simplex",
    y_pred="real",
    hyper={"poly_epsilon": Hyper(2.0, "real", "epsilon_1, the extra weight of the (1 - p_t) term (optax's default 2.0)")},
    configs=({}, {"poly_epsilon": 0.0}, {"poly_epsilon": -1.0}),
    ndims=(2,),
    extremes=_configs_extremes({c: [(_ONE_HOT3 + [[1.0, 0.0, 0.0]], _POLY_LOGITS),
                                    ([[0.5, 0.5, 0.0]] * 4, _POLY_LOGITS)]
                                for c in ((), (("poly_epsilon", 0.0),), (("poly_epsilon", -1.0),))}),
)


# ============================================================================================
# Generalized cross-entropy (Zhang & Sabuncu 2018)
# ============================================================================================
def _generalized_crossentropy(y_true, y_pred, *, with_grad, q, from_logits):
    r"""Generalized cross-entropy (Zhang & Sabuncu, NeurIPS 2018): the Box-Cox transform of p_y.

    .. math::  \ell_i = \sum_c y_{ic}\,\frac{1 - p_{ic}^{\,q}}{q}, \qquad q \in (0, 1],
               \qquad p_i = \mathrm{softmax}(z_i) \text{ when } \texttt{from\_logits}

    For a one-hot target, :math:`(1 - p_y^q)/q`: as :math:`q \to 0` it tends to :math:`-\log p_y`
    (cross-entropy), at q = 1 it is :math:`1 - p_y`, MAE on the probabilities (up to a factor 2:
    :math:`\lVert e_y - p\rVert_1 = 2(1 - p_y)`), robust to noisy labels but slow to train; the
    paper's q = 0.7 sits between.  Unlike cross-entropy it is bounded, by 1/q (reached at p_y = 0).

    .. math::  \frac{\partial \ell_i}{\partial p_{ic}} = -y_{ic}\,p_{ic}^{\,q-1}, \qquad
               \frac{\partial \ell_i}{\partial z_{ik}} = p_{ik}\sum_c u_c - u_k
               = p_{ik}\sum_{c \ne k} u_c - u_k (1 - p_{ik}), \quad u_c = y_{ic}\,p_{ic}^{\,q}.

    Stability: the value is :math:`-\mathrm{expm1}(q\log p)/q`, which keeps the digits of
    :math:`1 - p^q` when p is close to 1 (and gives 1/q at p = 0); the probability gradient's
    :math:`p^{q-1}` is :math:`p^q / p` (the rounded exponent q - 1 would cost :math:`|\log p|` ulp); on logits log p is the
    log-softmax and :math:`1 - p` of the row's largest class is :math:`-\mathrm{expm1}(-\log\text{norm})`;
    the logit gradient's last form adds two terms of fixed sign.  On probabilities, p = 0 where
    y > 0 has the gradient :math:`-\infty` for q < 1 (the loss itself is finite there).
    Keras has it as ``CategoricalGeneralizedCrossEntropy`` (since 3.9; integer labels, probabilities,
    q in (0, 1), default q = 0.5, the plain ``(1 - p**q) / q`` in float32); torch and optax have none,
    and the torch counterpart is composed from torch ops.
    Chapter: ``book/practice/label-noise``.
    """
    _require_rows(y_pred)
    y = y_true
    if from_logits:
        log_p, p, one_minus_p = _log_softmax_and_complement(y_pred)
    else:
        p = y_pred
        with np.errstate(divide="ignore"):
            log_p = np.log(p)
    elem = np.expm1(q * log_p)  # p^q - 1, -1 at p = 0
    elem *= y
    loss = 0.0 - _row_sums(elem) / q
    if not with_grad:
        return loss
    if from_logits:
        u = y * np.exp(q * log_p)
        grad = p * (_row_sums(u)[:, None] - u)
        grad -= u * one_minus_p
        return loss, grad
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # p^(q - 1) as p^q / p: the exponent q - 1 is rounded (0.3 - 1 is off by an ulp), and pow
        # multiplies that by |log p| (500 ulp at p = 1e-300); q itself is exact
        slope = np.power(p, q)
        slope /= p
        slope[p == 0] = np.inf if q < 1 else 1.0  # the limits of p^(q - 1)
        grad = _nan_to_zero(y * slope)  # y = 0 at p = 0: the term is absent
    np.negative(grad, out=grad)
    return loss, grad


generalized_crossentropy = Loss(
    "generalized_crossentropy",
    _generalized_crossentropy,
    family="probabilistic",
    chapter=LABEL_NOISE,
    references=("zhang2018generalized",),
    summary="(1 - p_y^q) / q: cross-entropy as q -> 0, 1 - p_y at q = 1 (robust to label noise)",
    y_true="simplex",
    y_pred=lambda hp: "real" if hp["from_logits"] else "simplex",
    hyper={
        "q": Hyper(0.7, "(0,1]", "the exponent: q -> 0 is cross-entropy, q = 1 is 1 - p_y (the paper's 0.7)"),
        "from_logits": Hyper(False, "bool", "y_pred holds logits (softmax is applied inside)"),
    },
    configs=({}, {"from_logits": True}, {"q": 1.0}, {"q": 1e-3, "from_logits": True}, {"q": 0.3}),
    ndims=(2,),
    extremes=_configs_extremes({
        (): [(_ONE_HOT3, _ONE_HOT3), ([[1.0, 0.0, 0.0]], [[1.0 - 1e-16, 1e-16, 0.0]])],
        (("from_logits", True),): [(_ONE_HOT3, _BIG_LOGITS)],
        (("q", 1.0),): [(_ONE_HOT3, [[0.0, 1.0, 0.0]] * 3), ([[0.5, 0.5, 0.0]], [[1e-300, 1.0, 0.0]])],
        (("q", 1e-3), ("from_logits", True)): [(_ONE_HOT3, _BIG_LOGITS)],
        (("q", 0.3),): [(_ONE_HOT3, _ONE_HOT3), ([[0.5, 0.5, 0.0]], [[1e-300, 1.0 - 1e-16, 0.0]])],
    }),
)


# ============================================================================================
# Knowledge distillation (Hinton et al. 2015)
# ============================================================================================
def _distillation_kl(y_true, y_pred, *, with_grad, temperature):
    r"""Knowledge-distillation loss (Hinton, Vinyals & Dean 2015): the student's KL to the teacher at T.

    ``y_true`` holds the teacher's logits t, ``y_pred`` the student's logits s; both are softened
    by the temperature T:

    .. math::  \ell_i = T^2\,\mathrm{KL}\big(q^{t}_i \,\Vert\, q^{s}_i\big)
               = T^2\sum_c q^{t}_{ic}\big(\log q^{t}_{ic} - \log q^{s}_{ic}\big), \qquad
               q^{t} = \mathrm{softmax}(t/T),\ q^{s} = \mathrm{softmax}(s/T)

    .. math::  \frac{\partial \ell_i}{\partial s_{ik}} = T\,\big(q^{s}_{ik} - q^{t}_{ik}\big)

    (KL's gradient in the student's logits is softmax minus target, and the chain rule through s/T
    gives 1/T).  The :math:`T^2` is Hinton et al.'s: it keeps the soft-target gradients the same
    size whatever T, so that the loss can be mixed with the hard-label cross-entropy at
    temperature 1 without re-tuning the weight (for large T and zero-mean logits the gradient
    tends to :math:`(s - t)/C`: matching logits, Hinton et al.'s section 2.1).  Default T = 4:
    Hinton et al. found 2.5 to 4 best for a small student on MNIST (above 8 all alike for a large
    one).  The loss is not differentiated with respect to the teacher.

    Stability: both log-softmaxes with the max shift (logits of +-1e4 are fine); a teacher class
    whose :math:`q^t` underflows to 0 contributes 0 (the limit of :math:`q\log q`).  KL of two close
    distributions is a sum of terms of both signs that nearly cancel: its error is measured in
    ulps of the terms' size (as ``kl_divergence``'s).  Chapter: ``book/practice/distillation``.
    """
    _require_rows(y_pred, "student logits")
    t_shift, t_norm, q_t = _softmax_parts(y_true / temperature)
    s_shift, s_norm, q_s = _softmax_parts(y_pred / temperature)
    diff = (t_shift - t_norm) - (s_shift - s_norm)  # log q_t - log q_s
    loss = temperature ** 2 * np.einsum("ij,ij->i", q_t, diff)
    if not with_grad:
        return loss
    grad = q_s
    grad -= q_t
    grad *= temperature
    return loss, grad


distillation_kl = Loss(
    "distillation_kl",
    _distillation_kl,
    family="probabilistic",
    chapter=DISTILLATION,
    references=("hinton2015distilling",),
    summary="T^2 KL(softmax(teacher/T) || softmax(student/T)): Hinton et al.'s distillation loss",
    y_true="real",
    y_pred="real",
    hyper={"temperature": Hyper(4.0, ">0", "the softening temperature T (4: Hinton et al.'s best for a small student)")},
    configs=({}, {"temperature": 1.0}, {"temperature": 20.0}),
    ndims=(2,),
)
