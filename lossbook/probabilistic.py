"""Probabilistic losses: the negative log-likelihood of the data under the model's distribution.

Binary cross-entropy is the Bernoulli likelihood, categorical cross-entropy the categorical one,
the Poisson loss the Poisson one; KL divergence is cross-entropy minus the (constant) entropy of
the targets.  Chapters: ``book/probabilistic``.

Conventions shared by every loss here:

* Exact math by default.  A probability of exactly 0 for an outcome the target says happened has
  an infinite negative log-likelihood, and these losses return ``inf`` there (with gradient
  ``-inf``), silently, as ``-log(0)`` is.  They do not raise: a saturated float32 sigmoid reaches
  exactly 0 in ordinary training, and an ``inf`` in the loss curve says exactly what happened.
  Pass logits (``from_logits=True``) to avoid the problem, or ``epsilon=1e-7`` to clip the way
  Keras does.  Wherever the math is finite (p = 0 for an outcome that did not happen, logits of
  +-1e4) the value and gradient are finite and exact.
* ``epsilon`` (default 0: no clipping) reproduces Keras's ``backend.epsilon()`` clipping, with its
  zero gradient outside the clip range.
* ``(N, D)`` binary targets: the per-sample loss is the mean over D (Keras); class scores
  ``(N, C)``: the per-sample loss is the sum over the C classes.
Their framework counterparts (torch, Keras, ...), with the recipes, are in ``lossbook/counterparts.py``.
"""
from __future__ import annotations

import numpy as np

from .core import KERAS_EPSILON, Hyper, Loss, mean_last, put, width
from .validation import _row_sums  # einsum: several times faster than .sum(axis=-1) on short rows

__all__ = [
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "negative_log_likelihood",
    "kl_divergence",
    "poisson",
]

_TINY, _HUGE = np.finfo(np.float64).tiny, np.finfo(np.float64).max  # the normal float64 range


# --------------------------------------------------------------------------------------------
# numerically careful building blocks
# --------------------------------------------------------------------------------------------
def _logistic(x):
    """softplus(x), softplus(-x), sigmoid(x) and sigmoid(-x) from one exp(-|x|), each to a few ulp.

    With e = exp(-|x|) in (0, 1] (its argument is <= 0: it never overflows),
    softplus(+-x) = max(+-x, 0) + log1p(e) (log1p keeps e's digits when e is tiny), and
    sigmoid(|x|) = 1 / (1 + e), sigmoid(-|x|) = e / (1 + e).  Neither sigmoid is 1 minus the other
    (1 - sigmoid(100) is 0 in float64; sigmoid(-100) is 3.7e-44), and there is no
    exp(-softplus) round trip, which multiplies softplus's rounding by its size (500 ulp at x = -700).
    """
    e = np.exp(-np.abs(x))
    log1p_e = np.log1p(e)
    big = 1.0 / (1.0 + e)
    small = e * big
    positive = x >= 0
    return (np.maximum(x, 0.0) + log1p_e, np.maximum(-x, 0.0) + log1p_e,
            np.where(positive, big, small), np.where(positive, small, big))


def _flat_index(scores, classes):
    """Flat positions of (row i, class ``classes[i]``) in an (N, C) array, for np.take / np.put.

    ``np.take(scores, _flat_index(scores, k))`` is ``scores[np.arange(N), k]`` at about half the
    cost (no general fancy-indexing machinery); both read the array in its logical (C) order.
    """
    return np.arange(scores.shape[0]) * scores.shape[1] + classes


def _softmax_parts(z):
    """The pieces of log-softmax and softmax over the last axis, sharing one exp.

    Returns ``shifted = z - m`` (m the row max), ``log_norm`` (N, 1) and the softmax, with
    log-softmax = shifted - log_norm: both parts are <= 0 and >= 0, so a loss -sum y log p can add
    them up without cancellation, and a loss that needs one class per row need not form the rest.

    Shift by the row max (then every exp is <= 1: no overflow at logits of 1e4), and write the
    normaliser as 1 + r, r = the sum of the other classes' e^(z - m): log_norm = log1p(r) keeps the
    digits of a tiny r (logits [100, 0, -100]: the loss is 3.7e-44, and log(1 + r) would round it to 0).
    """
    top = _flat_index(z, z.argmax(axis=-1))
    shifted = z - np.take(z, top)[:, None]
    e = np.exp(shifted)
    put(e, top, 0.0)  # the max's own e^0 = 1 is the "1" of 1 + r
    rest = _row_sums(e)[:, None]
    put(e, top, 1.0)
    e /= 1.0 + rest
    return shifted, np.log1p(rest), e


def _signed_targets(y_true, label_smoothing, positive):
    """where(positive, 1 - y, -y) for the smoothed target y, written as arithmetic on the mask.

    A bool counts as 0 or 1, so ``positive - y_true`` is exactly 1 - y or -y (np.where would cost
    an unpredictable branch per entry, ~5x a subtraction).  Smoothing then gives
    (1 - y)(1 - s) + s/2 or -(y(1 - s) + s/2) with the same roundings as :func:`_smooth_binary`.
    """
    t = positive - y_true
    if label_smoothing:
        t *= 1.0 - label_smoothing
        t += (positive - 0.5) * label_smoothing  # +-s/2, exact
    return t


def _nan_to_zero(t):
    """Set the nans of ``t`` to 0, in place: 0 * log(0) and 0 / 0 get their limit, 0.

    With finite inputs these products and ratios are nan only where a zero coefficient meets a log
    of 0 or a zero denominator, and there the term is absent.  A mask write touches only those
    (few) entries; ``np.where(x == 0, 0, t)`` would build a new array and branch on every entry,
    several times the cost of the arithmetic it guards.
    """
    t[np.isnan(t)] = 0.0
    return t


def _xlogy(x, y):
    """x * log(y) with 0 * log(0) = 0, the limit (like scipy.special.xlogy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.log(y)
        t *= x
    return _nan_to_zero(t)


def _xlog1my(x, p):
    """x * log(1 - p) with 0 * log(0) = 0; log1p keeps the digits of log(1 - p) for small p."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.negative(p)
        np.log1p(t, out=t)
        t *= x
    return _nan_to_zero(t)


