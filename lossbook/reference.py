"""High-precision references: each loss and its gradient evaluated in ``mpmath`` at 50 digits.

Used by the accuracy tests (``tests/test_accuracy.py``) and the accuracy appendix
(``book/appendix/accuracy``) to measure how far lossbook's float64 results are from the exact value
of the loss *at the float64 inputs it was given* (every float64 number is an exact rational, so the
exact answer is well defined).  A reference takes one sample (plain Python floats, or lists of them
for a row; a class id for ``shape="labels"`` losses) and the resolved hyperparameters, and returns
an :class:`Exact`: the loss, its gradient with respect to the row of ``y_pred``, and, where the
formula adds terms of opposite sign, the *scale* of those terms (see :func:`ulp_error`).

Each reference is written straight from the formula in lossbook's docstring, in the most obvious
way (no stability tricks: at 50 digits they are not needed).  Where a loss has a kink, the
reference's gradient is the subgradient lossbook documents, and the docstring here says which.
``mpmath`` is a test-time dependency; importing this module needs it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import mpmath as mp
import numpy as np

mp.mp.dps = 50


@dataclass
class Exact:
    """The exact loss of one sample and its gradient, with the scale of the terms each sums.

    ``value_scale`` / ``grad_scale`` (one per gradient entry) are the sum of the absolute values of
    the terms the formula adds or subtracts (0: no cancellation).  A float64 evaluation that rounds
    those terms cannot do better than an ulp *of that scale*, so that is the unit the error is
    measured in (``1 - p`` is exact in float64 for p >= 1/2, but ``sigmoid(x) - y`` near ``y``
    is a difference of two rounded O(1) numbers whatever the implementation).
    """

    value: mp.mpf
    grad: list
    value_scale: mp.mpf = mp.mpf(0)
    grad_scale: list = field(default_factory=list)


@dataclass(frozen=True)
class Reference:
    fn: Callable[..., Exact]
    max_ulp: float  # the largest error allowed, value and gradient, in ulp (of the scale)
    why: str  # why the bound is what it is (required beyond 4 ulp)


#: canonical loss name -> its :class:`Reference`
REFERENCES: dict[str, Reference] = {}


def reference(name: str, *, max_ulp: float, why: str = "") -> Callable:
    def register(fn):
        REFERENCES[name] = Reference(fn, max_ulp, why)
        return fn

    return register


# --------------------------------------------------------------------------------------------
# exact helpers
# --------------------------------------------------------------------------------------------
def _row(x):
    return [mp.mpf(float(v)) for v in np.atleast_1d(x)]


def _f(x):
    return mp.mpf(float(x))


def xlogy(x, y):
    """x log y with 0 log 0 = 0 (and x log 0 = -inf for x > 0)."""
    if x == 0:
        return mp.mpf(0)
    return x * mp.log(y) if y > 0 else -mp.inf


def xlog1my(x, p):
    """x log(1 - p) with 0 log 0 = 0; log1p, because at 50 digits 1 - 1e-300 is 1."""
    if x == 0:
        return mp.mpf(0)
    return x * mp.log1p(-p) if p < 1 else -mp.inf


def ratio(num, den):
    """num / den with 0 / anything = 0 and x / 0 = inf (the term is absent, or infinite)."""
    if num == 0:
        return mp.mpf(0)
    return num / den if den != 0 else mp.inf * mp.sign(num)


def sigmoid(x):
    return 1 / (1 + mp.exp(-x))


def softplus(x):
    """log(1 + e^x); log1p, because at 50 digits 1 + e^-1e4 is 1."""
    return mp.log1p(mp.exp(x))


def log_softmax(z):
    """log p_c = -log sum_j e^(z_j - z_c) = -log1p(sum_{j != c} e^(z_j - z_c)).

    The log1p form only because 50 digits cannot hold 1 + e^-200 (a loss of 1e-87 is a float64)."""
    return [-mp.log1p(mp.fsum(mp.exp(zj - zc) for j, zj in enumerate(z) if j != c)) for c, zc in enumerate(z)]


def sign(x):
    return mp.mpf(int(mp.sign(x)))


def clip(x, lo, hi):
    return min(max(x, lo), hi)


def _abs_all(*xs):
    return mp.fsum(abs(x) for x in xs)


# ============================================================================================
# regression: pointwise, the per-sample loss is the mean over the D values of a row
# ============================================================================================
def _pointwise(t, p, elem):
    """Mean over the row of ``elem(t, p) -> (value, grad, value_scale, grad_scale)``."""
    t, p = _row(t), _row(p)
    d = len(p)
    parts = [elem(ti, pi) for ti, pi in zip(t, p)]
    return Exact(mp.fsum(v for v, *_ in parts) / d, [g / d for _, g, *_ in parts],
                 mp.fsum(vs for _, _, vs, _ in parts) / d, [gs / d for *_, gs in parts])


@reference("mean_squared_error", max_ulp=4, why="one subtraction, one square, a mean over D")
def _mse(y_true, y_pred):
    return _pointwise(y_true, y_pred, lambda t, p: ((p - t) ** 2, 2 * (p - t), 0, 0))


@reference("mean_absolute_error", max_ulp=2, why="one subtraction; subgradient sign(0) = 0 at zero error, as documented")
def _mae(y_true, y_pred):
    return _pointwise(y_true, y_pred, lambda t, p: (abs(p - t), sign(p - t), 0, 0))


@reference("mean_squared_logarithmic_error", max_ulp=4,
           why="log1p(p) - log1p(t) taken as log1p((p - t) / (1 + t)) where that ratio is within 0.5 of 0 "
               "(no cancellation of two rounded logs), then a square and a division by 1 + p; clip=True "
               "floors both at 1e-7 and gives gradient 0 at and below the floor")
def _msle(y_true, y_pred, *, clip):
    eps = _f(1e-7)

    def elem(t, p):
        tt, pp = (max(t, eps), max(p, eps)) if clip else (t, p)
        diff = mp.log1p(pp) - mp.log1p(tt)
        g = 2 * diff / (1 + pp)
        if clip and p <= eps:
            g = mp.mpf(0)
        return diff ** 2, g, 0, 0

    return _pointwise(y_true, y_pred, elem)


def _huber_elem(t, p, delta, beta=1):
    e = p - t
    v = e ** 2 / 2 if abs(e) <= delta else delta * (abs(e) - delta / 2)
    return v / beta, clip(e, -delta, delta) / beta, 0, 0


@reference("huber", max_ulp=4, why="a subtraction, then a square or a product")
def _huber(y_true, y_pred, *, delta):
    return _pointwise(y_true, y_pred, lambda t, p: _huber_elem(t, p, _f(delta)))


@reference("smooth_l1", max_ulp=4, why="huber(delta=beta) / beta: one more division")
def _smooth_l1(y_true, y_pred, *, beta):
    b = _f(beta)
    return _pointwise(y_true, y_pred, lambda t, p: _huber_elem(t, p, b, b))


@reference("log_cosh", max_ulp=4, why="log1p of (cosh e - 1), formed from one expm1 in three roundings; tanh from the same expm1 (3 ulp measured)")
def _log_cosh(y_true, y_pred):
    return _pointwise(y_true, y_pred, lambda t, p: (mp.log(mp.cosh(p - t)), mp.tanh(p - t), 0, 0))


@reference("mean_absolute_percentage_error", max_ulp=4,
           why="subtraction, division, times 100; subgradient 0 at zero error, as documented")
def _mape(y_true, y_pred, *, epsilon):
    eps = _f(epsilon)

    def elem(t, p):
        den = max(abs(t), eps)
        return 100 * abs(p - t) / den, 100 * sign(p - t) / den, 0, 0

    return _pointwise(y_true, y_pred, elem)


@reference("quantile", max_ulp=4, why="one subtraction and one product; subgradient 1/2 - q at zero error, as documented")
def _quantile(y_true, y_pred, *, q):
    qq = _f(q)

    def elem(t, p):
        u = t - p
        g = -qq if u > 0 else (1 - qq if u < 0 else mp.mpf(0.5) - qq)
        return max(qq * u, (qq - 1) * u), g, 0, 0

    return _pointwise(y_true, y_pred, elem)


# ============================================================================================
# probabilistic
# ============================================================================================
def _smooth2(t, s):
    return t * (1 - s) + s / 2


@reference("binary_crossentropy", max_ulp=4,
           why="a log or softplus per term, the two terms of the same sign; the gradient (sigmoid(x) - y or "
               "-y/p + (1-y)/(1-p)) is measured in ulps of its terms' size, since it is a difference of "
               "rounded O(1) numbers near the optimum")
def _bce(y_true, y_pred, *, from_logits, label_smoothing, epsilon, pos_weight=None):
    s = _f(label_smoothing)
    w = mp.mpf(1) if pos_weight is None else _f(pos_weight)  # the registry's configurations: one number

    def elem(t, p):
        y = _smooth2(t, s)
        if from_logits:
            x = p
            v = w * y * softplus(-x) + (1 - y) * softplus(x)
            # sigmoid(x) - y = (1 - y) sigmoid(x) - y sigmoid(-x): 50 digits cannot hold 1 - sigmoid(100)
            a, b = (1 - y) * sigmoid(x), w * y * sigmoid(-x)
            return v, a - b, 0, a + b
        lo, hi = _f(epsilon), _f(1.0 - epsilon)  # the clip range, as float64 numbers (as lossbook and Keras)
        pc = clip(p, lo, hi) if epsilon else p
        v = -(w * xlogy(y, pc) + xlog1my(1 - y, pc))
        a, b = w * ratio(y, pc), ratio(1 - y, 1 - pc)
        g = (b - a) if (not epsilon or lo <= p <= hi) else mp.mpf(0)
        return v, g, 0, a + b

    return _pointwise(y_true, y_pred, elem)


@reference("binary_focal_crossentropy", max_ulp=10,
           why="each term is a product of five or six rounded factors (alpha_t, q**gamma, the two BCE terms, "
               "sigmoid(x) sigmoid(-x) / q), each good to 1-2 ulp: 5 ulp measured on the value; with soft "
               "targets the gradient's two terms have opposite signs and are measured in ulps of their size: "
               "8 ulp measured")
def _focal(y_true, y_pred, *, gamma, alpha, apply_class_balancing, from_logits, label_smoothing):
    s, gm, al = _f(label_smoothing), _f(gamma), _f(alpha)

    def elem(t, p):
        y = _smooth2(t, s)
        if from_logits:
            prob, one_minus = sigmoid(p), sigmoid(-p)  # 1 - sigmoid(100) would need 60 digits
            bce = y * softplus(-p) + (1 - y) * softplus(p)
            dbce, dbce_scale = (1 - y) * prob - y * one_minus, (1 - y) * prob + y * one_minus  # prob - y
            dprob = prob * one_minus
        else:
            prob = p
            bce = -(xlogy(y, prob) + xlog1my(1 - y, prob))
            a, b = ratio(y, prob), ratio(1 - y, 1 - prob)
            dbce, dbce_scale = b - a, a + b
            dprob, one_minus = mp.mpf(1), 1 - prob
        q = y * one_minus + (1 - y) * prob
        w = (y * al + (1 - y) * (1 - al)) if apply_class_balancing else mp.mpf(1)
        factor = q ** gm if q != 0 else (mp.mpf(1) if gm == 0 else mp.mpf(0))
        # d(q^gamma)/dq * dq/d(input) * B; absent where B = 0 (then q = 0 too) or gamma = 0
        focal = gm * q ** (gm - 1) * (1 - 2 * y) * dprob * bce if (bce != 0 and gm != 0) else mp.mpf(0)
        return (w * factor * bce, w * (factor * dbce + focal), 0,
                w * (factor * dbce_scale + abs(focal)))

    return _pointwise(y_true, y_pred, elem)


def _softmax_ce(y, z, from_logits, eps):
    """-sum y log p (p = softmax(z) on logits), its gradient and the gradient's scale, for one row."""
    if from_logits:
        lp = log_softmax(z)
        total = mp.fsum(y)
        v = -mp.fsum(yc * lc for yc, lc in zip(y, lp))
        sm = [mp.exp(lc) for lc in lp]
        # scale: the two terms, and exp's amplification of the rounding of its argument log p_c
        # (a float64 softmax of e^-100 carries a relative error of ~100 ulp whatever the implementation)
        return (v, [pc * total - yc for pc, yc in zip(sm, y)],
                [pc * total * (1 + abs(lc)) + yc for pc, lc, yc in zip(sm, lp, y)])
    lo, hi = _f(eps), _f(1.0 - eps)
    pc = [clip(p, lo, hi) for p in z] if eps else z
    v = -mp.fsum(xlogy(yc, c) for yc, c in zip(y, pc))
    g = [-ratio(yc, c) if (not eps or lo <= p <= hi) else mp.mpf(0) for yc, c, p in zip(y, pc, z)]
    return v, g, [abs(x) for x in g]


@reference("categorical_crossentropy", max_ulp=4,
           why="log-softmax then a sum of same-sign terms; the gradient softmax * sum(y) - y is measured in "
               "ulps of its terms' size (a difference of rounded O(1) numbers at the true class)")
