"""Regression losses: a real-valued target, a real-valued prediction.

Every loss here is pointwise: the loss of a sample with targets of width D is the mean over its D
values (Keras's convention), so ``(N,)`` and ``(N, 1)`` inputs give the same per-sample values.
Chapter: ``book/regression``.
Their framework counterparts (torch, Keras, ...), with the recipes, are in ``lossbook/counterparts.py``.
"""
from __future__ import annotations

import numpy as np

from .core import KERAS_EPSILON, Hyper, Loss, mean_last, width

__all__ = ["mean_squared_error", "mean_absolute_error", "mean_squared_logarithmic_error", "huber", "log_cosh",
           "mean_absolute_percentage_error", "smooth_l1", "quantile"]


# --------------------------------------------------------------------------------------------
# Mean squared error
# --------------------------------------------------------------------------------------------
def _mean_squared_error(y_true, y_pred, *, with_grad):
    r"""Mean squared error.

    .. math::  \ell_i = \frac{1}{D}\sum_{d=1}^{D} (\hat y_{id} - y_{id})^2,
               \qquad \frac{\partial \ell_i}{\partial \hat y_{id}} = \frac{2}{D}(\hat y_{id} - y_{id})

    The negative log-likelihood of a Gaussian with fixed variance, up to scale and a constant.
    Nothing to stabilise: the only risk is overflow of ``err**2`` beyond ~1e154, far outside any
    sensible regression target.  Chapter: ``book/regression/mse``.
    """
    err = y_pred - y_true
    loss = mean_last(err * err)
    if not with_grad:
        return loss
    grad = err  # err is ours and no longer needed: scale it in place (no third array)
    grad *= 2.0 / width(err)
    return loss, grad


mean_squared_error = Loss(
    "mean_squared_error",
    _mean_squared_error,
    family="regression",
    chapter="regression/mse",
    summary="squared error; Gaussian negative log-likelihood",
)


# --------------------------------------------------------------------------------------------
# shared pieces of the losses below
# --------------------------------------------------------------------------------------------
_KINK_TOL = 1e-5  # relative distance from a kink inside which finite differences are not trusted


def _near(x, at, scale):
    """Where ``x`` lies within ``_KINK_TOL * max(1, |scale|)`` of ``at`` (the tests avoid those points)."""
    x = np.asarray(x, float)
    return np.abs(x - at) <= _KINK_TOL * np.maximum(1.0, np.abs(np.asarray(scale, float)))


def _error_kink(y_true, y_pred, **_):
    """Kink at zero error (MAE, MAPE, quantile)."""
    return _near(np.asarray(y_pred, float) - np.asarray(y_true, float), 0.0, y_pred)


# --------------------------------------------------------------------------------------------
# Mean absolute error
# --------------------------------------------------------------------------------------------
def _mean_absolute_error(y_true, y_pred, *, with_grad):
    r"""Mean absolute error (L1).

    .. math::  \ell_i = \frac{1}{D}\sum_{d=1}^{D} |\hat y_{id} - y_{id}|,
               \qquad \frac{\partial \ell_i}{\partial \hat y_{id}} = \frac{1}{D}\operatorname{sign}(\hat y_{id} - y_{id})

    The negative log-likelihood of a Laplace distribution with fixed scale, up to scale and a
    constant: its minimiser over a constant prediction is the median.  At zero error the loss has a
    kink; ``.grad`` returns the subgradient 0 there (``sign(0) = 0``, as torch's ``L1Loss`` does).
    Nothing to stabilise.  Chapter: ``book/regression/robust-losses``.
    """
    err = y_pred - y_true
    loss = mean_last(np.abs(err))
    if not with_grad:
        return loss
    grad = np.sign(err)  # a new array: np.sign in place (out=err) is several times slower (no SIMD loop)
    if width(err) > 1:
        grad /= width(err)
    return loss, grad


mean_absolute_error = Loss(
    "mean_absolute_error",
    _mean_absolute_error,
    family="regression",
    chapter="regression/robust-losses",
    summary="absolute error; Laplace negative log-likelihood, estimates the median",
    kinks=_error_kink,
)


