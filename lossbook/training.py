"""Small torch MLPs trained the way Keras trains them, with any loss ``f(y_true, y_pred)``.

Keras is the articles' framework; a plain torch loop is several times faster on 2 cores, so the
book runs each article experiment once in Keras and does side-by-side and multi-seed work here.
To make the two comparable this module copies Keras's habits: ``he_uniform`` / ``glorot_uniform``
initialisation with zero biases, batch size 32, a reshuffle every epoch, a history whose ``loss``
is the mean of the batch losses seen during the epoch and whose ``val_*`` entries are computed at
the end of it.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .frameworks import import_torch

ACTIVATIONS = ("relu", "tanh", "sigmoid", "softmax", "log_softmax", "linear")


def mlp(sizes, activations, *, init="he_uniform", seed=0):
    """A ``torch.nn.Sequential`` of Linear layers: ``sizes=[20, 25, 1]``, ``activations=["relu", "linear"]``.

    Hidden layers use ``init`` (Keras's ``he_uniform`` by default); the last layer uses Keras's
    default ``glorot_uniform``.  Biases start at zero, as in Keras.
    """
    torch = import_torch()
    if len(activations) != len(sizes) - 1:
        raise ValueError(f"activations must have one entry per layer ({len(sizes) - 1}), got {len(activations)}")
    gen = torch.Generator().manual_seed(seed)
    layers = []
    for i, (fan_in, fan_out, act) in enumerate(zip(sizes[:-1], sizes[1:], activations)):
        if act not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {act!r}")
        lin = torch.nn.Linear(fan_in, fan_out)
        scheme = init if i < len(sizes) - 2 else "glorot_uniform"
        limit = math.sqrt(6.0 / fan_in) if scheme == "he_uniform" else math.sqrt(6.0 / (fan_in + fan_out))
        with torch.no_grad():
            lin.weight.uniform_(-limit, limit, generator=gen)
            lin.bias.zero_()
        layers.append(lin)
        if act == "softmax":
            layers.append(torch.nn.Softmax(dim=-1))
        elif act == "log_softmax":
            layers.append(torch.nn.LogSoftmax(dim=-1))
        elif act != "linear":
            layers.append({"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[act]())
    return torch.nn.Sequential(*layers)


def _as_target(y, y_pred_shape_tail):
    torch = import_torch()
    t = torch.as_tensor(np.asarray(y), dtype=torch.float32)
    if t.ndim == 1 and y_pred_shape_tail == (1,):
        t = t[:, None]  # one output unit: compare (N, 1) with (N, 1), never (N,) with (N, 1)
    return t


def train(model, loss_fn: Callable, X, y, *, epochs: int, lr: float, optimizer: str = "sgd", momentum: float = 0.0,
          batch_size: int = 32, validation_data=None, metrics: dict | None = None, seed: int = 0,
          log_every: int | None = None, log: Callable = print) -> dict:
    """Train ``model`` on ``(X, y)`` and return a Keras-like history dict of per-epoch lists.

    ``loss_fn(y_true, y_pred)`` returns a scalar tensor (a lossbook bridge, or a torch loss wrapped
    to Keras's argument order).  ``metrics`` maps a name to ``fn(y_true, y_pred) -> float`` on NumPy
    arrays, evaluated on the whole training (and validation) set at the end of each epoch.
    ``log_every`` prints the running loss every that many mini-batches, as seed 002 does.
    """
    torch = import_torch()
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    X_t = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    with torch.no_grad():
        tail = tuple(model(X_t[:1]).shape[1:])
    y_t = _as_target(y, tail)
    opt = (torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum) if optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=lr))
    gen = torch.Generator().manual_seed(seed)
    history: dict[str, list] = {"loss": []}
    n = len(X_t)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        total, count, running = 0.0, 0, 0.0
        for step, start in enumerate(range(0, n, batch_size), 1):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = loss_fn(y_t[idx], model(X_t[idx]))
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
            running += float(loss.detach())
            if log_every and step % log_every == 0:
                log(f"epoch {epoch + 1}, batch {step:5d}: loss {running / log_every:.3f}")
                running = 0.0
        history["loss"].append(total / count)
        _evaluate_into(history, "", model, loss_fn, X_t, y_t, metrics, with_loss=False)
        if validation_data is not None:
            Xv = torch.as_tensor(np.asarray(validation_data[0]), dtype=torch.float32)
            yv = _as_target(validation_data[1], tail)
            _evaluate_into(history, "val_", model, loss_fn, Xv, yv, metrics, with_loss=True)
    return history


def _evaluate_into(history, prefix, model, loss_fn, X_t, y_t, metrics, with_loss):
    torch = import_torch()
    model.eval()
    if not (with_loss or metrics):
        return
    with torch.no_grad():
        pred = model(X_t)
        if with_loss:
            history.setdefault(prefix + "loss", []).append(float(loss_fn(y_t, pred)))
        for name, fn in (metrics or {}).items():
            history.setdefault(prefix + name, []).append(float(fn(y_t.numpy(), pred.numpy())))


def predict(model, X) -> np.ndarray:
    torch = import_torch()
    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(X), dtype=torch.float32)).double().numpy()


def torch_loss_keras_order(module) -> Callable:
    """Wrap a torch loss module (``input, target``) into Keras's ``(y_true, y_pred)`` order."""

    def fn(y_true, y_pred):
        return module(y_pred, y_true)

    fn.__name__ = type(module).__name__
    return fn


def keras_mlp(sizes, activations, *, init="he_uniform", seed=0):
    """The articles' Keras ``Sequential`` of ``Dense`` layers (hidden layers use ``init``)."""
    from .frameworks import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(sizes[0],))])
    for i, (units, act) in enumerate(zip(sizes[1:], activations)):
        kwargs = {"kernel_initializer": init} if i < len(sizes) - 2 else {}
        model.add(keras.layers.Dense(units, activation=act, **kwargs))
    return model


# --------------------------------------------------------------------------------------------
# metrics the chapters report (NumPy, y_true first)
# --------------------------------------------------------------------------------------------
def mse_metric(y_true, y_pred) -> float:
    return float(np.mean((np.asarray(y_pred, float) - np.asarray(y_true, float)) ** 2))


def binary_accuracy(y_true, y_pred, threshold=0.5) -> float:
    """Share of samples with (y_pred > threshold) == (y_true > threshold); labels in {0, 1}."""
    return float(np.mean((np.asarray(y_pred) > threshold) == (np.asarray(y_true) > threshold)))


def sign_accuracy(y_true, y_pred) -> float:
    """Share of samples whose prediction has the label's sign; labels in {-1, 1}."""
    return float(np.mean(np.sign(np.asarray(y_pred)) == np.sign(np.asarray(y_true))))


def categorical_accuracy(y_true, y_pred) -> float:
    """Share of rows whose arg-max matches; ``y_true`` one-hot (N, C) or class ids (N,)."""
    y_true = np.asarray(y_true)
    labels = y_true.argmax(-1) if y_true.ndim == 2 and y_true.shape[-1] > 1 else y_true.reshape(-1)
    return float(np.mean(np.asarray(y_pred).argmax(-1) == labels))