def _cce(y_true, y_pred, *, from_logits, label_smoothing, epsilon, class_weight=None):
    y, z = _row(y_true), _row(y_pred)
    s = _f(label_smoothing)
    w = [mp.mpf(1)] * len(y) if class_weight is None else _row(class_weight)
    y = [(yc * (1 - s) + s / len(y)) * wc for yc, wc in zip(y, w)]
    v, g, gs = _softmax_ce(y, z, from_logits, epsilon)
    return Exact(v, g, mp.mpf(0), gs)


@reference("sparse_categorical_crossentropy", max_ulp=4,
           why="as categorical_crossentropy on the (smoothed) one-hot row; an ignored row is exactly 0")
def _scce(y_true, y_pred, *, from_logits, epsilon, ignore_index, label_smoothing, class_weight):
    z = _row(y_pred)
    if ignore_index is not None and int(y_true) == ignore_index:
        return Exact(mp.mpf(0), [mp.mpf(0)] * len(z))
    s = _f(label_smoothing)
    w = [mp.mpf(1)] * len(z) if class_weight is None else _row(class_weight)
    y = [(mp.mpf(int(c == int(y_true))) * (1 - s) + s / len(z)) * w[c] for c in range(len(z))]
    v, g, gs = _softmax_ce(y, z, from_logits, epsilon)
    return Exact(v, g, mp.mpf(0), gs)


@reference("negative_log_likelihood", max_ulp=0, why="a pick and a sign change: exact")
def _nll(y_true, y_pred):
    z = _row(y_pred)
    k = int(y_true)
    return Exact(-z[k], [mp.mpf(-1) if c == k else mp.mpf(0) for c in range(len(z))])


@reference("kl_divergence", max_ulp=4,
           why="sum over the row of y log(y / p), measured in ulps of the sum of |y log(y / p)| (terms of "
               "opposite sign cancel whatever the implementation); gradient -y/p, one division")
def _kl(y_true, y_pred, *, epsilon):
    y, p = _row(y_true), _row(y_pred)
    eps = _f(epsilon)
    if epsilon:
        y = [clip(v, eps, mp.mpf(1)) for v in y]
    pc = [clip(v, eps, mp.mpf(1)) for v in p] if epsilon else p
    terms = [xlogy(a, a) - xlogy(a, b) if a != 0 else mp.mpf(0) for a, b in zip(y, pc)]  # y log(y / p)
    g = [-ratio(a, b) if (not epsilon or eps <= q <= 1) else mp.mpf(0) for a, b, q in zip(y, pc, p)]
    return Exact(mp.fsum(terms), g, mp.fsum(abs(t) for t in terms), [])


@reference("poisson", max_ulp=4,
           why="rate - y log(rate) (or e^eta - y eta) is measured in ulps of its two terms' size, the gradient "
               "1 - y/rate (e^eta - y) likewise: both are differences that vanish at the optimum")
def _poisson(y_true, y_pred, *, log_input, epsilon):
    eps = _f(epsilon)

    def elem(t, p):
        if log_input:
            r = mp.exp(p)
            return r - t * p, r - t, r + abs(t * p), r + t
        a = xlogy(t, p + eps)
        b = ratio(t, p + eps)
        return p - a, 1 - b, abs(p) + abs(a), 0

    return _pointwise(y_true, y_pred, elem)


# ============================================================================================
# margin
# ============================================================================================
def _signed_label(t, labels):
    return 2 * t - 1 if labels == "01" else t


@reference("hinge", max_ulp=2,
           why="1 - y s, exact near the hinge (Sterbenz); subgradient 0 at y s = 1 exactly, as documented")
def _hinge(y_true, y_pred, *, labels):
    def elem(t, s):
        y = _signed_label(t, labels)
        slack = 1 - y * s
        return max(slack, 0), (-y if slack > 0 else mp.mpf(0)), 1 + abs(s), 0

    return _pointwise(y_true, y_pred, elem)


@reference("squared_hinge", max_ulp=4, why="1 - y s then a square; gradient 0 at the hinge (it is continuous there)")
def _squared_hinge(y_true, y_pred, *, labels):
    def elem(t, s):
        y = _signed_label(t, labels)
        slack = max(1 - y * s, 0)
        return slack ** 2, -2 * y * slack, 2 * slack * (1 + abs(s)), 2 * (1 + abs(s))

    return _pointwise(y_true, y_pred, elem)


def _first_argmax(values, skip=None):
    """Index of the first largest value (ties go to the lowest index, as numpy's argmax)."""
    best = None
    for c, v in enumerate(values):
        if c != skip and (best is None or v > values[best]):
            best = c
    return best


@reference("categorical_hinge", max_ulp=2,
           why="1 + neg - pos, measured in ulps of 1 + |neg| + |pos| (lossbook rounds 1 + neg first); at the "
               "hinge (slack exactly 0) the subgradient 0; ties in the max go to the first class, as argmax")
def _categorical_hinge(y_true, y_pred):
    y, s = _row(y_true), _row(y_pred)
    pos = mp.fsum(a * b for a, b in zip(y, s))
    masked = [(1 - a) * b for a, b in zip(y, s)]
    w = _first_argmax(masked)
    neg = masked[w]
    slack = 1 + neg - pos
    g = [mp.mpf(0)] * len(s)
    if slack > 0:
        g = [-a for a in y]
        if y[w] == 0:
            g[w] += 1
    return Exact(max(slack, 0), g, 1 + abs(neg) + abs(pos), [])


@reference("multiclass_hinge", max_ulp=4,
           why="1 - s_y + max s_c, measured in ulps of 1 + |s_y| + |max s_c|, then a square when squared; "
               "subgradient 0 at the hinge, ties in the max go to the first wrong class, as argmax")
def _multiclass_hinge(y_true, y_pred, *, mode, squared):
    s = _row(y_pred)
    k = int(y_true)
    qq = 2 if squared else 1
    g = [mp.mpf(0)] * len(s)
    if mode == "crammer_singer":
        w = _first_argmax(s, skip=k)
        h = max(1 - s[k] + s[w], 0)
        slope = qq * h ** (qq - 1) if h > 0 else mp.mpf(0)
        g[k] -= slope
        g[w] += slope
        scale = 1 + abs(s[k]) + abs(s[w])
        return Exact(h ** qq, g, qq * h ** (qq - 1) * scale, [qq * scale ** (qq - 1)] * len(s))
    t = [mp.mpf(1) if c == k else mp.mpf(-1) for c in range(len(s))]
    h = [max(1 - tc * sc, 0) for tc, sc in zip(t, s)]
    g = [-tc * (qq * hc ** (qq - 1) if hc > 0 else 0) for tc, hc in zip(t, h)]
    scales = [1 + abs(sc) for sc in s]
    return Exact(mp.fsum(hc ** qq for hc in h), g, mp.fsum(qq * hc ** (qq - 1) * sc for hc, sc in zip(h, scales)),
                 [qq * sc ** (qq - 1) for sc in scales])


def _pair_hinges(s, k, margin):
    """max(0, margin - s_k + s_c) for each c != k (0 at c = k), and the scale of each."""
    h = [max(margin - s[k] + sc, 0) if c != k else mp.mpf(0) for c, sc in enumerate(s)]
    scales = [abs(margin) + abs(s[k]) + abs(sc) for sc in s]
    return h, scales


@reference("multi_margin", max_ulp=4,
           why="margin - s_y + s_c per class, measured in ulps of |margin| + |s_y| + |s_c|, a power and a sum "
               "divided by C; subgradient 0 at the hinge")
def _multi_margin(y_true, y_pred, *, p, margin):
    s = _row(y_pred)
    k, c = int(y_true), len(s)
    h, scales = _pair_hinges(s, k, _f(margin))
    g = [(p * hc ** (p - 1) if hc > 0 else mp.mpf(0)) / c for hc in h]
    g[k] = -mp.fsum(g)
    vs = mp.fsum(p * hc ** (p - 1) * sc for j, (hc, sc) in enumerate(zip(h, scales)) if j != k) / c
    return Exact(mp.fsum(hc ** p for hc in h) / c, g, vs, [p * mp.fsum(scales) / c] * c)


@reference("hinge_embedding", max_ulp=2,
           why="x, or margin - x: one subtraction; subgradient 0 at x = margin exactly, as documented")
def _hinge_embedding(y_true, y_pred, *, margin):
    m = _f(margin)

    def elem(t, x):
        if t == 1:
            return x, mp.mpf(1), 0, 0
        return (max(m - x, 0), (mp.mpf(-1) if x < m else mp.mpf(0)), m + abs(x), 0)

    return _pointwise(y_true, y_pred, elem)


@reference("margin_ranking", max_ulp=4,
           why="margin - s_y + s_c per other item, measured in ulps of |margin| + |s_y| + |s_c|, averaged; "
               "subgradient 0 at the hinge")
def _margin_ranking(y_true, y_pred, *, margin):
    s = _row(y_pred)
    k, c = int(y_true), len(s)
    h, scales = _pair_hinges(s, k, _f(margin))
    g = [(mp.mpf(1) if hc > 0 else mp.mpf(0)) / (c - 1) for hc in h]
    g[k] = -mp.fsum(g)
    vs = mp.fsum(sc for j, sc in enumerate(scales) if j != k) / (c - 1)
    return Exact(mp.fsum(h) / (c - 1), g, vs, [])


# ============================================================================================
# classification in practice (lossbook/classification.py)
# ============================================================================================
@reference("soft_margin", max_ulp=4,
           why="softplus(-y x) from one exp and a log1p, and sigmoid(-y x): y x is exact for y = +-1")
def _soft_margin(y_true, y_pred):
    def elem(t, x):
        m = t * x
        return softplus(-m), -t * sigmoid(-m), 0, 0

    return _pointwise(y_true, y_pred, elem)


@reference("multilabel_soft_margin", max_ulp=4, why="binary_crossentropy(from_logits=True): the same code")
def _multilabel_soft_margin(y_true, y_pred):
    return _bce(y_true, y_pred, from_logits=True, label_smoothing=0.0, epsilon=0.0)


@reference("multilabel_margin", max_ulp=4,
           why="1 - (x_j - x_k) per (target, non-target) pair, measured in ulps of 1 + |x_j| + |x_k|, summed and "
               "divided by C; the gradient is a count over C; subgradient 0 at the hinge")
def _multilabel_margin(y_true, y_pred):
    y, x = _row(y_true), _row(y_pred)
    c = len(x)
    g = [mp.mpf(0)] * c
    value, scale = mp.mpf(0), mp.mpf(0)
    for j in range(c):
        for k in range(c):
            if y[j] == 1 and y[k] == 0:
                slack = 1 - (x[j] - x[k])
                scale += 1 + abs(x[j]) + abs(x[k])
                if slack > 0:
                    value += slack
                    g[j] -= 1
                    g[k] += 1
    return Exact(value / c, [v / c for v in g], scale / c, [])


def _softmax_rows(z):
    """log p, p and 1 - p (as the sum of the other classes' p, so that it keeps its digits) for one row."""
    lp = log_softmax(z)
    p = [mp.exp(v) for v in lp]
    q = [mp.fsum(p[j] for j in range(len(p)) if j != c) for c in range(len(p))]
    return lp, p, q


@reference("categorical_focal_crossentropy", max_ulp=4,
           why="each term is a product of y, (1 - p)^gamma and log p (1 - p from an expm1 or a subtraction, "
               "then a power): 3-4 roundings (3.3 ulp measured); the logit gradient p (S - u) - u (1 - p) adds two products of "
               "about six rounded factors each (S, u, p r), measured in ulps of the two terms' size times "
               "exp's amplification (1 + |log p|), as categorical_crossentropy's")
def _categorical_focal(y_true, y_pred, *, alpha, gamma, from_logits, label_smoothing, epsilon):
    y, z = _row(y_true), _row(y_pred)
    s, gm = _f(label_smoothing), _f(gamma)
    c = len(z)
    al = [_f(a) for a in alpha] if isinstance(alpha, tuple) else [_f(alpha)] * c  # one weight per class
    y = [v * (1 - s) + s / len(y) for v in y]
    if from_logits:
        lp, p, q = _softmax_rows(z)
        inside = [True] * c
    else:
        lo, hi = _f(epsilon), _f(1.0 - epsilon)
        p = [clip(v, lo, hi) for v in z] if epsilon else z
        inside = [(lo <= v <= hi) if epsilon else True for v in z]
        lp = [mp.log(v) if v > 0 else -mp.inf for v in p]
        q = [1 - v for v in p]
    fac = [qc ** gm if qc != 0 else (mp.mpf(1) if gm == 0 else mp.mpf(0)) for qc in q]
    value = -mp.fsum(ac * yc * fc * lc if ac * yc != 0 else mp.mpf(0) for ac, yc, fc, lc in zip(al, y, fac, lp))
    r = [lc / qc if qc != 0 else mp.mpf(-1) for lc, qc in zip(lp, q)]
    if from_logits:
        u = [ac * yc * fc * (1 - gm * pc * rc) for ac, yc, fc, pc, rc in zip(al, y, fac, p, r)]
        total = mp.fsum(u)
        g = [pc * (total - uc) - uc * qc for pc, uc, qc in zip(p, u, q)]
        gs = [(pc * total + uc) * (1 + abs(lc)) for pc, uc, lc in zip(p, u, lp)]
        return Exact(value, g, mp.mpf(0), gs)
    g = []
    for ac, yc, fc, pc, rc, ok in zip(al, y, fac, p, r, inside):
        if ac * yc == 0 or not ok:
            g.append(mp.mpf(0))
        else:
            g.append(-ac * yc * fc * ((1 / pc if pc != 0 else mp.inf) - (gm * rc if gm != 0 else 0)))
    return Exact(value, g, mp.mpf(0), [])