# --------------------------------------------------------------------------------------------
# Mean squared logarithmic error
# --------------------------------------------------------------------------------------------
def _log1p_diff(a, b):
    """log1p(a) - log1p(b) for a, b > -1, without the cancellation of two rounded logs.

    It is ``log1p(r)`` with ``r = (a - b) / (1 + b)``.  When a and b are close, ``a - b`` is exact
    and ``log1p(r)`` keeps every digit, while the difference of two rounded logs keeps only the
    digits they do not share (a prediction 1e-10 above a target of 300 loses 5 of its 16).  For
    every ``r >= -1/2`` the rounding of ``r`` (at most 1.5 eps, relative) moves ``log1p(r)`` by at
    most 1.9 eps of itself, so one ``log1p`` serves nearly every entry.  Below -1/2 (``a`` far under
    ``b``) ``1 + r`` is formed directly as ``(1 + a) / (1 + b)``, whose log is then at least log 2
    in size and as accurate.  If ``r`` overflows (``b`` next to -1, ``a`` huge) the two logs have
    opposite signs and their plain difference is accurate.
    """
    with np.errstate(over="ignore", divide="ignore"):  # r = inf or -1 exactly: redone below
        r = a - b
        r /= 1.0 + b
        out = np.log1p(r)
    below = r < -0.5
    if below.any():
        out[below] = np.log((1.0 + a[below]) / (1.0 + b[below]))
    if out.max() == np.inf:
        over = np.isinf(out)
        out[over] = np.log1p(a[over]) - np.log1p(b[over])
    return out


def _mean_squared_logarithmic_error(y_true, y_pred, *, with_grad, clip):
    r"""Mean squared logarithmic error: MSE between ``log1p`` of the prediction and of the target.

    .. math::  \ell_i = \frac{1}{D}\sum_{d} \big(\log(1 + \hat y_{id}) - \log(1 + y_{id})\big)^2,
               \qquad \frac{\partial \ell_i}{\partial \hat y_{id}}
               = \frac{2}{D}\,\frac{\log(1 + \hat y_{id}) - \log(1 + y_{id})}{1 + \hat y_{id}}

    Domain: the exact loss (``clip=False``, the default) needs ``y_true > -1`` and ``y_pred > -1``
    and says so with a ``ValueError`` otherwise; it is meant for non-negative targets such as counts
    or prices.  ``clip=True`` reproduces Keras: both arguments are first floored at ``1e-7``
    (``max(x, 1e-7)``), so every real input is accepted, every negative value is treated as 0 and
    a prediction below the floor gets a gradient of exactly 0.  ``log1p`` (not ``log(1 + x)``)
    keeps small values exact, and the difference of logs is taken as one ``log1p`` of a ratio
    when prediction and target are close (two rounded logs would cancel).  Chapter: ``book/regression/msle-mape-quantile``.
    """
    if clip:  # Keras's floor; below it the prediction is a constant, so its gradient is 0
        yt, yp = np.maximum(y_true, KERAS_EPSILON), np.maximum(y_pred, KERAS_EPSILON)
    else:
        yt, yp = y_true, y_pred
    diff = _log1p_diff(yp, yt)
    loss = mean_last(diff * diff)
    if not with_grad:
        return loss
    grad = diff  # diff is ours and no longer needed: scale it in place into the gradient
    grad *= 2.0 / width(diff)
    grad /= 1.0 + yp
    if clip:
        grad[y_pred <= KERAS_EPSILON] = 0.0
    return loss, grad


def _msle_kinks(y_true, y_pred, *, clip):
    if not clip:
        return np.zeros(np.shape(y_pred), bool)
    return _near(y_pred, KERAS_EPSILON, y_pred)


mean_squared_logarithmic_error = Loss(
    "mean_squared_logarithmic_error",
    _mean_squared_logarithmic_error,
    family="regression",
    chapter="regression/msle-mape-quantile",
    summary="squared error between log1p(prediction) and log1p(target); relative errors",
    y_true=lambda hp: "real" if hp["clip"] else "above_minus_one",
    y_pred=lambda hp: "real" if hp["clip"] else "above_minus_one",
    hyper={"clip": Hyper(False, "bool", "floor both arguments at 1e-7 first, as Keras does")},
    configs=({}, {"clip": True}),
    kinks=_msle_kinks,
)