def _kl_terms(y, p):
    """The terms y log(y / p), each to a few ulp of itself (0 log(0 / p) = 0), and the ratio y / p.

    One division and one log serve most entries: log(y / p) from the rounded ratio is good to an ulp
    of itself wherever it is not small, i.e. where y and p are apart.  Two kinds of entries are
    redone, each on its own (usually small) subset:

    * y and p within 50% of each other: log(y / p) is small and the ratio's rounding would swamp
      it; there y - p is exact (Sterbenz) and log1p((y - p) / p) keeps every digit (the naive
      y log y - y log p lost half the digits of KL between two almost equal rows);
    * a ratio that overflows (p = 5e-324) or underflows into the subnormals: there the two logs,
      log y - log p, are apart by hundreds and do not cancel.

    The subsets are index arrays (``np.flatnonzero``, ``np.take``, ``np.put``): a boolean-mask
    gather or ``np.where`` on a random mask costs several times as much.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = y / p
        log_ratio = np.log(ratio)
        close = np.flatnonzero((ratio >= 0.5) & (ratio <= 1.5))  # bool masks: no float temporaries
        y_c, p_c = np.take(y, close), np.take(p, close)
        put(log_ratio, close, np.log1p((y_c - p_c) / p_c))
        extreme = np.flatnonzero(((ratio < _TINY) | (ratio > _HUGE)) & (y > 0))
        put(log_ratio, extreme, np.log(np.take(y, extreme)) - np.log(np.take(p, extreme)))
        log_ratio *= y
    return _nan_to_zero(log_ratio), _nan_to_zero(ratio)  # y = 0: the term is absent, 0 / 0 = 0


def _ratio(num, den):
    """num / den with 0 / 0 = 0: where the coefficient vanishes the term is absent, not NaN (and a
    ratio beyond float64, 0.1 / 5e-324, is inf without a warning, as a division by 0 is)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _nan_to_zero(num / den)


def _check_epsilon(epsilon, from_logits=False):
    if epsilon >= 0.5:
        raise ValueError(f"epsilon must be in [0, 0.5) (probabilities are clipped to [epsilon, 1 - epsilon]); "
                         f"got {epsilon!r}")
    if epsilon and from_logits:
        raise ValueError("epsilon clips probabilities; with from_logits=True there is nothing to clip "
                         "(Keras does not clip logits either): leave epsilon=0")


def _clip(p, epsilon, upper=None):
    """Keras's clipping of probabilities, and the mask of entries inside the range (gradient passes)."""
    if not epsilon:
        return p, None
    hi = 1.0 - epsilon if upper is None else upper
    return np.clip(p, epsilon, hi), (p >= epsilon) & (p <= hi)


def _smooth_binary(y, label_smoothing):
    """Keras's binary label smoothing, y(1 - s) + s/2, and the same for 1 - y.

    Both are formed from the labels so that the weight of the second term keeps its digits
    (1 - 0.95, the smoothed 1 - y of s = 0.1, is off by 8 ulp when taken from the rounded 0.95)."""
    if not label_smoothing:
        return y, 1.0 - y
    keep, half = 1.0 - label_smoothing, 0.5 * label_smoothing
    return y * keep + half, (1.0 - y) * keep + half


def _smooth_categorical(y, label_smoothing):
    """Inception-style smoothing (Keras and torch agree): mix the targets with the uniform distribution."""
    return y * (1.0 - label_smoothing) + label_smoothing / y.shape[-1] if label_smoothing else y


def _require_rows(y_pred, what="class scores"):
    if y_pred.ndim != 2:
        raise ValueError(f"y_pred must have shape (N, C), one row of {what} per sample; got {y_pred.shape}")


# --------------------------------------------------------------------------------------------
# valid extreme input for the registry tests
# --------------------------------------------------------------------------------------------
def _configs_extremes(table):
    """extremes() for the registry tests: ``table`` maps a config (as a tuple of items) to cases."""

    def extremes():
        out = []
        for config, cases in table.items():
            for y_true, y_pred in cases:
                out.append((np.asarray(y_true, float), np.asarray(y_pred, float), dict(config)))
        return out

    return extremes