@reference("poly1_crossentropy", max_ulp=4,
           why="cross-entropy's log-softmax sum plus epsilon sum y (1 - p) (1 - p from an expm1 for the largest "
               "class); with epsilon < 0 the two have opposite signs and the value is measured in ulps of their "
               "size; the gradient, in ulps of its terms' size times exp's amplification, as categorical_crossentropy's")
def _poly1(y_true, y_pred, *, poly_epsilon):
    y, z = _row(y_true), _row(y_pred)
    eps = _f(poly_epsilon)
    lp, p, q = _softmax_rows(z)
    total = mp.fsum(y)
    ce = -mp.fsum(yc * lc for yc, lc in zip(y, lp))
    miss = mp.fsum(yc * qc for yc, qc in zip(y, q))
    hit = mp.fsum(yc * pc for yc, pc in zip(y, p))
    g = [pc * total - yc + eps * pc * (hit - yc) for pc, yc in zip(p, y)]
    gs = [(pc * total * (1 + abs(lc)) + yc) + abs(eps) * pc * (1 + abs(lc)) * (hit + yc)
          for pc, yc, lc in zip(p, y, lp)]
    return Exact(ce + eps * miss, g, abs(ce) + abs(eps * miss) if eps < 0 else mp.mpf(0), gs)


@reference("generalized_crossentropy", max_ulp=4,
           why="-expm1(q log p) / q: a log (or log-softmax), a product, an expm1, a division; the gradient -y p^q / p, "
               "a power and a division; on logits p (S - u) - u (1 - p) in ulps of its terms' size, each "
               "widened by exp's amplification of its argument's rounding")
def _generalized_ce(y_true, y_pred, *, q, from_logits):
    y, z = _row(y_true), _row(y_pred)
    qq = _f(q)
    if from_logits:
        lp, p, one_minus = _softmax_rows(z)
    else:
        p = z
        lp = [mp.log(v) if v > 0 else -mp.inf for v in p]
    # -expm1: at 50 digits 1 - p^q loses the digits of a p^q within 1e-47 of 1 (q = 1e-3, p = 1 - 1e-44)
    value = mp.fsum(yc * (-mp.expm1(qq * lc) if lc != -mp.inf else 1) / qq for yc, lc in zip(y, lp))
    if from_logits:
        u = [yc * mp.exp(qq * lc) for yc, lc in zip(y, lp)]
        total = mp.fsum(u)
        g = [pc * (total - uc) - uc * oc for pc, uc, oc in zip(p, u, one_minus)]
        # exp amplifies the rounding of its argument: p_k by |log p_k|, each u_c by q |log p_c|
        spread = mp.fsum(uc * (1 + qq * abs(lc)) for uc, lc in zip(u, lp))
        gs = [pc * (1 + abs(lc)) * total + pc * spread + uc * (1 + qq * abs(lc)) * (1 + pc)
              for pc, uc, lc in zip(p, u, lp)]
        return Exact(value, g, mp.mpf(0), gs)
    g = [-yc * (pc ** (qq - 1) if pc != 0 else (mp.mpf(1) if qq == 1 else mp.inf)) if yc != 0 else mp.mpf(0)
         for yc, pc in zip(y, p)]
    return Exact(value, g, mp.mpf(0), [])


@reference("distillation_kl", max_ulp=4,
           why="T^2 sum q_t (log q_t - log q_s) of two log-softmaxes, measured in ulps of T^2 sum q_t (|log q_t| + "
               "|log q_s|) (terms of both signs cancel for close distributions, whatever the implementation); the "
               "gradient T (q_s - q_t) in ulps of T (q_s + q_t) times exp's amplification")
def _distillation_kl(y_true, y_pred, *, temperature):
    t = _f(temperature)
    a, b = [v / t for v in _row(y_true)], [v / t for v in _row(y_pred)]
    lt, ls = log_softmax(a), log_softmax(b)
    pt, ps = [mp.exp(v) for v in lt], [mp.exp(v) for v in ls]
    value = t ** 2 * mp.fsum(p * (x - y) for p, x, y in zip(pt, lt, ls))
    scale = t ** 2 * mp.fsum(p * (abs(x) + abs(y)) for p, x, y in zip(pt, lt, ls))
    g = [t * (u - v) for u, v in zip(ps, pt)]
    gs = [t * (u * (1 + abs(x)) + v * (1 + abs(y))) for u, v, x, y in zip(ps, pt, ls, lt)]
    return Exact(value, g, scale, gs)


# ============================================================================================
# batch losses: the reference takes the whole batch and returns one value and a gradient per entry
# ============================================================================================
@reference("soft_fbeta", max_ulp=6,
           why="1 - F is measured in ulps of 1 + F (a near-perfect batch's loss of ~1e-8 is 1 minus a rounded "
               "F, whatever the implementation); each gradient entry, a product of about eight rounded "
               "quantities (4.2 ulp measured), in ulps of the size of its two terms. The gradient here is "
               "mpmath's numerical derivative of the formula at 50 digits, independent of lossbook's derivation")
def _soft_fbeta(y_true, y_pred, *, beta, epsilon):
    y, p = _row(np.ravel(y_true)), _row(np.ravel(y_pred))
    b2, eps = _f(beta) ** 2, _f(epsilon)

    def parts(p):
        tp = mp.fsum(a * b for a, b in zip(y, p))
        s_p, s_y = mp.fsum(p), mp.fsum(y)
        precision, recall = tp / (s_p + eps), tp / (s_y + eps)
        d = b2 * precision + recall + eps
        return precision, recall, d, s_p, s_y

    def loss(p):
        precision, recall, d, *_ = parts(p)
        return 1 - (1 + b2) * precision * recall / d

    grad = [mp.diff(lambda v, i=i: loss(p[:i] + [v] + p[i + 1:]), p[i]) for i in range(len(p))]
    precision, recall, d, s_p, s_y = parts(p)
    f = (1 + b2) * precision * recall / d
    scale = [(1 + b2) / d ** 2 * (recall * (recall + eps) * (yi + precision) / (s_p + eps)
                                  + precision * (b2 * precision + eps) * yi / (s_y + eps)) for yi in y]
    return Exact(1 - f, grad, 1 + f, scale)


@reference("pairwise_ranking_hinge", max_ulp=4,
           why="each pair's s_i - s_j + m is measured in ulps of |s_i| + |s_j| + m; each gradient entry, a "
               "signed sum of label differences, in ulps of the unsigned sum; the side of a pair's kink is "
               "decided by the float64 value of s_i - s_j + m (within an ulp of the kink either side is right), "
               "and 0 is the subgradient on it, as documented")
