"""Regression losses: a real-valued target, a real-valued prediction.

Every loss here is pointwise: the loss of a sample with targets of width D is the mean over its D
values (Keras's convention), so ``(N,)`` and ``(N, 1)`` inputs give the same per-sample values.
Chapter: ``book/regression``.
"""
from __future__ import annotations

import numpy as np

from .core import Counterpart, Loss, mean_last, width

__all__ = ["mean_squared_error"]
from .frameworks import import_keras, import_torch


# --------------------------------------------------------------------------------------------
# framework counterparts: each returns per-sample float64 values in lossbook's conventions
# --------------------------------------------------------------------------------------------
def _torch_pointwise(module_name, **kwargs):
    """torch's elementwise loss (reduction='none'), then the mean over the last axis."""

    def fn(y_true, y_pred, **_):
        torch = import_torch()
        module = getattr(torch.nn, module_name)(reduction="none", **kwargs)
        out = module(torch.as_tensor(y_pred), torch.as_tensor(y_true)).numpy()  # torch: (input, target)
        return mean_last(out)

    return fn


def _keras_pointwise(class_name, **kwargs):
    """A Keras loss class with reduction=None on (N, D) float32 input: per-sample values."""

    def fn(y_true, y_pred, **_):
        keras = import_keras()
        yt, yp = np.asarray(y_true), np.asarray(y_pred)
        if yp.ndim == 1:  # Keras reduces the last axis: give it (N, 1), or the batch collapses
            yt, yp = yt[:, None], yp[:, None]
        out = getattr(keras.losses, class_name)(reduction=None, **kwargs)(yt.astype("float32"), yp.astype("float32"))
        return np.asarray(out, dtype=np.float64)

    return fn


KERAS_RTOL = 1e-5  # Keras computes in float32 whatever it is given


# --------------------------------------------------------------------------------------------
# Mean squared error
# --------------------------------------------------------------------------------------------
def _mean_squared_error(y_true, y_pred, *, with_grad):
    """Mean squared error.

    .. math::  \\ell_i = \\frac{1}{D}\\sum_{d=1}^{D} (\\hat y_{id} - y_{id})^2,
               \\qquad \\frac{\\partial \\ell_i}{\\partial \\hat y_{id}} = \\frac{2}{D}(\\hat y_{id} - y_{id})

    The negative log-likelihood of a Gaussian with fixed variance, up to scale and a constant.
    Nothing to stabilise: the only risk is overflow of ``err**2`` beyond ~1e154, far outside any
    sensible regression target.  Chapter: ``book/regression/mse``.
    """
    err = y_pred - y_true
    loss = mean_last(err * err)
    if not with_grad:
        return loss
    return loss, (2.0 / width(err)) * err


mean_squared_error = Loss(
    "mean_squared_error",
    _mean_squared_error,
    family="regression",
    chapter="regression/mse",
    summary="squared error; Gaussian negative log-likelihood",
    counterparts=(
        Counterpart("torch", "torch.nn.MSELoss",
                    "torch.nn.MSELoss()(y_pred, y_true) with equal shapes (torch broadcasts (N,1) against (N,) "
                    "with only a warning)", _torch_pointwise("MSELoss")),
        Counterpart("keras", "keras.losses.MeanSquaredError",
                    "keras.losses.MeanSquaredError()(y_true, y_pred) on (N, 1) arrays (1-D input collapses the batch)",
                    _keras_pointwise("MeanSquaredError"), rtol=KERAS_RTOL, atol=1e-6),
    ),
)