# ============================================================================================
# Binary cross-entropy
# ============================================================================================
def _binary_crossentropy(y_true, y_pred, *, with_grad, from_logits, label_smoothing, epsilon, pos_weight=None):
    r"""Binary cross-entropy: the negative log-likelihood of a Bernoulli(p) for the target y.

    .. math::  \ell_i = \frac{1}{D}\sum_{d} -\big[y_{id}\log p_{id} + (1-y_{id})\log(1-p_{id})\big],
               \qquad p = \sigma(x) \text{ when } \texttt{from\_logits}

    Gradient: :math:`\partial\ell/\partial p = \frac{1}{D}\,\frac{p-y}{p(1-p)}` on probabilities,
    :math:`\partial\ell/\partial x = \frac{1}{D}(\sigma(x) - y)` on logits.

    ``label_smoothing`` (Keras's) replaces y by :math:`y(1-s) + s/2`.  ``epsilon`` clips p to
    ``[epsilon, 1 - epsilon]`` as Keras does (gradient 0 outside); Keras's upper bound is the float32
    number ``1 - 1e-7 = 0.99999988``, so Keras gives 15.942 at (y=0, p=1) where lossbook gives 16.118.

    Stability: on logits, :math:`-\log\sigma(x) = \mathrm{softplus}(-x)` and
    :math:`-\log(1-\sigma(x)) = \mathrm{softplus}(x)`, both from one :math:`e^{-|x|}` with ``log1p``:
    finite and exact for logits of +-1e4.  The logit gradient is computed as
    :math:`(1-y)\sigma(x) - y\sigma(-x)`, so hard labels get their exact (tiny) gradient at any logit
    (:math:`\sigma(100) - 1` is 0 in float64).  Label smoothing forms :math:`1 - y` from the labels,
    not from the rounded smoothed y.  On probabilities, ``log1p(-p)`` keeps the small-p digits and
    :math:`0\log 0 = 0`, so p = 0 and p = 1 give exact, finite values wherever the target agrees
    with them; p = 0 with y > 0 gives ``inf`` (see the module notes).

    ``pos_weight`` w (torch's ``BCEWithLogitsLoss(pos_weight=w)``; Keras and optax have none) weighs
    the positive term: :math:`-[w\,y\log p + (1-y)\log(1-p)]`, gradient
    :math:`(1-y)\sigma(x) - w\,y\,\sigma(-x)` on logits and :math:`(1-y)/(1-p) - w\,y/p` on
    probabilities (two terms of fixed sign, as above).  One number, or one per column of (N, D)
    input (torch broadcasts its (C,) tensor over the last axis the same way); w > 1 raises recall,
    w = (negatives / positives) per class balances them.  It multiplies inside each sample's mean
    over D, so it is not the same as ``sample_weight`` (one weight per row, outside).
    Chapter: ``book/probabilistic/binary-crossentropy``.
    """
    _check_epsilon(epsilon, from_logits)
    if pos_weight is not None:
        return _weighted_bce(y_true, y_pred, with_grad, from_logits, label_smoothing, epsilon,
                             _pos_weight_array(pos_weight, y_pred))
    if from_logits:
        x = y_pred
        # softplus(+-x) = max(+-x, 0) + log(1 + e) with e = exp(-|x|) in (0, 1]: exp never overflows
        e = np.abs(x)
        np.exp(np.negative(e, out=e), out=e)
        elem = np.log1p(e)  # softplus(-|x|); log1p keeps the digits of a tiny e
        # y softplus(-x) + (1 - y) softplus(x) = softplus(-|x|) + a x, a = 1 - y for x >= 0 and -y
        # for x < 0: both terms >= 0, nothing cancels, and a hard label's a is exactly 0 or +-1
        positive = x >= 0
        a = _signed_targets(y_true, label_smoothing, positive)
        if with_grad:
            # sigmoid(x) - y = (1 - y) sigmoid(x) - y sigmoid(-x), sigmoid(|x|) = 1/(1 + e) and
            # sigmoid(-|x|) = e/(1 + e): the gradient is (a + b e)/(1 + e), b = -y for x >= 0 and
            # 1 - y for x < 0.  No 1 - p cancellation: a confident right answer keeps its true tiny
            # gradient (-3.7e-44 at x = 100, y = 1), where sigmoid(100) - 1 is 0 in float64
            grad = _signed_targets(y_true, label_smoothing, ~positive)
            grad *= e
            grad += a
            e += 1.0
            grad /= e
        a *= x  # a x, in a's own array (a is not needed any more)
        elem += a
        if not with_grad:
            return mean_last(elem)
    else:
        y, y0 = _smooth_binary(y_true, label_smoothing)  # y0 = 1 - y
        p, inside = _clip(y_pred, epsilon)
        elem = _xlogy(y, p)
        elem += _xlog1my(y0, p)
        np.subtract(0.0, elem, out=elem)  # 0.0 - x, not -x: a zero loss prints as 0, not -0
        if not with_grad:
            return mean_last(elem)
        grad = 1.0 - p
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(y0, grad, out=grad)  # y0 / (1 - p), in the array of 1 - p
        _nan_to_zero(grad)  # 0 / 0 = 0
        grad -= _ratio(y, p)
        if inside is not None:
            grad[~inside] = 0.0  # a clipped input does not move the loss
    d = width(elem)
    if d > 1:
        grad /= d  # the mean over D
    return mean_last(elem), grad


def _pos_weight_array(pos_weight, y_pred):
    """pos_weight as an array that broadcasts over the rows: a number, or one weight per column."""
    w = np.asarray(pos_weight, dtype=np.float64)
    if w.ndim == 1:
        d = y_pred.shape[-1] if y_pred.ndim == 2 else 1
        if w.shape[0] != d:
            raise ValueError(f"pos_weight must be one number or one weight per column of y_pred ({d}); "
                             f"got {w.shape[0]} weights")
        if y_pred.ndim == 1:
            w = w[0]
    return w


def _weighted_bce(y_true, y_pred, with_grad, from_logits, label_smoothing, epsilon, w):
    """Binary cross-entropy with the positive term weighted by w (see binary_crossentropy)."""
    y, y0 = _smooth_binary(y_true, label_smoothing)  # y0 = 1 - y, from the labels
    wy = w * y
    if from_logits:
        softplus_x, softplus_minus_x, p, one_minus_p = _logistic(y_pred)  # each to a few ulp, no 1 - p
        elem = wy * softplus_minus_x + y0 * softplus_x  # two terms >= 0
        grad = y0 * p - wy * one_minus_p if with_grad else None
    else:
        p, inside = _clip(y_pred, epsilon)
        elem = _xlogy(wy, p)
        elem += _xlog1my(y0, p)
        np.subtract(0.0, elem, out=elem)
        if with_grad:
            with np.errstate(divide="ignore"):
                grad = _ratio(y0, 1.0 - p) - _ratio(wy, p)
            if inside is not None:
                grad[~inside] = 0.0
    loss = mean_last(elem)
    if not with_grad:
        return loss
    if width(elem) > 1:
        grad /= width(elem)
    return loss, grad


_BCE_CONFIGS = ({}, {"from_logits": True}, {"label_smoothing": 0.1}, {"from_logits": True, "label_smoothing": 0.2},
                {"epsilon": KERAS_EPSILON}, {"from_logits": True, "pos_weight": 3.0}, {"pos_weight": 0.5},
                {"from_logits": True, "pos_weight": 10.0, "label_smoothing": 0.1})
# (a per-column pos_weight fits (N, D) input only, and the registry tests run every configuration on
# (N,) too: tests/test_classification.py checks the per-column form against torch)
_BCE_EXTREMES = {
    (): [([0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1e-300, 1.0 - 1e-16])],
    (("from_logits", True),): [([0.0, 1.0, 1.0, 0.0, 0.3], [1e4, -1e4, 1e4, -1e4, 1e4])],
    (("label_smoothing", 0.1),): [([0.0, 1.0, 1.0, 0.0], [1e-300, 1.0 - 1e-16, 1e-300, 1.0 - 1e-16])],
    (("from_logits", True), ("label_smoothing", 0.2)): [([0.0, 1.0, 1.0, 0.0], [1e4, -1e4, 1e4, -1e4])],
    (("epsilon", KERAS_EPSILON),): [([1.0, 0.0, 0.5, 1.0], [0.0, 1.0, 0.0, 1.0])],
    (("from_logits", True), ("pos_weight", 3.0)): [([0.0, 1.0, 1.0, 0.0, 0.3], [1e4, -1e4, 1e4, -1e4, 1e4])],
    (("pos_weight", 0.5),): [([0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1e-300, 1.0 - 1e-16])],
    (("from_logits", True), ("pos_weight", 10.0), ("label_smoothing", 0.1)):
        [([0.0, 1.0, 1.0, 0.0], [1e4, -1e4, 1e4, -1e4])],
}

