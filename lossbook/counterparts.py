"""Framework counterparts: how torch, Keras, torchmetrics, pytorch-metric-learning and optax compute each loss.

The family modules (``regression.py``, ``probabilistic.py``, ...) hold the maths and the registration
a reader reads beside a chapter; everything that calls a framework to check them lives here, one
section per family: the adapters, then a table ``{loss name: (Counterpart, ...)}`` with each
counterpart's name, the recipe that makes it agree with lossbook, its adapter and its tolerance.
The exact references of two losses (mpmath for ``log_cosh``, scikit-learn for ``quantile``) are
here too.  :func:`attach_counterparts`, called by ``import lossbook`` once every family module has
registered its losses, gives each loss the entries of its table in their order, then its optax
counterpart (:data:`OPTAX`); the tests, :func:`lossbook.compare` and the API reference iterate
``loss.counterparts`` in that order.

Each adapter takes NumPy arrays in lossbook's order and conventions and returns the framework's
per-sample values as float64 NumPy (one number for a batch loss); it raises ``NotImplementedError``
with the reason when the framework cannot express the setting.  float64 frameworks are held to
1e-12; Keras computes in float32 whatever it is given, and is held to ``KERAS_RTOL`` / ``KERAS_ATOL``.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .core import KERAS_EPSILON, LOSSES, Counterpart, mean_last
from .embedding import _norm
from .frameworks import import_jax, import_keras, import_torch, keras_per_sample
from .infonce import NORM_EPS, _lse, _normalize
from .margin import _pick
from .probabilistic import _smooth_binary, _smooth_categorical

KERAS_RTOL, KERAS_ATOL = 1e-5, 1e-6  # Keras computes in float32 whatever it is given


def _t(x, dtype="float64"):
    """NumPy input as a torch tensor: float64, or ``"int64"`` for class labels."""
    torch = import_torch()
    return torch.as_tensor(np.asarray(x), dtype=getattr(torch, dtype))


# ============================================================================================
# regression (lossbook/regression.py)
# ============================================================================================
def _torch_pointwise(module_name, hyper_map=None, **kwargs):
    """torch's elementwise loss (reduction='none'), then the mean over the last axis.

    ``hyper_map`` maps lossbook hyperparameter names to the module's keyword (``{"delta": "delta"}``):
    those are forwarded from each call; ``kwargs`` are fixed.
    """

    def fn(y_true, y_pred, **hyper):
        torch = import_torch()
        extra = {theirs: hyper[ours] for ours, theirs in (hyper_map or {}).items()}
        module = getattr(torch.nn, module_name)(reduction="none", **kwargs, **extra)
        out = module(torch.as_tensor(y_pred), torch.as_tensor(y_true)).numpy()  # torch: (input, target)
        return mean_last(out)

    return fn


def _keras_pointwise(class_name, hyper_map=None, **kwargs):
    """A Keras loss class with reduction=None on (N, D) float32 input: per-sample values.

    ``hyper_map`` as in :func:`_torch_pointwise`.
    """

    def fn(y_true, y_pred, **hyper):
        extra = {theirs: hyper[ours] for ours, theirs in (hyper_map or {}).items()}
        return keras_per_sample(class_name, y_true, y_pred, **kwargs, **extra)

    return fn


def _torch_composed(expr, name):
    """A float64 torch reference built from torch ops, for losses torch.nn does not have."""

    def fn(y_true, y_pred, **hyper):
        torch = import_torch()
        out = expr(torch, torch.as_tensor(y_true, dtype=torch.float64), torch.as_tensor(y_pred, dtype=torch.float64),
                   **hyper)
        return mean_last(out.numpy())

    fn.__name__ = name
    return fn


def _keras_msle(y_true, y_pred, *, clip):
    if not clip and (np.min(y_true) < 0 or np.min(y_pred) < 0):
        raise NotImplementedError("Keras floors values below 1e-7: it has no exact MSLE for values in (-1, 0)")
    return _keras_pointwise("MeanSquaredLogarithmicError")(y_true, y_pred)


def _mpmath_log_cosh(y_true, y_pred, **_):
    import mpmath

    with mpmath.workdps(40):
        vals = [float(mpmath.log(mpmath.cosh(mpmath.mpf(float(p)) - mpmath.mpf(float(t)))))
                for t, p in zip(np.ravel(y_true), np.ravel(y_pred))]
    return mean_last(np.asarray(vals).reshape(np.shape(y_pred)))


def _same_divisor(y_true, epsilon, theirs, name):
    a = np.abs(np.asarray(y_true, float))
    if not np.array_equal(np.maximum(a, epsilon), np.maximum(a, theirs)):
        raise NotImplementedError(f"{name} divides by max(|y_true|, {theirs:g}), not max(|y_true|, {epsilon:g})")


def _keras_mape(y_true, y_pred, *, epsilon):
    _same_divisor(y_true, epsilon, KERAS_EPSILON, "Keras")
    return _keras_pointwise("MeanAbsolutePercentageError")(y_true, y_pred)


TORCHMETRICS_MAPE_EPSILON = 1.17e-06


def _torchmetrics_mape(y_true, y_pred, *, epsilon):
    """torchmetrics reduces everything to one number: call it once per sample, times 100."""
    _same_divisor(y_true, epsilon, TORCHMETRICS_MAPE_EPSILON, "torchmetrics")
    torch = import_torch()
    from torchmetrics.functional import mean_absolute_percentage_error as tm_mape

    yt, yp = np.atleast_2d(np.asarray(y_true, float).T).T, np.atleast_2d(np.asarray(y_pred, float).T).T
    return np.array([100.0 * float(tm_mape(torch.as_tensor(p), torch.as_tensor(t))) for t, p in zip(yt, yp)])


def _sklearn_pinball(y_true, y_pred, *, q):
    from sklearn.metrics import mean_pinball_loss

    yt, yp = np.atleast_2d(np.asarray(y_true, float).T).T, np.atleast_2d(np.asarray(y_pred, float).T).T
    return np.array([mean_pinball_loss(t, p, alpha=q) for t, p in zip(yt, yp)])


REGRESSION = {
    "mean_squared_error": (
        Counterpart("torch", "torch.nn.MSELoss",
                    "torch.nn.MSELoss()(y_pred, y_true) with equal shapes (torch broadcasts (N,1) against (N,) "
                    "with only a warning)", _torch_pointwise("MSELoss")),
        Counterpart("keras", "keras.losses.MeanSquaredError",
                    "keras.losses.MeanSquaredError()(y_true, y_pred) on (N, 1) arrays (1-D input collapses the batch)",
                    _keras_pointwise("MeanSquaredError"), rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "mean_absolute_error": (
        Counterpart("torch", "torch.nn.L1Loss", "torch.nn.L1Loss()(y_pred, y_true) with equal shapes",
                    _torch_pointwise("L1Loss")),
        Counterpart("keras", "keras.losses.MeanAbsoluteError",
                    "keras.losses.MeanAbsoluteError()(y_true, y_pred) on (N, 1) arrays",
                    _keras_pointwise("MeanAbsoluteError"), rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "mean_squared_logarithmic_error": (
        Counterpart("torch", "torch.log1p (composed; torch.nn has no MSLE)",
                    "((torch.log1p(y_pred) - torch.log1p(y_true))**2).mean(-1); with clip=True clamp both at 1e-7 first",
                    _torch_composed(lambda torch, yt, yp, clip: (
                        torch.log1p(yp.clamp(min=KERAS_EPSILON) if clip else yp)
                        - torch.log1p(yt.clamp(min=KERAS_EPSILON) if clip else yt)) ** 2, "torch_msle")),
        Counterpart("keras", "keras.losses.MeanSquaredLogarithmicError",
                    "keras.losses.MeanSquaredLogarithmicError()(y_true, y_pred) on (N, 1) arrays equals clip=True, "
                    "and clip=False where no value is negative",
                    _keras_msle, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "huber": (
        Counterpart("torch", "torch.nn.HuberLoss", "torch.nn.HuberLoss(delta=delta)(y_pred, y_true)",
                    _torch_pointwise("HuberLoss", {"delta": "delta"})),
        Counterpart("keras", "keras.losses.Huber", "keras.losses.Huber(delta=delta)(y_true, y_pred) on (N, 1) arrays",
                    _keras_pointwise("Huber", {"delta": "delta"}), rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "smooth_l1": (
        Counterpart("torch", "torch.nn.SmoothL1Loss", "torch.nn.SmoothL1Loss(beta=beta)(y_pred, y_true)",
                    _torch_pointwise("SmoothL1Loss", {"beta": "beta"})),
    ),
    "log_cosh": (
        Counterpart("keras", "keras.losses.LogCosh", "keras.losses.LogCosh()(y_true, y_pred) on (N, 1) arrays",
                    _keras_pointwise("LogCosh"), rtol=KERAS_RTOL, atol=KERAS_ATOL),
        Counterpart("mpmath", "mpmath.log(mpmath.cosh(e)) at 40 digits", "the exact value, rounded once to float64",
                    _mpmath_log_cosh, rtol=1e-13, atol=1e-300),
    ),
    "mean_absolute_percentage_error": (
        Counterpart("keras", "keras.losses.MeanAbsolutePercentageError",
                    "keras.losses.MeanAbsolutePercentageError()(y_true, y_pred) on (N, 1) arrays equals epsilon=1e-7",
                    _keras_mape, rtol=KERAS_RTOL, atol=1e-4),
        Counterpart("torchmetrics", "torchmetrics.functional.mean_absolute_percentage_error",
                    "100 * mean_absolute_percentage_error(y_pred, y_true) per sample (a fraction, over all elements, "
                    "divisor max(|y|, 1.17e-6))", _torchmetrics_mape, rtol=1e-12, atol=1e-12),
    ),
    "quantile": (
        Counterpart("numpy", "sklearn.metrics.mean_pinball_loss",
                    "mean_pinball_loss(y_true_row, y_pred_row, alpha=q) for each sample", _sklearn_pinball),
    ),
}


# ============================================================================================
# probabilistic (lossbook/probabilistic.py)
# ============================================================================================
def _torch_bce(y_true, y_pred, *, from_logits, label_smoothing, epsilon, pos_weight=None):
    torch = import_torch()
    y = _t(_smooth_binary(y_true, label_smoothing)[0])  # torch has no label_smoothing for BCE: smooth by hand
    w = None if pos_weight is None else _t(np.atleast_1d(pos_weight))
    if from_logits:
        out = torch.nn.BCEWithLogitsLoss(reduction="none", pos_weight=w)(_t(y_pred), y)
    else:
        p = _t(y_pred).clamp(epsilon, 1 - epsilon) if epsilon else _t(y_pred)
        if w is None:
            out = torch.nn.BCELoss(reduction="none")(p, y)
        else:  # BCELoss has no pos_weight: the formula, with xlogy for 0 log 0
            out = -(w * torch.special.xlogy(y, p) + torch.special.xlogy(1 - y, 1 - p))
    return mean_last(out.numpy())


def _keras_bce(y_true, y_pred, *, from_logits, label_smoothing, epsilon, pos_weight=None):
    if pos_weight is not None:
        raise NotImplementedError("keras.losses.BinaryCrossentropy has no pos_weight")
    return keras_per_sample("BinaryCrossentropy", y_true, y_pred, pointwise=True, from_logits=from_logits,
                             label_smoothing=label_smoothing)


def _torchvision_focal(y_true, y_pred, *, gamma, alpha, apply_class_balancing, from_logits, label_smoothing):
    """torchvision.ops.sigmoid_focal_loss, its formula written out in torch (torchvision is not a dependency)."""
    if not from_logits or label_smoothing:
        raise NotImplementedError("sigmoid_focal_loss takes logits and has no label smoothing")
    torch = import_torch()
    x, t = _t(y_pred), _t(y_true)
    p = torch.sigmoid(x)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    out = ce * (1 - p_t) ** gamma
    if apply_class_balancing:  # torchvision: alpha >= 0 applies it, alpha = -1 switches it off
        out = (alpha * t + (1 - alpha) * (1 - t)) * out
    return mean_last(out.numpy())


def _keras_focal(y_true, y_pred, *, gamma, alpha, apply_class_balancing, from_logits, label_smoothing):
    return keras_per_sample("BinaryFocalCrossentropy", y_true, y_pred, pointwise=True, gamma=gamma, alpha=alpha,
                             apply_class_balancing=apply_class_balancing, from_logits=from_logits,
                             label_smoothing=label_smoothing)


def _torch_cce(y_true, y_pred, *, from_logits, label_smoothing, epsilon, class_weight=None):
    torch = import_torch()
    w = None if class_weight is None else _t(class_weight)
    if not from_logits:
        # torch has no cross-entropy on probabilities; CrossEntropyLoss(torch.log(p), y) works until
        # some p is 0, where 0 * log(0) = 0 * -inf = nan: use xlogy, which defines 0 log 0 = 0
        p = _t(y_pred).clamp(epsilon, 1 - epsilon) if epsilon else _t(y_pred)
        y = _t(_smooth_categorical(np.asarray(y_true), label_smoothing))
        if w is not None:
            y = y * w
        return (-torch.special.xlogy(y, p).sum(dim=-1)).numpy()
    ce = torch.nn.CrossEntropyLoss(reduction="none", label_smoothing=label_smoothing, weight=w)
    return ce(_t(y_pred), _t(y_true)).numpy()  # probability targets: same shape as the input


def _keras_cce(y_true, y_pred, *, from_logits, label_smoothing, epsilon, class_weight=None):
    if class_weight is not None:
        raise NotImplementedError("Keras's class_weight belongs to Model.fit, not to the loss")
    return keras_per_sample("CategoricalCrossentropy", y_true, y_pred, pointwise=False, from_logits=from_logits,
                             label_smoothing=label_smoothing)


def _torch_scce(y_true, y_pred, *, from_logits, epsilon, ignore_index, label_smoothing, class_weight=None):
    torch = import_torch()
    labels = _t(y_true, "int64")
    ignore = -100 if ignore_index is None else ignore_index  # torch's default, never a class id
    w = None if class_weight is None else _t(class_weight)
    if from_logits:
        ce = torch.nn.CrossEntropyLoss(reduction="none", ignore_index=ignore, label_smoothing=label_smoothing,
                                       weight=w)
        return ce(_t(y_pred), labels).numpy()
    p = _t(y_pred).clamp(epsilon, 1 - epsilon) if epsilon else _t(y_pred)
    if label_smoothing:  # log p are logits whose softmax is p (rows sum to 1): CrossEntropyLoss smooths
        ce = torch.nn.CrossEntropyLoss(reduction="none", ignore_index=ignore, label_smoothing=label_smoothing,
                                       weight=w)
        return ce(torch.log(p), labels).numpy()
    return torch.nn.NLLLoss(reduction="none", ignore_index=ignore, weight=w)(torch.log(p), labels).numpy()


def _keras_scce(y_true, y_pred, *, from_logits, epsilon, ignore_index, label_smoothing, class_weight=None):
    if class_weight is not None:
        raise NotImplementedError("Keras's class_weight belongs to Model.fit, not to the loss")
    if label_smoothing:
        raise NotImplementedError("Keras's SparseCategoricalCrossentropy has no label_smoothing")
    return keras_per_sample("SparseCategoricalCrossentropy", y_true, y_pred, pointwise=False, from_logits=from_logits,
                            ignore_class=ignore_index)


def _torch_nll(y_true, y_pred):
    torch = import_torch()
    return torch.nn.NLLLoss(reduction="none")(_t(y_pred), _t(y_true, "int64")).numpy()


def _keras_nll(y_true, y_pred):
    # log-probabilities are logits whose logsumexp is 0: SCCE(from_logits=True) returns -log p_y
    return keras_per_sample("SparseCategoricalCrossentropy", y_true, y_pred, pointwise=False, from_logits=True)


def _torch_kl(y_true, y_pred, *, epsilon):
    torch = import_torch()
    p, y = _t(y_pred), _t(y_true)
    if epsilon:
        p, y = p.clamp(epsilon, 1.0), y.clamp(epsilon, 1.0)
    # torch: input = log-probabilities of the model, target = probabilities; sum over classes
    return torch.nn.KLDivLoss(reduction="none")(torch.log(p), y).sum(dim=-1).numpy()


def _keras_kl(y_true, y_pred, *, epsilon):
    return keras_per_sample("KLDivergence", y_true, y_pred, pointwise=False)


def _torch_poisson(y_true, y_pred, *, log_input, epsilon):
    torch = import_torch()
    out = torch.nn.PoissonNLLLoss(log_input=log_input, full=False, eps=epsilon, reduction="none")(_t(y_pred), _t(y_true))
    return mean_last(out.numpy())


def _keras_poisson(y_true, y_pred, *, log_input, epsilon):
    if log_input or epsilon != KERAS_EPSILON:
        raise NotImplementedError("Keras's Poisson takes rates and always adds 1e-7 inside the log: "
                                  "compare with poisson(epsilon=1e-7)")
    return keras_per_sample("Poisson", y_true, y_pred, pointwise=True)


PROBABILISTIC = {
    "binary_crossentropy": (
        Counterpart("torch", "torch.nn.BCELoss / torch.nn.BCEWithLogitsLoss",
                    "torch.nn.BCEWithLogitsLoss()(logits, y) for from_logits=True, torch.nn.BCELoss()(p, y) "
                    "otherwise (torch: prediction first); torch has no label_smoothing: pass y*(1-s)+s/2. "
                    "BCELoss clamps each log at -100, so p=0, y=1 gives 100 where lossbook gives inf. "
                    "pos_weight=w: BCEWithLogitsLoss(pos_weight=torch.tensor(w)) (shape (C,) broadcasts over "
                    "the last axis); BCELoss has none",
                    _torch_bce),
        Counterpart("keras", "keras.losses.BinaryCrossentropy",
                    "keras.losses.BinaryCrossentropy(from_logits=..., label_smoothing=...)(y, p) on (N, 1) "
                    "arrays; Keras clips p to [1e-7, 1 - 1e-7], so it equals lossbook(epsilon=1e-7) "
                    "(and lossbook's default wherever 1e-7 <= p <= 1 - 1e-7)",
                    _keras_bce, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "binary_focal_crossentropy": (
        Counterpart("torch", "torchvision.ops.sigmoid_focal_loss (formula)",
                    "torchvision.ops.sigmoid_focal_loss(logits, y, alpha=alpha if apply_class_balancing else -1, "
                    "gamma=gamma, reduction='none'), then the mean over the last axis; logits only",
                    _torchvision_focal),
        Counterpart("keras", "keras.losses.BinaryFocalCrossentropy",
                    "keras.losses.BinaryFocalCrossentropy(gamma=..., alpha=..., apply_class_balancing=..., "
                    "from_logits=...)(y, p) on (N, 1) arrays; Keras goes through its clipped BCE even with "
                    "from_logits=True, so it saturates at logits beyond about +-16",
                    _keras_focal, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "categorical_crossentropy": (
        Counterpart("torch", "torch.nn.CrossEntropyLoss (logits) / torch.special.xlogy (probabilities)",
                    "torch.nn.CrossEntropyLoss(label_smoothing=s)(logits, y) with float targets of the logits' "
                    "shape; on probabilities torch has no loss class: -torch.special.xlogy(y, p).sum(-1) "
                    "(CrossEntropyLoss(torch.log(p), y) gives nan as soon as some p is 0). class_weight=w: "
                    "CrossEntropyLoss(weight=torch.tensor(w)) (xlogy(y * w, p) on probabilities)",
                    _torch_cce),
        Counterpart("keras", "keras.losses.CategoricalCrossentropy",
                    "keras.losses.CategoricalCrossentropy(from_logits=..., label_smoothing=...)(y, p)",
                    _keras_cce, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "sparse_categorical_crossentropy": (
        Counterpart("torch", "torch.nn.CrossEntropyLoss / torch.nn.NLLLoss",
                    "torch.nn.CrossEntropyLoss(ignore_index=k, label_smoothing=s)(logits, labels) (labels int64, "
                    "shape (N,)); for probabilities torch.nn.NLLLoss(ignore_index=k)(torch.log(p), labels) "
                    "(CrossEntropyLoss(torch.log(p), ...) with smoothing). Per sample they agree; torch's "
                    "reduction='mean' divides by the rows not ignored, lossbook's by N: torch's mean is "
                    "lossbook's reduction='sum' over (labels != k).sum(). class_weight=w: weight=torch.tensor(w), "
                    "the same per sample; torch's mean divides by w[labels].sum(), lossbook's by N",
                    _torch_scce),
        Counterpart("keras", "keras.losses.SparseCategoricalCrossentropy",
                    "keras.losses.SparseCategoricalCrossentropy(from_logits=..., ignore_class=k)(labels, p) (its "
                    "mean, like torch's, divides by the rows not ignored); no label_smoothing argument in Keras "
                    "(one-hot encode and use CategoricalCrossentropy)",
                    _keras_scce, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "negative_log_likelihood": (
        Counterpart("torch", "torch.nn.NLLLoss", "torch.nn.NLLLoss()(log_probs, labels) after torch.nn.LogSoftmax(dim=1)",
                    _torch_nll),
        Counterpart("keras", "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
                    "Keras has no NLL loss; SparseCategoricalCrossentropy(from_logits=True)(labels, log_probs) "
                    "gives the same numbers, because log-softmax leaves log-probabilities unchanged",
                    _keras_nll, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "kl_divergence": (
        Counterpart("torch", "torch.nn.KLDivLoss",
                    "torch.nn.KLDivLoss(reduction='batchmean')(torch.log(p), y): log-probabilities first; "
                    "the default reduction='mean' divides by N*C, not N",
                    _torch_kl),
        Counterpart("keras", "keras.losses.KLDivergence",
                    "keras.losses.KLDivergence()(y, p); Keras clips y and p to [1e-7, 1], i.e. lossbook(epsilon=1e-7)",
                    _keras_kl, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "poisson": (
        Counterpart("torch", "torch.nn.PoissonNLLLoss",
                    "torch.nn.PoissonNLLLoss(log_input=False, eps=0.0)(rate, y) for rates (the default "
                    "log_input=True expects log-rates), full=False; eps=1e-7 matches Keras",
                    _torch_poisson),
        Counterpart("keras", "keras.losses.Poisson",
                    "keras.losses.Poisson()(y, rate) on (N, 1) arrays: rate - y*log(rate + 1e-7), "
                    "i.e. lossbook poisson(epsilon=1e-7)",
                    _keras_poisson, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
}


# ============================================================================================
# margin (lossbook/margin.py)
# ============================================================================================
def _keras_signed(class_name):
    """Keras Hinge / SquaredHinge, reduction=None, on (N, D) float32: per-sample values.

    With labels="01" the {0, 1} labels go to Keras as they are: every label of the batch is 0 or 1,
    so Keras converts them (see G1 of the chapter: it would not, had one label been -1)."""

    def fn(y_true, y_pred, **_):
        return keras_per_sample(class_name, y_true, y_pred)

    return fn


def _torchmetrics_binary(squared):
    """torchmetrics' binary_hinge_loss, one element per call (it returns means).

    Defined only when every prediction lies in [0, 1]: outside it torchmetrics applies a sigmoid
    first, a different loss."""

    def fn(y_true, y_pred, labels="pm1", **_):
        torch = import_torch()
        from torchmetrics.functional.classification import binary_hinge_loss

        yp = np.asarray(y_pred, dtype=np.float64)
        if yp.min() < 0 or yp.max() > 1:
            raise NotImplementedError("torchmetrics applies a sigmoid to predictions outside [0, 1]")
        t01 = np.asarray(y_true) if labels == "01" else (np.asarray(y_true) + 1) / 2  # torchmetrics: {0, 1}
        flat = [float(binary_hinge_loss(torch.tensor([p]), torch.tensor([int(t)]), squared=squared))
                for p, t in zip(yp.ravel(), t01.ravel())]
        return mean_last(np.array(flat).reshape(yp.shape))

    return fn


@contextlib.contextmanager
def _torchmetrics_without_squashing():
    """torchmetrics' multiclass hinge with its softmax step switched off (identity on [0, 1])."""
    import torchmetrics.functional.classification.hinge as tm_hinge

    original = tm_hinge.normalize_logits_if_needed
    tm_hinge.normalize_logits_if_needed = lambda tensor, normalization: tensor
    try:
        yield
    finally:
        tm_hinge.normalize_logits_if_needed = original


