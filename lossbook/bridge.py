"""The bridge: a lossbook loss as a torch op whose backward pass is the analytic gradient.

``torch.autograd.Function`` lets us say what the forward and the backward of an operation are.
Forward hands the tensors to NumPy (float64), computes each sample's loss and, in the same pass,
each sample's gradient; backward multiplies that gradient by the incoming ``grad_output``.  Torch
never differentiates our NumPy code: it uses exactly the gradient derived in the book, which is
why ``torch.autograd.gradcheck`` on the bridge is a test of the derivation.

The same per-sample op is a Keras 3 loss on the torch backend: Keras calls ``fn(y_true, y_pred)``,
expects one value per sample, and applies its own reduction and sample weights on top.

First derivatives only. The bridge has no second derivative: ``create_graph=True``, double
backward and ``torch.autograd.functional.hessian`` raise an error that says so, rather than torch's
silent zeros. For second-order work use the framework's own loss (``lb.LOSSES[name].counterparts``).
"""
from __future__ import annotations

import numpy as np

from . import validation as V
from .frameworks import import_torch


def _function_class():
    torch = import_torch()

    class AnalyticLoss(torch.autograd.Function):
        """Per-sample loss values (or one value, for a batch loss); backward = grad_output times
        the analytic gradient, for every differentiated input."""

        @staticmethod
        def forward(ctx, loss, hyper, *inputs):
            *arrays, hp = loss.prepare(*inputs, hyper)
            losses, grads = loss._per_sample(*arrays, with_grad=True, **hp)
            grads = grads if isinstance(grads, tuple) else (grads,)
            ctx.save_for_backward(*(torch.from_numpy(np.ascontiguousarray(g)) for g in grads))
            ctx.diff = loss.diff_args
            ctx.n_inputs = len(inputs)
            like = inputs[loss.diff_args[0]]
            return torch.as_tensor(np.asarray(losses, dtype=np.float64)).to(dtype=like.dtype, device=like.device)

        @staticmethod
        def backward(ctx, grad_output):
            if torch.is_grad_enabled():  # the engine runs backward in grad mode only for create_graph
                raise RuntimeError(SECOND_ORDER)
            g_out = grad_output.detach().to(torch.float64).cpu()
            out = [None] * ctx.n_inputs
            for i, grad in zip(ctx.diff, ctx.saved_tensors):
                scale = g_out if g_out.ndim == 0 else g_out.reshape((-1,) + (1,) * (grad.ndim - 1))
                out[i] = (scale * grad).to(dtype=grad_output.dtype, device=grad_output.device)
            return (None, None, *out)

    return AnalyticLoss


_FUNCTION = None

SECOND_ORDER = (
    "lossbook's torch bridge has no second derivative: its backward is the analytic first "
    "derivative (.grad), computed in NumPy, so torch cannot differentiate it again "
    "(create_graph=True, double backward, torch.autograd.functional.hessian). Use the framework's own "
    "loss for second-order work (see the loss's .counterparts), or differentiate .grad by hand.")


def per_sample_op(loss, *inputs, **hyper):
    """Per-sample losses (one value for a batch loss) as a torch tensor that carries the analytic
    gradient.  ``inputs`` in the loss's ``args`` order: ``(y_true, y_pred)`` for most losses."""
    global _FUNCTION
    if _FUNCTION is None:
        _FUNCTION = _function_class()
    return _FUNCTION.apply(loss, hyper, *inputs)


def torch_loss(loss, *, reduction: str = "mean", **hyper):
    """See :meth:`lossbook.core.Loss.torch`."""
    torch = import_torch()
    loss._check_batch_keywords(reduction, None)
    loss.resolve(hyper)  # fail now, not at the first batch

    def fn(*inputs, sample_weight=None):
        if len(inputs) != len(loss.args):
            raise TypeError(f"{fn.__name__} takes {len(loss.args)} inputs ({', '.join(loss.arg_names)}), "
                            f"got {len(inputs)}")
        for i in loss.diff_args:
            if not torch.is_tensor(inputs[i]):
                raise TypeError(f"{loss.args[i].name} must be a torch tensor, got {type(inputs[i]).__name__}")
        if loss.pair and torch.is_tensor(inputs[0]) and inputs[0].requires_grad and not inputs[1].requires_grad:
            raise TypeError(
                f"{fn.__name__}(y_true, y_pred): y_true requires grad and y_pred does not. lossbook "
                "takes (y_true, y_pred), Keras's order; torch's losses take (input, target). "
                f"Call {fn.__name__}(target, model(x)).")
        if not loss.pair:
            for i, a in enumerate(loss.args):
                if not a.diff and torch.is_tensor(inputs[i]) and inputs[i].requires_grad:
                    raise TypeError(
                        f"{fn.__name__}({', '.join(loss.arg_names)}): {a.name} requires grad, but {loss.name} "
                        f"sends no gradient to {a.name} (a target, a length: an input it does not "
                        f"differentiate). Check the order of the inputs, "
                        f"or pass {a.name}.detach().")
        per = per_sample_op(loss, *inputs, **hyper)
        if loss.batch:
            if sample_weight is not None:
                raise TypeError(f"sample_weight: {loss.name} is a batch loss; it takes no sample_weight")
            return per
        if sample_weight is not None:
            w = torch.as_tensor(sample_weight, dtype=per.dtype, device=per.device)
            V.check_sample_weight(w.detach().cpu().numpy(), per.shape[0])
            per = per * w
        if reduction == "none":
            return per
        return per.sum() if reduction == "sum" else per.sum() / per.shape[0]

    fn.__name__ = f"lossbook_{loss.name}"
    what = "batch loss" if loss.batch else f"reduction={reduction!r}"
    fn.__doc__ = f"lossbook's {loss.name} on torch tensors ({what}, {hyper})."
    return fn