binary_crossentropy = Loss(
    "binary_crossentropy",
    _binary_crossentropy,
    family="probabilistic",
    chapter="probabilistic/binary-crossentropy",
    summary="Bernoulli negative log-likelihood, on probabilities or logits",
    y_true="probability",
    y_pred=lambda hp: "real" if hp["from_logits"] else "probability",
    hyper={
        "from_logits": Hyper(False, "bool", "y_pred holds logits (any real) rather than probabilities"),
        "label_smoothing": Hyper(0.0, "[0,1]", "squeeze targets towards 0.5: y(1 - s) + s/2 (Keras)"),
        "epsilon": Hyper(0.0, "[0,1)", "clip probabilities to [epsilon, 1 - epsilon]; 1e-7 reproduces Keras"),
        "pos_weight": Hyper(None, "weights_or_none", "weight of the positive term, one number or one per column "
                            "(torch's BCEWithLogitsLoss pos_weight)"),
    },
    configs=_BCE_CONFIGS,
    extremes=_configs_extremes(_BCE_EXTREMES),
)


# ============================================================================================
# Binary focal cross-entropy (Lin et al. 2017)
# ============================================================================================
def _binary_focal_crossentropy(y_true, y_pred, *, with_grad, gamma, alpha, apply_class_balancing, from_logits,
                               label_smoothing):
    r"""Binary focal cross-entropy (Lin et al., ICCV 2017): BCE scaled down where the model is right.

    .. math::  \ell_i = \frac{1}{D}\sum_d \alpha_t\,(1-p_t)^{\gamma}\,\mathrm{BCE}(y, p),
               \qquad 1 - p_t = y(1-p) + (1-y)p,\quad \alpha_t = y\alpha + (1-y)(1-\alpha)

    (:math:`\alpha_t = 1` unless ``apply_class_balancing``: Keras's signature, where ``alpha`` is
    ignored without that flag.)  With :math:`q = 1-p_t` and :math:`B` the BCE,

    .. math::  \frac{\partial \ell}{\partial p} = \frac{\alpha_t}{D}\Big[q^{\gamma} B'(p)
               + \gamma q^{\gamma-1}(1-2y) B\Big],

    and on logits :math:`B'(x) = \sigma(x) - y`, :math:`\partial q/\partial x = (1-2y)\sigma(x)\sigma(-x)`.
    ``gamma=0`` gives BCE exactly.

    Stability: as BCE (softplus on logits, log1p and 0 log 0 = 0 on probabilities); the factor
    :math:`q^{\gamma-1}` is only formed as :math:`q^{\gamma}\cdot\sigma\sigma'/q` with the ratio set
    to 0 where q = 0 (there B = 0 too), so gamma < 1 does not produce 0 * inf.
    Chapter: ``book/probabilistic/binary-crossentropy``.
    """
    y, y0 = _smooth_binary(y_true, label_smoothing)  # y0 = 1 - y
    if from_logits:
        x = y_pred
        softplus_x, softplus_minus_x, p, one_minus_p = _logistic(x)  # 1 - p is not formed: it keeps its digits
        bce = y * softplus_minus_x + y0 * softplus_x
        dbce = y0 * p - y * one_minus_p  # p - y, without the cancellation (see binary_crossentropy)
        dq_factor = p * one_minus_p  # dp/dx
    else:
        p, one_minus_p = y_pred, 1.0 - y_pred
        bce = 0.0 - (_xlogy(y, p) + _xlog1my(y0, p))
        with np.errstate(divide="ignore"):
            dbce = -_ratio(y, p) + _ratio(y0, one_minus_p)
        dq_factor = np.ones_like(p)
    q = y * one_minus_p + y0 * p  # 1 - p_t, never negative
    factor = q ** gamma  # numpy: 0 ** 0 = 1, so gamma = 0 is BCE exactly
    weight = (y * alpha + y0 * (1.0 - alpha)) if apply_class_balancing else 1.0
    elem = weight * factor * bce
    loss = mean_last(elem)
    if not with_grad:
        return loss
    # d(q^gamma)/d(input) = gamma q^gamma (dq/q): the ratio dq_factor / q is finite (q >= p(1-p))
    with np.errstate(divide="ignore", invalid="ignore"):
        dq_over_q = np.where(q > 0, dq_factor / np.where(q > 0, q, 1.0), 0.0)
        focal_term = np.where(bce > 0, gamma * factor * (1.0 - 2.0 * y) * dq_over_q * bce, 0.0)
    grad = factor * dbce
    grad += focal_term
    if apply_class_balancing:
        grad *= weight
    if width(elem) > 1:
        grad /= width(elem)
    return loss, grad


_FOCAL_CONFIGS = ({"gamma": 0.0}, {}, {"gamma": 2.0, "from_logits": True}, {"gamma": 0.5, "apply_class_balancing": True},
                  {"from_logits": True, "apply_class_balancing": True, "alpha": 0.25},
                  {"from_logits": True, "label_smoothing": 0.1})


def _focal_extremes_table():
    probs = [([0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1e-300, 1.0 - 1e-16])]
    logits = [([0.0, 1.0, 1.0, 0.0, 0.3], [1e4, -1e4, 1e4, -1e4, 1e4])]
    return {tuple(c.items()): (logits if c.get("from_logits") else probs) for c in _FOCAL_CONFIGS}