def _pairwise_ranking_hinge(y_true, y_pred, *, margin, normalize, epsilon):
    l_f, s_f = np.ravel(y_true), np.ravel(y_pred)
    lab, s = _row(l_f), _row(s_f)
    m, n = _f(margin), len(s)
    total, total_scale, weight_sum = [], [], []
    out_grad, in_grad = [[] for _ in range(n)], [[] for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            w = max(lab[j] - lab[i], 0)
            weight_sum.append(w)
            if w > 0 and (s_f[i] - s_f[j]) + margin > 0:  # active, as float64 decides it
                total.append(w * (s[i] - s[j] + m))
                total_scale.append(w * (abs(s[i]) + abs(s[j]) + m))
                out_grad[i].append(w)
                in_grad[j].append(w)
    z = mp.fsum(weight_sum) + _f(epsilon) if normalize else mp.mpf(max(n * (n - 1), 1))
    grad = [(mp.fsum(out_grad[k]) - mp.fsum(in_grad[k])) / z for k in range(n)]
    scale = [(mp.fsum(out_grad[k]) + mp.fsum(in_grad[k])) / z for k in range(n)]
    return Exact(mp.fsum(total) / z, grad, mp.fsum(total_scale) / z, scale)


# contrastive batch losses (lossbook/contrastive.py): rows normalised with the norm floored at 1e-12
CONTRASTIVE_EPS = 1e-12


def _unit_rows(x, normalize=True):
    """mp rows of ``x`` divided by max(||x||, 1e-12) (or as they are), and their norms."""
    rows = [_row(r) for r in np.asarray(x, float)]
    norms = [mp.sqrt(_dot(r, r)) for r in rows]
    if not normalize:
        return rows, norms
    eps = _f(CONTRASTIVE_EPS)
    return [[a / max(nrm, eps) for a in r] for r, nrm in zip(rows, norms)], norms


def _unit_backward(g, gs, u, norm):
    """dL/dx from dL/du through u = x / max(||x||, eps), and the scale of its terms."""
    eps = _f(CONTRASTIVE_EPS)
    if norm <= eps:
        return [a / eps for a in g], [a / eps for a in gs]
    gu = _dot(g, u)
    gsu = mp.fsum(a * abs(b) for a, b in zip(gs, u))
    return ([(a - gu * b) / norm for a, b in zip(g, u)], [(a + gsu * abs(b)) / norm for a, b in zip(gs, u)])


def _lse_mp(values):
    return mp.log(mp.fsum(mp.exp(v) for v in values)) if values else -mp.inf


@reference("info_nce", max_ulp=4,
           why="each logit is a dot product of rounded unit rows, so the value is measured in ulps of the size of "
               "the terms it adds (mean over rows of the softmax-weighted |logits| plus |Z_ii|); each softmax "
               "weight carries the rounding of logits of size |Z|, so a gradient entry is measured in ulps of "
               "sum_j |G_ij| (1 + |Z_ij| + |lse_i|) |k_j| / tau, and the same through the normalisation")
def _info_nce(queries, keys, *, temperature, symmetric, normalize):
    qh, qn = _unit_rows(queries, normalize)
    kh, kn = _unit_rows(keys, normalize)
    n, tau = len(qh), _f(temperature)
    z = [[_dot(a, b) / tau for b in kh] for a in qh]
    directions = [z, [list(col) for col in zip(*z)]] if symmetric else [z]
    value, vscale = mp.mpf(0), mp.mpf(0)
    g = [[mp.mpf(0)] * n for _ in range(n)]
    gsc = [[mp.mpf(0)] * n for _ in range(n)]
    w = mp.mpf(1) / len(directions)
    for k, m in enumerate(directions):  # m[i][j]: row i picks j; the transpose for key-to-query
        for i in range(n):
            lse = _lse_mp(m[i])
            value += w * (lse - m[i][i]) / n
            p = [mp.exp(v - lse) for v in m[i]]
            vscale += w * (mp.fsum(pj * abs(v) for pj, v in zip(p, m[i])) + abs(m[i][i])) / n
            for j in range(n):
                a, b = (i, j) if k == 0 else (j, i)
                gij = w * (p[j] - (1 if i == j else 0)) / n
                g[a][b] += gij
                gsc[a][b] += abs(gij) + w * p[j] * (abs(m[i][j]) + abs(lse)) / n
    d = len(qh[0])
    grads, scales = [], []
    for rows_other, mat, mat_s, own, norms in ((kh, g, gsc, qh, qn), (qh, [list(c) for c in zip(*g)],
                                                                   [list(c) for c in zip(*gsc)], kh, kn)):
        for i in range(n):
            gi = [mp.fsum(mat[i][j] * rows_other[j][e] for j in range(n)) / tau for e in range(d)]
            si = [mp.fsum(mat_s[i][j] * abs(rows_other[j][e]) for j in range(n)) / tau for e in range(d)]
            if normalize:
                gi, si = _unit_backward(gi, si, own[i], norms[i])
            grads += gi
            scales += si
    return Exact(value, grads, vscale, scales)


@reference("nt_xent", max_ulp=4,
           why="each pair term softplus(A_i - S_ip) is measured in ulps of its size plus sigma(A_i - S_ip)"
               "(|A_i| + |S_ip|) (the two rounded terms it subtracts); each gradient entry in ulps of "
               "sum_j |G_ij| (1 + |S_ij| + |A_i|) |u_j| / tau (the softmax weights carry the logits' rounding), "
               "through the normalisation")
def _nt_xent(embeddings, labels, *, temperature):
    u, norms = _unit_rows(embeddings)
    lab = [float(v) for v in np.ravel(labels)]
    n, d, tau = len(u), len(u[0]), _f(temperature)
    s = [[_dot(a, b) / tau for b in u] for a in u]
    neg = [[lab[i] != lab[j] for j in range(n)] for i in range(n)]
    pos = [[lab[i] == lab[j] and i != j for j in range(n)] for i in range(n)]
    a = [_lse_mp([s[i][j] for j in range(n) if neg[i][j]]) for i in range(n)]
    n_pairs = sum(sum(r) for r in pos)
    terms, tscale = [], []
    g = [[mp.mpf(0)] * n for _ in range(n)]
    for i in range(n):
        sig_sum = mp.mpf(0)
        for p in range(n):
            if not pos[i][p]:
                continue
            if a[i] == -mp.inf:  # no negatives: the term is 0
                continue
            dd = a[i] - s[i][p]
            sig = 1 / (1 + mp.exp(-dd))
            term = mp.log1p(mp.exp(dd))
            terms.append(term)
            tscale.append(term + sig * (abs(a[i]) + abs(s[i][p])))
            g[i][p] -= sig / n_pairs
            sig_sum += sig
        for j in range(n):
            if neg[i][j]:
                g[i][j] += mp.exp(s[i][j] - a[i]) * sig_sum / n_pairs
    big = [[abs(g[i][j]) * (1 + abs(s[i][j]) + (abs(a[i]) if a[i] != -mp.inf else 0)) for j in range(n)]
           for i in range(n)]
    grads, scales = [], []
    for i in range(n):
        gi = [mp.fsum((g[i][j] + g[j][i]) * u[j][e] for j in range(n)) / tau for e in range(d)]
        si = [mp.fsum((big[i][j] + big[j][i]) * abs(u[j][e]) for j in range(n)) / tau for e in range(d)]
        gi, si = _unit_backward(gi, si, u[i], norms[i])
        grads += gi
        scales += si
    return Exact(mp.fsum(terms) / n_pairs, grads, mp.fsum(tscale) / n_pairs, scales)


@reference("supervised_contrastive", max_ulp=4,
           why="each anchor's term A_i - mean_p S_ip is measured in ulps of |A_i| + mean_p |S_ip| (a difference "
               "of two rounded terms); each gradient entry in ulps of sum_j (Q_ij (1 + |S_ij| + |A_i|) + "
               "[j in P(i)] / |P(i)|) |u_j| / (N tau) over both indices (the softmax weights carry the "
               "logits' rounding), through the normalisation")
def _supervised_contrastive(embeddings, labels, *, temperature):
    u, norms = _unit_rows(embeddings)
    lab = [float(v) for v in np.ravel(labels)]
    n, d, tau = len(u), len(u[0]), _f(temperature)
    s = [[_dot(a, b) / tau for b in u] for a in u]
    value, vscale = mp.mpf(0), mp.mpf(0)
    g = [[mp.mpf(0)] * n for _ in range(n)]
    big = [[mp.mpf(0)] * n for _ in range(n)]
    for i in range(n):
        pos = [j for j in range(n) if j != i and lab[j] == lab[i]]
        a = _lse_mp([s[i][j] for j in range(n) if j != i])
        mean_pos = mp.fsum(s[i][j] for j in pos) / len(pos)
        value += (a - mean_pos) / n
        vscale += (abs(a) + mp.fsum(abs(s[i][j]) for j in pos) / len(pos)) / n
        for j in range(n):
            if j == i:
                continue
            q = mp.exp(s[i][j] - a)
            ind = mp.mpf(1) / len(pos) if j in pos else mp.mpf(0)
            g[i][j] = (q - ind) / n
            big[i][j] = (q * (1 + abs(s[i][j]) + abs(a)) + ind) / n
    grads, scales = [], []
    for i in range(n):
        gi = [mp.fsum((g[i][j] + g[j][i]) * u[j][e] for j in range(n)) / tau for e in range(d)]
        si = [mp.fsum((big[i][j] + big[j][i]) * abs(u[j][e]) for j in range(n)) / tau for e in range(d)]
        gi, si = _unit_backward(gi, si, u[i], norms[i])
        grads += gi
        scales += si
    return Exact(value, grads, vscale, scales)


def _margin_phi(c64, kind, margin):
    """phi(c), phi'(c) and the size of the terms phi adds, for a float64 target cosine (branch decided in float64)."""
    c, m = _f(c64), _f(margin)
    if kind == "cosface":
        return c - m, mp.mpf(1), abs(c) + m, mp.mpf(1)
    cm, sm = mp.cos(m), mp.sin(m)
    if not c64 >= -np.cos(margin):
        return c - m * sm, mp.mpf(1), abs(c) + abs(m * sm), mp.mpf(1)
    sin = mp.sqrt((1 - c) * (1 + c))
    # the derivative at c = 1 is infinite: lossbook returns the one at the largest double below 1
    c_d = _f(np.nextafter(1.0, 0.0)) if sin == 0 and c > 0 else c
    sin_d = mp.sqrt((1 - c_d) * (1 + c_d))
    dphi = cm + (c_d * sm / sin_d if sm else 0)
    return c * cm - sin * sm, dphi, abs(c * cm) + abs(sin * sm), abs(cm) + (abs(c_d * sm / sin_d) if sm else 0)


def _angular(kind):
    def ref(y_true, y_pred, *, scale, margin):
        c, y, sc = [float(v) for v in np.ravel(y_pred)], int(y_true), _f(scale)
        phi, dphi, phi_scale, dphi_scale = _margin_phi(c[y], kind, margin)
        z = [sc * _f(v) for v in c]
        z[y] = sc * phi
        lp = log_softmax(z)
        p = [mp.exp(v) for v in lp]
        lse = z[y] - lp[y]
        value = -lp[y]
        # the loss moves by p_j per unit of logit j (1 - p_y for the target): each logit's rounding, in
        # ulps of its size (and of phi's terms, times the scale, for the target)
        vscale = mp.fsum(p[j] * abs(z[j]) for j in range(len(z)) if j != y) + (1 - p[y]) * sc * phi_scale
        grad, gscale = [], []
        for j in range(len(z)):
            # a softmax weight carries the rounding of its logit, of the normaliser, and of the target's
            # logit s phi(c) (which enters the normaliser): in ulps of their sizes
            amp = p[j] * (1 + abs(z[j]) + abs(lse) + sc * phi_scale)
            if j == y:
                grad.append(sc * (p[j] - 1) * dphi)
                gscale.append(sc * (amp + 1) * dphi_scale)
            else:
                grad.append(sc * p[j])
                gscale.append(sc * amp)
        return Exact(value, grad, vscale, gscale)
    return ref


reference("arcface", max_ulp=4,
          why="the loss in ulps of the size of the rounding each logit carries (s c_j, and s phi(c_y) with the "
              "terms c cos m and sin(theta) sin m) weighted by how much the loss moves with it; each gradient "
              "entry in ulps of s (p_j (1 + |z_j| + |lse|) + [j = y]) (and phi' 's terms for the target); "
              "branch decided as float64 decides it; at c = 1 the derivative at the largest double below 1, "
              "as documented")(_angular("arcface"))
reference("cosface", max_ulp=4,
          why="as arcface, with phi(c) = c - m")(_angular("cosface"))


@reference("batch_hard_triplet", max_ulp=4,
           why="the mined pairs and the hinge's side decided as float64 decides them; each anchor's term in ulps "
               "of m + d_ap + d_an (and, soft, softplus plus sigma times that); each gradient entry in ulps of "
               "the sum of the sizes of the contributions it adds; subgradient 0 at a zero distance")
def _batch_hard_triplet(embeddings, labels, *, margin, soft):
    from .embedding import _hardest, _pairwise

    x64 = np.asarray(embeddings, dtype=float)
    lab64 = np.ravel(labels).astype(float)
    _, d64 = _pairwise(x64)
    hp, hn, has_neg = _hardest(d64, lab64)
    x = [_row(r) for r in x64]
    n, d, m = len(x), len(x[0]), _f(margin)
    grads = [[mp.mpf(0)] * d for _ in range(n)]
    scales = [[mp.mpf(0)] * d for _ in range(n)]
    value, vscale = mp.mpf(0), mp.mpf(0)
    for i in range(n):
        if not has_neg[i]:
            continue
        v_ap = [a - b for a, b in zip(x[i], x[hp[i]])]
        v_an = [a - b for a, b in zip(x[i], x[hn[i]])]
        d_ap, d_an = _pnorm(v_ap), _pnorm(v_an)
        pre = m + d_ap - d_an
        size = m + d_ap + d_an
        if soft:
            sig = sigmoid(pre)
            term = softplus(pre)
            value += term / n
            vscale += (term + sig * size) / n
            coef, cscale = sig / n, (sig + sig * (1 - sig) * size) / n
        else:
            if not _float_side(margin + d64[i, hp[i]] - d64[i, hn[i]]):
                continue
            value += pre / n
            vscale += size / n
            coef = cscale = mp.mpf(1) / n
        u_ap = [a / d_ap if d_ap else mp.mpf(0) for a in v_ap]
        u_an = [a / d_an if d_an else mp.mpf(0) for a in v_an]
        for e in range(d):
            grads[i][e] += coef * (u_ap[e] - u_an[e])
            grads[hp[i]][e] -= coef * u_ap[e]
            grads[hn[i]][e] += coef * u_an[e]
            for row, part in ((i, abs(u_ap[e]) + abs(u_an[e])), (hp[i], abs(u_ap[e])), (hn[i], abs(u_an[e]))):
                scales[row][e] += cscale * part
    return Exact(value, [g for row in grads for g in row], vscale, [s for row in scales for s in row])


# ============================================================================================
# embedding losses: rows of vectors; the gradient lists each differentiated input's row in turn
# ============================================================================================
def _dot(u, v):
    return mp.fsum(a * b for a, b in zip(u, v))


def _pnorm(v, p=2):
    return mp.fsum(abs(a) ** p for a in v) ** (mp.mpf(1) / p) if any(v) else mp.mpf(0)


def _float_side(x: float) -> bool:
    """A branch decided as float64 decides it: within an ulp of a kink either side is right."""
    return bool(x > 0)


KERAS_EPS = 1e-7


@reference("cosine_similarity", max_ulp=4,
           why="a dot product of unit rows, measured in ulps of sum |t_d u_d| (its terms take both signs); each "
               "gradient entry in ulps of its terms; below a norm of 1e-7 Keras's floor makes the loss linear")
def _cosine_similarity(y_true, y_pred):
    t, p = _row(y_true), _row(y_pred)
    eps = _f(KERAS_EPS)
    nt, npred = _pnorm(t), _pnorm(p)
    tt = [a / max(nt, eps) for a in t]
    u = [a / max(npred, eps) for a in p]
    value = -_dot(tt, u)
    vscale = mp.fsum(abs(a * b) for a, b in zip(tt, u))
    if npred > eps:
        tu = _dot(tt, u)
        g = [-(a - tu * b) / npred for a, b in zip(tt, u)]
        gs = [(abs(a) + vscale * abs(b)) / npred for a, b in zip(tt, u)]
    else:
        g, gs = [-a / eps for a in tt], []
    return Exact(value, g, vscale, gs)


@reference("cosine_embedding", max_ulp=4,
           why="c = x1.x2 / sqrt(ab) measured in ulps of sum |x1_d x2_d| / sqrt(ab) (its terms take both "
               "signs), then 1 - c or c - m (the size of their terms); the hinge's side is decided as float64 "
               "decides it")
def _cosine_embedding(x1, x2, y, *, margin):
    u, v = _row(x1), _row(x2)
    e = _f(float(np.float32(1e-12)))  # ATen's float EPSILON, as lossbook documents
    a, b = _dot(u, u) + e, _dot(v, v) + e
    root = mp.sqrt(a * b)
    c = _dot(u, v) / root
    c_scale = mp.fsum(abs(p * q) for p, q in zip(u, v)) / root
    dc1 = [q / root - c * p / a for p, q in zip(u, v)]
    dc2 = [p / root - c * q / b for p, q in zip(u, v)]
    ds1 = [abs(q) / root + c_scale * abs(p) / a for p, q in zip(u, v)]
    ds2 = [abs(p) / root + c_scale * abs(q) / b for p, q in zip(u, v)]
    m = _f(margin)
    if float(y) == 1:
        return Exact(1 - c, [-g for g in dc1 + dc2], 1 + c_scale, ds1 + ds2)
    c64 = float(np.dot(np.ravel(x1), np.ravel(x2)) / (np.sqrt(np.dot(np.ravel(x1), np.ravel(x1)) + float(e))
                                                      * np.sqrt(np.dot(np.ravel(x2), np.ravel(x2)) + float(e))))
    if _float_side(c64 - margin):
        return Exact(c - m, dc1 + dc2, c_scale + abs(m), ds1 + ds2)
    return Exact(mp.mpf(0), [mp.mpf(0)] * (2 * len(u)))


@reference("contrastive", max_ulp=4,
           why="half a squared distance, or half the squared shortfall m - d measured in ulps of m + d; "
               "subgradient 0 at d = 0, as documented")
def _contrastive(x1, x2, y, *, margin):
    u, v = _row(x1), _row(x2)
    diff = [a - b for a, b in zip(u, v)]
    d = _pnorm(diff)
    m = _f(margin)
    if float(y) == 1:
        g1 = diff
        return Exact(_dot(diff, diff) / 2, g1 + [-a for a in g1], 0, [])
    h = max(m - d, 0)
    g1 = [-h * a / d if d > 0 else mp.mpf(0) for a in diff]
    gs = [(m + d) * abs(a) / d if d > 0 else mp.mpf(0) for a in diff]
    return Exact(h ** 2 / 2, g1 + [-a for a in g1], h * (m + d), gs + gs)


def _dist(x, z, p, eps, squared):
    """d(x, z) = ||x - z + eps||_p (or its square) and its gradient with respect to x."""
    v = [a - b + eps for a, b in zip(x, z)]
    if squared and p == 2:
        return _dot(v, v), [2 * a for a in v]
    d = _pnorm(v, p)
    g = [sign(a) * (abs(a) / d) ** (p - 1) if (d > 0 and a != 0) else mp.mpf(0) for a in v]
    if squared:
        return d * d, [2 * d * a for a in g]
    return d, g


def _dist64(x, z, p, eps, squared):
    v = np.ravel(x) - np.ravel(z) + eps
    d = float(np.sum(np.abs(v) ** p) ** (1.0 / p))
    return d * d if squared else d


@reference("triplet", max_ulp=4,
           why="m + d(a, p) - d(a, n) measured in ulps of m + d(a, p) + d(a, n), each gradient entry in ulps of "
               "the size of its terms; the hinge's and the swap's sides are decided as float64 decides them; "
               "subgradient 0 where a difference is 0 (p = 1) or a distance is 0")
def _triplet(anchor, positive, negative, *, margin, p, eps, swap, squared):
    a, q, n = _row(anchor), _row(positive), _row(negative)
    pp, e, m = _f(p), _f(eps), _f(margin)
    d_ap, g_ap = _dist(a, q, pp, e, squared)
    d_an, g_an = _dist(a, n, pp, e, squared)
    use_pn = False
    if swap:
        d_pn, g_pn = _dist(q, n, pp, e, squared)
        use_pn = _dist64(positive, negative, p, eps, squared) < _dist64(anchor, negative, p, eps, squared)
    d_neg = d_pn if use_pn else d_an
    zero = [mp.mpf(0)] * len(a)
    pre64 = margin + _dist64(anchor, positive, p, eps, squared) - (
        _dist64(positive, negative, p, eps, squared) if use_pn else _dist64(anchor, negative, p, eps, squared))
    if not _float_side(pre64):
        return Exact(mp.mpf(0), zero * 3)
    g_a = [x - (0 if use_pn else y) for x, y in zip(g_ap, g_an)]
    g_p = [-x - (y if use_pn else 0) for x, y in zip(g_ap, g_pn if use_pn else zero)]
    g_n = [y if use_pn else x for x, y in zip(g_an, g_pn if use_pn else zero)]
    s_a = [abs(x) + abs(y) for x, y in zip(g_ap, g_an)]
    s_p = [abs(x) + abs(y) for x, y in zip(g_ap, g_pn if use_pn else zero)]
    return Exact(m + d_ap - d_neg, g_a + g_p + g_n, m + d_ap + d_neg, s_a + s_p + [abs(x) for x in g_n])


@reference("quadruplet", max_ulp=4,
           why="each hinge m + d(a, p) - d(., .) measured in ulps of the size of its terms, each gradient entry "
               "likewise; the hinges' sides are decided as float64 decides them")
def _quadruplet(anchor, positive, negative1, negative2, *, margin1, margin2):
    a, q, n1, n2 = (_row(x) for x in (anchor, positive, negative1, negative2))
    v_ap = [x - y for x, y in zip(a, q)]
    v_an = [x - y for x, y in zip(a, n1)]
    v_nn = [x - y for x, y in zip(n1, n2)]
    d_ap, d_an, d_nn = _dot(v_ap, v_ap), _dot(v_an, v_an), _dot(v_nn, v_nn)
    sq = lambda x, z: float(np.sum((np.ravel(x) - np.ravel(z)) ** 2))  # noqa: E731
    t1 = int(_float_side(margin1 + sq(anchor, positive) - sq(anchor, negative1)))
    t2 = int(_float_side(margin2 + sq(anchor, positive) - sq(negative1, negative2)))
    m1, m2 = _f(margin1), _f(margin2)
    value = t1 * (m1 + d_ap - d_an) + t2 * (m2 + d_ap - d_nn)
    vscale = t1 * (m1 + d_ap + d_an) + t2 * (m2 + d_ap + d_nn)
    g_a = [2 * t1 * (x - y) + 2 * t2 * x for x, y in zip(v_ap, v_an)]
    g_p = [-2 * (t1 + t2) * x for x in v_ap]
    g_n1 = [2 * t1 * y - 2 * t2 * w for y, w in zip(v_an, v_nn)]
    g_n2 = [2 * t2 * w for w in v_nn]
    s_a = [2 * t1 * (abs(x) + abs(y)) + 2 * t2 * abs(x) for x, y in zip(v_ap, v_an)]
    s_n1 = [2 * t1 * abs(y) + 2 * t2 * abs(w) for y, w in zip(v_an, v_nn)]
    return Exact(value, g_a + g_p + g_n1 + g_n2, vscale, s_a + [abs(x) for x in g_p] + s_n1 + [abs(x) for x in g_n2])


def _embedding_rows(name, hp):
    """Near-parallel, near-zero and zero vectors, huge and tiny scales, pairs at the hinge: (N, 3) rows."""
    base = np.array([1.0, 2.0, 3.0])
    rows = [base, base * (1 + 1e-12), base + [1e-8, 0, 0], -base, [1e-8, 0, 0], [1e-300, 0, 0], [0.0, 0, 0],
            [1e150, -1e150, 1.0], [0.5, -0.5, 1e-8], [1e-4, 1e-4, 0.0], [0.3, 0.0, 0.0]]
    rows = [np.asarray(x, float) for x in rows]
    pairs = [(x, z) for x in rows for z in rows]
    if name == "cosine_similarity":
        return np.array([x for x, _ in pairs]), np.array([z for _, z in pairs])
    if name in ("cosine_embedding", "contrastive"):
        labels = (1.0, -1.0) if name == "cosine_embedding" else (1.0, 0.0)
        trip = [(x, z, y) for x, z in pairs for y in labels]
        return tuple(np.array(c) for c in zip(*trip))
    # triplets and quadruplets from the same rows (every third combination keeps the grid small)
    combos = [(x, z, w) for i, (x, z) in enumerate(pairs) for w in rows[i % 3::3]]
    if name == "triplet":
        return tuple(np.array(c) for c in zip(*combos))
    quads = [(x, z, w, rows[(i * 7) % len(rows)]) for i, (x, z, w) in enumerate(combos)]
    return tuple(np.array(c) for c in zip(*quads))


# ============================================================================================
# distributions (lossbook/distributions.py)
# ============================================================================================
@reference("gaussian_nll", max_ulp=4,
           why="(log v + e^2 / v) / 2 measured in ulps of |log v| / 2 + e^2 / (2v), the variance's gradient "
               "(1/v - e^2/v^2) / 2 in ulps of (1/v + e^2/v^2) / 2; the clamp passes the gradient through, as "
               "torch's (documented)")
def _gaussian_nll(y_true, mean, var, *, full, eps, beta):
    ys, ms, vs = _row(y_true), _row(mean), _row(var)
    d = len(ms)
    const = mp.log(2 * mp.pi) / 2 if full else mp.mpf(0)
    value = scale = mp.mpf(0)
    g_mean, g_var, s_var = [], [], []
    for y, m, s2 in zip(ys, ms, vs):
        v = max(s2, _f(eps))
        w = v ** _f(beta)
        e = m - y
        value += w * ((mp.log(v) + e * e / v) / 2 + const) / d
        scale += w * ((abs(mp.log(v)) + e * e / v) / 2 + const) / d
        g_mean.append(w * e / v / d)
        g_var.append(w * (1 / v - e * e / v ** 2) / 2 / d)
        s_var.append(w * (1 / v + e * e / v ** 2) / 2 / d)
    return Exact(value, g_mean + g_var, scale, [mp.mpf(0)] * d + s_var)


@reference("gaussian_kl", max_ulp=4,
           why="(mu^2 + e^s - 1 - s) / 2, every term >= 0: plain ulps of the value (no cancellation is excused)")
def _gaussian_kl(mu, log_var):
    ms, ss = _row(mu), _row(log_var)
    value = sum((m * m + mp.expm1(s) - s) / 2 for m, s in zip(ms, ss))
    return Exact(value, list(ms) + [mp.expm1(s) / 2 for s in ss])


def _distribution_rows(name, hp):
    """Extreme combinations, one per row: (y_true, mean, var) or (mu, log_var), each (N,)."""
    if name == "gaussian_kl":
        values = (0.0, 1e-300, 1e-8, -1e-8, 0.5, -3.0, 1e4, -1e4)
        log_vars = (0.0, 1e-300, 1e-8, -1e-8, 1e-3, -0.4999, 0.5, 0.5001, -2.0, 50.0, 700.0, -700.0)
        pairs = [(m, s) for m in values for s in log_vars]
        return tuple(np.array(c) for c in zip(*pairs))
    eps = hp["eps"]
    errors = (0.0, 1e-300, 1e-8, 0.5, -3.0, 1e4, -1e8)
    variances = (0.0, 1e-300, eps, np.nextafter(eps, 1), 1e-8, 0.25, 1.0, 9.0, 1e4, 1e8)
    rows = [(1.0, 1.0 + e, v) for e in errors for v in variances] + [(1e4, -1e4, 1e-6), (-3.0, -3.0, 1e300)]
    return tuple(np.array(c) for c in zip(*rows))


def _gan_terms(d, target):
    """softplus(-d) (target real) or softplus(d) (target fake), and their derivatives, exactly."""
    if target == 1:
        return mp.log1p(mp.exp(-d)), -1 / (1 + mp.exp(d))
    return mp.log1p(mp.exp(d)), 1 / (1 + mp.exp(-d))


@reference("gan_discriminator", max_ulp=4,
           why="softplus terms of one sign each: plain ulps of the value; the hinge's sides are decided as float64 "
               "decides them; the Wasserstein difference f - r in ulps of |f| + |r|")
def _gan_discriminator(real_logits, fake_logits, *, form):
    rs, fs = _row(real_logits), _row(fake_logits)
    d = len(rs)
    value = scale = mp.mpf(0)
    g_r, g_f = [], []
    for r, f in zip(rs, fs):
        if form in ("minimax", "non_saturating"):
            (lr, gr), (lf, gf) = _gan_terms(r, 1), _gan_terms(f, 0)
        elif form == "hinge":
            lr, gr = (1 - r, mp.mpf(-1)) if float(r) < 1 else (mp.mpf(0), mp.mpf(0))
            lf, gf = (1 + f, mp.mpf(1)) if float(f) > -1 else (mp.mpf(0), mp.mpf(0))
            scale += ((1 + abs(r)) * (float(r) < 1) + (1 + abs(f)) * (float(f) > -1)) / d
        else:
            lr, gr, lf, gf = -r, mp.mpf(-1), f, mp.mpf(1)
            scale += (abs(r) + abs(f)) / d
        value += (lr + lf) / d
        g_r.append(gr / d)
        g_f.append(gf / d)
    return Exact(value, g_r + g_f, scale)


@reference("gan_generator", max_ulp=4, why="one softplus (or -d) per entry: plain ulps")
def _gan_generator(fake_logits, *, form):
    fs = _row(fake_logits)
    d = len(fs)
    value, grads = mp.mpf(0), []
    for f in fs:
        if form == "non_saturating":
            lf, gf = _gan_terms(f, 1)
        elif form == "minimax":
            lf, gf = _gan_terms(f, 0)
            lf, gf = -lf, -gf
        else:
            lf, gf = -f, mp.mpf(-1)
        value += lf / d
        grads.append(gf / d)
    return Exact(value, grads)


def _gan_rows(name):
    logits = (0.0, 1e-300, 1e-8, -1e-8, 0.5, -0.5, 1.0, -1.0, np.nextafter(1.0, 2), 3.0, -3.0, 30.0, -30.0,
              700.0, -700.0, 1e4, -1e4)
    if name == "gan_generator":
        return (np.array(logits),)
    pairs = [(r, f) for r in logits for f in logits[::2]]
    return tuple(np.array(c) for c in zip(*pairs))


# ============================================================================================
# listwise ranking: one list (a row of relevance, a row of scores) per sample
# ============================================================================================
def _amp(p, log_p):
    """p (1 + |log p|): a probability computed as exp of a rounded argument carries a relative error
    of about |log p| ulp (categorical_crossentropy's gradient scale)."""
    return p * (1 + abs(log_p))


@reference("ranknet", max_ulp=4,
           why="softplus and sigmoid of each score difference, summed (terms of one sign for the value); the "
               "difference s_j - s_i is rounded once, which softplus amplifies by sigma |x| and the sigmoid by "
               "sigma(-x) |x|: both are in the scale")
def _ranknet(y_true, y_pred, *, normalize):
    y, s = _row(y_true), _row(y_pred)
    n = len(s)
    pairs = [(i, j) for i in range(n) for j in range(n) if y[i] > y[j]]
    z = mp.mpf(max(len(pairs), 1)) if normalize else mp.mpf(1)
    value = vscale = mp.mpf(0)
    g, gs = [mp.mpf(0)] * n, [mp.mpf(0)] * n
    for i, j in pairs:
        x = s[j] - s[i]  # the term is softplus(-(s_i - s_j))
        sig = sigmoid(x)
        value += softplus(x)
        vscale += softplus(x) + sig * abs(x)
        g[i] -= sig
        g[j] += sig
        for k in (i, j):
            gs[k] += sig * (1 + sigmoid(-x) * abs(x))
    return Exact(value / z, [v / z for v in g], vscale / z, [v / z for v in gs])


def _cross_entropy_exact(w, s):
    """-sum w log softmax(s), its gradient softmax * sum(w) - w, and their scales (exp's amplification of
    each log-probability's rounding, as categorical_crossentropy's)."""
    lq = log_softmax(s)
    q = [mp.exp(v) for v in lq]
    total = mp.fsum(w)
    value = -mp.fsum(wi * li for wi, li in zip(w, lq))
    spread = mp.fsum(_amp(qi, li) for qi, li in zip(q, lq))  # log_norm's error, once per unit of weight
    vscale = mp.fsum(wi * abs(li) for wi, li in zip(w, lq)) + total * spread
    g = [qi * total - wi for qi, wi in zip(q, w)]
    gs = [_amp(qi, li) * total + wi for qi, li, wi in zip(q, lq, w)]
    return value, g, vscale, gs


@reference("listnet", max_ulp=4,
           why="cross-entropy against softmax(y): both softmaxes from exps of rounded differences, so the value is "
               "measured in ulps of its terms widened by (1 + |log p|) (the target's rounding) plus the spread "
               "sum q (1 + |log q|), the gradient q - p in ulps of q (1 + |log q|) + p (1 + |log p|)")
def _listnet(y_true, y_pred):
    y, s = _row(y_true), _row(y_pred)
    lp = log_softmax(y)
    p = [mp.exp(v) for v in lp]
    value, g, vscale, _ = _cross_entropy_exact(p, s)
    lq = log_softmax(s)
    q = [mp.exp(v) for v in lq]
    vscale += mp.fsum(pi * abs(li) * (1 + abs(lpi)) for pi, li, lpi in zip(p, lq, lp))
    gs = [_amp(qi, li) + _amp(pi, lpi) for qi, li, pi, lpi in zip(q, lq, p, lp)]
    return Exact(value, g, vscale, gs)


@reference("softmax_ranking", max_ulp=4,
           why="categorical cross-entropy on logits with the relevance (or relevance / its sum) as the targets; "
               "the value in ulps of its terms plus the log-normaliser's spread sum q (1 + |log q|), the gradient "
               "softmax * sum(w) - w in ulps of its terms times exp's amplification")
def _softmax_ranking(y_true, y_pred, *, normalize):
    y, s = _row(y_true), _row(y_pred)
    total = mp.fsum(y)
    w = [v / total for v in y] if (normalize and total > 0) else y
    value, g, vscale, gs = _cross_entropy_exact(w, s)
    return Exact(value, g, vscale, gs)


@reference("listmle", max_ulp=4,
           why="a sum of softplus terms log1p(sum_{j>k} e^(s_j - s_k)) (one sign); each exp of a rounded score "
               "difference is amplified by that difference, so the value and the gradient (sums of products of "
               "Plackett-Luce probabilities, minus 1 - p_mm) are measured in ulps of their terms widened by "
               "(1 + |log|) of each probability")
def _listmle(y_true, y_pred):
    y, s0 = _row(y_true), _row(y_pred)
    n = len(s0)
    order = sorted(range(n), key=lambda i: -y[i])  # Python's sort is stable: ties in index order
    s = [s0[i] for i in order]
    value = vscale = mp.mpf(0)
    g, gs = [mp.mpf(0)] * n, [mp.mpf(0)] * n
    for k in range(n - 1):
        u = mp.fsum(mp.exp(s[j] - s[k]) for j in range(k + 1, n))  # e^(c_{k+1} - s_k)
        term = mp.log1p(u)
        value += term
        not_first = u / (1 + u)  # sigma(a_k): stage k does not pick item k
        vscale += term + not_first * (1 + abs(mp.log(u)))
    for m in range(n):
        earlier = [1 / mp.fsum(mp.exp(s[j] - s[m]) for j in range(k, n)) for k in range(m)]  # p_{k,m}, k < m
        u = mp.fsum(mp.exp(s[j] - s[m]) for j in range(m + 1, n))
        rest = u / (1 + u)  # 1 - p_{m,m}
        g[order[m]] = mp.fsum(earlier) - rest
        gs[order[m]] = mp.fsum(_amp(p, mp.log(p)) for p in earlier) + (_amp(rest, mp.log(rest)) if rest else 0)
    return Exact(value, g, vscale, gs)


@reference("lambdarank", max_ulp=6,
           why="RankNet's terms, each times |Delta NDCG|: a weight built from about eight roundings (grades over "
               "their max, their difference, IDCG, the discount gap's log1p and two logs, the products), each "
               "within an ulp, so a few ulp of every term (3.8 measured where sigma = 1 leaves the weights alone); "
               "otherwise measured as ranknet, in ulps of the terms widened by softplus's and the sigmoid's "
               "amplification of the rounded score difference")
def _lambdarank(y_true, y_pred, *, normalize):
    """The weights from the places of the float64 scores (a stable sort of -s: ties in index order),
    D(r) = 1 / log2(1 + r) and IDCG at 50 digits; then ranknet's sums with each pair weighted."""
    y, s = _row(y_true), _row(y_pred)
    n = len(s)
    order = sorted(range(n), key=lambda i: -s[i])  # Python's sort is stable
    place = {item: k + 1 for k, item in enumerate(order)}  # 1 = scored highest
    discount = [1 / mp.log(1 + r, 2) for r in range(1, n + 1)]
    ideal = mp.fsum(g * d for g, d in zip(sorted(y, reverse=True), discount))
    pairs = [(i, j) for i in range(n) for j in range(n) if y[i] > y[j]]
    z = mp.mpf(max(len(pairs), 1)) if normalize else mp.mpf(1)
    value = vscale = mp.mpf(0)
    g, gs = [mp.mpf(0)] * n, [mp.mpf(0)] * n
    for i, j in pairs:
        w = abs(y[i] - y[j]) * abs(discount[place[i] - 1] - discount[place[j] - 1]) / ideal
        x = s[j] - s[i]  # the term is w softplus(-(s_i - s_j))
        sig = sigmoid(x)
        value += w * softplus(x)
        vscale += w * (softplus(x) + sig * abs(x))
        g[i] -= w * sig
        g[j] += w * sig
        for k in (i, j):
            gs[k] += w * sig * (1 + sigmoid(-x) * abs(x))
    return Exact(value / z, [v / z for v in g], vscale / z, [v / z for v in gs])


#: relevance rows: graded, reversed, one relevant, none, ties, all equal, huge and tiny grades
LIST_RELEVANCE = ((3.0, 2.0, 1.0, 0.0), (0.0, 1.0, 2.0, 3.0), (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0),
                  (1.0, 1.0, 0.0, 0.0), (2.0, 2.0, 2.0, 2.0), (1e4, 0.0, 5.0, 1e-300), (0.5, 1e-8, 0.0, 3.0))


def _list_scores():
    rows = []
    for x in LOGITS:
        rows.append((x, 0.0, -x, 2 * x) if abs(x) < 1e4 else (x, 0.0, -x, x / 2))
    return rows + [(1e4 + 0.5, 1e4, 1e4 - 0.25, 1e4 + 1.0), (0.1, 0.2, 0.3, 0.7), (-0.1, 0.2, -0.3, 1e-8),
                   (1e-300, 0.0, -1e-300, 5e-324), (30.1, -0.7, 2.3, 29.9), (1e4, 1e4, 1e4, 1e4)]


def _list_rows():
    pairs = [(t, r) for t in LIST_RELEVANCE for r in _list_scores()]
    return np.array([t for t, _ in pairs]), np.array([r for _, r in pairs])


# ============================================================================================
# segmentation: one image per row
# ============================================================================================
#: bits that hold every sum of products of float64 numbers exactly (exponents from 2^-2148 to 2^2048): the
#: overlap losses' 1 - u / v is 3e-300 for an empty mask against p = 1e-300, beyond 50 digits' reach
EXACT_BITS = 4400


def _exactly(fn):
    """Evaluate a reference at :data:`EXACT_BITS` of precision (the textbook formula, no rearranging)."""
    import functools

    @functools.wraps(fn)
    def run(*args, **kw):
        with mp.workprec(EXACT_BITS):
            return fn(*args, **kw)
    return run


def _soft_counts(y_true, y_pred):
    y, p = _row(y_true), _row(y_pred)
    inter = mp.fsum(a * b for a, b in zip(y, p))
    fp = mp.fsum((1 - a) * b for a, b in zip(y, p))
    fn = mp.fsum(a * (1 - b) for a, b in zip(y, p))
    return y, p, inter, fp, fn


def _one_minus_ratio(y, u, v, du, dv, a, b, c, num):
    """1 - u / v and its gradient -(u' v - u v') / v^2 (the textbook quotient rule); the gradient's scale is
    the size of the two terms lossbook's form (a (1 - y) - b y) (c I + s) - c y (a FP + b FN + eps) subtracts
    (they cancel only for a soft mask, y strictly between 0 and 1)."""
    grads = [-(dui * v - u * dvi) / v ** 2 for dui, dvi in zip(du, dv)]
    kept = v - num
    scale = [((a * (1 - yi) + b * yi) * kept + c * yi * num) / v ** 2 for yi in y]
    return Exact(1 - u / v, grads, mp.mpf(0), scale)


@reference("dice", max_ulp=4,
           why="a ratio of sums of non-negative terms: plain ulps of the value; the gradient in ulps of its two terms")
@_exactly
def _dice(y_true, y_pred, *, smooth, epsilon):
    y, p, inter, fp, fn = _soft_counts(y_true, y_pred)
    s, eps = _f(smooth), _f(epsilon)
    u, v = 2 * inter + s, mp.fsum(y) + mp.fsum(p) + s + eps
    return _one_minus_ratio(y, u, v, [2 * yi for yi in y], [mp.mpf(1)] * len(y), 1, 1, 2, fp + fn + eps)


@reference("tversky", max_ulp=4,
           why="a ratio of sums of non-negative terms: plain ulps of the value; the gradient in ulps of its two terms")
@_exactly
def _tversky(y_true, y_pred, *, alpha, beta, smooth, epsilon):
    y, p, inter, fp, fn = _soft_counts(y_true, y_pred)
    a, b, s, eps = _f(alpha), _f(beta), _f(smooth), _f(epsilon)
    u, v = inter + s, inter + a * fp + b * fn + s + eps
    dv = [yi + a * (1 - yi) - b * yi for yi in y]
    return _one_minus_ratio(y, u, v, y, dv, a, b, 1, a * fp + b * fn + eps)


@reference("jaccard", max_ulp=4,
           why="a ratio of sums of non-negative terms: plain ulps of the value; the gradient in ulps of its two terms")
@_exactly
def _jaccard(y_true, y_pred, *, smooth, epsilon):
    y, p, inter, fp, fn = _soft_counts(y_true, y_pred)
    s, eps = _f(smooth), _f(epsilon)
    u, v = inter + s, mp.fsum(y) + mp.fsum(p) - inter + s + eps
    return _one_minus_ratio(y, u, v, y, [1 - yi for yi in y], 1, 1, 1, fp + fn + eps)


@reference("lovasz_hinge", max_ulp=4,
           why="a sum of non-negative products (hinge error times Jaccard increment): plain ulps; the pixels' "
               "order is the stable sort of the float64 errors, as lossbook documents (exact errors that round "
               "to one float64 are a tie there), and the hinge's side is the errors' sign, which float64 keeps")
def _lovasz_hinge(y_true, y_pred):
    y_f, s_f = np.ravel(y_true), np.ravel(y_pred)
    order = np.argsort(-(1.0 - s_f * (2.0 * y_f - 1.0)), kind="stable")
    y, s = _row(y_f), _row(s_f)
    errors = [1 - si * (2 * yi - 1) for yi, si in zip(y, s)]
    positives = mp.fsum(y)

    def jaccard_loss(k):  # Delta_J of mispredicting the first k pixels: |M| / |{y = 1} u M|
        if k == 0:
            return mp.mpf(0)
        negatives = sum(1 for i in order[:k] if y_f[i] == 0)
        return mp.mpf(k) / (positives + negatives)

    value, grads = mp.mpf(0), [mp.mpf(0)] * len(y)
    for k, i in enumerate(order, start=1):
        g = jaccard_loss(k) - jaccard_loss(k - 1)
        if errors[i] > 0:
            value += errors[i] * g
            grads[i] = -(2 * y[i] - 1) * g
    return Exact(value, grads)


def _segmentation_rows(name):
    """Rows of one image each: masks of all zeros, all ones, mixed (soft for the overlap losses), against
    probabilities of exactly 0 and 1 (overlap losses) or logits of +-1e-8 ... +-1e4 with ties and errors of
    exactly 0 (Lovász)."""
    if name == "lovasz_hinge":
        masks = ((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0), (1.0, 0.0, 1.0, 0.0), (0.0, 1.0, 1.0, 1.0),
                 (1.0, 0.0, 0.0, 0.0))
        scores = []
        for x in LOGITS:
            scores += [(x, -x, 0.0, 1.0), (x, x, x, x), (1.0, -1.0, x, 2 * x if abs(x) < 1e4 else x)]
        scores += [(1.0, -1.0, 1.0, -1.0), (-1.0, 1.0, -1.0, 1.0), (np.nextafter(1.0, 2), -1.0, 1e-300, 0.0)]
        rows = [(m, r) for m in masks for r in scores]
    else:
        masks = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (1.0, 0.0, 1.0), (0.0, 1.0, 0.0), (0.3, 0.5, 1.0),
                 (1e-16, 1 - 1e-16, 0.5))
        preds = [(q, q, q) for q in PROBS] + [(q, 1 - q, 0.5) for q in PROBS]
        preds += [(1.0, 0.0, 1.0), (1 - 1e-16, 1e-300, 1 - 1e-16), (0.0, 1.0, 0.0), (1e-16, 1 - 1e-16, 0.5)]
        rows = [(m, r) for m in masks for r in preds]
    return np.array([m for m, _ in rows]), np.array([r for _, r in rows])