# --------------------------------------------------------------------------------------------
# Huber and smooth L1
# --------------------------------------------------------------------------------------------
def _huber(y_true, y_pred, *, with_grad, delta):
    r"""Huber loss: quadratic for errors up to ``delta``, linear beyond.

    .. math::  \ell_i = \frac{1}{D}\sum_{d} \begin{cases} \tfrac12 e_{id}^2 & |e_{id}| \le \delta \\
               \delta\,(|e_{id}| - \tfrac12\delta) & |e_{id}| > \delta \end{cases},
               \qquad \frac{\partial \ell_i}{\partial \hat y_{id}} = \frac{1}{D}\operatorname{clip}(e_{id}, -\delta, \delta),
               \qquad e = \hat y - y

    Huber (1964): the loss whose M-estimator is most robust against a contaminated Gaussian.  With
    ``g = clip(e, -delta, delta)`` (which is also the gradient) the loss is ``g * (e - g / 2)``: one
    formula for both branches (``e**2 / 2`` inside, ``delta * (|e| - delta / 2)`` beyond, since g
    and e share their sign) that never squares a large error, so errors of 1e200 do not overflow.
    The gradient is continuous; the second derivative jumps at ``|e| = delta``.
    Chapter: ``book/regression/robust-losses``.
    """
    g, elementwise = _clipped_quadratic(y_pred - y_true, delta)
    loss = mean_last(elementwise)
    if not with_grad:
        return loss
    if width(g) > 1:
        g /= width(g)
    return loss, g


def _clipped_quadratic(err, k, scale=1.0):
    """``g = clip(err, -k, k) / scale`` and ``g * (err - clip(err, -k, k) / 2)``: the elementwise
    Huber loss with threshold k, divided by ``scale``, and its gradient.

    Fused: the clipped error is both the gradient and a factor of the loss; ``err`` (an array the
    caller owns) is overwritten with the loss, so two arrays are made in all.
    """
    g = np.clip(err, -k, k)
    err -= 0.5 * g
    if scale != 1.0:
        g /= scale
    err *= g
    return g, err


def _huber_kinks(y_true, y_pred, *, delta):
    return _near(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float)), delta, y_pred)


huber = Loss(
    "huber",
    _huber,
    family="regression",
    chapter="regression/robust-losses",
    references=("huber1964robust",),
    summary="quadratic near zero, linear beyond delta; robust to outliers",
    hyper={"delta": Hyper(1.0, ">0", "where the loss turns from quadratic to linear")},
    configs=({}, {"delta": 0.5}, {"delta": 2.0}),
    kinks=_huber_kinks,
)


def _smooth_l1(y_true, y_pred, *, with_grad, beta):
    r"""Smooth L1 loss (Fast R-CNN): Huber rescaled so that its linear part has slope 1.

    .. math::  \ell_i = \frac{1}{D}\sum_{d} \begin{cases} \tfrac{1}{2\beta} e_{id}^2 & |e_{id}| < \beta \\
               |e_{id}| - \tfrac12\beta & |e_{id}| \ge \beta \end{cases},
               \qquad \frac{\partial \ell_i}{\partial \hat y_{id}} = \frac{1}{D\beta}\operatorname{clip}(e_{id}, -\beta, \beta)

    Exactly ``huber(delta=beta) / beta``.  As ``beta -> 0`` it tends to MAE (Huber tends to 0); as
    ``beta`` grows it tends to 0 (Huber tends to half the MSE).  Same overflow-free form as
    :data:`huber`, ``g * (e - g / 2) / beta`` with ``g = clip(e, -beta, beta)``.
    Chapter: ``book/regression/robust-losses``.
    """
    g, elementwise = _clipped_quadratic(y_pred - y_true, beta, scale=beta)
    loss = mean_last(elementwise)
    if not with_grad:
        return loss
    if width(g) > 1:
        g /= width(g)
    return loss, g


def _smooth_l1_kinks(y_true, y_pred, *, beta):
    return _huber_kinks(y_true, y_pred, delta=beta)


smooth_l1 = Loss(
    "smooth_l1",
    _smooth_l1,
    family="regression",
    chapter="regression/robust-losses",
    references=("girshick2015fastrcnn",),
    summary="Huber(delta=beta)/beta: slope-1 linear tails (torch's SmoothL1Loss)",
    hyper={"beta": Hyper(1.0, ">0", "where the loss turns from quadratic to linear")},
    configs=({}, {"beta": 0.5}, {"beta": 2.0}),
    kinks=_smooth_l1_kinks,
)


# --------------------------------------------------------------------------------------------
# Log-cosh
# --------------------------------------------------------------------------------------------
_LOG2 = np.log(2.0)
_LOG_COSH_LINEAR = 20.0  # beyond it, log cosh e = |e| - log 2 and tanh e = sign(e) in float64