binary_focal_crossentropy = Loss(
    "binary_focal_crossentropy",
    _binary_focal_crossentropy,
    family="probabilistic",
    chapter="probabilistic/binary-crossentropy",
    references=("lin2017focal",),
    summary="BCE down-weighted by (1 - p_t)^gamma on well-classified samples (Lin et al. 2017)",
    y_true="probability",
    y_pred=lambda hp: "real" if hp["from_logits"] else "probability",
    hyper={
        "gamma": Hyper(2.0, ">=0", "focusing parameter; 0 gives BCE"),
        "alpha": Hyper(0.25, "[0,1]", "weight of class 1 (class 0 gets 1 - alpha); used only with apply_class_balancing"),
        "apply_class_balancing": Hyper(False, "bool", "multiply by alpha_t (Lin et al. do; Keras's default does not)"),
        "from_logits": Hyper(False, "bool", "y_pred holds logits rather than probabilities"),
        "label_smoothing": Hyper(0.0, "[0,1]", "squeeze targets towards 0.5 (Keras)"),
    },
    configs=_FOCAL_CONFIGS,
    extremes=_configs_extremes(_focal_extremes_table()),
)


# ============================================================================================
# Categorical cross-entropy (dense / soft targets)
# ============================================================================================
def _class_weight_array(class_weight, y_pred):
    """class_weight as a (C,) array, checked against the number of classes of y_pred."""
    w = np.asarray(class_weight, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != y_pred.shape[-1]:
        raise ValueError(f"class_weight must hold one weight per class ({y_pred.shape[-1]}, the width of y_pred); "
                         f"got {class_weight!r}")
    return w


def _categorical_crossentropy(y_true, y_pred, *, with_grad, from_logits, label_smoothing, epsilon,
                              class_weight=None):
    r"""Categorical cross-entropy: the negative log-likelihood of a categorical distribution.

    .. math::  \ell_i = -\sum_{c=1}^{C} y_{ic}\log p_{ic}, \qquad
               p_i = \mathrm{softmax}(z_i) \text{ when } \texttt{from\_logits}

    Gradient: :math:`\partial\ell/\partial p_c = -y_c/p_c` on probabilities and
    :math:`\partial\ell/\partial z = \mathrm{softmax}(z)\sum_c y_c - y` (softmax minus one-hot) on
    logits.  ``label_smoothing`` replaces y by :math:`y(1-s) + s/C` (Keras and torch agree).
    ``epsilon`` clips p to ``[epsilon, 1 - epsilon]`` as Keras does; Keras also divides p by its row
    sum first, which changes nothing on the simplex (lossbook requires rows that sum to 1) but adds
    the same constant to every component of the probability gradient (softmax ignores it).

    Stability: on logits, log-softmax is :math:`z - m - \mathrm{log1p}(r)`, m the row max and
    :math:`r = \sum_{c \ne \arg\max} e^{z_c - m}`: finite for logits of +-1e4, and the loss of a
    confident right answer keeps its digits (3.7e-44 at logits [100, 0, -100], where
    :math:`\log(1 + r)` gives 0).  The softmax reuses the same exponentials.  On probabilities :math:`0\log 0 = 0`; p_c = 0 where y_c > 0 gives ``inf``.

    ``class_weight`` w (one weight per class) is torch's ``CrossEntropyLoss(weight=w)`` per sample:
    :math:`\ell_i = -\sum_c w_c y_{ic}\log p_{ic}` (the targets are multiplied by w after any
    smoothing, and the gradients above hold with y replaced by w y).  The mean is the contract's,
    the sum over N; with one-hot targets that is Keras's ``fit(class_weight=...)`` (each sample
    weighted by its class's weight, the sum divided by N).  torch's ``reduction="mean"`` divides
    instead by the sum of the weights of the samples' classes, :math:`\sum_i w_{y_i}`, for integer
    labels, and by N for probability targets; torch's number for integer labels is
    ``lb.sparse_categorical_crossentropy(y, z, class_weight=w, reduction="sum") / w[y].sum()``.
    Chapter: ``book/probabilistic/categorical-crossentropy``.
    """
    _check_epsilon(epsilon, from_logits)
    _require_rows(y_pred)
    y = _smooth_categorical(y_true, label_smoothing)
    if class_weight is not None:
        y = y * _class_weight_array(class_weight, y_pred)
    if from_logits:
        shifted, log_norm, grad = _softmax_parts(y_pred)  # one exp serves the loss and the gradient
        # -sum y (shifted - log_norm) = log_norm sum(y) + sum y (-shifted): two sums of terms >= 0
        y_total = _row_sums(y)
        loss = log_norm[:, 0] * y_total - np.einsum("ij,ij->i", y, shifted)
        if not with_grad:
            return loss
        grad *= y_total[:, None]  # softmax * sum(y) - y
        grad -= y
    else:
        p, inside = _clip(y_pred, epsilon)
        loss = 0.0 - _row_sums(_xlogy(y, p))
        if not with_grad:
            return loss
        grad = _ratio(y, p)
        np.negative(grad, out=grad)
        if inside is not None:
            grad[~inside] = 0.0
    return loss, grad


_ONE_HOT3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
_BIG_LOGITS = [[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]]
_CCE_CONFIGS = ({}, {"from_logits": True}, {"label_smoothing": 0.1}, {"from_logits": True, "label_smoothing": 0.1},
                {"epsilon": KERAS_EPSILON}, {"from_logits": True, "class_weight": (1.0, 2.0, 0.5)},
                {"class_weight": (0.0, 3.0, 1.0), "label_smoothing": 0.1})
_CLASS_WEIGHT = Hyper(None, "weights_or_none", "one weight per class, multiplying the targets (torch's "
                      "CrossEntropyLoss weight; the mean still divides by N)")
_CCE_EXTREMES = {
    (): [(_ONE_HOT3, _ONE_HOT3), ([[0.5, 0.5, 0.0]], [[1e-300, 1.0, 0.0]])],
    (("from_logits", True),): [(_ONE_HOT3, _BIG_LOGITS)],
    (("label_smoothing", 0.1),): [(_ONE_HOT3, [[1.0, 1e-300, 1e-300]] * 3)],
    (("from_logits", True), ("label_smoothing", 0.1)): [(_ONE_HOT3, _BIG_LOGITS)],
    (("epsilon", KERAS_EPSILON),): [(_ONE_HOT3, [[0.0, 1.0, 0.0]] * 3)],
    (("from_logits", True), ("class_weight", (1.0, 2.0, 0.5))): [(_ONE_HOT3, _BIG_LOGITS)],
    (("class_weight", (0.0, 3.0, 1.0)), ("label_smoothing", 0.1)): [(_ONE_HOT3, [[1.0, 1e-300, 1e-300]] * 3)],
}

categorical_crossentropy = Loss(
    "categorical_crossentropy",
    _categorical_crossentropy,
    family="probabilistic",
    chapter="probabilistic/categorical-crossentropy",
    summary="categorical negative log-likelihood, one-hot or soft targets, probabilities or logits",
    y_true="simplex",
    y_pred=lambda hp: "real" if hp["from_logits"] else "simplex",
    hyper={
        "from_logits": Hyper(False, "bool", "y_pred holds logits (softmax is applied inside)"),
        "label_smoothing": Hyper(0.0, "[0,1]", "mix targets with the uniform distribution: y(1 - s) + s/C"),
        "epsilon": Hyper(0.0, "[0,1)", "clip probabilities to [epsilon, 1 - epsilon]; 1e-7 reproduces Keras"),
        "class_weight": _CLASS_WEIGHT,
    },
    configs=_CCE_CONFIGS,
    ndims=(2,),
    extremes=_configs_extremes(_CCE_EXTREMES),
)


# ============================================================================================
# Sparse categorical cross-entropy (integer labels)
# ============================================================================================
def _sparse_categorical_crossentropy(y_true, y_pred, *, with_grad, from_logits, epsilon, ignore_index,
                                     label_smoothing, class_weight):
    r"""Categorical cross-entropy with the target given as a class id instead of a one-hot row.

    .. math::  \ell_i = -\log p_{i, y_i}, \qquad
               \frac{\partial \ell_i}{\partial z_{ic}} = \mathrm{softmax}(z_i)_c - [c = y_i]

    The same numbers as :func:`categorical_crossentropy` on ``one_hot(y)``, without building the
    one-hot matrix.  On probabilities the gradient is :math:`-1/p_{i,y_i}` at the true class, 0
    elsewhere.  Stability: log-softmax with the max shift (logits of +-1e4 are fine); p = 0 at the
    true class gives ``inf``; ``epsilon`` clips as Keras does.

    ``label_smoothing`` s (torch's ``CrossEntropyLoss(label_smoothing=s)``; Keras has none for
    integer labels) is cross-entropy against :math:`(1-s)\,\mathrm{one\_hot}(y) + s/C`:
    :math:`\ell_i = (1-s)(-\log p_{i,y_i}) + \frac{s}{C}\sum_c(-\log p_{ic})`.

    ``ignore_index`` k (torch's ``ignore_index``, Keras's ``ignore_class``): rows whose label is k
    have loss 0 and gradient 0, and k may lie outside [0, C) (torch's default is -100).  What the
    mean divides by differs: lossbook keeps its contract, ``reduction="mean"`` is the sum over N,
    *every* row counted; torch's ``"mean"`` divides by the number of rows not ignored, and is ``nan``
    when every row is ignored; Keras's mean with ``ignore_class`` also divides by the rows kept
    (1.9257 where lossbook gives 0.9629 on 4 rows, 2 ignored) but returns 0 when none is kept.
    Per sample all three agree.  To get torch's and Keras's number:
    ``lb.sparse_categorical_crossentropy(y, z, ignore_index=k, reduction="sum") / (y != k).sum()``
    (or, the other way, ``torch.nn.CrossEntropyLoss(ignore_index=k, reduction="sum")(z, y) / N``).

    ``class_weight`` w: :math:`\ell_i = w_{y_i}(-\log p_{i,y_i})` (with smoothing,
    :math:`-\sum_c w_c \tilde y_{ic}\log p_{ic}`), torch's ``CrossEntropyLoss(weight=w)`` per sample;
    the mean divides by N, where torch's divides by :math:`\sum_i w_{y_i}` (see
    :func:`categorical_crossentropy`).
    Chapter: ``book/probabilistic/categorical-crossentropy``.
    """
    _check_epsilon(epsilon, from_logits)
    labels = y_true.astype(np.int64)
    ignored = None
    if ignore_index is not None:
        ignored = labels == ignore_index
        if ignored.any():
            labels = np.where(ignored, 0, labels)  # any valid class: the row is zeroed below
        else:
            ignored = None
    w = None if class_weight is None else _class_weight_array(class_weight, y_pred)
    if label_smoothing:
        target = np.full(y_pred.shape, label_smoothing / y_pred.shape[1])
        target[np.arange(len(labels)), labels] += 1.0 - label_smoothing
        out = _categorical_crossentropy(target, y_pred, with_grad=with_grad, from_logits=from_logits,
                                        label_smoothing=0.0, epsilon=epsilon, class_weight=w)
    else:
        out = _sparse_core(labels, y_pred, with_grad, from_logits, epsilon)
        if w is not None:  # each row scaled by its class's weight, value and gradient
            row_w = w[labels]
            if with_grad:
                out[0][...] *= row_w
                out[1][...] *= row_w[:, None]
            else:
                out *= row_w
    if ignored is None:
        return out
    if not with_grad:
        out[ignored] = 0.0
        return out
    loss, grad = out
    loss[ignored] = 0.0
    grad[ignored] = 0.0
    return loss, grad


def _sparse_core(labels, y_pred, with_grad, from_logits, epsilon):
    """-log p_y and its gradient, at the true class only."""
    true = _flat_index(y_pred, labels)  # where each row's true class sits
    if from_logits:
        shifted, log_norm, grad = _softmax_parts(y_pred)  # grad starts as the softmax, from the same exp
        loss = log_norm[:, 0] - np.take(shifted, true)  # -log p_y, only at the true class: two terms >= 0
        if not with_grad:
            return loss
        put(grad, true, np.take(grad, true) - 1.0)  # softmax - one_hot(y)
        return loss, grad
    p, inside = _clip(y_pred, epsilon)
    p_true = np.take(p, true)
    with np.errstate(divide="ignore", over="ignore"):  # 1 / 5e-324 = inf (an ignored row is zeroed after)
        loss = 0.0 - np.log(p_true)
        if not with_grad:
            return loss
        grad = np.zeros(p.shape)  # calloc: the OS hands over zeroed pages; zeros_like writes them
        put(grad, true, -1.0 / p_true)
    if inside is not None:
        grad[~inside] = 0.0
    return loss, grad


_LABELS3 = [0.0, 1.0, 2.0]
_SCCE_CONFIGS = ({}, {"from_logits": True}, {"epsilon": KERAS_EPSILON}, {"from_logits": True, "ignore_index": 1},
                 {"ignore_index": -100}, {"from_logits": True, "label_smoothing": 0.1},
                 {"label_smoothing": 0.2, "ignore_index": 0}, {"from_logits": True, "class_weight": (1.0, 2.0, 0.5)},
                 {"class_weight": (0.0, 3.0, 1.0), "label_smoothing": 0.1, "ignore_index": 2})
sparse_categorical_crossentropy = Loss(
    "sparse_categorical_crossentropy",
    _sparse_categorical_crossentropy,
    family="probabilistic",
    chapter="probabilistic/categorical-crossentropy",
    summary="categorical cross-entropy with integer class ids as targets",
    y_pred=lambda hp: "real" if hp["from_logits"] else "simplex",
    shape="labels",
    hyper={
        "from_logits": Hyper(False, "bool", "y_pred holds logits (softmax is applied inside)"),
        "epsilon": Hyper(0.0, "[0,1)", "clip probabilities to [epsilon, 1 - epsilon]; 1e-7 reproduces Keras"),
        "ignore_index": Hyper(None, "int_or_none", "rows with this label get loss 0 and gradient 0 and still count "
                              "in the mean's N (torch's ignore_index and Keras's ignore_class, whose means skip them)"),
        "label_smoothing": Hyper(0.0, "[0,1]", "cross-entropy against (1 - s) one_hot(y) + s/C (torch's; Keras "
                                 "has none for integer labels)"),
        "class_weight": _CLASS_WEIGHT,
    },
    configs=_SCCE_CONFIGS,
    extremes=_configs_extremes({
        (): [(_LABELS3, _ONE_HOT3), ([2.0], [[0.0, 1e-300, 1.0]])],
        (("from_logits", True),): [(_LABELS3, _BIG_LOGITS)],
        (("epsilon", KERAS_EPSILON),): [(_LABELS3, [[0.0, 1.0, 0.0]] * 3)],
        (("from_logits", True), ("ignore_index", 1)): [(_LABELS3, _BIG_LOGITS)],
        (("ignore_index", -100),): [([0.0, -100.0, 2.0], [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1e-300, 1.0]])],
        (("from_logits", True), ("label_smoothing", 0.1)): [(_LABELS3, _BIG_LOGITS)],
        (("label_smoothing", 0.2), ("ignore_index", 0)): [([0.0, 1.0], [[0.0, 0.5, 0.5], [1e-300, 1.0 - 1e-16, 1e-16]])],
        (("from_logits", True), ("class_weight", (1.0, 2.0, 0.5))): [(_LABELS3, _BIG_LOGITS)],
        (("class_weight", (0.0, 3.0, 1.0)), ("label_smoothing", 0.1), ("ignore_index", 2)):
            [([0.0, 1.0, 2.0], [[0.0, 0.5, 0.5], [1e-300, 1.0 - 1e-16, 1e-16], [1.0, 0.0, 0.0]])],
    }),
)