# ============================================================================================
# sparsemax (lossbook/fenchel_young.py)
# ============================================================================================
def _sparsemax_exact(z):
    """Sparsemax's support size k and threshold tau, exactly: the largest k with
    sum_{j<=k} (s_j - s_k) < 1 over the sorted scores, tau = (s_1 + ... + s_k - 1) / k."""
    s = sorted(z, reverse=True)
    k = max(m for m in range(1, len(s) + 1) if mp.fsum(s[:m]) - m * s[m - 1] < 1)
    return k, (mp.fsum(s[:k]) - 1) / k


@reference("sparsemax_loss", max_ulp=4,
           why="Martins & Astudillo's formula at 50 digits; the value in plain ulps except where float64 rounds "
               "z_j - z_y (the differences the loss is made of), whose rounding counts at |z_j - z_y| p_j; the "
               "gradient p_j - [j = y] in ulps of the terms it is the difference of")
def _sparsemax_loss(y_true, y_pred):
    z, y = _row(y_pred), int(y_true)
    k, tau = _sparsemax_exact(z)
    support = [zj > tau for zj in z]
    value = -z[y] + mp.fsum(zj ** 2 - tau ** 2 for zj, inside in zip(z, support) if inside) / 2 + mp.mpf(1) / 2
    p = [max(zj - tau, 0) for zj in z]
    grad = [pj - (j == y) for j, pj in enumerate(p)]
    # lossbook shifts the row by z_y (label in the support) or by its max (label outside): the shifted
    # scores v_j are exact unless float64 rounds z_j - shift, and p_j is a difference of v_j (+ 1) and c
    shift = z[y] if support[y] else max(z)
    v = [zj - shift for zj in z]
    rounded = [abs(vj) if mp.mpf(float(zj) - float(shift)) != vj else mp.mpf(0) for zj, vj in zip(z, v)]
    c = (1 - p[y]) if support[y] else tau - shift
    spread = mp.fsum(r for r, inside in zip(rounded, support) if inside) / k
    value_scale = mp.fsum(r * pj for j, (r, pj) in enumerate(zip(rounded, p)) if j != y) if support[y] else 0
    grad_scale = [(abs(vj + support[y]) + abs(c) + spread if inside and j != y else spread if inside else mp.mpf(0))
                  for j, (vj, inside) in enumerate(zip(v, support))]
    return Exact(value, grad, value_scale, grad_scale)


