"""The bridge: a lossbook loss as a torch op whose backward pass is the analytic gradient.

``torch.autograd.Function`` lets us say what the forward and the backward of an operation are.
Forward hands the tensors to NumPy (float64), computes each sample's loss and, in the same pass,
each sample's gradient; backward multiplies that gradient by the incoming ``grad_output``.  Torch
never differentiates our NumPy code: it uses exactly the gradient derived in the book, which is
why ``torch.autograd.gradcheck`` on the bridge is a test of the derivation.

The same per-sample op is a Keras 3 loss on the torch backend: Keras calls ``fn(y_true, y_pred)``,
expects one value per sample, and applies its own reduction and sample weights on top.
"""
from __future__ import annotations

import numpy as np

from . import validation as V
from .frameworks import import_torch


def _function_class():
    torch = import_torch()

    class AnalyticLoss(torch.autograd.Function):
        """Per-sample loss values; backward = grad_output (N,) times the per-sample gradient."""

        @staticmethod
        def forward(ctx, y_pred, y_true, loss, hyper):
            yt, yp, hp = loss.prepare(y_true, y_pred, hyper)
            losses, grad = loss._per_sample(yt, yp, with_grad=True, **hp)
            ctx.save_for_backward(torch.from_numpy(np.ascontiguousarray(grad)))
            return torch.from_numpy(np.asarray(losses)).to(dtype=y_pred.dtype, device=y_pred.device)

        @staticmethod
        def backward(ctx, grad_output):
            (grad,) = ctx.saved_tensors
            g_out = grad_output.detach().to(torch.float64).cpu()
            if grad.ndim == 2:
                g_out = g_out[:, None]
            return (g_out * grad).to(dtype=grad_output.dtype, device=grad_output.device), None, None, None

    return AnalyticLoss


_FUNCTION = None


def per_sample_op(loss, y_true, y_pred, **hyper):
    """Per-sample losses as a torch tensor that carries the analytic gradient."""
    global _FUNCTION
    if _FUNCTION is None:
        _FUNCTION = _function_class()
    return _FUNCTION.apply(y_pred, y_true, loss, hyper)


def torch_loss(loss, *, reduction: str = "mean", **hyper):
    """See :meth:`lossbook.core.Loss.torch`."""
    torch = import_torch()
    V.check_reduction(reduction)
    loss.resolve(hyper)  # fail now, not at the first batch

    def fn(y_true, y_pred, sample_weight=None):
        if not torch.is_tensor(y_pred):
            raise TypeError(f"y_pred must be a torch tensor, got {type(y_pred).__name__}")
        per = per_sample_op(loss, y_true, y_pred, **hyper)
        if sample_weight is not None:
            w = torch.as_tensor(sample_weight, dtype=per.dtype, device=per.device)
            V.check_sample_weight(w.detach().cpu().numpy(), per.shape[0])
            per = per * w
        if reduction == "none":
            return per
        return per.sum() if reduction == "sum" else per.sum() / per.shape[0]

    fn.__name__ = f"lossbook_{loss.name}"
    fn.__doc__ = f"lossbook's {loss.name} on torch tensors (reduction={reduction!r}, {hyper})."
    return fn


def keras_loss(loss, **hyper):
    """See :meth:`lossbook.core.Loss.keras`. Keras reduces (mean over the batch by default)."""
    loss.resolve(hyper)

    def fn(y_true, y_pred):
        if loss.shape == "labels" and y_true.ndim == 2 and y_true.shape[-1] == 1:
            y_true = y_true[:, 0]  # Keras hands sparse labels over as (N, 1)
        return per_sample_op(loss, y_true, y_pred, **hyper)

    fn.__name__ = f"lossbook_{loss.name}"
    return fn