def _log_cosh_parts(err):
    """log(cosh(e)) and tanh(e) for every float64 ``e``, accurate to a few ulps (see :data:`log_cosh`).

    One ``expm1`` serves both: with ``v = e^|e| - 1``, exactly ``cosh e - 1 = v^2 / (2 (1 + v))``
    and ``tanh|e| = v (v + 2) / (v (v + 2) + 2)``, and none of these steps cancels.  Beyond
    ``|e| = 20`` the loss is ``|e| - log 2`` and the gradient ``sign(e)`` to the last bit (the
    correction, ``log1p(e^(-2|e|))``, is below half an ulp), which also keeps ``expm1`` finite.
    Four arrays are made in all; the rest is done in place.
    """
    a = np.abs(err)
    big = a > _LOG_COSH_LINEAR
    if big.any():
        a_big = a[big]
        np.minimum(a, _LOG_COSH_LINEAR, out=a)
    v = np.expm1(a)                 # e^|e| - 1
    w = np.multiply(v, v, out=a)
    two_cosh = np.add(v, 1.0)
    two_cosh *= 2.0                 # 2 e^|e|
    w /= two_cosh                   # cosh e - 1
    t = np.add(v, 2.0, out=two_cosh)
    t *= v                          # e^(2|e|) - 1
    loss = np.log1p(w, out=w)
    grad = np.add(t, 2.0, out=v)    # e^(2|e|) + 1
    np.divide(t, grad, out=grad)    # tanh|e|
    if big.any():
        loss[big] = a_big - _LOG2
        grad[big] = 1.0
    np.copysign(grad, err, out=grad)
    return loss, grad


def _log_cosh(y_true, y_pred, *, with_grad):
    r"""Log-cosh: the log of the hyperbolic cosine of the error.

    .. math::  \ell_i = \frac{1}{D}\sum_{d} \log\cosh(\hat y_{id} - y_{id}),
               \qquad \frac{\partial \ell_i}{\partial \hat y_{id}} = \frac{1}{D}\tanh(\hat y_{id} - y_{id})

    About ``e**2 / 2`` for small errors and ``|e| - log 2`` for large ones, with a gradient that
    never exceeds 1 in size.  The naive ``np.log(np.cosh(e))`` overflows to ``inf`` once
    ``|e| > 710``, and the asymptotic ``|e| + log1p(exp(-2|e|)) - log 2`` loses small errors to
    cancellation.  Here ``log cosh(e) = log1p(cosh e - 1)`` with ``cosh e - 1`` formed from
    ``expm1(|e|)`` (exact for tiny errors, where ``cosh(e)`` rounds to 1), and ``|e| - log 2``
    beyond ``|e| = 20`` (finite for every float64 error).  Chapter: ``book/regression/robust-losses``.
    """
    loss, grad = _log_cosh_parts(y_pred - y_true)
    loss = mean_last(loss)
    if not with_grad:
        return loss
    if width(grad) > 1:
        grad /= width(grad)
    return loss, grad


def _log_cosh_extremes():
    out = []
    for e in (1e4, -1e4, 1e8, -1e8, 1e300, 1e-10):
        yt = np.array([0.0, 1.0, -2.0])
        out.append((yt, yt + e, {}))
    return out


log_cosh = Loss(
    "log_cosh",
    _log_cosh,
    family="regression",
    chapter="regression/robust-losses",
    summary="log(cosh(error)): smooth, quadratic near zero, linear in the tails",
    extremes=_log_cosh_extremes,
)