# ============================================================================================
# measuring
# ============================================================================================
def ulp_error(value: float, exact, scale=0) -> float:
    """|value - exact| in units of the last place of ``max(|exact|, scale)`` (0 when both are 0).

    ``scale`` is the size of the terms a formula adds (see :class:`Exact`); leave it at 0 for a
    plain ulp error.  An exact value that is not finite must be matched exactly.
    """
    if not mp.isfinite(exact):
        return 0.0 if value == float(exact) else float("inf")
    if not np.isfinite(value):
        return float("inf")
    size = max(abs(exact), abs(mp.mpf(scale)))
    if size == 0:
        return 0.0 if value == 0 else float("inf")
    size_f = float(size)
    spacing = np.spacing(size_f) if size_f != 0 else np.nextafter(0, 1)  # below the subnormals: the smallest
    return float(abs(mp.mpf(float(value)) - exact) / mp.mpf(float(spacing)))


#: the smallest normal float64: below it a float64 carries fewer digits, and errors are absolute
TINY = float(np.finfo(np.float64).tiny)


def rel_error(value: float, exact, scale=0) -> float:
    """|value - exact| / max(|exact|, |value|, scale, TINY): the relative error, at most 1 for a result
    of the right sign (1: no correct digit, e.g. any non-zero value where the answer is 0).

    Below the smallest normal float64 (2.2e-308) no float64 result can be relatively accurate (an
    exact 1e-400 can only be returned as 0), so there the error is absolute, in units of it.
    ``inf`` for a non-finite value where the answer is finite.
    """
    if not mp.isfinite(exact):
        return 0.0 if value == float(exact) else float("inf")
    if not np.isfinite(value):
        return float("inf")
    v = mp.mpf(float(value))
    size = max(abs(exact), abs(v), abs(mp.mpf(scale)), mp.mpf(TINY))
    return float(abs(v - exact) / size)


