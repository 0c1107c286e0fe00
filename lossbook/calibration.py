"""Calibration: how far a classifier's confidence is from its accuracy, and temperature scaling.

>>> import numpy as np, lossbook as lb
>>> probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
>>> round(lb.calibration.ece(probs, np.array([0, 1, 1, 0]), n_bins=1), 3)  # one bin: |accuracy - confidence|
0.0

Used by ``book/practice/calibration`` (and the chapters after it).  ``ece`` bins the top
probability in equal-width bins ((m - 1)/M, m/M] (Naeini et al. 2015; Guo et al. 2017 use M = 15);
``fit_temperature`` minimises the negative log-likelihood of softmax(z / T) on held-out logits
(Guo et al. 2017); that NLL is convex in 1/T (the log-sum-exp of a linear function of it), so
its minimum, searched on log T, is the only one.
"""
from __future__ import annotations

import numpy as np

from . import validation as V


def _probs_and_labels(probs, labels):
    p = V.as_float_array("probs", probs)
    if p.ndim != 2:
        raise ValueError(f"probs must have shape (N, C), one row of class probabilities per sample; got {p.shape}")
    V.check_domain("probs", p, "simplex")
    y = V.as_float_array("labels", labels)
    if y.shape != p.shape[:1]:
        raise ValueError(f"labels must have shape ({p.shape[0]},), one class id per row of probs; got {y.shape}")
    return p, V.check_class_labels("labels", y, p.shape[1])


def _bins(conf, n_bins):
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    return np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)  # bin m holds (m/M, (m+1)/M]


def ece(probs, labels, n_bins: int = 15) -> float:
    r"""Expected calibration error of (N, C) probabilities against integer labels.

    .. math::  \mathrm{ECE} = \sum_m \frac{|B_m|}{N}\,\big|\mathrm{acc}(B_m) - \mathrm{conf}(B_m)\big|

    with :math:`B_m` the samples whose top probability falls in bin m.  The value depends on the
    binning (``n_bins``); with one bin it is |accuracy - mean confidence|, a lower bound for any M.
    """
    p, y = _probs_and_labels(probs, labels)
    conf, correct = p.max(axis=1), (p.argmax(axis=1) == y).astype(float)
    bins = _bins(conf, n_bins)
    gap = np.abs(np.bincount(bins, correct, n_bins) - np.bincount(bins, conf, n_bins))  # |sum acc - sum conf|
    return float(gap.sum() / len(y))


def reliability(probs, labels, n_bins: int = 15):
    """The reliability diagram's data, per non-empty bin: centre, mean confidence, accuracy, count."""
    p, y = _probs_and_labels(probs, labels)
    conf, correct = p.max(axis=1), (p.argmax(axis=1) == y).astype(float)
    bins = _bins(conf, n_bins)
    count = np.bincount(bins, minlength=n_bins)
    keep = count > 0
    centres = (np.arange(n_bins) + 0.5) / n_bins
    return (centres[keep], np.bincount(bins, conf, n_bins)[keep] / count[keep],
            np.bincount(bins, correct, n_bins)[keep] / count[keep], count[keep])


def fit_temperature(logits, labels, bounds=(np.exp(-4.0), np.exp(4.0))) -> float:
    """The temperature T > 0 that minimises the NLL of softmax(logits / T) on held-out data.

    Searched on log T within ``bounds`` (bounded Brent, to 1e-8 in log T).  Dividing the logits by
    a positive T never changes the argmax, so accuracy is unchanged.
    """
    from scipy.optimize import minimize_scalar

    from .probabilistic import sparse_categorical_crossentropy

    z = V.as_float_array("logits", logits)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, C); got {z.shape}")
    lo, hi = (float(b) for b in bounds)
    if not 0 < lo < hi:
        raise ValueError(f"bounds must be 0 < low < high, got {bounds!r}")
    y = V.as_float_array("labels", labels)

    def nll(log_t):
        return sparse_categorical_crossentropy(y, z / np.exp(log_t), from_logits=True)

    res = minimize_scalar(nll, bounds=(np.log(lo), np.log(hi)), method="bounded", options={"xatol": 1e-8})
    return float(np.exp(res.x))