# --------------------------------------------------------------------------------------------
# Mean absolute percentage error
# --------------------------------------------------------------------------------------------
def _mean_absolute_percentage_error(y_true, y_pred, *, with_grad, epsilon):
    r"""Mean absolute percentage error: the absolute error in percent of the target.

    .. math::  \ell_i = \frac{100}{D}\sum_{d} \frac{|\hat y_{id} - y_{id}|}{\max(|y_{id}|, \epsilon)},
               \qquad \frac{\partial \ell_i}{\partial \hat y_{id}}
               = \frac{100}{D}\,\frac{\operatorname{sign}(\hat y_{id} - y_{id})}{\max(|y_{id}|, \epsilon)}

    With ``epsilon=0`` (the default) this is the textbook MAPE and ``y_true`` must be non-zero (a
    ``ValueError`` otherwise).  ``epsilon=1e-7`` is Keras's ``MeanAbsolutePercentageError``: a zero
    target then costs ``100 * |y_pred| / 1e-7``, for instance 1e9 for an error of 1.  In percent,
    like Keras (torchmetrics returns the fraction).  Subgradient 0 at zero error.
    Chapter: ``book/regression/msle-mape-quantile``.
    """
    denom = np.abs(y_true)
    np.maximum(denom, epsilon, out=denom)  # in place: denom is ours
    err = y_pred - y_true
    loss = np.abs(err)
    loss /= denom
    loss = 100.0 * mean_last(loss)
    if not with_grad:
        return loss
    grad = np.sign(err)  # a new array: np.sign in place is several times slower (no SIMD loop)
    grad *= 100.0 / width(err)  # first: exact for D = 1 (the sign times 100), then one rounding
    grad /= denom
    return loss, grad


def _mape_extremes():
    return [
        (np.array([1e-12, -1e-12, 3.0]), np.array([1e4, -1e4, 3.0]), {}),
        (np.array([[1e-12, 5.0], [-1e4, 2.0]]), np.array([[-1e4, 5.0], [1e4, 2.0]]), {}),
        (np.array([0.0, 0.0, 1.0]), np.array([1.0, -1e4, 1.0]), {"epsilon": 1e-7}),
        (np.array([[0.0, 1e-12], [1e4, 0.0]]), np.array([[1e4, 0.0], [-1e4, 0.0]]), {"epsilon": 1e-7}),
    ]


mean_absolute_percentage_error = Loss(
    "mean_absolute_percentage_error",
    _mean_absolute_percentage_error,
    family="regression",
    chapter="regression/msle-mape-quantile",
    summary="absolute error in percent of |target|; needs non-zero targets unless epsilon > 0",
    y_true=lambda hp: "nonzero" if hp["epsilon"] == 0 else "real",
    hyper={"epsilon": Hyper(0.0, ">=0", "floor under |y_true| (Keras: 1e-7); 0 demands non-zero targets")},
    configs=({}, {"epsilon": KERAS_EPSILON}),
    kinks=_error_kink,
    extremes=_mape_extremes,
)


# --------------------------------------------------------------------------------------------
# Quantile (pinball) loss
# --------------------------------------------------------------------------------------------
def _quantile(y_true, y_pred, *, with_grad, q):
    r"""Quantile (pinball) loss for the quantile level ``q``.

    .. math::  \ell_i = \frac{1}{D}\sum_{d} \max\big(q\,u_{id},\,(q - 1)\,u_{id}\big),
               \quad u = y - \hat y,
               \qquad \frac{\partial \ell_i}{\partial \hat y_{id}} = \frac{1}{D}
               \begin{cases} -q & \hat y_{id} < y_{id} \\ 1 - q & \hat y_{id} > y_{id} \\
               \tfrac12 - q & \hat y_{id} = y_{id} \end{cases}

    Koenker & Bassett (1978): its minimiser over a constant prediction is the ``q``-quantile of
    the targets; ``q = 0.5`` gives half the MAE.  At zero error the subgradient is the interval
    ``[-q, 1 - q]``; ``.grad`` returns its midpoint ``1/2 - q`` (0 for the median, like MAE).
    Nothing to stabilise.  No framework has it; the reference is scikit-learn's
    ``mean_pinball_loss``.  Chapter: ``book/regression/msle-mape-quantile``.
    """
    u = y_true - y_pred  # > 0: the prediction is below the target
    slope = q - (u < 0)  # d loss / d u: q below the target, q - 1 above (the max picks it)
    loss = mean_last(slope * u)  # = max(q u, (q - 1) u)
    if not with_grad:
        return loss
    grad = np.negative(slope, out=slope)  # d u / d y_pred = -1
    grad[u == 0] = 0.5 - q  # the midpoint of the subgradient [-q, 1 - q] at zero error
    if width(u) > 1:
        grad /= width(u)
    return loss, grad


quantile = Loss(
    "quantile",
    _quantile,
    family="regression",
    chapter="regression/msle-mape-quantile",
    references=("koenker1978regression",),
    summary="pinball loss: asymmetric absolute error whose minimiser is the q-quantile",
    hyper={"q": Hyper(0.5, "(0,1)", "the quantile level")},
    configs=({}, {"q": 0.1}, {"q": 0.9}),
    kinks=_error_kink,
)