# --------------------------------------------------------------------------------------------
# sequences: CTC, by enumerating every path (tiny cases only: C ** T of them)
# --------------------------------------------------------------------------------------------
_CTC_PATHS: dict = {}


def _ctc_paths(c, steps, labels, blank):
    """Every path of ``steps`` classes out of ``c`` that CTC reads as ``labels`` (repeats merged,
    then blanks removed), found by trying all of them."""
    key = (c, steps, labels, blank)
    if key not in _CTC_PATHS:
        found = []
        for path in itertools.product(range(c), repeat=steps):
            merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
            if tuple(k for k in merged if k != blank) == labels:
                found.append(path)
        _CTC_PATHS[key] = found
    return _CTC_PATHS[key]


@reference("ctc", max_ulp=4,
           why="a sum over every path of products of softmax probabilities, by enumeration; lossbook adds "
               "log-probabilities along the steps, so its error is counted in ulps of the sum of the sizes of the "
               "log-softmax terms of each step; the gradient p - posterior in ulps of (p + posterior) times that sum, "
               "since the posterior is the exp of a difference of such log-space sums")
def _ctc_exact(targets, logits, input_length, target_length, *, blank, zero_infinity):
    z = [_row(r) for r in np.asarray(logits)]
    steps, c = int(input_length), len(z[0])
    labels = tuple(int(v) for v in np.asarray(targets)[:int(target_length)])
    p = []
    for row in z:
        e = [mp.exp(v - max(row)) for v in row]
        p.append([v / sum(e) for v in e])
    total, occupancy = mp.mpf(0), [[mp.mpf(0)] * c for _ in range(steps)]
    for path in _ctc_paths(c, steps, labels, blank):
        w = mp.fprod(p[t][k] for t, k in enumerate(path))
        total += w
        for t, k in enumerate(path):
            occupancy[t][k] += w
    n_entries = len(z) * c
    if total == 0:  # no path: only valid with zero_infinity, which gives 0 and 0
        return Exact(mp.mpf(0), [mp.mpf(0)] * n_entries)
    grad, grad_scale = [], []
    for t in range(len(z)):
        for k in range(c):
            if t < steps:
                grad.append(p[t][k] - occupancy[t][k] / total)
                grad_scale.append(p[t][k] + occupancy[t][k] / total)
            else:
                grad.append(mp.mpf(0))
                grad_scale.append(mp.mpf(0))
    sizes = sum(max(abs(v - max(row)) for v in row) + mp.log(sum(mp.exp(v - max(row)) for v in row))
                for row in z[:steps])
    # the posterior is exp(alpha + beta - log P), three log-space sums of the size of those terms: its
    # relative error is ulps of that size, not of 1
    return Exact(-mp.log(total), grad, sizes, [g * max(1, sizes) for g in grad_scale])


def _ctc_rows(hp):
    """Scores of 1e-8 ... 1e4 on a fixed pattern (T = 4 steps, C = 3 classes), against label sequences of
    every kind that fits: empty, one label, two different, a repeat (which needs every step), and
    with zero_infinity one that cannot be emitted."""
    b = hp["blank"]
    a, c = [k for k in range(4) if k != b][:2]
    pattern = np.random.default_rng(11).normal(size=(4, 4))
    seqs = [([-1, -1], 0, 4), ([a, -1], 1, 4), ([a, c], 2, 4), ([a, a], 2, 4), ([a, a], 2, 3), ([c, a], 2, 2),
            ([a, -1], 1, 1)]
    if hp["zero_infinity"]:
        seqs.append(([a, a], 2, 2))
    rows = []
    for m in (1e-8, 1e-4, 0.1, 1.0, 10.0, 30.0, 100.0, 1e3, 1e4):
        for sign in (1.0, -1.0):
            for tg, ln, tn in seqs:
                rows.append((np.array(tg, float), sign * m * pattern, float(tn), float(ln)))
    return tuple(np.array(col) for col in zip(*rows))


def exact(name: str, *inputs_and_hyper) -> Exact:
    """``exact(name, *inputs, hyper)``: the reference of loss ``name`` for one sample (or one batch),
    hyperparameters resolved by the loss."""
    from .core import LOSSES

    *inputs, hyper = inputs_and_hyper
    ex = REFERENCES[name].fn(*inputs, **LOSSES[name].resolve(hyper))
    if not ex.grad_scale:
        ex.grad_scale = [mp.mpf(0)] * len(ex.grad)
    return ex


def is_finite(ex: Exact) -> bool:
    """Whether the loss and its gradient are finite *as float64 numbers* (a gradient of 1e323 is not)."""
    return bool(np.isfinite(float(ex.value)) and all(np.isfinite(float(g)) for g in ex.grad))


# ============================================================================================
# the extreme grid of the accuracy appendix, per loss
# ============================================================================================
#: logits / scores: +-1e-8 ... +-1e4 (and 0)
LOGITS = tuple(s * m for m in (1e-8, 1e-4, 0.1, 1.0, 10.0, 30.0, 100.0, 1e3, 1e4) for s in (1.0, -1.0)) + (0.0,)
#: probabilities: exactly 0, 1e-300 ... 1 - 1e-16, exactly 1
PROBS = (0.0, 1e-300, 1e-100, 1e-16, 1e-8, 1e-3, 0.1, 0.5, 0.9, 1 - 1e-8, 1 - 1e-16, 1.0)
#: errors y_pred - y_true: 1e-10 ... 1e8, both signs, and 0
ERRORS = tuple(s * m for m in (1e-10, 1e-6, 1e-3, 0.5, 1.0, 2.0, 10.0, 1e3, 1e5, 1e8) for s in (1.0, -1.0)) + (0.0,)
#: simplex rows with zeros, 1e-300 and 1 - 1e-16 entries
SIMPLEX_ROWS = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (1e-300, 1 - 1e-16, 0.0), (1e-300, 0.5, 0.5),
                (1e-16, 1e-8, 1 - 1e-8 - 1e-16), (0.2, 0.3, 0.5), (1 / 3, 1 / 3, 1 / 3), (0.5, 0.5, 0.0),
                (0.5 + 1e-9, 0.5 - 1e-9, 0.0), (5e-324, 1 - 1e-16, 0.0))
