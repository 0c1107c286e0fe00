r"""Angular-margin softmax losses: ArcFace and CosFace, on the cosines of a normalised classifier.

Both start from the same model head: the embedding x and every class's weight vector w_c are
L2-normalised, so the logits are cosines :math:`\cos\theta_{ic} = \hat x_i \cdot \hat w_c` in
[-1, 1].  Softmax cross-entropy on ``scale * cos`` would be NormFace; these losses first move the
*target* class's cosine down by a margin, so that a sample only stops paying when its angle to its
own class beats the angles to the others by that margin.  ArcFace (Deng et al. 2019) adds the
margin to the angle, CosFace (Wang et al. 2018) subtracts it from the cosine.

The losses take the cosines themselves, ``(labels, cosines)`` with ``cosines`` of shape (N, C):
the normalisation is a layer of the model (torch differentiates it), the loss is what is derived
here, and it keeps the ``(y_true, y_pred)`` contract (reductions, sample weights, the bridges).
Chapter: ``book/contrastive/angular-margins``.
Their framework counterparts (torch, Keras, ...), with the recipes, are in ``lossbook/counterparts.py``.
"""
from __future__ import annotations

import numpy as np

from .core import Hyper, Loss, put
from .probabilistic import _flat_index, _softmax_parts

__all__ = ["arcface", "cosface"]

#: the derivative of cos(arccos c + m) is cos m + c sin m / sin(arccos c), infinite at c = 1.  At
#: c = 1 exactly lossbook uses the derivative at the largest double below 1, where
#: sin(arccos c) = sqrt((1 - c)(1 + c)) = sqrt(2**-53 * (2 - 2**-53)), about 1.49e-8
SIN_FLOOR = float(np.sqrt((1.0 - np.nextafter(1.0, 0.0)) * (1.0 + np.nextafter(1.0, 0.0))))


def _target_margin(c, kind, margin):
    """phi(c), the target class's cosine after the margin, and d phi / d c."""
    if kind == "cosface":
        return c - margin, np.ones_like(c)
    # ArcFace: cos(theta + m) = c cos m - sin(theta) sin m while theta + m <= pi (c >= -cos m); past
    # that point cos(theta + m) would turn back up, so pytorch-metric-learning (and InsightFace's
    # arcface_torch during 2022) switch to c - m sin m, which keeps phi increasing in c
    cm, sm = np.cos(margin), np.sin(margin)
    sin = np.sqrt(np.maximum((1.0 - c) * (1.0 + c), 0.0))
    inside = c >= -cm
    phi = np.where(inside, c * cm - sin * sm, c - margin * sm)
    dphi = np.where(inside, cm + c * sm / np.maximum(sin, SIN_FLOOR), 1.0)
    return phi, dphi


def _margin_softmax(y_true, y_pred, with_grad, scale, margin, kind):
    true = _flat_index(y_pred, y_true.astype(np.int64))
    c = np.take(y_pred, true)
    phi, dphi = _target_margin(c, kind, margin)
    z = scale * y_pred
    put(z, true, scale * phi)
    shifted, log_norm, grad = _softmax_parts(z)
    loss = log_norm[:, 0] - np.take(shifted, true)
    if not with_grad:
        return loss
    put(grad, true, (np.take(grad, true) - 1.0) * dphi)  # the target's logit is scale * phi(c)
    grad *= scale
    return loss, grad


def _arcface(y_true, y_pred, *, with_grad, scale, margin):
    r"""ArcFace: softmax cross-entropy on scaled cosines, with an additive angular margin on the target.

    With :math:`c_{ij} = \cos\theta_{ij}` the cosines (``y_pred``), :math:`s` the scale and
    :math:`m` the margin in radians:

    .. math::  \ell_i = -\log\frac{e^{s\,\phi(c_{iy_i})}}{e^{s\,\phi(c_{iy_i})} + \sum_{j\ne y_i} e^{s\,c_{ij}}},
               \qquad \phi(c) = \begin{cases} \cos(\theta + m) = c\cos m - \sqrt{1-c^2}\,\sin m & \theta \le \pi - m \\
               c - m\sin m & \theta > \pi - m \end{cases}

    The second branch is pytorch-metric-learning's (and InsightFace's ``arcface_torch``'s in its
    2022 versions; its current code applies the margin under ``torch.no_grad()`` instead, so its
    gradient is the plain cosine softmax's at the modified logits): past
    :math:`\theta = \pi - m`, :math:`\cos(\theta + m)` would increase again with the angle.  It is
    not continuous there (:math:`-1` against :math:`-\cos m - m\sin m`).  With :math:`P` the
    softmax of the modified logits:

    .. math::  \frac{\partial \ell_i}{\partial c_{ij}} = s\,P_{ij} \;(j \ne y_i), \qquad
               \frac{\partial \ell_i}{\partial c_{iy_i}} = s\,(P_{iy_i} - 1)\,\phi'(c_{iy_i}), \quad
               \phi'(c) = \cos m + \frac{c\,\sin m}{\sqrt{1 - c^2}} \text{ (first branch)}, \; 1 \text{ (second)}

    :math:`\phi'` is infinite at :math:`c = 1` (:math:`\theta = 0`: the angle has a vertical tangent
    in the cosine).  At exactly 1, lossbook returns the derivative at the largest double below 1
    (:math:`\sin\theta` floored at 1.49e-8), which is finite.  At :math:`m = 0` the loss is the
    sparse categorical cross-entropy of the logits :math:`s\,c`.  ``cosines`` must lie in [-1, 1]:
    clamp a normalised dot product that rounding pushed past 1.  Stability: the cosine form of
    :math:`\cos(\theta+m)` (no arccos), log-softmax shifted by the row maximum.
    Chapter: ``book/contrastive/angular-margins``.
    """
    return _margin_softmax(y_true, y_pred, with_grad, scale, margin, "arcface")