# ============================================================================================
# Negative log-likelihood on log-probabilities (torch's NLLLoss)
# ============================================================================================
def _negative_log_likelihood(y_true, y_pred, *, with_grad):
    r"""Negative log-likelihood of integer labels under log-probabilities (``LogSoftmax`` output).

    .. math::  \ell_i = -\log p_{i, y_i} = -y^{\text{pred}}_{i, y_i}, \qquad
               \frac{\partial \ell_i}{\partial y^{\text{pred}}_{ic}} = -[c = y_i]

    A pick, not a formula: the log was taken by the model's last layer, so nothing here can
    overflow (a probability of 0 would have to arrive as ``-inf``, which the input check rejects).
    ``NLL(log_softmax(z)) == sparse_categorical_crossentropy(z, from_logits=True)``.  ``y_pred`` must
    hold log-probabilities (entries <= 0, rows whose exp sums to 1): probabilities, or raw logits,
    are rejected rather than silently giving a wrong loss.
    Chapter: ``book/probabilistic/categorical-crossentropy``.
    """
    true = _flat_index(y_pred, y_true.astype(np.int64))  # where each row's true class sits
    loss = 0.0 - np.take(y_pred, true)
    if not with_grad:
        return loss
    grad = np.zeros(y_pred.shape)  # calloc: the OS hands over zeroed pages; zeros_like writes them
    put(grad, true, -1.0)
    return loss, grad


