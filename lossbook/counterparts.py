"""optax (JAX) counterparts: how each loss optax has is called so that it agrees with lossbook.

optax's losses are pure functions of ``(predictions, targets)`` (prediction first, like torch) that
return one value per element or per row and never reduce: the mean over the last axis and over the
batch is the caller's. JAX computes in float32 unless x64 is on; ``import_jax`` turns it on, so
these comparisons are float64 against float64 and are held to 1e-12.

Each adapter takes NumPy arrays in lossbook's order and conventions and returns optax's per-sample
values; it raises ``NotImplementedError`` with the reason when optax cannot express the setting.
"""
from __future__ import annotations

import numpy as np

from .core import LOSSES, Counterpart
from .frameworks import import_jax


def _optax():
    return import_jax()[2].losses


def _per_sample(values) -> np.ndarray:
    """optax returns one value per element for pointwise losses: Keras's per-sample convention
    averages the last axis of an (N, D) input."""
    v = np.asarray(values, dtype=np.float64)
    return v.mean(axis=-1) if v.ndim == 2 else v


def _no(reason: str):
    raise NotImplementedError(reason)


def _mse(y_true, y_pred):
    return _per_sample(_optax().squared_error(y_pred, y_true))


def _huber(y_true, y_pred, *, delta):
    return _per_sample(_optax().huber_loss(y_pred, y_true, delta=delta))


def _log_cosh(y_true, y_pred):
    return _per_sample(_optax().log_cosh(y_pred, y_true))


def _bce(y_true, y_pred, *, from_logits, label_smoothing, epsilon):
    if not from_logits or epsilon:
        _no("optax.losses.sigmoid_binary_cross_entropy takes logits, not probabilities")
    targets = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing  # Keras's binary smoothing
    return _per_sample(_optax().sigmoid_binary_cross_entropy(y_pred, targets))


def _focal(y_true, y_pred, *, gamma, alpha, apply_class_balancing, from_logits, label_smoothing):
    if not from_logits:
        _no("optax.losses.sigmoid_focal_loss takes logits, not probabilities")
    if label_smoothing:
        _no("optax.losses.sigmoid_focal_loss has no label smoothing")
    return _per_sample(_optax().sigmoid_focal_loss(
        y_pred, y_true, alpha=alpha if apply_class_balancing else None, gamma=gamma))


def _cce(y_true, y_pred, *, from_logits, label_smoothing, epsilon):
    if not from_logits or epsilon:
        _no("optax.losses.softmax_cross_entropy takes logits, not probabilities")
    targets = _optax().smooth_labels(y_true, label_smoothing) if label_smoothing else y_true
    return np.asarray(_optax().softmax_cross_entropy(y_pred, targets), dtype=np.float64)


def _scce(y_true, y_pred, *, from_logits, epsilon):
    if not from_logits or epsilon:
        _no("optax.losses.softmax_cross_entropy_with_integer_labels takes logits, not probabilities")
    return np.asarray(_optax().softmax_cross_entropy_with_integer_labels(y_pred, y_true.astype(np.int64)),
                      dtype=np.float64)


def _kl(y_true, y_pred, *, epsilon):
    if epsilon:
        _no("optax.losses.kl_divergence does not clip")
    with np.errstate(divide="ignore"):
        log_p = np.log(y_pred)  # optax takes log-probabilities; log 0 = -inf is exact
    return np.asarray(_optax().kl_divergence(log_p, y_true), dtype=np.float64)


def _hinge(y_true, y_pred, *, labels):
    signed = 2.0 * y_true - 1.0 if labels == "01" else y_true
    return _per_sample(_optax().hinge_loss(y_pred, signed))


def _multiclass_hinge(y_true, y_pred, *, mode, squared):
    if mode != "crammer_singer" or squared:
        _no("optax.losses.multiclass_hinge_loss is the plain Crammer-Singer hinge only")
    return np.asarray(_optax().multiclass_hinge_loss(y_pred, y_true.astype(np.int64)), dtype=np.float64)


def _cosine_similarity(y_true, y_pred):
    # optax returns +cos (a similarity, not a loss) and guards each norm with max(norm, epsilon)
    return -np.asarray(_optax().cosine_similarity(y_pred, y_true, epsilon=1e-7), dtype=np.float64)


def _triplet(anchor, positive, negative, *, margin, p, swap, squared, eps):
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


OPTAX = {
    "mean_squared_error": ("optax.losses.squared_error", "optax.losses.squared_error(y_pred, y_true).mean(-1)", _mse),
    "huber": ("optax.losses.huber_loss", "optax.losses.huber_loss(y_pred, y_true, delta=delta).mean(-1)", _huber),
    "log_cosh": ("optax.losses.log_cosh", "optax.losses.log_cosh(y_pred, y_true).mean(-1)", _log_cosh),
    "binary_crossentropy": ("optax.losses.sigmoid_binary_cross_entropy",
                            "optax.losses.sigmoid_binary_cross_entropy(logits, y * (1 - s) + s / 2).mean(-1) "
                            "for from_logits=True, label_smoothing=s; probabilities are not expressible", _bce),
    "binary_focal_crossentropy": ("optax.losses.sigmoid_focal_loss",
                                  "optax.losses.sigmoid_focal_loss(logits, y, alpha=alpha if apply_class_balancing "
                                  "else None, gamma=gamma).mean(-1) for from_logits=True", _focal),
    "categorical_crossentropy": ("optax.losses.softmax_cross_entropy",
                                 "optax.losses.softmax_cross_entropy(logits, optax.losses.smooth_labels(y, s)) for "
                                 "from_logits=True, label_smoothing=s", _cce),
    "sparse_categorical_crossentropy": ("optax.losses.softmax_cross_entropy_with_integer_labels",
                                        "optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels) for "
                                        "from_logits=True", _scce),
    "kl_divergence": ("optax.losses.kl_divergence", "optax.losses.kl_divergence(jnp.log(y_pred), y_true): "
                      "log-probabilities first", _kl),
    "hinge": ("optax.losses.hinge_loss", "optax.losses.hinge_loss(y_pred, y_true).mean(-1), labels in {-1, 1}", _hinge),
    "multiclass_hinge": ("optax.losses.multiclass_hinge_loss",
                         "optax.losses.multiclass_hinge_loss(scores, labels) for the plain Crammer-Singer mode",
                         _multiclass_hinge),
    "cosine_similarity": ("optax.losses.cosine_similarity",
                          "-optax.losses.cosine_similarity(y_pred, y_true, epsilon=1e-7): optax's is the "
                          "similarity, Keras's and lossbook's the negated similarity", _cosine_similarity),
    "triplet": ("optax.losses.triplet_margin_loss",
                "optax.losses.triplet_margin_loss(anchor, positive, negative, margin=margin, eps=0.0) for p=2, "
                "eps=0 (optax's eps sits inside the root)", _triplet),
}


def attach_optax() -> None:
    for name, (what, recipe, fn) in OPTAX.items():
        LOSSES[name].add_counterparts(Counterpart("optax", what, recipe, fn))