def _torchmetrics_multiclass(squash_off):
    """torchmetrics' multiclass_hinge_loss one row per call (it returns batch means).

    ``squash_off=False``: the public function, defined only for scores in [0, 1] (outside it
    torchmetrics applies a softmax first).  ``squash_off=True``: the same code with that softmax
    step disabled, so that the formula can be checked on any real scores."""

    def fn(y_true, y_pred, mode="crammer_singer", squared=False, **_):
        torch = import_torch()
        from torchmetrics.functional.classification import multiclass_hinge_loss

        yp = np.asarray(y_pred, dtype=np.float64)
        if not squash_off and (yp.min() < 0 or yp.max() > 1):
            raise NotImplementedError("torchmetrics applies a softmax to scores outside [0, 1]")
        tm_mode = {"crammer_singer": "crammer-singer", "one_vs_all": "one-vs-all"}[mode]
        out = []
        with _torchmetrics_without_squashing() if squash_off else contextlib.nullcontext():
            for row, label in zip(yp, np.asarray(y_true, dtype=np.int64)):
                v = multiclass_hinge_loss(torch.tensor(row[None]), torch.tensor([label]), num_classes=yp.shape[1],
                                          squared=squared, multiclass_mode=tm_mode)
                out.append(float(v.sum()))  # one-vs-all returns one value per class: lossbook sums them
        return np.array(out)

    return fn


def _keras_categorical_hinge(y_true, y_pred, **_):
    keras = import_keras()
    out = keras.losses.CategoricalHinge(reduction=None)(np.asarray(y_true, "float32"), np.asarray(y_pred, "float32"))
    return np.asarray(out, dtype=np.float64)


def _torch_multi_margin(y_true, y_pred, *, p, margin):
    torch = import_torch()
    module = torch.nn.MultiMarginLoss(p=int(p), margin=margin, reduction="none")
    return module(torch.as_tensor(y_pred), torch.as_tensor(y_true, dtype=torch.int64)).numpy()


def _torch_hinge_embedding(y_true, y_pred, *, margin):
    torch = import_torch()
    module = torch.nn.HingeEmbeddingLoss(margin=margin, reduction="none")
    return mean_last(module(torch.as_tensor(y_pred), torch.as_tensor(y_true)).numpy())


def _torch_margin_ranking(y_true, y_pred, *, margin):
    """torch's MarginRankingLoss on each (preferred, other) pair, y = 1, averaged per row."""
    torch = import_torch()
    yp = np.asarray(y_pred, dtype=np.float64)
    labels = np.asarray(y_true, dtype=np.int64)
    n, c = yp.shape
    module = torch.nn.MarginRankingLoss(margin=margin, reduction="none")
    if c == 2:  # torch's own form: x1, x2 and y = +1 when x1 should win, -1 when x2 should
        y = torch.as_tensor(np.where(labels == 0, 1.0, -1.0))
        return module(torch.as_tensor(yp[:, 0]), torch.as_tensor(yp[:, 1]), y).numpy()
    others = np.array([[j for j in range(c) if j != k] for k in labels])  # (N, C - 1)
    x1 = np.repeat(_pick(yp, labels)[:, None], c - 1, axis=1)
    x2 = np.take_along_axis(yp, others, axis=1)
    out = module(torch.as_tensor(x1), torch.as_tensor(x2), torch.ones(n, c - 1, dtype=torch.float64))
    return out.numpy().mean(axis=1)