def _cosface(y_true, y_pred, *, with_grad, scale, margin):
    r"""CosFace (large-margin cosine loss): softmax cross-entropy on scaled cosines, the target's cosine minus a margin.

    .. math::  \ell_i = -\log\frac{e^{s\,(c_{iy_i} - m)}}{e^{s\,(c_{iy_i} - m)} + \sum_{j\ne y_i} e^{s\,c_{ij}}},
               \qquad \frac{\partial \ell_i}{\partial c_{ij}} = s\,(P_{ij} - [j = y_i])

    with :math:`c_{ij}` the cosines (``y_pred``), :math:`s` the scale, :math:`m` the margin and
    :math:`P` the softmax of the modified logits.  It is the sparse categorical cross-entropy of the
    logits :math:`s\,c - s\,m\,[j = y_i]`: the multiclass hinge's "beat every other class by a
    margin", made smooth.  Stability: log-softmax shifted by the row maximum.
    Chapter: ``book/contrastive/angular-margins``.
    """
    return _margin_softmax(y_true, y_pred, with_grad, scale, margin, "cosface")


def _angular_kinks(y_true, y_pred, *, scale, margin, arc):
    """Samples whose target cosine is near 1 (ArcFace's infinite slope) or its branch switch."""
    c = y_pred[np.arange(len(y_true)), y_true.astype(int)]
    if not arc:
        return np.zeros(len(c), bool)
    return (c > 1 - 1e-3) | (np.abs(c + np.cos(margin)) < 1e-4)


def _extremes(name):
    def extremes():
        # target cosines at 1, -1, the branch switch; rows of +-1 (unit vectors cannot all be this
        # aligned, but the loss is defined on any cosines in [-1, 1])
        lab = np.array([0.0, 1.0, 2.0, 0.0, 1.0])
        rows = np.array([[1.0, -1.0, 1.0], [-1.0, -1.0, -1.0], [0.3, 0.2, 1.0], [-np.cos(0.5), 0.0, 0.1],
                         [0.0, 1.0, -1.0]])
        out = []
        for cfg in CONFIGS[name]:
            out += [(lab, rows, cfg), (lab, np.zeros((5, 3)), cfg), (lab, np.ones((5, 3)), cfg),
                    (lab, -np.ones((5, 3)), cfg), (lab[:1], np.array([[np.nextafter(1.0, 0), -1.0, 1e-300]]), cfg)]
        return out
    return extremes


CONFIGS = {"arcface": ({}, {"margin": 0.0}, {"scale": 1.0, "margin": 0.2}, {"margin": 3.0}),
           "cosface": ({}, {"margin": 0.0}, {"scale": 1.0, "margin": 1.5})}

_COMMON = dict(family="embedding", chapter="contrastive/angular-margins", y_pred="cosine", shape="labels")

arcface = Loss(
    "arcface",
    _arcface,
    references=("deng2019arcface",),
    summary="ArcFace: softmax cross-entropy on scale * cosines, the target's angle increased by margin (radians)",
    hyper={"scale": Hyper(64.0, ">0", "multiplies the cosines (the inverse of a temperature)"),
           "margin": Hyper(0.5, ">=0", "added to the target class's angle, in radians (pml's ArcFaceLoss takes "
                                        "degrees: 28.6 there is 0.499 here)")},
    kinks=lambda y_true, y_pred, *, scale, margin: _angular_kinks(y_true, y_pred, scale=scale, margin=margin, arc=True),
    configs=CONFIGS["arcface"],
    extremes=_extremes("arcface"),
    **_COMMON,
)

cosface = Loss(
    "cosface",
    _cosface,
    references=("wang2018cosface", "wang2017normface"),
    summary="CosFace: softmax cross-entropy on scale * cosines, the target's cosine decreased by margin",
    hyper={"scale": Hyper(64.0, ">0", "multiplies the cosines (the inverse of a temperature)"),
           "margin": Hyper(0.35, ">=0", "subtracted from the target class's cosine")},
    configs=CONFIGS["cosface"],
    extremes=_extremes("cosface"),
    **_COMMON,
)