negative_log_likelihood = Loss(
    "negative_log_likelihood",
    _negative_log_likelihood,
    family="probabilistic",
    chapter="probabilistic/categorical-crossentropy",
    summary="minus the log-probability of the true class (torch's NLLLoss, after LogSoftmax)",
    y_pred="log_simplex",
    shape="labels",
    extremes=_configs_extremes({(): [(_LABELS3, [[0.0, -1e4, -1e4], [-1e4, 0.0, -1e4], [-1e4, -1e4, 0.0]]),
                                     ([1.0], [[0.0, -1e4, -1e4]])]}),
)


# ============================================================================================
# Kullback-Leibler divergence
# ============================================================================================
def _kl_divergence(y_true, y_pred, *, with_grad, epsilon):
    r"""Kullback-Leibler divergence KL(y || p) between target and predicted distributions.

    .. math::  \ell_i = \sum_c y_{ic}\log\frac{y_{ic}}{p_{ic}}
               = \underbrace{-\sum_c y_{ic}\log p_{ic}}_{\text{cross-entropy}}
                 - \underbrace{\Big(-\sum_c y_{ic}\log y_{ic}\Big)}_{\text{entropy of } y},
               \qquad \frac{\partial\ell_i}{\partial p_{ic}} = -\frac{y_{ic}}{p_{ic}}

    The entropy term does not depend on p: KL and cross-entropy have the same gradient, and for
    one-hot targets the same value.  Both arguments are probabilities (Keras's convention; torch's
    ``KLDivLoss`` wants log-probabilities as input).  Stability: each term is
    :math:`y\,\mathrm{log1p}((y - p)/p)` where y and p are close (y log y - y log p would subtract
    two nearly equal numbers), :math:`y\log(y/p)` elsewhere (one log; the ratio is also the
    gradient), :math:`y(\log y - \log p)` where the ratio overflows or underflows; :math:`0\log 0 = 0`;
    p_c = 0 where y_c > 0 gives ``inf``.  ``epsilon`` clips *both* y and p to
    ``[epsilon, 1]`` as Keras does.  Chapter: ``book/probabilistic/categorical-crossentropy``.
    """
    _check_epsilon(epsilon)
    _require_rows(y_pred, "probabilities")
    if epsilon:
        y_true = np.clip(y_true, epsilon, 1.0)
    p, inside = _clip(y_pred, epsilon, upper=1.0)
    terms, grad = _kl_terms(y_true, p)  # grad starts as y / p
    loss = _row_sums(terms)
    if not with_grad:
        return loss
    np.negative(grad, out=grad)  # -y / p
    if inside is not None:
        grad[~inside] = 0.0
    return loss, grad