MARGIN = {
    "hinge": (
        Counterpart("keras", "keras.losses.Hinge",
                    "keras.losses.Hinge()(y_true, y_pred) on (N, 1) arrays; labels in {-1, 1} (Keras converts {0, 1} "
                    "only when every label of the batch is 0 or 1)", _keras_signed("Hinge"),
                    rtol=KERAS_RTOL, atol=KERAS_ATOL),
        Counterpart("torchmetrics", "torchmetrics BinaryHingeLoss",
                    "BinaryHingeLoss()(preds, target) with target in {0, 1} and every pred in [0, 1] (outside it "
                    "torchmetrics applies a sigmoid first); it returns the batch mean",
                    _torchmetrics_binary(False)),
    ),
    "squared_hinge": (
        Counterpart("keras", "keras.losses.SquaredHinge",
                    "keras.losses.SquaredHinge()(y_true, y_pred) on (N, 1) arrays; labels in {-1, 1}",
                    _keras_signed("SquaredHinge"), rtol=KERAS_RTOL, atol=KERAS_ATOL),
        Counterpart("torchmetrics", "torchmetrics BinaryHingeLoss(squared=True)",
                    "BinaryHingeLoss(squared=True)(preds, target), target in {0, 1}, every pred in [0, 1]",
                    _torchmetrics_binary(True)),
    ),
    "categorical_hinge": (
        Counterpart("keras", "keras.losses.CategoricalHinge",
                    "keras.losses.CategoricalHinge()(y_true_one_hot, scores)", _keras_categorical_hinge,
                    rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "multiclass_hinge": (
        Counterpart("torchmetrics", "torchmetrics multiclass_hinge_loss",
                    "multiclass_hinge_loss(scores, labels, num_classes=C, multiclass_mode='crammer-singer' or "
                    "'one-vs-all', squared=...) with every score in [0, 1] (outside it torchmetrics applies a "
                    "softmax first); it returns means, a (C,) vector of them for one-vs-all",
                    _torchmetrics_multiclass(squash_off=False)),
        Counterpart("torchmetrics", "torchmetrics multiclass_hinge_loss, softmax step off",
                    "the same function with torchmetrics.utilities.compute.normalize_logits_if_needed replaced by "
                    "the identity (what it is on [0, 1]): torchmetrics's formula on any real scores",
                    _torchmetrics_multiclass(squash_off=True)),
    ),
    "multi_margin": (
        Counterpart("torch", "torch.nn.MultiMarginLoss",
                    "torch.nn.MultiMarginLoss(p=p, margin=margin)(scores, labels) (no class weight)",
                    _torch_multi_margin),
    ),
    "hinge_embedding": (
        Counterpart("torch", "torch.nn.HingeEmbeddingLoss",
                    "torch.nn.HingeEmbeddingLoss(margin=margin)(distances, y) with y in {1, -1}",
                    _torch_hinge_embedding),
    ),
    "margin_ranking": (
        Counterpart("torch", "torch.nn.MarginRankingLoss",
                    "torch.nn.MarginRankingLoss(margin)(y_pred[:, 0], y_pred[:, 1], y) with y = 1 - 2 * y_true "
                    "(y_true = 0: the first score should win)", _torch_margin_ranking),
    ),
}


# ============================================================================================
# embedding (lossbook/embedding.py)
# ============================================================================================
def _keras_cosine(y_true, y_pred):
    keras = import_keras()
    out = keras.losses.CosineSimilarity(axis=-1, reduction=None)(np.float32(y_true), np.float32(y_pred))
    return np.asarray(out, dtype=np.float64)


def _torch_cosine(y_true, y_pred):
    torch = import_torch()
    return -torch.nn.functional.cosine_similarity(_t(y_pred), _t(y_true), dim=-1, eps=KERAS_EPSILON).numpy()


def _torch_cosine_embedding(x1, x2, y, *, margin):
    torch = import_torch()
    module = torch.nn.CosineEmbeddingLoss(margin=margin, reduction="none")
    return module(_t(x1), _t(x2), _t(y)).numpy()


def torch_contrastive(x1, x2, y, margin=1.0):
    """The contrastive loss per pair, composed from torch ops on tensors (torch.nn has none)."""
    torch = import_torch()
    d = torch.linalg.vector_norm(x1 - x2, dim=-1)
    return y * 0.5 * d**2 + (1 - y) * 0.5 * torch.clamp(margin - d, min=0) ** 2


def _torch_contrastive(x1, x2, y, *, margin):
    return torch_contrastive(_t(x1), _t(x2), _t(y), margin).numpy()


def _torch_triplet(anchor, positive, negative, *, margin, p, eps, swap, squared):
    torch = import_torch()
    if squared:
        raise NotImplementedError("TripletMarginLoss has no squared-distance form (see the 'torch ops' counterpart)")
    if margin <= 0:
        raise NotImplementedError("TripletMarginLoss requires margin > 0")
    module = torch.nn.TripletMarginLoss(margin=margin, p=p, eps=eps, swap=swap, reduction="none")
    return module(_t(anchor), _t(positive), _t(negative)).numpy()


def _torch_triplet_squared(anchor, positive, negative, *, margin, p, eps, swap, squared):
    """Squared distances from torch's pairwise_distance (the same eps placement), then the hinge."""
    torch = import_torch()
    if not squared:
        raise NotImplementedError("this composition is for squared=True; TripletMarginLoss covers squared=False")
    a, pos, neg = _t(anchor), _t(positive), _t(negative)
    dist = lambda x, z: torch.nn.functional.pairwise_distance(x, z, p=p, eps=eps) ** 2  # noqa: E731
    d_neg = dist(a, neg)
    if swap:
        d_neg = torch.minimum(d_neg, dist(pos, neg))
    return torch.clamp(margin + dist(a, pos) - d_neg, min=0).numpy()


def _keras_seed001_triplet(anchor, positive, negative, *, margin, p, eps, swap, squared):
    """Seed 001's Keras triplet loss, in keras.ops, without its final mean (per-sample values)."""
    if not squared or p != 2.0 or eps != 0.0 or swap:
        raise NotImplementedError("seed 001's snippet is the squared Euclidean form without eps or swap")
    keras = import_keras()
    ops = keras.ops
    y_pred = np.concatenate([anchor, positive, negative], axis=1).astype(np.float32)
    a, pos, neg = ops.split(y_pred, 3, axis=1)
    d_pos = ops.sum(ops.square(a - pos), axis=1)
    d_neg = ops.sum(ops.square(a - neg), axis=1)
    return np.asarray(ops.maximum(d_pos - d_neg + margin, 0.0), dtype=np.float64)


def torch_quadruplet(anchor, positive, negative1, negative2, margin1=1.0, margin2=0.5):
    """The quadruplet loss per sample, composed from torch ops on tensors (torch.nn has none)."""
    torch = import_torch()
    d = lambda x, z: ((x - z) ** 2).sum(dim=-1)  # noqa: E731
    d_ap = d(anchor, positive)
    return (torch.clamp(d_ap - d(anchor, negative1) + margin1, min=0)
            + torch.clamp(d_ap - d(negative1, negative2) + margin2, min=0))


def _torch_quadruplet(anchor, positive, negative1, negative2, *, margin1, margin2):
    return torch_quadruplet(*(_t(x) for x in (anchor, positive, negative1, negative2)), margin1, margin2).numpy()


def _torch_batch_hard(embeddings, labels, *, margin, soft):
    """The masked maximum and minimum of the distance matrix, in torch."""
    torch = import_torch()
    x, lab = _t(embeddings), torch.as_tensor(labels)
    d = (x[:, None] - x[None]).norm(dim=2)
    same = lab[:, None] == lab[None]
    eye = torch.eye(len(lab), dtype=torch.bool)
    d_ap = d.masked_fill(~same | eye, float("-inf")).amax(1)
    d_an = d.masked_fill(same, float("inf")).amin(1)
    pre = margin + d_ap - d_an
    h = torch.nn.functional.softplus(pre) if soft else pre.clamp(min=0)
    return h.nan_to_num(0.0).mean().numpy()  # no negative: softplus(-inf) = 0, clamp(-inf) = 0


def _pml_batch_hard(embeddings, labels, *, margin, soft):
    torch = import_torch()
    from pytorch_metric_learning import distances, losses, miners, reducers

    if len(np.unique(labels)) < 2:
        raise NotImplementedError("with one label BatchHardMiner mines no triplets and the loss is 0 by convention")
    dist = distances.LpDistance(normalize_embeddings=False)
    miner = miners.BatchHardMiner(distance=dist)
    fn = losses.TripletMarginLoss(margin=margin, distance=dist, smooth_loss=soft, reducer=reducers.MeanReducer())
    x, lab = _t(embeddings), torch.as_tensor(labels)
    return fn(x, lab, miner(x, lab)).numpy()


EMBEDDING = {
    "cosine_similarity": (
        Counterpart("keras", "keras.losses.CosineSimilarity",
                    "keras.losses.CosineSimilarity(axis=-1)(y_true, y_pred) on (N, D) rows", _keras_cosine,
                    rtol=KERAS_RTOL, atol=KERAS_ATOL),
        Counterpart("torch", "torch.nn.functional.cosine_similarity",
                    "-torch.nn.functional.cosine_similarity(y_pred, y_true, dim=-1, eps=1e-7) (torch's default "
                    "eps=1e-8 floors the norm ten times lower; same formula, max(||x||, eps))", _torch_cosine),
    ),
    "cosine_embedding": (
        Counterpart("torch", "torch.nn.CosineEmbeddingLoss",
                    "torch.nn.CosineEmbeddingLoss(margin=margin, reduction='none')(x1, x2, y) with y in {1, -1}",
                    _torch_cosine_embedding),
    ),
    "contrastive": (
        Counterpart("torch", "torch ops (no torch.nn module)",
                    "d = torch.linalg.vector_norm(x1 - x2, dim=-1); "
                    "y * d**2 / 2 + (1 - y) * torch.clamp(margin - d, min=0)**2 / 2, with y = 1 for similar pairs",
                    _torch_contrastive),
    ),
    "triplet": (
        Counterpart("torch", "torch.nn.TripletMarginLoss",
                    "torch.nn.TripletMarginLoss(margin=margin, p=p, eps=eps, swap=swap, reduction='none')"
                    "(anchor, positive, negative) (squared=False; torch requires margin > 0)", _torch_triplet),
        Counterpart("torch", "torch.nn.functional.pairwise_distance (squared)",
                    "clamp(margin + pairwise_distance(a, p, p, eps)**2 - pairwise_distance(a, n, p, eps)**2, min=0) "
                    "(squared=True)", _torch_triplet_squared),
        Counterpart("keras", "seed 001's triplet_loss in keras.ops",
                    "keras.ops.split(y_pred, 3, axis=1) then max(sum((a-p)**2) - sum((a-n)**2) + margin, 0), "
                    "without seed 001's final mean (squared=True, eps=0)", _keras_seed001_triplet,
                    rtol=KERAS_RTOL, atol=1e-5),
    ),
    "quadruplet": (
        Counterpart("torch", "torch ops (no torch.nn module)",
                    "d = ((x - z)**2).sum(-1); clamp(d(a,p) - d(a,n1) + margin1, min=0) + "
                    "clamp(d(a,p) - d(n1,n2) + margin2, min=0)", _torch_quadruplet),
    ),
    "batch_hard_triplet": (
        Counterpart("torch", "torch ops on the distance matrix",
                    "d = (x[:, None] - x[None]).norm(dim=2); d_ap = d with non-positives at -inf .amax(1); d_an = d "
                    "with same-label entries at +inf .amin(1); (margin + d_ap - d_an).clamp(min=0).mean() (soft: "
                    "F.softplus)", _torch_batch_hard),
        Counterpart("torch", "pytorch_metric_learning TripletMarginLoss + BatchHardMiner",
                    "dist = LpDistance(normalize_embeddings=False); TripletMarginLoss(margin, distance=dist, "
                    "smooth_loss=soft, reducer=MeanReducer())(x, labels, BatchHardMiner(distance=dist)(x, labels))",
                    _pml_batch_hard,
                    notes="pml's defaults differ: unit-normalised embeddings, margin 0.05 and the mean over the "
                          "triplets with a non-zero loss (AvgNonZeroReducer); torch.cdist, which LpDistance calls, "
                          "switches to the matrix-product formula above 25 rows, which cancels for close rows"),
    ),
}


# ============================================================================================
# ranking (lossbook/ranking.py)
# ============================================================================================
def _torch_seed004(y_true, y_pred, *, margin, normalize, epsilon):
    """Seed 004's expand/transpose formula, written so that it runs (see the chapter)."""
    torch = import_torch()
    score = torch.as_tensor(y_pred, dtype=torch.float64).reshape(1, -1)  # a row (1, N), not a column
    label = torch.as_tensor(y_true, dtype=torch.float64).reshape(1, -1)
    n = score.shape[1]
    score_1 = score.expand(n, n)  # score_1[i, j] = s_j
    score_2 = score_1.transpose(0, 1)  # score_2[i, j] = s_i
    label_1 = label.expand(n, n)
    label_2 = label_1.transpose(0, 1)
    label_diff = torch.relu(label_1 - label_2)  # l_j - l_i
    score_diff = torch.relu(score_2 - score_1 + margin)  # s_i - s_j + m
    pairs = score_diff * label_diff
    if normalize:
        return float(pairs.sum() / (label_diff.sum() + epsilon))
    return float(pairs.sum() / max(n * (n - 1), 1))


def _torch_pairwise_margin_ranking(y_true, y_pred, *, margin, normalize, epsilon):
    """torch.nn.MarginRankingLoss on the explicit list of the N(N-1) ordered pairs, label-weighted."""
    torch = import_torch()
    s = torch.as_tensor(y_pred, dtype=torch.float64).reshape(-1)
    l = torch.as_tensor(y_true, dtype=torch.float64).reshape(-1)
    n = s.shape[0]
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = i != j
    i, j = i[keep], j[keep]
    # max(0, -y (x1 - x2) + margin) with x1 = s_j, x2 = s_i, y = +1 is max(0, s_i - s_j + margin)
    per_pair = torch.nn.MarginRankingLoss(margin=margin, reduction="none")(s[j], s[i], torch.ones(len(i),
                                                                                           dtype=torch.float64))
    weight = torch.relu(l[j] - l[i])
    if normalize:
        return float((weight * per_pair).sum() / (weight.sum() + epsilon))
    return float((weight * per_pair).sum() / max(n * (n - 1), 1))


RANKING = {
    "pairwise_ranking_hinge": (
        Counterpart("torch", "seed 004's expand/transpose formula (torch, corrected)",
                    "score = s.reshape(1, N); score_1 = score.expand(N, N); score_2 = score_1.T (same for labels); "
                    "relu(score_2 - score_1 + margin) * relu(label_1 - label_2), summed, divided by "
                    "relu(label_1 - label_2).sum() + epsilon (normalize) or by N(N-1)",
                    _torch_seed004),
        Counterpart("torch", "torch.nn.MarginRankingLoss",
                    "MarginRankingLoss(margin, reduction='none')(x1=s[j], x2=s[i], y=+1) over the N(N-1) ordered "
                    "pairs i != j, times relu(l[j] - l[i]), summed and divided as above",
                    _torch_pairwise_margin_ranking),
    ),
}


# ============================================================================================
# custom (lossbook/custom.py)
# ============================================================================================
def torch_soft_fbeta(y, p, beta=1.0, epsilon=KERAS_EPSILON):
    """Seed 001's formula, term for term, on torch tensors (differentiable; a 0-d tensor)."""
    tp, fp, fn = (y * p).sum(), ((1 - y) * p).sum(), (y * (1 - p)).sum()
    precision = tp / (tp + fp + epsilon)
    recall = tp / (tp + fn + epsilon)
    return 1 - (1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall + epsilon)


def _torch_soft_fbeta(y_true, y_pred, *, beta, epsilon):
    """:func:`torch_soft_fbeta` in float64 torch, on NumPy input."""
    torch = import_torch()
    y = torch.as_tensor(np.asarray(y_true), dtype=torch.float64)
    p = torch.as_tensor(np.asarray(y_pred), dtype=torch.float64)
    return float(torch_soft_fbeta(y, p, beta, epsilon))


def keras_soft_fbeta(y_true, y_pred, beta=1.0):
    """Seed 001's ``custom_fbeta_loss`` in Keras 3: ``keras.ops`` for ``keras.backend``.

    ``K.epsilon()`` is ``keras.config.epsilon()`` (1e-7).  Works on any backend tensors; Keras
    computes in float32.
    """
    keras = import_keras()
    ops, eps = keras.ops, keras.config.epsilon()
    y_true = ops.cast(y_true, y_pred.dtype)
    tp = ops.sum(y_true * y_pred)
    fp = ops.sum((1 - y_true) * y_pred)
    fn = ops.sum(y_true * (1 - y_pred))
    precision = tp / (tp + fp + eps)
    recall = tp / (tp + fn + eps)
    f = (1 + beta ** 2) * (precision * recall) / ((beta ** 2 * precision) + recall + eps)
    return 1 - f


def _keras_soft_fbeta(y_true, y_pred, *, beta, epsilon):
    if epsilon != KERAS_EPSILON:
        raise NotImplementedError("seed 001's Keras loss uses K.epsilon() = 1e-7")
    keras = import_keras()
    out = keras_soft_fbeta(keras.ops.convert_to_tensor(np.asarray(y_true, "float32")),
                           keras.ops.convert_to_tensor(np.asarray(y_pred, "float32")), beta=beta)
    return float(keras.ops.convert_to_numpy(out))


CUSTOM = {
    "soft_fbeta": (
        Counterpart("torch", "seed 001's formula in torch (float64)",
                    "the three soft counts with torch.sum over the whole batch, then seed 001's precision, "
                    "recall and F-beta with epsilon=1e-7 in the three denominators; loss = 1 - F-beta",
                    _torch_soft_fbeta, rtol=1e-12, atol=1e-12),
        Counterpart("keras", "seed 001's custom_fbeta_loss with keras.ops",
                    "seed 001's function with keras.ops.sum for K.sum and keras.config.epsilon() for K.epsilon(); "
                    "Keras computes in float32", _keras_soft_fbeta, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
}


# ============================================================================================
# contrastive, one against many (lossbook/infonce.py)
# ============================================================================================
def _torch_info_nce(queries, keys, *, temperature, symmetric, normalize):
    """The logits matrix and torch's cross-entropy; symmetric: CLIP's pseudo-code, (CE(Z) + CE(Z^T)) / 2."""
    torch = import_torch()
    F = torch.nn.functional
    q, k = _t(queries), _t(keys)
    if normalize:
        q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    logits = q @ k.T / temperature
    target = torch.arange(len(q))
    loss = F.cross_entropy(logits, target)
    if symmetric:
        loss = (loss + F.cross_entropy(logits.T, target)) / 2
    return loss.numpy()


def _pml_info_nce(queries, keys, *, temperature, symmetric, normalize):
    """NTXentLoss with the keys as reference embeddings: labels 0..N-1 pair query i with key i only."""
    torch = import_torch()
    from pytorch_metric_learning import distances, losses

    distance = distances.CosineSimilarity() if normalize else distances.DotProductSimilarity(
        normalize_embeddings=False)
    fn = losses.NTXentLoss(temperature=temperature, distance=distance)
    labels = torch.arange(len(queries))
    # ref_labels must be another tensor: if it *is* labels, pml treats the batch as one set and
    # drops the diagonal (query i would lose its own key)
    q_to_k = fn(_t(queries), labels, ref_emb=_t(keys), ref_labels=labels.clone())
    if not symmetric:
        return q_to_k.numpy()
    k_to_q = fn(_t(keys), labels, ref_emb=_t(queries), ref_labels=labels.clone())
    return ((q_to_k + k_to_q) / 2).numpy()


def _optax_info_nce(queries, keys, *, temperature, symmetric, normalize):
    """optax's integer-label softmax cross-entropy on the same logits (optax's ntxent has no reference set)."""
    _, jnp, optax = import_jax()
    q, k = jnp.asarray(queries), jnp.asarray(keys)
    if normalize:  # torch's normalize: x / max(||x||, 1e-12)
        q = q / jnp.maximum(jnp.linalg.norm(q, axis=1, keepdims=True), NORM_EPS)
        k = k / jnp.maximum(jnp.linalg.norm(k, axis=1, keepdims=True), NORM_EPS)
    logits = q @ k.T / temperature
    target = jnp.arange(q.shape[0])
    ce = optax.losses.softmax_cross_entropy_with_integer_labels
    loss = ce(logits, target).mean()
    if symmetric:
        loss = (loss + ce(logits.T, target).mean()) / 2
    return np.asarray(loss, dtype=np.float64)


def _torch_nt_xent(embeddings, labels, *, temperature):
    """One cross-entropy row per positive pair: the anchor's similarities with its other positives masked."""
    torch = import_torch()
    F = torch.nn.functional
    z = F.normalize(_t(embeddings), dim=1)
    lab = torch.as_tensor(labels)
    sim = z @ z.T / temperature
    same = lab[:, None] == lab[None, :]
    anchor, positive = torch.nonzero(same & ~torch.eye(len(lab), dtype=torch.bool), as_tuple=True)
    hide = same[anchor].clone()  # the anchor itself and its other positives leave the denominator
    hide[torch.arange(len(anchor)), positive] = False
    rows = sim[anchor].masked_fill(hide, float("-inf"))
    return F.cross_entropy(rows, positive).numpy()


def _pml_nt_xent(embeddings, labels, *, temperature):
    torch = import_torch()
    from pytorch_metric_learning import losses

    fn = losses.NTXentLoss(temperature=temperature)
    return fn(_t(embeddings), torch.as_tensor(labels)).numpy()


def _optax_nt_xent(embeddings, labels, *, temperature):
    """optax floors the *squared* norm at float64 eps (2.2e-16), i.e. the norm at 1.5e-8, not 1e-12."""
    _, jnp, optax = import_jax()
    if np.any(_norm(np.asarray(embeddings, float)) < 1.5e-8):
        raise NotImplementedError("optax.losses.ntxent floors the norm at sqrt(2.2e-16) = 1.5e-8 "
                                  "(lossbook and torch: 1e-12); rows this short differ")
    out = optax.losses.ntxent(jnp.asarray(embeddings), jnp.asarray(labels).astype(jnp.int64),
                              temperature=temperature)
    return np.asarray(out, dtype=np.float64)


def _torch_supcon(embeddings, labels, *, temperature):
    """Khosla et al.'s formula in torch: log-softmax over the other rows, averaged over each anchor's positives."""
    torch = import_torch()
    F = torch.nn.functional
    z = F.normalize(_t(embeddings), dim=1)
    lab = torch.as_tensor(labels)
    eye = torch.eye(len(lab), dtype=torch.bool)
    sim = (z @ z.T / temperature).masked_fill(eye, float("-inf"))
    log_prob = sim.log_softmax(dim=1).masked_fill(eye, 0.0)
    pos = (lab[:, None] == lab[None, :]) & ~eye
    return (-(log_prob * pos).sum(1) / pos.sum(1)).mean().numpy()


def _pml_supcon(embeddings, labels, *, temperature):
    """SupConLoss averages the anchors whose loss is non-zero (AvgNonZeroReducer), and returns 0 for a batch
    without negatives: the same number when every anchor has a negative and a loss above 0."""
    torch = import_torch()
    from pytorch_metric_learning import losses

    if len(np.unique(labels)) < 2:
        raise NotImplementedError("SupConLoss returns 0 for a batch with one label (it requires a negative)")
    per = _supervised_contrastive_rows(np.asarray(embeddings, float), np.asarray(labels), temperature)
    if np.any(per == 0.0):
        raise NotImplementedError("SupConLoss leaves anchors with a loss of exactly 0 out of its mean")
    fn = losses.SupConLoss(temperature=temperature)
    return fn(_t(embeddings), torch.as_tensor(labels)).numpy()


def _supervised_contrastive_rows(embeddings, labels, temperature):
    """Each anchor's term (for the pml recipe's check)."""
    u, _ = _normalize(embeddings)
    s = (u @ u.T) / temperature
    pos = labels[:, None] == labels[None, :]
    np.fill_diagonal(pos, False)
    others = s.copy()
    np.fill_diagonal(others, -np.inf)
    return _lse(others, axis=1) - np.where(pos, s, 0.0).sum(axis=1) / pos.sum(axis=1)


CONTRASTIVE = {
    "info_nce": (
        Counterpart("torch", "torch.nn.functional.cross_entropy on the logits matrix",
                    "q, k = F.normalize(q, dim=1), F.normalize(k, dim=1) (if normalize); logits = q @ k.T / "
                    "temperature; F.cross_entropy(logits, torch.arange(N)); symmetric: "
                    "(F.cross_entropy(logits, t) + F.cross_entropy(logits.T, t)) / 2", _torch_info_nce),
        Counterpart("torch", "pytorch_metric_learning.losses.NTXentLoss (ref_emb)",
                    "NTXentLoss(temperature)(queries, arange(N), ref_emb=keys, ref_labels=arange(N).clone()) "
                    "(normalize=False: distance=DotProductSimilarity(normalize_embeddings=False)); symmetric: "
                    "the mean of that and the same call with queries and keys swapped", _pml_info_nce),
        Counterpart("optax", "optax.losses.softmax_cross_entropy_with_integer_labels",
                    "softmax_cross_entropy_with_integer_labels(logits, jnp.arange(N)).mean() on the logits above "
                    "(symmetric: averaged with logits.T)", _optax_info_nce),
    ),
    "nt_xent": (
        Counterpart("torch", "torch.nn.functional.cross_entropy over masked similarity rows",
                    "z = F.normalize(z, dim=1); sim = z @ z.T / temperature; one row sim[i] per positive pair "
                    "(i, p) with i and its other positives set to -inf; F.cross_entropy(rows, p)", _torch_nt_xent),
        Counterpart("torch", "pytorch_metric_learning.losses.NTXentLoss",
                    "NTXentLoss(temperature=temperature)(embeddings, labels)", _pml_nt_xent),
        Counterpart("optax", "optax.losses.ntxent",
                    "optax.losses.ntxent(embeddings, labels, temperature=temperature) (rows of norm >= 1.5e-8)",
                    _optax_nt_xent),
    ),
    "supervised_contrastive": (
        Counterpart("torch", "torch.nn.functional.log_softmax over masked similarity rows",
                    "z = F.normalize(z, dim=1); sim = (z @ z.T / temperature) with the diagonal at -inf; "
                    "lp = sim.log_softmax(1) with the diagonal at 0; (-(lp * pos).sum(1) / pos.sum(1)).mean()",
                    _torch_supcon),
        Counterpart("torch", "pytorch_metric_learning.losses.SupConLoss",
                    "SupConLoss(temperature=temperature)(embeddings, labels) (its mean skips anchors with a loss "
                    "of exactly 0, and a batch with one label gives 0)", _pml_supcon),
    ),
}


# ============================================================================================
# angular margins (lossbook/angular.py)
# ============================================================================================
def _torch_margin(kind):
    def fn(y_true, y_pred, *, scale, margin):
        """Per-sample torch cross-entropy on the modified, scaled cosines (arccos form for ArcFace)."""
        torch = import_torch()
        c, y = _t(y_pred), torch.as_tensor(np.asarray(y_true)).long()
        target = c.gather(1, y[:, None])
        if kind == "arcface":
            theta = torch.acos(target.clamp(-1, 1))
            phi = torch.where(theta <= np.pi - margin, torch.cos(theta + margin), target - margin * np.sin(margin))
        else:
            phi = target - margin
        logits = c.scatter(1, y[:, None], phi) * scale
        return torch.nn.functional.cross_entropy(logits, y, reduction="none").numpy()
    return fn


def _pml_margin(kind):
    def fn(y_true, y_pred, *, scale, margin):
        """pytorch-metric-learning's loss with its class-weight matrix W set so that its cosines are ``y_pred``.

        Row i of the embeddings is (c_i, sqrt(1 - |c_i|^2)) and W = [I_C; 0] (embedding_size C + 1):
        then x_i . w_c / (|x_i| |w_c|) = c_ic.  Such embeddings exist only for rows with |c_i| <= 1.
        """
        torch = import_torch()
        from pytorch_metric_learning import losses, reducers

        c = np.asarray(y_pred, dtype=np.float64)
        n, k = c.shape
        sq = 1.0 - np.einsum("ij,ij->i", c, c)
        if np.any(sq < 0):
            raise NotImplementedError("rows of cosines longer than 1 are not the cosines of any unit vectors")
        x = np.hstack([c, np.sqrt(sq)[:, None]])
        if kind == "arcface":  # pml's margin is in degrees
            loss = losses.ArcFaceLoss(k, k + 1, margin=np.degrees(margin), scale=scale,
                                      reducer=reducers.DoNothingReducer())
        else:
            loss = losses.CosFaceLoss(k, k + 1, margin=margin, scale=scale, reducer=reducers.DoNothingReducer())
        loss.W.data = torch.vstack([torch.eye(k), torch.zeros(1, k)]).double()
        out = loss(_t(x), torch.as_tensor(np.asarray(y_true)).long())
        return out["loss"]["losses"].detach().numpy()
    return fn


ANGULAR = {
    "arcface": (
        Counterpart("torch", "torch.nn.functional.cross_entropy on margin-modified cosines",
                    "phi = where(theta <= pi - m, cos(theta + m), c - m sin m) with theta = acos(c_target); "
                    "F.cross_entropy(scale * cos.scatter(1, y[:, None], phi), y)", _torch_margin("arcface"),
                    rtol=1e-10, atol=1e-12,
                    notes="acos loses digits near c = 1 (a relative error of 1e-16 in c is one of 1e-8 in theta)"),
        Counterpart("torch", "pytorch_metric_learning.losses.ArcFaceLoss",
                    "ArcFaceLoss(C, D, margin=degrees(m), scale=s, reducer=DoNothingReducer()) with loss.W.data "
                    "set to the (D, C) class-weight matrix; it normalises embeddings and W itself",
                    _pml_margin("arcface"), rtol=1e-10, atol=1e-12,
                    notes="the embeddings are built from the cosines, so the cosines it recomputes carry rounding"),
    ),
    "cosface": (
        Counterpart("torch", "torch.nn.functional.cross_entropy on margin-modified cosines",
                    "F.cross_entropy(scale * cos.scatter(1, y[:, None], c_target - m), y)", _torch_margin("cosface")),
        Counterpart("torch", "pytorch_metric_learning.losses.CosFaceLoss",
                    "CosFaceLoss(C, D, margin=m, scale=s, reducer=DoNothingReducer()) with loss.W.data set to the "
                    "(D, C) class-weight matrix", _pml_margin("cosface"), rtol=1e-10, atol=1e-12,
                    notes="the embeddings are built from the cosines, so the cosines it recomputes carry rounding"),
    ),
}


# ============================================================================================
# optax (JAX), for the losses optax has
# ============================================================================================
# classification in practice (lossbook/classification.py)
# ============================================================================================
def _torch_soft_margin(y_true, y_pred):
    torch = import_torch()
    return mean_last(torch.nn.SoftMarginLoss(reduction="none")(_t(y_pred), _t(y_true)).numpy())


def _torch_multilabel_soft_margin(y_true, y_pred):
    torch = import_torch()
    return torch.nn.MultiLabelSoftMarginLoss(reduction="none")(_t(y_pred), _t(y_true)).numpy()


def _keras_multilabel_soft_margin(y_true, y_pred):
    return keras_per_sample("BinaryCrossentropy", y_true, y_pred, pointwise=True, from_logits=True)


def torch_multilabel_target(y_true):
    """A multi-hot (N, C) target as torch's MultiLabelMarginLoss wants it: each row's target class
    ids first, in increasing order, then -1 to the end of the row (torch stops reading at the first -1)."""
    y = np.asarray(y_true) > 0.5
    out = np.full(y.shape, -1, dtype=np.int64)
    for i, row in enumerate(y):
        ids = np.flatnonzero(row)
        out[i, :len(ids)] = ids
    return out


def _torch_multilabel_margin(y_true, y_pred):
    torch = import_torch()
    target = torch.as_tensor(torch_multilabel_target(y_true))
    return torch.nn.MultiLabelMarginLoss(reduction="none")(_t(y_pred), target).numpy()


def _torch_categorical_focal(y_true, y_pred, *, alpha, gamma, from_logits, label_smoothing, epsilon):
    """Keras's formula in torch, float64: -alpha sum_c y_c (1 - p_c)^gamma log p_c."""
    torch = import_torch()
    y = _t(_smooth_categorical(np.asarray(y_true), label_smoothing))
    z = _t(y_pred)
    if from_logits:
        log_p = torch.log_softmax(z, dim=-1)
        p = log_p.exp()
    else:
        p = z.clamp(epsilon, 1 - epsilon) if epsilon else z
        log_p = torch.log(p)
    alpha = _t(alpha)  # a number, or one per class (broadcast along the last axis)
    return (-(alpha * y * (1 - p) ** gamma * torch.where(y > 0, log_p, 0.0)).sum(-1)).numpy()


def _keras_categorical_focal(y_true, y_pred, *, alpha, gamma, from_logits, label_smoothing, epsilon):
    return keras_per_sample("CategoricalFocalCrossentropy", y_true, y_pred, pointwise=False,
                            alpha=list(alpha) if isinstance(alpha, tuple) else alpha,
                            gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing)


def _torch_poly1(y_true, y_pred, *, poly_epsilon):
    torch = import_torch()
    z, y = _t(y_pred), _t(y_true)
    ce = torch.nn.functional.cross_entropy(z, y, reduction="none")  # probability targets
    return (ce + poly_epsilon * (y * (1 - torch.softmax(z, dim=-1))).sum(-1)).numpy()


def _keras_generalized_ce(y_true, y_pred, *, q, from_logits):
    y = np.asarray(y_true, dtype=float)
    if from_logits or not 0 < q < 1 or not np.all(np.isin(y, (0.0, 1.0))):
        raise NotImplementedError("Keras's CategoricalGeneralizedCrossEntropy takes integer labels (one-hot y_true), "
                                  "probabilities and q in (0, 1)")
    keras = import_keras()
    loss = keras.losses.CategoricalGeneralizedCrossEntropy(q=q, reduction=None)
    return np.asarray(keras.ops.convert_to_numpy(loss(y.argmax(-1), np.asarray(y_pred, np.float32))), np.float64)


def _torch_generalized_ce(y_true, y_pred, *, q, from_logits):
    torch = import_torch()
    z, y = _t(y_pred), _t(y_true)
    log_p = torch.log_softmax(z, dim=-1) if from_logits else torch.log(z)
    return (-(y * torch.expm1(q * log_p)).sum(-1) / q).numpy()


def torch_distillation_kl(teacher_logits, student_logits, temperature=4.0):
    """Hinton et al.'s soft-target loss per sample, on torch tensors (differentiable)."""
    import torch.nn.functional as F

    t = temperature
    return F.kl_div(F.log_softmax(student_logits / t, dim=-1), F.softmax(teacher_logits / t, dim=-1),
                    reduction="none").sum(-1) * t ** 2


def _torch_distillation_kl(y_true, y_pred, *, temperature):
    return torch_distillation_kl(_t(y_true), _t(y_pred), temperature).numpy()


def _softmax64(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _keras_distillation_kl(y_true, y_pred, *, temperature):
    t = temperature
    return keras_per_sample("KLDivergence", _softmax64(np.asarray(y_true) / t), _softmax64(np.asarray(y_pred) / t),
                            pointwise=False) * t ** 2


CLASSIFICATION = {
    "soft_margin": (
        Counterpart("torch", "torch.nn.SoftMarginLoss",
                    "torch.nn.SoftMarginLoss()(scores, y) with y in {-1, 1} (torch: prediction first); its mean "
                    "divides by N*D, lossbook's per-sample mean over D then the mean over N: the same number",
                    _torch_soft_margin),
    ),
    "multilabel_soft_margin": (
        Counterpart("torch", "torch.nn.MultiLabelSoftMarginLoss",
                    "torch.nn.MultiLabelSoftMarginLoss()(logits, y) with y multi-hot (N, C), float",
                    _torch_multilabel_soft_margin),
        Counterpart("keras", "keras.losses.BinaryCrossentropy(from_logits=True)",
                    "Keras has no multi-label loss of its own: keras.losses.BinaryCrossentropy(from_logits=True)"
                    "(y, logits) on (N, C) arrays is the same loss (the mean over the classes)",
                    _keras_multilabel_soft_margin, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "multilabel_margin": (
        Counterpart("torch", "torch.nn.MultiLabelMarginLoss",
                    "torch.nn.MultiLabelMarginLoss()(scores, target) where target (int64, (N, C)) lists each "
                    "row's target class ids and then -1 (lossbook.counterparts.torch_multilabel_target(y) "
                    "converts a multi-hot y); rows with no target or all targets give 0 in both",
                    _torch_multilabel_margin),
    ),
    "categorical_focal_crossentropy": (
        Counterpart("torch", "composed (torch has no categorical focal loss)",
                    "-(alpha * y * (1 - p) ** gamma * torch.log(p)).sum(-1) (alpha a number, or a tensor of one per "
                    "class), p = torch.softmax(logits, -1) for "
                    "from_logits=True (log p from torch.log_softmax); the y > 0 mask keeps 0 * log 0 at 0",
                    _torch_categorical_focal),
        Counterpart("keras", "keras.losses.CategoricalFocalCrossentropy",
                    "keras.losses.CategoricalFocalCrossentropy(alpha=..., gamma=..., from_logits=..., "
                    "label_smoothing=...)(y, p); Keras clips p to [1e-7, 1 - 1e-7] (after its softmax, too), "
                    "i.e. lossbook(epsilon=1e-7) on probabilities, and saturates beyond logits of about +-16",
                    _keras_categorical_focal, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "poly1_crossentropy": (
        Counterpart("torch", "composed (torch has no PolyLoss)",
                    "torch.nn.functional.cross_entropy(logits, y, reduction='none') + poly_epsilon * (y * (1 - "
                    "torch.softmax(logits, -1))).sum(-1), y float (N, C)",
                    _torch_poly1),
    ),
    "generalized_crossentropy": (
        Counterpart("torch", "composed (torch has no generalized cross-entropy)",
                    "-(y * torch.expm1(q * log_p)).sum(-1) / q with log_p = torch.log_softmax(logits, -1) "
                    "(from_logits=True) or torch.log(p); (1 - p ** q) / q is the same formula with fewer digits",
                    _torch_generalized_ce),
        Counterpart("keras", "keras.losses.CategoricalGeneralizedCrossEntropy",
                    "keras.losses.CategoricalGeneralizedCrossEntropy(q=q)(labels, p) with labels = y.argmax(-1): "
                    "integer labels (a one-hot y_true is one-hot encoded again), probabilities, q in (0, 1) "
                    "(default 0.5), float32", _keras_generalized_ce, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "distillation_kl": (
        Counterpart("torch", "torch.nn.functional.kl_div",
                    "F.kl_div(F.log_softmax(student / T, -1), F.softmax(teacher / T, -1), reduction='none')"
                    ".sum(-1) * T ** 2 (lossbook.counterparts.torch_distillation_kl); reduction='batchmean' is "
                    "the mean over N, torch's default 'mean' divides by N*C",
                    _torch_distillation_kl),
        Counterpart("keras", "keras.losses.KLDivergence",
                    "keras.losses.KLDivergence()(softmax(teacher / T), softmax(student / T)) * T ** 2; in float32 "
                    "the KL of two close softened distributions cancels to about 1e-7 per term, times T ** 2",
                    _keras_distillation_kl, rtol=KERAS_RTOL, atol=1e-4),
    ),
}


# ============================================================================================
# optax's losses are pure functions of ``(predictions, targets)`` (prediction first, like torch) that
# return one value per element or per row and never reduce: the mean over the last axis and over the
# batch is the caller's. JAX computes in float32 unless x64 is on; ``import_jax`` turns it on, so
# these comparisons are float64 against float64 and are held to 1e-12.  (info_nce's and nt_xent's
# optax counterparts are in their family's table above.)
def _optax():
    return import_jax()[2].losses


def _optax_per_sample(values) -> np.ndarray:
    """optax returns one value per element for pointwise losses: Keras's per-sample convention
    averages the last axis of an (N, D) input."""
    v = np.asarray(values, dtype=np.float64)
    return v.mean(axis=-1) if v.ndim == 2 else v


def _no(reason: str):
    raise NotImplementedError(reason)


def _optax_mse(y_true, y_pred):
    return _optax_per_sample(_optax().squared_error(y_pred, y_true))


def _optax_huber(y_true, y_pred, *, delta):
    return _optax_per_sample(_optax().huber_loss(y_pred, y_true, delta=delta))


def _optax_log_cosh(y_true, y_pred):
    return _optax_per_sample(_optax().log_cosh(y_pred, y_true))


def _optax_bce(y_true, y_pred, *, from_logits, label_smoothing, epsilon, pos_weight=None):
    if pos_weight is not None:
        _no("optax.losses.sigmoid_binary_cross_entropy has no pos_weight")
    if not from_logits or epsilon:
        _no("optax.losses.sigmoid_binary_cross_entropy takes logits, not probabilities")
    targets = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing  # Keras's binary smoothing
    return _optax_per_sample(_optax().sigmoid_binary_cross_entropy(y_pred, targets))


def _optax_focal(y_true, y_pred, *, gamma, alpha, apply_class_balancing, from_logits, label_smoothing):
    if not from_logits:
        _no("optax.losses.sigmoid_focal_loss takes logits, not probabilities")
    if label_smoothing:
        _no("optax.losses.sigmoid_focal_loss has no label smoothing")
    return _optax_per_sample(_optax().sigmoid_focal_loss(
        y_pred, y_true, alpha=alpha if apply_class_balancing else None, gamma=gamma))


def _optax_cce(y_true, y_pred, *, from_logits, label_smoothing, epsilon, class_weight=None):
    if class_weight is not None:
        _no("optax.losses.softmax_cross_entropy has no class weights")
    if not from_logits or epsilon:
        _no("optax.losses.softmax_cross_entropy takes logits, not probabilities")
    targets = _optax().smooth_labels(y_true, label_smoothing) if label_smoothing else y_true
    return np.asarray(_optax().softmax_cross_entropy(y_pred, targets), dtype=np.float64)


def _optax_scce(y_true, y_pred, *, from_logits, epsilon, ignore_index, label_smoothing, class_weight=None):
    if class_weight is not None:
        _no("optax.losses.softmax_cross_entropy_with_integer_labels has no class weights")
    if not from_logits or epsilon:
        _no("optax.losses.softmax_cross_entropy_with_integer_labels takes logits, not probabilities")
    if ignore_index is not None or label_smoothing:
        _no("optax.losses.softmax_cross_entropy_with_integer_labels has no ignore_index and no label smoothing")
    return np.asarray(_optax().softmax_cross_entropy_with_integer_labels(y_pred, y_true.astype(np.int64)),
                      dtype=np.float64)


def _optax_kl(y_true, y_pred, *, epsilon):
    if epsilon:
        _no("optax.losses.kl_divergence does not clip")
    with np.errstate(divide="ignore"):
        log_p = np.log(y_pred)  # optax takes log-probabilities; log 0 = -inf is exact
    return np.asarray(_optax().kl_divergence(log_p, y_true), dtype=np.float64)


def _optax_hinge(y_true, y_pred, *, labels):
    signed = 2.0 * y_true - 1.0 if labels == "01" else y_true
    return _optax_per_sample(_optax().hinge_loss(y_pred, signed))


def _optax_multiclass_hinge(y_true, y_pred, *, mode, squared):
    if mode != "crammer_singer" or squared:
        _no("optax.losses.multiclass_hinge_loss is the plain Crammer-Singer hinge only")
    return np.asarray(_optax().multiclass_hinge_loss(y_pred, y_true.astype(np.int64)), dtype=np.float64)


def _optax_cosine_similarity(y_true, y_pred):
    # optax returns +cos (a similarity, not a loss) and guards each norm with max(norm, epsilon)
    return -np.asarray(_optax().cosine_similarity(y_pred, y_true, epsilon=1e-7), dtype=np.float64)


def _optax_triplet(anchor, positive, negative, *, margin, p, swap, squared, eps):
    if p != 2:
        _no("optax's norm_degree=1 sums the signed differences (power(d, 1) keeps the sign): it is not the "
            "L1 distance; only p=2 matches")
    if swap or squared:
        _no("optax.losses.triplet_margin_loss has no swap and no squared distance")
    if eps:
        _no("optax puts eps inside the root, sqrt(sum(d**2) + eps); lossbook and torch add eps to the "
            "difference, ||a - p + eps||: they agree at eps=0")
    return np.asarray(_optax().triplet_margin_loss(anchor, positive, negative, margin=margin, eps=0.0),
                      dtype=np.float64)



def _optax_soft_margin(y_true, y_pred):
    return _optax_per_sample(_optax().sigmoid_binary_cross_entropy(y_pred, (1.0 + y_true) / 2.0))


def _optax_multilabel_soft_margin(y_true, y_pred):
    return _optax_per_sample(_optax().sigmoid_binary_cross_entropy(y_pred, y_true))


def _optax_poly1(y_true, y_pred, *, poly_epsilon):
    return np.asarray(_optax().poly_loss_cross_entropy(y_pred, y_true, epsilon=poly_epsilon), dtype=np.float64)


def _optax_distillation_kl(y_true, y_pred, *, temperature):
    jax = import_jax()[0]
    t = temperature
    log_q_s, log_q_t = jax.nn.log_softmax(y_pred / t, axis=-1), jax.nn.log_softmax(y_true / t, axis=-1)
    return np.asarray(_optax().kl_divergence_with_log_targets(log_q_s, log_q_t), dtype=np.float64) * t ** 2


def _optax_gan_discriminator(real_logits, fake_logits, *, form):
    r, f = np.asarray(real_logits, float), np.asarray(fake_logits, float)
    if form == "hinge":  # the SVM hinge with labels +1 (real) and -1 (generated)
        hinge = _optax().hinge_loss
        return mean_last(np.asarray(hinge(r, np.ones_like(r)) + hinge(f, -np.ones_like(f)), dtype=np.float64))
    if form not in ("minimax", "non_saturating"):
        raise NotImplementedError("optax has no Wasserstein GAN loss")
    bce = _optax().sigmoid_binary_cross_entropy
    return mean_last(np.asarray(bce(r, np.ones_like(r)) + bce(f, np.zeros_like(f)), dtype=np.float64))


def _optax_gan_generator(fake_logits, *, form):
    if form not in ("minimax", "non_saturating"):
        raise NotImplementedError("optax has no hinge or Wasserstein GAN loss")
    f = np.asarray(fake_logits, float)
    bce = _optax().sigmoid_binary_cross_entropy
    out = bce(f, np.ones_like(f)) if form == "non_saturating" else -bce(f, np.zeros_like(f))
    return mean_last(np.asarray(out, dtype=np.float64))


def _optax_softmax_ranking(y_true, y_pred, *, normalize):
    """optax.losses.ranking_softmax_loss per list (reduce_fn=None); normalize: labels / their sum first."""
    y = np.asarray(y_true, float)
    if normalize:
        total = y.sum(axis=-1, keepdims=True)
        y = np.where(total > 0, y / np.where(total > 0, total, 1.0), 0.0)  # a list with no relevant item: 0
    out = _optax().ranking_softmax_loss(np.asarray(y_pred, float), y, reduce_fn=None)
    return np.asarray(out, dtype=np.float64)


def _optax_overlap(kind):
    """optax's ``dice_loss`` on probabilities: the mask as two channels ``[p, 1 - p]`` (each pixel's channels
    must sum to 1 when ``apply_softmax=False``), class 0 of ``reduction="none"``.  optax writes every overlap
    loss in Tversky's form ``(I + s) / (I + alpha FP + beta FN + s)``: Dice is alpha = beta = 1/2 with
    half of lossbook's smooth, Jaccard alpha = beta = 1."""

    def fn(y_true, y_pred, *, smooth, epsilon, alpha=0.5, beta=0.5):
        if epsilon != 0:
            raise NotImplementedError("optax adds smooth to the numerator and the denominator, no epsilon")
        a, b, s = {"dice": (0.5, 0.5, smooth / 2), "jaccard": (1.0, 1.0, smooth), "tversky": (alpha, beta, smooth)}[kind]
        y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
        out = _optax().dice_loss(np.stack([p, 1.0 - p], -1), np.stack([y, 1.0 - y], -1), smooth=s, alpha=a, beta=b,
                                 apply_softmax=False, reduction="none")
        return np.asarray(out, dtype=np.float64)[:, 0]

    fn.__name__ = f"_optax_{kind}"
    return fn


def _optax_sparsemax_loss(y_true, y_pred):
    return np.asarray(_optax().multiclass_sparsemax_loss(y_pred, y_true.astype(np.int64)), dtype=np.float64)


OPTAX = {
    "mean_squared_error": ("optax.losses.squared_error", "optax.losses.squared_error(y_pred, y_true).mean(-1)",
                           _optax_mse),
    "huber": ("optax.losses.huber_loss", "optax.losses.huber_loss(y_pred, y_true, delta=delta).mean(-1)", _optax_huber),
    "log_cosh": ("optax.losses.log_cosh", "optax.losses.log_cosh(y_pred, y_true).mean(-1)", _optax_log_cosh),
    "binary_crossentropy": ("optax.losses.sigmoid_binary_cross_entropy",
                            "optax.losses.sigmoid_binary_cross_entropy(logits, y * (1 - s) + s / 2).mean(-1) "
                            "for from_logits=True, label_smoothing=s; probabilities are not expressible", _optax_bce),
    "binary_focal_crossentropy": ("optax.losses.sigmoid_focal_loss",
                                  "optax.losses.sigmoid_focal_loss(logits, y, alpha=alpha if apply_class_balancing "
                                  "else None, gamma=gamma).mean(-1) for from_logits=True", _optax_focal),
    "categorical_crossentropy": ("optax.losses.softmax_cross_entropy",
                                 "optax.losses.softmax_cross_entropy(logits, optax.losses.smooth_labels(y, s)) for "
                                 "from_logits=True, label_smoothing=s", _optax_cce),
    "sparse_categorical_crossentropy": ("optax.losses.softmax_cross_entropy_with_integer_labels",
                                        "optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels) for "
                                        "from_logits=True", _optax_scce),
    "kl_divergence": ("optax.losses.kl_divergence", "optax.losses.kl_divergence(jnp.log(y_pred), y_true): "
                      "log-probabilities first", _optax_kl),
    "hinge": ("optax.losses.hinge_loss", "optax.losses.hinge_loss(y_pred, y_true).mean(-1), labels in {-1, 1}",
              _optax_hinge),
    "multiclass_hinge": ("optax.losses.multiclass_hinge_loss",
                         "optax.losses.multiclass_hinge_loss(scores, labels) for the plain Crammer-Singer mode",
                         _optax_multiclass_hinge),
    "cosine_similarity": ("optax.losses.cosine_similarity",
                          "-optax.losses.cosine_similarity(y_pred, y_true, epsilon=1e-7): optax's is the "
                          "similarity, Keras's and lossbook's the negated similarity", _optax_cosine_similarity),
    "triplet": ("optax.losses.triplet_margin_loss",
                "optax.losses.triplet_margin_loss(anchor, positive, negative, margin=margin, eps=0.0) for p=2, "
                "eps=0 (optax's eps sits inside the root)", _optax_triplet),
    "soft_margin": ("optax.losses.sigmoid_binary_cross_entropy",
                    "optax.losses.sigmoid_binary_cross_entropy(scores, (1 + y) / 2).mean(-1): the logistic loss "
                    "with labels moved from {-1, 1} to {0, 1}", _optax_soft_margin),
    "multilabel_soft_margin": ("optax.losses.sigmoid_binary_cross_entropy",
                               "optax.losses.sigmoid_binary_cross_entropy(logits, y).mean(-1)",
                               _optax_multilabel_soft_margin),
    "poly1_crossentropy": ("optax.losses.poly_loss_cross_entropy",
                           "optax.losses.poly_loss_cross_entropy(logits, y, epsilon=poly_epsilon)", _optax_poly1),
    "distillation_kl": ("optax.losses.kl_divergence_with_log_targets",
                        "optax.losses.kl_divergence_with_log_targets(jax.nn.log_softmax(student / T), "
                        "jax.nn.log_softmax(teacher / T)) * T ** 2 (log-probabilities of both: no 0 log 0)",
                        _optax_distillation_kl),
    "gan_discriminator": ("optax.losses.sigmoid_binary_cross_entropy",
                          "sigmoid_binary_cross_entropy(real, 1) + sigmoid_binary_cross_entropy(fake, 0), then the "
                          "mean over D (minimax, non-saturating forms); hinge form: hinge_loss(real, 1) + "
                          "hinge_loss(fake, -1)", _optax_gan_discriminator),
    "gan_generator": ("optax.losses.sigmoid_binary_cross_entropy",
                      "sigmoid_binary_cross_entropy(fake, 1) (non-saturating), -sigmoid_binary_cross_entropy(fake, 0) "
                      "(minimax)", _optax_gan_generator),
    "softmax_ranking": ("optax.losses.ranking_softmax_loss",
                        "optax.losses.ranking_softmax_loss(scores, labels, reduce_fn=None): scores first, one value "
                        "per list, the labels used as they are (optax 0.2.8 does not divide them by their sum); "
                        "normalize=True: pass labels / labels.sum(-1, keepdims=True) (0 for a list with no relevant "
                        "item). reduce_fn=jnp.mean is lossbook's mean over lists", _optax_softmax_ranking),
    "dice": ("optax.losses.dice_loss",
             "optax.losses.dice_loss(stack([p, 1 - p], -1), stack([y, 1 - y], -1), smooth=smooth / 2, "
             "apply_softmax=False, reduction='none')[:, 0] (optax's smooth=1 is lossbook's smooth=2; on logits, "
             "binary_dice_loss(logits, y) is dice(sigmoid(logits), y, smooth=2))", _optax_overlap("dice")),
    "tversky": ("optax.losses.dice_loss",
                "optax.losses.dice_loss(stack([p, 1 - p], -1), stack([y, 1 - y], -1), alpha=alpha, beta=beta, "
                "smooth=smooth, apply_softmax=False, reduction='none')[:, 0] (alpha on the false positives, as "
                "lossbook's)", _optax_overlap("tversky")),
    "jaccard": ("optax.losses.dice_loss",
                "optax.losses.dice_loss(stack([p, 1 - p], -1), stack([y, 1 - y], -1), alpha=1, beta=1, "
                "smooth=smooth, apply_softmax=False, reduction='none')[:, 0]", _optax_overlap("jaccard")),
    "sparsemax_loss": ("optax.losses.multiclass_sparsemax_loss",
                       "optax.losses.multiclass_sparsemax_loss(scores, labels) (integer labels; optax's sparsemax_loss "
                       "is the binary one: sparsemax_loss(s, y) == lb.sparsemax_loss(y, [[0, s]]) per row)",
                       _optax_sparsemax_loss),
}


# ============================================================================================
# distributions (lossbook/distributions.py)
# ============================================================================================
def _torch_gaussian_nll(y_true, mean, var, *, full, eps, beta):
    """torch's GaussianNLLLoss per element (reduction='none'), times var.clamp(eps) ** beta, mean over D."""
    torch = import_torch()
    nll = torch.nn.GaussianNLLLoss(full=full, eps=eps, reduction="none")(_t(mean), _t(y_true), _t(var))
    if beta:
        nll = nll * _t(var).clamp(min=eps) ** beta
    return mean_last(nll.numpy())


def _torch_normal_log_prob(y_true, mean, var, *, full, eps, beta):
    """-torch.distributions.Normal(mean, sqrt(var)).log_prob(y_true): the exact density, so full=True and no clamp."""
    if not full or beta or np.min(var) < eps:
        raise NotImplementedError("Normal.log_prob is the full negative log-density, with no clamp and no beta")
    torch = import_torch()
    dist = torch.distributions.Normal(_t(mean), _t(var).sqrt())
    return mean_last(-dist.log_prob(_t(y_true)).numpy())


def _torch_vae_kl(mu, log_var):
    """The KL term of torch's VAE example, per sample: -0.5 * sum(1 + log_var - mu^2 - exp(log_var))."""
    mu, lv = _t(np.atleast_2d(np.asarray(mu).T).T), _t(np.atleast_2d(np.asarray(log_var).T).T)
    return (-0.5 * (1 + lv - mu.pow(2) - lv.exp()).sum(-1)).numpy()


def _torch_distributions_kl(mu, log_var):
    torch = import_torch()
    mu, lv = _t(np.atleast_2d(np.asarray(mu).T).T), _t(np.atleast_2d(np.asarray(log_var).T).T)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * lv))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum(-1).numpy()


def _keras_vae_kl(mu, log_var):
    """The KL term of Keras's VAE example (keras.ops, float32), per sample."""
    keras = import_keras()
    ops = keras.ops
    mu = np.atleast_2d(np.asarray(mu, np.float32).T).T
    lv = np.atleast_2d(np.asarray(log_var, np.float32).T).T
    kl = -0.5 * (1 + ops.convert_to_tensor(lv) - ops.square(ops.convert_to_tensor(mu)) - ops.exp(ops.convert_to_tensor(lv)))
    return ops.convert_to_numpy(ops.sum(kl, axis=1)).astype(np.float64)


def _torch_gan_discriminator(real_logits, fake_logits, *, form):
    """BCEWithLogitsLoss with real -> 1 and fake -> 0 (minimax, non-saturating); relu and identity otherwise."""
    torch = import_torch()
    F = torch.nn.functional
    r, f = _t(real_logits), _t(fake_logits)
    if form in ("minimax", "non_saturating"):
        out = (F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction="none")
               + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction="none"))
    elif form == "hinge":
        out = F.relu(1 - r) + F.relu(1 + f)
    else:
        out = f - r
    return mean_last(out.numpy())


def _torch_gan_generator(fake_logits, *, form):
    """non-saturating: BCE of the fake logits against 1; minimax: minus their BCE against 0; else -d."""
    torch = import_torch()
    F = torch.nn.functional
    f = _t(fake_logits)
    if form == "non_saturating":
        out = F.binary_cross_entropy_with_logits(f, torch.ones_like(f), reduction="none")
    elif form == "minimax":
        out = -F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction="none")
    else:
        out = -f
    return mean_last(out.numpy())


def _keras_bce_logits(logits, target):
    """Keras's BinaryCrossentropy(from_logits=True) per element (float32), shape of ``logits``."""
    y_pred = np.asarray(logits, np.float32)
    flat = y_pred.ndim == 1
    y_pred = y_pred[:, :, None] if not flat else y_pred[:, None]
    out = keras_per_sample("BinaryCrossentropy", np.full(y_pred.shape, target, np.float32), y_pred,
                           pointwise=False, from_logits=True)
    return out.reshape(np.shape(logits))


def _keras_elementwise(class_name, logits, target):
    """Keras's loss ``class_name`` per element (float32), shape of ``logits``: a trailing axis of size 1
    keeps Keras's mean over the last axis from mixing elements."""
    y_pred = np.asarray(logits, np.float32)
    y_pred = y_pred[:, :, None] if y_pred.ndim == 2 else y_pred[:, None]
    out = keras_per_sample(class_name, np.full(y_pred.shape, target, np.float32), y_pred, pointwise=False)
    return out.reshape(np.shape(logits))


def _keras_gan_discriminator(real_logits, fake_logits, *, form):
    if form == "hinge":  # the SVM hinge with labels +1 (real) and -1 (generated), called once per label
        return mean_last(_keras_elementwise("Hinge", real_logits, 1.0) + _keras_elementwise("Hinge", fake_logits, -1.0))
    if form not in ("minimax", "non_saturating"):
        raise NotImplementedError("Keras has no Wasserstein GAN loss (write it with keras.ops)")
    return mean_last(_keras_bce_logits(real_logits, 1.0) + _keras_bce_logits(fake_logits, 0.0))


def _keras_gan_generator(fake_logits, *, form):
    if form == "non_saturating":
        return mean_last(_keras_bce_logits(fake_logits, 1.0))
    if form == "minimax":
        return mean_last(-_keras_bce_logits(fake_logits, 0.0))
    raise NotImplementedError("Keras has no hinge or Wasserstein GAN loss (write them with keras.ops)")


DISTRIBUTIONS = {
    "gaussian_nll": (
        Counterpart("torch", "torch.nn.GaussianNLLLoss",
                    "torch.nn.GaussianNLLLoss(full=full, eps=eps)(mean, y_true, var): torch's order is (input, "
                    "target, var), var a variance of mean's shape; for beta > 0 multiply the elementwise loss "
                    "(reduction='none') by var.clamp(min=eps).detach() ** beta before the mean",
                    _torch_gaussian_nll),
        Counterpart("torch", "torch.distributions.Normal.log_prob",
                    "-Normal(mean, var.sqrt()).log_prob(y_true).mean(): the exact density, so full=True and var >= eps "
                    "(no clamp)", _torch_normal_log_prob),
    ),
    "gaussian_kl": (
        Counterpart("torch", "torch's VAE example",
                    "-0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=-1): summed over the latent "
                    "dimensions, then the batch mean", _torch_vae_kl),
        Counterpart("torch", "torch.distributions.kl_divergence",
                    "kl_divergence(Normal(mu, (0.5 * log_var).exp()), Normal(0, 1)).sum(-1)", _torch_distributions_kl),
        Counterpart("keras", "Keras's VAE example (keras.ops)",
                    "ops.sum(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1), float32",
                    _keras_vae_kl, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "gan_discriminator": (
        Counterpart("torch", "torch.nn.BCEWithLogitsLoss (hinge, Wasserstein: composed)",
                    "BCEWithLogits(real, 1) + BCEWithLogits(fake, 0) for the minimax and non-saturating forms; "
                    "relu(1 - real) + relu(1 + fake) (hinge); fake - real (Wasserstein); each with reduction='none', "
                    "then the mean", _torch_gan_discriminator),
        Counterpart("keras", "keras.losses.BinaryCrossentropy(from_logits=True)",
                    "BinaryCrossentropy(from_logits=True)(ones, real) + BinaryCrossentropy(from_logits=True)(zeros, "
                    "fake), float32; hinge form: keras.losses.Hinge()(ones, real) + Hinge()(-ones, fake) (two calls: "
                    "Keras converts {0, 1} labels only when a batch holds nothing else); no Wasserstein loss",
                    _keras_gan_discriminator,
                    rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "gan_generator": (
        Counterpart("torch", "torch.nn.BCEWithLogitsLoss (hinge, Wasserstein: -fake)",
                    "BCEWithLogits(fake, 1) (non-saturating); -BCEWithLogits(fake, 0) (minimax: log(1 - D)); "
                    "-fake (hinge, Wasserstein)", _torch_gan_generator),
        Counterpart("keras", "keras.losses.BinaryCrossentropy(from_logits=True)",
                    "BinaryCrossentropy(from_logits=True)(ones, fake) (non-saturating); minus the same against "
                    "zeros (minimax), float32", _keras_gan_generator, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
}


# ============================================================================================
# listwise ranking (lossbook/listwise.py): torch expressions (torch has no ranking loss on lists)
# ============================================================================================
_NO_KERAS = ("Keras 3 has no ranking loss (keras.losses, 3.15.1, checked); write it with keras.ops. The "
             "separate keras-rs package has ranking losses; it is not installed here and is not compared")


def _torch_ranknet(y_true, y_pred, *, normalize):
    """BCE-with-logits of every score difference s_i - s_j against 1, on the pairs with y_i > y_j."""
    torch = import_torch()
    F = torch.nn.functional
    y, s = _t(y_true), _t(y_pred)
    diff = s[:, :, None] - s[:, None, :]
    pairs = (y[:, :, None] > y[:, None, :]).double()
    per_pair = F.binary_cross_entropy_with_logits(diff, torch.ones_like(diff), reduction="none")
    total = (per_pair * pairs).sum(dim=(1, 2))
    return (total / pairs.sum(dim=(1, 2)).clamp(min=1) if normalize else total).numpy()


def _torch_listnet(y_true, y_pred):
    """Cross-entropy with probability targets: F.cross_entropy(scores, softmax(relevance))."""
    torch = import_torch()
    F = torch.nn.functional
    return F.cross_entropy(_t(y_pred), torch.softmax(_t(y_true), dim=-1), reduction="none").numpy()


def _torch_softmax_ranking(y_true, y_pred, *, normalize):
    """F.cross_entropy with the relevance as (unnormalised) probability targets: torch does not check that they sum to 1."""
    torch = import_torch()
    F = torch.nn.functional
    y = _t(y_true)
    if normalize:
        total = y.sum(dim=-1, keepdim=True)
        y = torch.where(total > 0, y / total.clamp(min=1e-300), torch.zeros_like(y))
    return F.cross_entropy(_t(y_pred), y, reduction="none").numpy()


def _keras_listnet(y_true, y_pred):
    """Keras's CategoricalCrossentropy(from_logits=True) against the softmax of the relevance (float32)."""
    ops = import_keras().ops
    target = ops.convert_to_numpy(ops.softmax(np.asarray(y_true, np.float32), axis=-1))
    return keras_per_sample("CategoricalCrossentropy", target, y_pred, pointwise=False, from_logits=True)


def _keras_softmax_ranking(y_true, y_pred, *, normalize):
    """Keras's CategoricalCrossentropy(from_logits=True) takes the relevance as it is: -sum y log_softmax (float32)."""
    y = np.asarray(y_true, float)
    if normalize:
        total = y.sum(axis=-1, keepdims=True)
        y = np.where(total > 0, y / np.where(total > 0, total, 1.0), 0.0)
    return keras_per_sample("CategoricalCrossentropy", y, y_pred, pointwise=False, from_logits=True)


def _torch_listmle(y_true, y_pred):
    """Sort the scores by relevance (stable, descending), then a reverse logcumsumexp."""
    torch = import_torch()
    order = torch.argsort(_t(y_true), dim=-1, descending=True, stable=True)
    s = _t(y_pred).gather(-1, order)
    stage = torch.logcumsumexp(s.flip(-1), dim=-1).flip(-1)  # log sum_{j >= k} e^{s_j}
    return (stage - s).sum(dim=-1).numpy()


def _torch_lambdarank(y_true, y_pred, *, normalize):
    """The chapter's LambdaRank in float64 torch: RankNet's BCE-with-logits terms weighted by |Delta NDCG|,
    the weights computed under no_grad (ties in the scores placed in index order: a stable sort)."""
    torch = import_torch()
    F = torch.nn.functional
    y, s = _t(y_true), _t(y_pred)
    with torch.no_grad():
        place = torch.argsort(torch.argsort(s, dim=-1, descending=True, stable=True), dim=-1)  # 0 = top
        discount = 1.0 / torch.log2(place.to(s.dtype) + 2.0)
        ideal = (torch.sort(y, dim=-1, descending=True).values
                 / torch.log2(torch.arange(s.shape[-1], dtype=s.dtype) + 2.0)).sum(-1)
        pairs = (y[:, :, None] > y[:, None, :]).double()
        delta = ((y[:, :, None] - y[:, None, :]).abs() * (discount[:, :, None] - discount[:, None, :]).abs()
                 / ideal.clamp(min=1e-300)[:, None, None])
    d = s[:, :, None] - s[:, None, :]
    per_pair = F.binary_cross_entropy_with_logits(d, torch.ones_like(d), reduction="none")
    total = (per_pair * pairs * delta).sum(dim=(1, 2))
    return (total / pairs.sum(dim=(1, 2)).clamp(min=1) if normalize else total).numpy()


LISTWISE = {
    "ranknet": (
        Counterpart("torch", "torch.nn.functional.binary_cross_entropy_with_logits on score differences",
                    "d = s[:, :, None] - s[:, None, :]; pairs = (y[:, :, None] > y[:, None, :]).double(); "
                    "l = (F.binary_cross_entropy_with_logits(d, torch.ones_like(d), reduction='none') * pairs)"
                    ".sum((1, 2)); divided by pairs.sum((1, 2)).clamp(min=1) for normalize=True (F.softplus(-d) "
                    "would do, but torch's softplus returns x itself above threshold=20)", _torch_ranknet),
        Counterpart("keras", "(none)", _NO_KERAS),
    ),
    "listnet": (
        Counterpart("torch", "torch.nn.functional.cross_entropy (probability targets)",
                    "F.cross_entropy(scores, torch.softmax(relevance, -1), reduction='none'): scores first, one "
                    "list per row", _torch_listnet),
        Counterpart("keras", "keras.losses.CategoricalCrossentropy(from_logits=True) (no ranking loss)",
                    _NO_KERAS + "; CategoricalCrossentropy(from_logits=True)(keras.ops.softmax(relevance), scores) "
                    "is ListNet's cross-entropy, float32", _keras_listnet, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "softmax_ranking": (
        Counterpart("torch", "torch.nn.functional.cross_entropy (probability targets, unnormalised)",
                    "F.cross_entropy(scores, relevance, reduction='none'): torch takes the targets as they are; "
                    "normalize=True: relevance / relevance.sum(-1, keepdim=True), 0 for a list with no relevant "
                    "item", _torch_softmax_ranking),
        Counterpart("keras", "keras.losses.CategoricalCrossentropy(from_logits=True) (no ranking loss)",
                    _NO_KERAS + "; CategoricalCrossentropy(from_logits=True)(relevance, scores) computes the same "
                    "sum, the targets as they are (normalize=True: divide them by their sum first), float32",
                    _keras_softmax_ranking, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "listmle": (
        Counterpart("torch", "torch.logcumsumexp on the scores sorted by relevance",
                    "order = torch.argsort(relevance, -1, descending=True, stable=True); s = scores.gather(-1, "
                    "order); (torch.logcumsumexp(s.flip(-1), -1).flip(-1) - s).sum(-1) (ties in index order, "
                    "as lossbook)", _torch_listmle),
        Counterpart("keras", "(none)", _NO_KERAS),
    ),
    "lambdarank": (
        Counterpart("torch", "(none: the chapter's float64 torch expression)",
                    "under torch.no_grad(): place = argsort(argsort(s, -1, descending=True, stable=True), -1); "
                    "D = 1 / log2(place + 2); idcg = (sort(y, descending) / log2(arange(L) + 2)).sum(-1); "
                    "pairs = (y[:, :, None] > y[:, None, :]); w = |y_i - y_j| |D_i - D_j| / idcg on the pairs; then "
                    "(F.binary_cross_entropy_with_logits(d, ones, reduction='none') * w).sum((1, 2)), d = s_i - s_j, "
                    "divided by the number of pairs (normalize=True). torch has no LambdaRank loss (nor optax; "
                    "TF-Ranking's lambda weights are TensorFlow)", _torch_lambdarank),
        Counterpart("keras", "(none)", _NO_KERAS),
    ),
}


# ============================================================================================
# segmentation (lossbook/segmentation.py)
# ============================================================================================
def _torch_overlap(kind):
    """The textbook formula in float64 torch: 1 - (c I + s) / (denominator + s + epsilon), per row."""

    def fn(y_true, y_pred, *, smooth, epsilon, alpha=0.5, beta=0.5):
        y, p = _t(y_true), _t(y_pred)
        inter = (y * p).sum(-1)
        if kind == "dice":
            out = 1 - (2 * inter + smooth) / (y.sum(-1) + p.sum(-1) + smooth + epsilon)
        elif kind == "jaccard":
            out = 1 - (inter + smooth) / (y.sum(-1) + p.sum(-1) - inter + smooth + epsilon)
        else:
            fp, fn_ = ((1 - y) * p).sum(-1), (y * (1 - p)).sum(-1)
            out = 1 - (inter + smooth) / (inter + alpha * fp + beta * fn_ + smooth + epsilon)
        return out.numpy()

    fn.__name__ = f"_torch_{kind}"
    return fn


def _keras_overlap(kind):
    """keras.losses.Dice / Tversky per image (axis=1, reduction=None), float32; Keras's smoothing only."""

    def fn(y_true, y_pred, *, smooth, epsilon, alpha=0.5, beta=0.5):
        if smooth != 0 or epsilon != KERAS_EPSILON:
            raise NotImplementedError("Keras adds 1e-7 to the denominator only (smooth=0, epsilon=1e-7)")
        keras = import_keras()
        if kind == "dice":
            loss = keras.losses.Dice(axis=1, reduction=None)
        else:  # Keras's alpha multiplies sum y (1 - p), the false negatives: the two swap
            a, b = (1.0, 1.0) if kind == "jaccard" else (beta, alpha)
            loss = keras.losses.Tversky(alpha=a, beta=b, axis=1, reduction=None)
        out = loss(np.asarray(y_true, "float32"), np.asarray(y_pred, "float32"))
        return np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float64)

    fn.__name__ = f"_keras_{kind}"
    return fn


def _torch_lovasz_hinge(y_true, y_pred):
    """Berman et al.'s lovasz_hinge_flat (lovasz_losses.py) per image, in float64 torch: sort the hinge
    errors, the Jaccard loss along the sorted labels, its differences, then relu(errors) . increments."""
    torch = import_torch()
    out = []
    for labels, logits in zip(_t(y_true), _t(y_pred)):
        errors = 1.0 - logits * (2.0 * labels - 1.0)
        errors_sorted, perm = torch.sort(errors, descending=True)
        gt_sorted = labels[perm]
        gts = gt_sorted.sum()
        jaccard = 1.0 - (gts - gt_sorted.cumsum(0)) / (gts + (1.0 - gt_sorted).cumsum(0))
        increments = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
        out.append(torch.dot(torch.relu(errors_sorted), increments))
    return torch.stack(out).numpy()


SEGMENTATION = {
    "dice": (
        Counterpart("torch", "the soft Dice formula in torch (float64)",
                    "1 - (2 * (y * p).sum(-1) + smooth) / (y.sum(-1) + p.sum(-1) + smooth + epsilon): torch has "
                    "no Dice loss", _torch_overlap("dice")),
        Counterpart("keras", "keras.losses.Dice",
                    "keras.losses.Dice(axis=1, reduction=None)(y_true, y_pred) for smooth=0, epsilon=1e-7, float32 "
                    "(the default axis=None is one Dice over the whole batch: lossbook's loss of y.reshape(1, -1))",
                    _keras_overlap("dice"), rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "tversky": (
        Counterpart("torch", "the Tversky formula in torch (float64)",
                    "1 - (I + smooth) / (I + alpha * ((1 - y) * p).sum(-1) + beta * (y * (1 - p)).sum(-1) + smooth "
                    "+ epsilon), I = (y * p).sum(-1)", _torch_overlap("tversky")),
        Counterpart("keras", "keras.losses.Tversky",
                    "keras.losses.Tversky(alpha=beta, beta=alpha, axis=1, reduction=None)(y_true, y_pred) for "
                    "smooth=0, epsilon=1e-7, float32: Keras's alpha weighs the false negatives, not the false "
                    "positives its docstring names", _keras_overlap("tversky"), rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "jaccard": (
        Counterpart("torch", "the soft IoU formula in torch (float64)",
                    "1 - ((y * p).sum(-1) + smooth) / (y.sum(-1) + p.sum(-1) - (y * p).sum(-1) + smooth + epsilon)",
                    _torch_overlap("jaccard")),
        Counterpart("keras", "keras.losses.Tversky(alpha=1, beta=1)",
                    "keras.losses.Tversky(alpha=1.0, beta=1.0, axis=1, reduction=None)(y_true, y_pred) for smooth=0, "
                    "epsilon=1e-7, float32: Keras has no Jaccard loss by name", _keras_overlap("jaccard"),
                    rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
    "lovasz_hinge": (
        Counterpart("torch", "Berman et al.'s lovasz_hinge_flat (lovasz_losses.py)",
                    "per image: errors = 1 - logits * (2 * labels - 1); errors_sorted, perm = torch.sort(errors, "
                    "descending=True); the Jaccard loss 1 - (G - cumsum(gt_sorted)) / (G + cumsum(1 - gt_sorted)) "
                    "and its differences (the first kept); torch.dot(relu(errors_sorted), those); their "
                    "lovasz_hinge(per_image=True) is the mean", _torch_lovasz_hinge),
    ),
}


# ============================================================================================
# sparsemax (lossbook/fenchel_young.py)
# ============================================================================================
def _torch_sparsemax(z):
    """Sparsemax in torch (which has none): the sort-based projection, and its threshold (N, 1)."""
    torch = import_torch()
    s, _ = torch.sort(z, dim=-1, descending=True)
    cums = s.cumsum(-1)
    ranks = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    k = (1 + ranks * s > cums).sum(-1, keepdim=True)  # the support's size
    tau = (cums.gather(-1, k - 1) - 1) / k
    return (z - tau).clamp(min=0), tau


def _torch_sparsemax_loss(y_true, y_pred):
    """Martins & Astudillo's formula in torch, float64: -z_y + 0.5 * sum_S (z_j^2 - tau^2) + 0.5."""
    torch = import_torch()
    z, y = _t(y_pred), _t(y_true, "int64")
    _, tau = _torch_sparsemax(z)
    z_y = z.gather(-1, y[:, None])[:, 0]
    return (-z_y + 0.5 * torch.where(z > tau, z ** 2 - tau ** 2, 0.0).sum(-1) + 0.5).numpy()


def _keras_sparsemax(keras, z):
    """keras.activations.sparsemax where it is right; in Keras 3.15.1 it is not (keras-team/keras#23425: tau
    from the sum of *every* cumulative sum in the support), and the same ops with #23469's fix stand in."""
    ops = keras.ops
    probe = ops.convert_to_numpy(keras.activations.sparsemax(np.array([[0.0, 0.5, 1.0]], np.float32)))
    if abs(float(probe.sum()) - 1.0) < 1e-6:
        return keras.activations.sparsemax(z)
    s = ops.flip(ops.sort(z, axis=-1), axis=-1)  # descending
    cums = ops.cumsum(s, axis=-1)
    ranks = ops.arange(1, z.shape[-1] + 1, dtype="float32")
    support = s - (cums - 1.0) / ranks > 0
    k = ops.sum(ops.cast(support, "float32"), axis=-1, keepdims=True)
    tau = (ops.sum(ops.where(support, s, 0.0), axis=-1, keepdims=True) - 1.0) / k  # the sorted scores, summed
    return ops.maximum(z - tau, 0.0)


def _keras_sparsemax_loss(y_true, y_pred):
    """optax's form with Keras's ops, float32: sum_j p_j (z_j - z_y) + 0.5 * (1 - ||p||^2), p = sparsemax(z)."""
    keras = import_keras()
    ops = keras.ops
    z = ops.convert_to_tensor(np.asarray(y_pred, np.float32))
    p = _keras_sparsemax(keras, z)
    labels = ops.convert_to_tensor(np.asarray(y_true, np.int64)[:, None])
    z_y = ops.take_along_axis(z, labels, axis=-1)
    loss = ops.sum(p * (z - z_y), axis=-1) + 0.5 * (1.0 - ops.sum(p * p, axis=-1))
    return ops.convert_to_numpy(loss).astype(np.float64)


SPARSEMAX = {
    "sparsemax_loss": (
        Counterpart("torch", "torch (composed: torch has no sparsemax)",
                    "s = z.sort(-1, descending=True)[0]; cums = s.cumsum(-1); k = (1 + r * s > cums).sum(-1, keepdim="
                    "True) with r = 1..C; tau = (cums.gather(-1, k - 1) - 1) / k; then -z.gather(-1, y[:, None])[:, 0] "
                    "+ 0.5 * torch.where(z > tau, z**2 - tau**2, 0).sum(-1) + 0.5; autograd gives sparsemax(z) - "
                    "one_hot(y)", _torch_sparsemax_loss),
        Counterpart("keras", "keras.ops (composed: Keras has no sparsemax loss, and its sparsemax activation is wrong "
                             "in 3.15.1)",
                    "p = keras.activations.sparsemax(z) (in Keras 3.15.1 it is wrong once two classes share the "
                    "support, keras-team/keras#23425: compute tau = (sum over the support of the sorted scores - 1) / "
                    "k as #23469 does), then ops.sum(p * (z - z_y), -1) + 0.5 * (1 - ops.sum(p * p, -1)), float32",
                    _keras_sparsemax_loss, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
}


# ============================================================================================
# sequences (lossbook/sequences.py): CTC
# ============================================================================================
def _ctc_parts(targets, input_lengths, target_lengths, filler):
    """Integer targets with what lies past each length replaced by ``filler`` (a valid class id:
    torch and optax ignore those entries, but read them as ids), and the lengths as integers."""
    inside = np.arange(targets.shape[1])[None, :] < target_lengths[:, None]
    return (np.where(inside, targets, filler).astype(np.int64), input_lengths.astype(np.int64),
            target_lengths.astype(np.int64), inside)


def _torch_ctc(targets, logits, input_lengths, target_lengths, *, blank, zero_infinity):
    torch = import_torch()
    tg, il, tl, _ = _ctc_parts(targets, input_lengths, target_lengths, filler=1 if blank == 0 else 0)
    log_probs = torch.as_tensor(logits, dtype=torch.float64).log_softmax(-1).transpose(0, 1)  # (T, N, C)
    out = torch.nn.CTCLoss(blank=blank, reduction="none", zero_infinity=zero_infinity)(
        log_probs, torch.as_tensor(tg), torch.as_tensor(il), torch.as_tensor(tl))
    return out.numpy()


def _keras_ctc(targets, logits, input_lengths, target_lengths, *, blank, zero_infinity):
    if blank != 0:
        raise NotImplementedError("Keras's CTC fixes the blank at class 0")
    if np.any(input_lengths != logits.shape[1]):
        raise NotImplementedError("Keras's CTC reads every input whole (input length = T)")
    tg, _, _, _ = _ctc_parts(targets, input_lengths, target_lengths, filler=0)  # 0-padded: Keras counts non-zeros
    keras = import_keras()
    out = keras.losses.ctc(tg.astype(np.int32), np.asarray(logits, dtype=np.float32))
    return np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float64)


def _optax_ctc(targets, logits, input_lengths, target_lengths, *, blank, zero_infinity):
    from .sequences import min_steps

    if zero_infinity and np.any(min_steps(targets, target_lengths) > input_lengths):
        raise NotImplementedError("optax has no zero_infinity: an impossible sample gets a large finite loss "
                                  "from its log_epsilon")
    tg, il, _, inside = _ctc_parts(targets, input_lengths, target_lengths, filler=0)
    logit_paddings = (np.arange(logits.shape[1])[None, :] >= il[:, None]).astype(np.float64)
    out = _optax().ctc_loss(logits, logit_paddings, tg, (~inside).astype(np.float64), blank_id=blank)
    return np.asarray(out, dtype=np.float64)


SEQUENCES = {
    "ctc": (
        Counterpart("torch", "torch.nn.CTCLoss",
                    "torch.nn.CTCLoss(blank=blank, reduction='none', zero_infinity=zero_infinity)(logits.log_softmax(-1)"
                    ".transpose(0, 1), targets, input_lengths, target_lengths): log-probabilities laid out (T, N, C), "
                    "integer targets and lengths; reduction='mean' divides each sample by its target length before "
                    "the mean, so lossbook's mean is torch's 'sum' / N", _torch_ctc),
        Counterpart("keras", "keras.losses.CTC",
                    "keras.losses.CTC()(targets, logits) with targets padded with 0: Keras's blank is class 0, a "
                    "target's length is its number of non-zero entries, and every input is read whole; float32",
                    _keras_ctc, rtol=KERAS_RTOL, atol=KERAS_ATOL),
    ),
}
OPTAX["ctc"] = ("optax.losses.ctc_loss",
                "optax.losses.ctc_loss(logits, logit_paddings, labels, label_paddings, blank_id=blank): paddings are "
                "1.0 at the steps and labels past each length; an impossible sample gets a large finite loss (its "
                "log_epsilon = -1e5) rather than inf", _optax_ctc)


# ============================================================================================
# attaching them to the registered losses
# ============================================================================================
#: the family tables, in the order their modules are imported by ``lossbook/__init__.py``
FAMILY_TABLES = (REGRESSION, PROBABILISTIC, MARGIN, EMBEDDING, RANKING, LISTWISE, CUSTOM, CONTRASTIVE,
                 ANGULAR, CLASSIFICATION, DISTRIBUTIONS, SEGMENTATION, SPARSEMAX, SEQUENCES)
_attached = False


def attach_counterparts() -> None:
    """Give every registered loss its counterparts: its family table's entries in their order, then optax's.

    Called once by ``import lossbook``, after every family module has registered its losses;
    ``Loss.add_counterparts`` regenerates each docstring's list of counterparts.  A second call
    changes nothing.
    """
    global _attached
    if _attached:
        return
    for table in FAMILY_TABLES:
        for name, counterparts in table.items():
            LOSSES[name].add_counterparts(*counterparts)
    for name, (what, recipe, fn) in OPTAX.items():
        LOSSES[name].add_counterparts(Counterpart("optax", what, recipe, fn))
    _attached = True