SOFT_TARGETS = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.5, 0.5, 0.0), (0.2, 0.3, 0.5))
#: multi-hot targets, with the rows that have no target and only targets
MULTI_HOT = ((1.0, 0.0, 0.0), (0.0, 1.0, 1.0), (1.0, 0.0, 1.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


def _logit_rows():
    rows = []
    for x in LOGITS:
        rows += [(x, 0.0, -x), (x, x, 0.0), (0.0, x, 2 * x) if abs(x) < 1e4 else (0.0, x, x)]
    return rows


def _regression_pairs(bases, lower=None):
    out = []
    for b in bases:
        for e in ERRORS:
            p = b + e
            if lower is None or p > lower:
                out.append((b, p))
    return out


def _scalar_pairs(name, hp):
    """(y_true, y_pred) scalar pairs for a pointwise loss with resolved hyperparameters ``hp``."""
    if name == "mean_squared_logarithmic_error":
        if hp["clip"]:
            return _regression_pairs((0.0, 1.5, -3.0, 1e-7))
        pairs = _regression_pairs((0.0, 1.5, 300.0), lower=-1.0)
        return pairs + [(-1 + 1e-9, 0.0), (0.0, -1 + 1e-9), (1e4, -1 + 1e-9)]
    if name == "mean_absolute_percentage_error":
        return _regression_pairs((1.5, -300.0, 1e-3) if hp["epsilon"] == 0 else (0.0, 1.5, 1e-9))
    if name in ("huber", "smooth_l1"):
        k = hp.get("delta", hp.get("beta"))
        return _regression_pairs((0.0, 1.5, -300.0)) + [(0.0, k), (1.0, 1.0 - k), (0.0, np.nextafter(k, 0))]
    if name in ("mean_squared_error", "mean_absolute_error", "log_cosh", "quantile"):
        return _regression_pairs((0.0, 1.5, -300.0))
    if name in ("binary_crossentropy", "binary_focal_crossentropy"):
        targets = (0.0, 1.0, 0.3, 0.5)
        preds = LOGITS if hp["from_logits"] else PROBS
        return [(t, p) for t in targets for p in preds]
    if name == "poisson":
        if hp["log_input"]:
            return [(t, e) for t in (0.0, 1.0, 3.0, 1e4) for e in LOGITS if e <= 700]
        return [(t, r) for t in (0.0, 1.0, 3.0, 1e4) for r in (0.0, 1e-300, 1e-10, 0.5, 1.0, 3.0, 1e4, 1e8)]
    if name in ("hinge", "squared_hinge"):
        labels = (0.0, 1.0) if hp["labels"] == "01" else (-1.0, 1.0)
        scores = LOGITS + (1.0, -1.0, np.nextafter(1.0, 2), np.nextafter(1.0, 0), -np.nextafter(1.0, 2))
        return [(t, s) for t in labels for s in scores]
    if name == "soft_margin":
        return [(t, x) for t in (-1.0, 1.0) for x in LOGITS]
    if name == "hinge_embedding":
        m = hp["margin"]
        return [(t, x) for t in (1.0, -1.0) for x in (0.0, 1e-8, 0.5, m, np.nextafter(m, 0), 1.5, 1e4)]
    raise KeyError(name)


def _row_pairs(name, hp):
    """(y_true, y_pred-row) pairs for a loss on rows of class scores / probabilities."""
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence"):
        rows = _logit_rows() if hp.get("from_logits") else SIMPLEX_ROWS
        targets = SOFT_TARGETS if name != "sparse_categorical_crossentropy" else (0.0, 1.0, 2.0)
        if name == "sparse_categorical_crossentropy" and hp["ignore_index"] not in (None, 0, 1, 2):
            targets += (float(hp["ignore_index"]),)
        pairs = [(t, r) for t in targets for r in rows]
        if name == "kl_divergence":
            pairs += [(r, r) for r in SIMPLEX_ROWS] + [((0.5, 0.5, 0.0), (0.5 + 1e-9, 0.5 - 1e-9, 0.0))]
        return pairs
    if name in ("multilabel_soft_margin", "multilabel_margin"):
        rows = _logit_rows()
        if name == "multilabel_margin":  # pairs exactly at the hinge: x_j - x_k = 1
            rows += [(1.0, 0.0, -1.0), (2.0, 1.0, 1.0), (0.0, -1.0, 0.0), (1.0, 0.0, 1.0)]
        return [(t, r) for t in MULTI_HOT for r in rows]
    if name in ("categorical_focal_crossentropy", "generalized_crossentropy"):
        rows = _logit_rows() if hp["from_logits"] else SIMPLEX_ROWS
        return [(t, r) for t in SOFT_TARGETS for r in rows]
    if name == "poly1_crossentropy":
        return [(t, r) for t in SOFT_TARGETS for r in _logit_rows()]
    if name == "distillation_kl":
        rows = _logit_rows()
        teachers = ((0.0, 0.0, 0.0), (1.0, 2.0, 3.0), (1e4, -1e4, 0.0), (10.0, 0.0, -10.0), (-30.0, 30.0, 0.0))
        return [(t, r) for t in teachers for r in rows] + [(r, r) for r in rows]
    if name == "negative_log_likelihood":
        rows = [tuple(np.log(r)) for r in SIMPLEX_ROWS if min(r) > 0] + [(0.0, -1e4, -1e4), (-1e4, 0.0, -1e4)]
        return [(t, r) for t in (0.0, 1.0, 2.0) for r in rows]
    rows = _logit_rows()
    if name == "sparsemax_loss":
        # a margin of exactly 1, ties, a class just inside and just outside the support, losses of 1e-13
        rows += [(1.0, 0.0, 0.0), (0.0, 1.0, -1.0), (1.0, 1.0, 0.0), (0.0, 0.0, 0.0), (0.5, -0.5, -0.5),
                 (0.0, -0.999999, -5.0), (0.0, -1.0 + 2 ** -40, -1.0), (0.0, np.nextafter(-1.0, 0.0), -3.0),
                 (0.3, -0.6999999, -2.0), (1e4, 1e4 - 1.0, 1e4 - 0.5), (1e4, 1e4 - 1e-8, -1e4),
                 (-1e4, -1e4 - 0.999999, -1e4 - 2.0), (2.0, 1.5, 1.0), (0.1, 0.05, 0.0)]
        return [(t, r) for t in (0.0, 1.0, 2.0) for r in rows]
    if name == "categorical_hinge":
        # at the hinge: 1 + max wrong score - true score = 0 exactly
        rows += [(1.0, 0.0, -1.0), (2.0, 1.0, 1.0), (1.0, -1.0, -2.0), (0.5, -0.5, -0.5)]
        return [(t, r) for t in SOFT_TARGETS[:3] for r in rows]
    if name == "multiclass_hinge":
        rows += [(1.0, 0.0, -1.0), (2.0, 1.0, 1.0), (1.0, 0.0, 0.0), (-1.0, 1.0, -2.0)]
        return [(t, r) for t in (0.0, 1.0, 2.0) for r in rows]
    if name == "multi_margin":
        m = hp["margin"]
        rows += [(m, 0.0, -1.0), (1.0 + m, 1.0, 1.0), (m, 0.0, 0.0)]
        return [(t, r) for t in (0.0, 1.0, 2.0) for r in rows]
    if name in ("arcface", "cosface"):
        # target cosines at 1, just below 1, -1, 0, tiny, and either side of ArcFace's branch switch
        switch = -np.cos(hp["margin"])
        special = (1.0, np.nextafter(1.0, 0.0), 1 - 1e-8, 0.9, 0.5, 1e-8, 1e-300, 0.0, -0.5, -1.0,
                   switch, np.nextafter(switch, 1.0), np.nextafter(switch, -1.0))
        rows = []
        for c in special:
            rows += [(c, 0.0, -0.5), (c, 1.0, 1.0), (c, -1.0, 0.3), (c, c, c), (c, 1e-8, -1e-8)]
        return [(0.0, r) for r in rows] + [(2.0, r[::-1]) for r in rows]
    if name == "margin_ranking":
        m = hp["margin"]
        pairs = [(x, 0.0) for x in LOGITS] + [(m, 0.0), (1.0 + m, 1.0), (0.0, -m), (1e4 + m, 1e4)]
        return [(t, r) for t in (0.0, 1.0) for r in pairs]
    raise KeyError(name)


def _batches(name, hp):
    """Whole batches ``[(y_true, y_pred), ...]`` for a batch loss."""
    if name == "soft_fbeta":
        y = np.array([1.0, 0.0] * 6)
        p = np.array(PROBS)
        near = np.where(y == 1, 1 - 1e-16, 1e-300)
        return [(y, p), (y, p[::-1]), (y, y.copy()), (y, near), (y, 1 - y), (y, np.zeros(12)), (np.zeros(12), p),
                (np.ones(12), p), (y, np.full(12, 0.5))]
    if name == "pairwise_ranking_hinge":
        lab = np.array([0.0, 1.0, 2.0, 3.0])
        m = hp["margin"]
        out = [(lab, np.array([m * k for k in (3.0, 2.0, 1.0, 0.0)])),  # each neighbour pair exactly at the hinge
               (lab, np.array([0.0, m, 2 * m, 3 * m])), (lab, np.array([1e4, -1e4, 1e-8, -1e-8])),
               (np.array([0.0, 0.5, 1e6, 2.0]), np.array([1.0, 0.0, -1.0, 30.0])), (np.full(4, 2.0), np.arange(4.0))]
        scores = np.array(LOGITS)
        out.append((np.arange(len(scores), dtype=float) % 5, scores))
        return out
    if name in ("info_nce", "nt_xent", "supervised_contrastive", "batch_hard_triplet"):
        # near-parallel, opposite, tiny, zero and (when normalised) huge rows
        base = np.array([1.0, 2.0, 3.0])
        rows = [base, base * (1 + 1e-12), base + [1e-8, 0, 0], -base, [1e-8, 0, 0], [0.3, -0.2, 0.0],
                [0.5, -0.5, 1e-8], [1e-4, 1e-4, 0.0], [0.0, 0.0, 0.0], [1e-300, 0, 0]]
        if name != "info_nce" or hp["normalize"]:
            rows.append([1e150, -1e150, 1.0])
        rows = np.array(rows, dtype=float)
        if name == "info_nce":
            return [(rows, np.roll(rows, 1, axis=0)), (rows, rows.copy()), (rows, -rows[::-1])]
        groups = np.arange(len(rows)) // 2 % 4
        groups[-1] = groups[-2]  # an odd count: the last group has three rows
        return [(rows, groups.astype(float)), (rows, np.sort(groups).astype(float)),
                (np.repeat(rows[:4], 2, axis=0), np.repeat(np.arange(4.0), 2))]
    raise KeyError(name)


def extreme_grid(name: str):
    """Issue 8's extreme grid for loss ``name``: ``[(hyper, *inputs), ...]`` (inputs in the loss's
    order: ``(y_true, y_pred)`` for most losses).

    For a per-sample loss, one entry per configuration holding all its points as rows (``(N,)``
    for pointwise losses, ``(N, 3)`` (``(N, 2)`` for margin ranking) otherwise; ``y_true`` is
    ``(N,)`` class ids for ``shape="labels"`` losses), keeping only the points where the exact loss
    and gradient are finite.  For a batch loss, one entry per batch.
    """
    from .core import LOSSES

    loss = LOSSES[name]
    out = []
    for hyper in loss.configs:
        hp = loss.resolve(hyper)
        if getattr(loss, "batch", False):
            for y_true, y_pred in _batches(name, hp):
                out.append((dict(hyper), np.array(y_true, dtype=float), np.array(y_pred, dtype=float)))  # copies: contiguous
            continue
        if loss.family == "embedding" and loss.shape != "labels":  # arcface, cosface: rows of class scores
            out.append((dict(hyper), *_embedding_rows(name, hp)))
            continue
        if name in ("gaussian_nll", "gaussian_kl"):
            out.append((dict(hyper), *_distribution_rows(name, hp)))
            continue
        if name in ("gan_discriminator", "gan_generator"):
            out.append((dict(hyper), *_gan_rows(name)))
            continue
        if name in ("ranknet", "listnet", "softmax_ranking", "listmle", "lambdarank"):
            out.append((dict(hyper), *_list_rows()))
            continue
        if name == "ctc":
            out.append((dict(hyper), *_ctc_rows(hp)))
            continue
        if name in ("dice", "tversky", "jaccard", "lovasz_hinge"):
            out.append((dict(hyper), *_segmentation_rows(name)))
            continue
        try:
            pairs = _scalar_pairs(name, hp)
        except KeyError:
            pairs = _row_pairs(name, hp)
        kept = [(t, p) for t, p in pairs if is_finite(exact(name, t, p, hyper))]
        if not kept:
            continue
        y_true = np.array([t for t, _ in kept], dtype=float)
        y_pred = np.array([p for _, p in kept], dtype=float)
        out.append((dict(hyper), y_true, y_pred))
    for hyper, *inputs in out:  # the grid must be valid input: the loss's own checks raise otherwise
        loss.value_and_grad(*inputs, **hyper)
    return out


def evaluate(loss, hyper: dict, *inputs):
    """lossbook's per-sample values (or batch value) and gradient(s) on one grid entry."""
    if getattr(loss, "batch", False):
        return loss.value_and_grad(*inputs, **hyper)
    return loss.value_and_grad(*inputs, reduction="none", **hyper)


def exacts(name: str, hyper: dict, *inputs) -> list:
    """The references of one grid entry: one :class:`Exact` per row, or one for a batch loss."""
    from .core import LOSSES

    if getattr(LOSSES[name], "batch", False):
        return [exact(name, *inputs, hyper)]
    return [exact(name, *row, hyper) for row in zip(*inputs)]


def value_errors(ex: list, values, measure=ulp_error) -> np.ndarray:
    """Per point: the error of ``values`` (per-row values, or the batch loss) against the references."""
    values = np.atleast_1d(np.asarray(values, dtype=float))
    return np.array([measure(v, e.value, e.value_scale) for v, e in zip(values, ex)])


def grad_errors(ex: list, grads, measure=ulp_error) -> np.ndarray:
    """Per point: the largest error over the gradient's entries (its row, or the whole batch).

    ``grads``: one array, or a tuple of them (one per differentiated input: a point's entries are
    its rows of each, in order, as the reference lists them)."""
    parts = [np.asarray(g, dtype=float) for g in (grads if isinstance(grads, tuple) else (grads,))]
    if len(ex) == 1:  # a batch (or a single row): one point
        rows = [np.concatenate([g.ravel() for g in parts])]
    else:
        rows = [np.concatenate([np.atleast_1d(g[i]).ravel() for g in parts]) for i in range(len(ex))]
    return np.array([max((measure(g, e, s) for g, e, s in zip(row, x.grad, x.grad_scale)), default=0.0)
                     for row, x in zip(rows, ex)])