kl_divergence = Loss(
    "kl_divergence",
    _kl_divergence,
    family="probabilistic",
    chapter="probabilistic/categorical-crossentropy",
    summary="KL(y || p): cross-entropy minus the entropy of the targets",
    y_true="simplex",
    y_pred="simplex",
    hyper={"epsilon": Hyper(0.0, "[0,1)", "clip y and p to [epsilon, 1]; 1e-7 reproduces Keras")},
    configs=({}, {"epsilon": KERAS_EPSILON}),
    ndims=(2,),
    extremes=_configs_extremes({
        (): [(_ONE_HOT3, _ONE_HOT3), ([[0.5, 0.5, 0.0]], [[1e-300, 1.0 - 1e-16, 0.0]])],
        (("epsilon", KERAS_EPSILON),): [([[0.5, 0.5, 0.0]], [[1.0, 0.0, 0.0]])],
    }),
)


# ============================================================================================
# Poisson
# ============================================================================================
def _poisson(y_true, y_pred, *, with_grad, log_input, epsilon):
    r"""Poisson negative log-likelihood of counts y under a rate, without the constant log(y!).

    .. math::  \ell_i = \frac{1}{D}\sum_d \big(\lambda_{id} - y_{id}\log\lambda_{id}\big),
               \qquad \frac{\partial\ell_i}{\partial\lambda_{id}} = \frac{1}{D}\Big(1 - \frac{y_{id}}{\lambda_{id}}\Big)

    With ``log_input=True`` y_pred is the log-rate :math:`\eta = \log\lambda` (torch's default):
    :math:`\ell = e^{\eta} - y\eta`, gradient :math:`e^{\eta} - y`.  ``epsilon`` reproduces Keras
    (and torch's ``eps``): :math:`\lambda - y\log(\lambda + \epsilon)`.  The loss can be negative:
    the dropped :math:`\log y!` is what would make it a proper negative log-likelihood.

    Stability: :math:`0\log 0 = 0`, so a rate of 0 is exact where the count is 0; a rate of 0 with
    a positive count is ``inf``.  With ``epsilon``, :math:`\log(\lambda + \epsilon)` is
    :math:`\log\max + \mathrm{log1p}(\min/\max)` and the gradient :math:`(\lambda - y + \epsilon)/(\lambda + \epsilon)`:
    neither rounds away the digits of the small term.  On log-rates :math:`e^{\eta}` overflows beyond eta ~ 709: that
    loss really is beyond float64.  Chapter: ``book/probabilistic/poisson``.
    """
    if log_input:
        if epsilon:
            raise ValueError("epsilon shifts the rate inside the log; with log_input=True there is no log "
                             "to protect: leave epsilon=0")
        rate = np.exp(y_pred)
        elem = rate - y_true * y_pred
        grad = rate - y_true
    else:
        if epsilon:  # log(rate + eps) = log(hi) + log1p(lo / hi): the rounded rate + eps would lose eps's digits
            hi, lo = np.maximum(y_pred, epsilon), np.minimum(y_pred, epsilon)
            elem = y_pred - y_true * (np.log(hi) + np.log1p(lo / hi))
        else:
            elem = y_pred - _xlogy(y_true, y_pred)
        if not with_grad:
            return mean_last(elem)
        with np.errstate(divide="ignore", invalid="ignore"):
            # 1 - y / (rate + eps) as (rate - y + eps) / (rate + eps): rate - y is exact when they are
            # close, and a count of 0 gives (rate + eps) / (rate + eps) = 1 exactly
            grad = y_pred - y_true
            if epsilon:
                grad += epsilon
                grad /= y_pred + epsilon
            else:
                grad /= y_pred
        if not epsilon and y_pred.min() == 0:  # rate 0 with count 0: 0/0 above, whose limit is 1
            grad[(y_pred == 0) & (y_true == 0)] = 1.0
    loss = mean_last(elem)
    if not with_grad:
        return loss
    if width(elem) > 1:
        grad /= width(elem)
    return loss, grad


_POISSON_CONFIGS = ({}, {"log_input": True}, {"epsilon": KERAS_EPSILON})
poisson = Loss(
    "poisson",
    _poisson,
    family="probabilistic",
    chapter="probabilistic/poisson",
    summary="Poisson negative log-likelihood of counts (up to log y!), on rates or log-rates",
    y_true="nonneg",
    y_pred=lambda hp: "real" if hp["log_input"] else "nonneg",
    hyper={
        "log_input": Hyper(False, "bool", "y_pred is the log-rate (torch's default) instead of the rate (Keras's)"),
        "epsilon": Hyper(0.0, "[0,1)", "added to the rate inside the log; 1e-7 reproduces Keras"),
    },
    configs=_POISSON_CONFIGS,
    extremes=_configs_extremes({
        (): [([0.0, 3.0, 0.0, 1e4], [0.0, 1e-300, 1e4, 1e4])],
        (("log_input", True),): [([0.0, 3.0, 2.0], [-1e4, -1e4, 700.0])],
        (("epsilon", KERAS_EPSILON),): [([0.0, 3.0, 5.0], [0.0, 0.0, 1e4])],
    }),
)