def _keras_inputs(y_true, y_pred):
    """Keras's own losses accept NumPy arrays and lists: so does the bridge (as float64 tensors)."""
    torch = import_torch()
    as_tensor = lambda x: x if torch.is_tensor(x) else torch.as_tensor(np.asarray(x, dtype=np.float64))
    return as_tensor(y_true), as_tensor(y_pred)


def _symbolic_placeholder(loss, y_pred):
    """Keras builds a model's losses once on placeholder tensors (all ones, or on torch's "meta"
    device) to learn the output's shape and dtype. Validating placeholders would reject them (rows
    of ones are not probabilities), so answer with the shape alone; no real batch takes this path."""
    try:
        from keras.src.backend.common.symbolic_scope import in_symbolic_scope
    except ImportError:  # pragma: no cover - another Keras layout: validate as usual
        return None
    if not in_symbolic_scope():
        return None
    torch = import_torch()
    shape = () if loss.batch else (y_pred.shape[0],)
    return torch.zeros(shape, dtype=y_pred.dtype, device=y_pred.device)


def keras_loss(loss, **hyper):
    """See :meth:`lossbook.core.Loss.keras`. Keras reduces (mean over the batch by default)."""
    loss.resolve(hyper)

    if loss.pair:
        def fn(y_true, y_pred):
            y_true, y_pred = _keras_inputs(y_true, y_pred)
            placeholder = _symbolic_placeholder(loss, y_pred)
            if placeholder is not None:
                return placeholder
            if loss.shape == "labels" and y_true.ndim == 2 and y_true.shape[-1] == 1:
                y_true = y_true[:, 0]  # Keras hands sparse labels over as (N, 1)
            return per_sample_op(loss, y_true, y_pred, **hyper)
    elif loss.keras_inputs is not None:  # inputs Keras's (y_true, y_pred) carries in the loss's own way
        def fn(y_true, y_pred):
            y_true, y_pred = _keras_inputs(y_true, y_pred)
            placeholder = _symbolic_placeholder(loss, y_pred)
            if placeholder is not None:
                return placeholder
            return per_sample_op(loss, *loss.keras_inputs(y_true, y_pred), **hyper)
    else:
        fixed = [i for i, a in enumerate(loss.args) if not a.diff]
        if len(fixed) > 1:
            raise NotImplementedError(f"{loss.name} has {len(fixed)} inputs that are not differentiated; "
                                      "Keras's (y_true, y_pred) can carry one")

        def fn(y_true, y_pred):
            torch = import_torch()
            y_true, y_pred = _keras_inputs(y_true, y_pred)
            placeholder = _symbolic_placeholder(loss, y_pred)
            if placeholder is not None:
                return placeholder
            parts = torch.chunk(y_pred, len(loss.diff_args), dim=-1)  # seed 001's tf.split(y_pred, k, axis=1)
            if len({p.shape for p in parts}) != 1:
                raise ValueError(f"y_pred must hold the {len(loss.diff_args)} inputs "
                                 f"({', '.join(loss.args[i].name for i in loss.diff_args)}) side by side in "
                                 f"equal widths; got width {y_pred.shape[-1]}")
            inputs = [None] * len(loss.args)
            for i, p in zip(loss.diff_args, parts):
                inputs[i] = p
            for i in fixed:
                inputs[i] = y_true.reshape(-1) if loss.args[i].kind == "row" else y_true
            return per_sample_op(loss, *inputs, **hyper)

    fn.__name__ = f"lossbook_{loss.name}"
    return fn
