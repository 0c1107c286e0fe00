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


def stacked_linears(seeds, sizes):
    """The weights of one MLP per seed, stacked on a leading axis, to train several seeds as one model.

    For each seed, ``torch.manual_seed(seed)`` and then ``torch.nn.Linear(sizes[k], sizes[k + 1])``
    for each k in order (torch's default initialisation, float64): the weights a plain
    ``torch.nn.Sequential`` of those layers would start from.  Returns two ``torch.nn.ParameterList`` objects,
    ``w[k]`` of shape ``(S, sizes[k], sizes[k + 1])`` and ``b[k]`` of shape ``(S, 1, sizes[k + 1])``,
    so that layer k of every seed at once is ``torch.baddbmm(b[k], x, w[k])`` for x of shape
    ``(S, B, sizes[k])``.  The forward pass (where the activations go) is the caller's.
    """
    torch = import_torch()
    layers = []
    for seed in seeds:
        torch.manual_seed(int(seed))
        layers.append([torch.nn.Linear(a, b).double() for a, b in zip(sizes[:-1], sizes[1:])])

    def stacked(get):
        return torch.nn.ParameterList(
            torch.nn.Parameter(torch.stack([get(net[k]) for net in layers]).detach().clone())
            for k in range(len(sizes) - 1))

    return stacked(lambda lin: lin.weight.T), stacked(lambda lin: lin.bias[None])


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
    ``log_every`` prints the mean loss of the last that many mini-batches, counted over the whole run,
    and keeps it in ``history["log"]`` as ``(mini-batches so far, mean)`` pairs (``log=lambda line:
    None`` keeps the record without printing).  Seed 002 counts within each epoch and restarts at
    each one; the two agree when an epoch holds a multiple of ``log_every`` mini-batches, and the
    count over the run still logs when an epoch holds fewer (a small data set).
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
    if log_every:
        history["log"] = []
    n = len(X_t)
    done, running = 0, 0.0  # mini-batches over all epochs, and the sum of their losses since the last log
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        total, count = 0.0, 0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = loss_fn(y_t[idx], model(X_t[idx]))
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
            running += float(loss.detach())
            done += 1
            if log_every and done % log_every == 0:
                log(f"epoch {epoch + 1}, loss after mini-batch {done:5d}: {running / log_every:.3f}")
                history["log"].append((done, running / log_every))
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


def fit_keras(sizes, activations, loss, X_train, y_train, *, test_data, epochs: int, lr: float,
              momentum: float = 0.0, batch_size: int = 32, seed: int = 1, init: str = "he_uniform",
              metrics=None, validate: bool = False):
    """The articles' Keras recipe in one call: :func:`keras_mlp`, SGD, ``fit``, then ``evaluate``.

    ``loss`` is a Keras loss name or callable (``lb.huber.keras()`` for the bridge). The random seed
    fixes the initial weights *and* the shuffling, so two calls that differ only in ``loss`` see
    the same batches. ``validate=True`` also tracks ``test_data`` during ``fit`` (``val_*`` curves).
    A 1-D target is handed to a one-output network as a column. Returns ``(history, results)``:
    Keras's history dict, and ``{"train_loss", "test_loss"}`` plus ``train_<m>`` / ``test_<m>`` for
    each metric (``evaluate`` returns ``[loss, *metrics]`` once there are metrics, which the
    articles stored as if it were one number).
    """
    from .frameworks import import_keras

    keras = import_keras()
    column = lambda y: y[:, None] if np.ndim(y) == 1 and sizes[-1] == 1 else y  # noqa: E731
    X_test, y_test = test_data
    model = keras_mlp(sizes, activations, init=init, seed=seed)
    model.compile(loss=loss, optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=momentum),
                  metrics=list(metrics or []))
    keras.utils.set_random_seed(seed)  # the same shuffling for every loss
    history = model.fit(X_train, column(y_train), epochs=epochs, batch_size=batch_size, verbose=0,
                        validation_data=(X_test, column(y_test)) if validate else None)
    names = ["loss", *[m if isinstance(m, str) else m.__name__ for m in (metrics or [])]]
    results = {}
    for split, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        values = np.atleast_1d(model.evaluate(X, column(y), verbose=0))
        results.update({f"{split}_{n}": float(v) for n, v in zip(names, values)})
    return history.history, results


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


def keras_formulas(epsilon: float = 1e-7) -> dict[str, Callable]:
    """Keras's losses as per-sample torch one-liners ``f(y_true, y_pred)``, with Keras's clip.

    For the multi-seed reproductions: ``train_seeds(..., per_sample_loss=f)`` calls them once on
    every seed's batch, which a NumPy-backed bridge loss cannot do as cheaply.  Each equals the
    lossbook loss with ``epsilon=1e-7`` (``tests/test_train_seeds.py`` checks it); the binary
    losses return one value per entry (Keras then averages over the last axis).
    """
    torch = import_torch()
    e = epsilon

    def binary_crossentropy(t, p):
        p = p.clamp(e, 1 - e)
        return -(t * torch.log(p) + (1 - t) * torch.log(1 - p))

    return {
        "binary_crossentropy": binary_crossentropy,
        "categorical_crossentropy": lambda t, p: -(t * torch.log(p.clamp(e, 1 - e))).sum(-1),
        "sparse_categorical_crossentropy":
            lambda t, p: -torch.log(p.clamp(e, 1 - e).gather(-1, t.long()[..., None])[..., 0]),
        "kl_divergence": lambda t, p: (t.clamp(e, 1) * torch.log(t.clamp(e, 1) / p.clamp(e, 1))).sum(-1),
        "hinge": lambda t, s: torch.relu(1 - t * s),
        "squared_hinge": lambda t, s: torch.relu(1 - t * s) ** 2,
    }


# --------------------------------------------------------------------------------------------
# many seeds at once: one batched model
# --------------------------------------------------------------------------------------------
def train_seeds(sizes, activations, loss_fn: Callable, X, y, *, seeds, epochs: int, lr: float,
                optimizer: str = "sgd", momentum: float = 0.0, batch_size: int = 32, init: str = "he_uniform",
                validation_data=None, metrics: dict | None = None, return_models: bool = False,
                per_sample_loss: Callable | None = None):
    """Train one ``mlp(sizes, activations, init=init, seed=s)`` per seed, all at once.

    The result is what ``train(mlp(..., seed=s), loss_fn, X, y, seed=s, ...)`` returns for each
    seed in turn (same initial weights, same per-seed shuffling, same optimizer arithmetic, equal
    to float32 rounding), computed as one batched model:

    * the seeds' parameters are stacked (``torch.func.stack_module_state``): a layer's weights
      become one ``(S, out, in)`` tensor and the forward pass of all S networks is one batched
      matrix product per layer (``torch.baddbmm``) instead of S small ones;
    * every seed draws its own mini-batches from its own ``torch.Generator().manual_seed(seed)``,
      exactly as :func:`train` does, and ``X[idx]`` gathers all S batches in one indexing op;
    * one optimizer (SGD with momentum, or Adam) updates the stacked tensors.  Both are
      elementwise, and the summed loss's gradient with respect to seed s's slice is seed s's own
      gradient, so each seed gets precisely its own update (Adam's step count is shared, and equal).

    ``loss_fn(y_true, y_pred)`` is called once per seed on that seed's ``(B, out)`` slice of the
    stacked predictions.  It is not vmapped: lossbook's bridge (``loss.torch()``) is a
    ``torch.autograd.Function`` that hands its tensors to NumPy, which neither ``torch.vmap``
    (it needs ``setup_context`` and a vmap rule) nor NumPy (it cannot read a batched tensor) can
    do.  The S loss calls are cheap next to S separate forward / backward / optimizer steps.

    ``per_sample_loss`` (optional) makes the loss one call for all seeds as well: a callable whose
    output, averaged, *is* ``loss_fn`` (``lb.huber.torch(reduction="none")`` for
    ``lb.huber.torch()``, or ``torch.nn.MSELoss(reduction="none")`` in Keras order for
    ``MSELoss()``).  It is called once on the S mini-batches stacked into ``(S * B, ...)`` rows and
    its output is averaged per seed, which gives each seed its own loss and gradient (equal up to
    float32 summation order).  Losses whose mean is not the plain mean of their unreduced output
    (class weights, ``KLDivLoss(reduction="batchmean")``) must not use it.

    Returns a list of Keras-like history dicts, one per seed in the order of ``seeds``; with
    ``return_models=True``, ``(histories, models)`` where ``models[i]`` is seed i's trained
    ``torch.nn.Sequential``.
    """
    torch = import_torch()
    seeds = list(seeds) if not isinstance(seeds, int) else seeds
    if isinstance(seeds, int) or not seeds:
        raise ValueError(f"seeds must be a non-empty list of integer seeds, got {seeds!r}")
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seeds):
        raise TypeError(f"seeds must be integers, got {seeds!r}")
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    if not (isinstance(epochs, (int, np.integer)) and epochs >= 1):
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    X_t = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    if X_t.ndim != 2 or X_t.shape[1] != sizes[0]:
        raise ValueError(f"X must have shape (N, {sizes[0]}) for sizes[0] = {sizes[0]}, got {tuple(X_t.shape)}")
    if len(np.asarray(y)) != len(X_t):
        raise ValueError(f"y must have one row per row of X ({len(X_t)}), got {len(np.asarray(y))}")

    models = [mlp(sizes, activations, init=init, seed=int(s)) for s in seeds]
    params, _ = torch.func.stack_module_state(models)  # {"0.weight": (S, out, in), ...}, fresh leaves
    layers = []  # (weight name, bias name) or an activation module, in the order of the Sequential
    for name, module in models[0].named_children():
        layers.append((f"{name}.weight", f"{name}.bias") if isinstance(module, torch.nn.Linear) else module)

    def forward(x):  # x: (S, B, in) -> (S, B, out), every seed's network at once
        for layer in layers:
            if isinstance(layer, tuple):
                w, b = params[layer[0]], params[layer[1]]
                x = torch.baddbmm(b[:, None, :], x, w.transpose(1, 2))  # b + x W^T, per seed
            else:
                x = layer(x)  # elementwise activations; softmax / log_softmax act on the last axis
        return x

    S, n = len(seeds), len(X_t)
    with torch.no_grad():
        tail = tuple(models[0](X_t[:1]).shape[1:])
    y_t = _as_target(y, tail)
    plist = list(params.values())
    opt = (torch.optim.SGD(plist, lr=lr, momentum=momentum) if optimizer == "sgd"
           else torch.optim.Adam(plist, lr=lr))
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    histories: list[dict] = [{"loss": []} for _ in seeds]
    if validation_data is not None:
        Xv = torch.as_tensor(np.asarray(validation_data[0]), dtype=torch.float32)
        yv = _as_target(validation_data[1], tail)

    def evaluate(prefix, X_e, y_e, with_loss):
        if not (with_loss or metrics):
            return
        with torch.no_grad():
            pred = forward(X_e.expand(S, *X_e.shape))
            if with_loss and per_sample_loss is not None:  # one call for all seeds, as in training
                flat = per_sample_loss(y_e.repeat(S, *([1] * (y_e.ndim - 1))), pred.reshape(-1, *pred.shape[2:]))
                values = flat.reshape(S, -1).mean(dim=1).tolist()
            elif with_loss:
                values = [float(loss_fn(y_e, pred[s])) for s in range(S)]
            for s, hist in enumerate(histories):
                if with_loss:
                    hist.setdefault(prefix + "loss", []).append(values[s])
                for name, fn in (metrics or {}).items():
                    hist.setdefault(prefix + name, []).append(float(fn(y_e.numpy(), pred[s].numpy())))

    for epoch in range(epochs):
        orders = torch.stack([torch.randperm(n, generator=g) for g in gens])  # (S, n): each seed its own shuffle
        totals = torch.zeros(S, dtype=torch.float64)
        for start in range(0, n, batch_size):
            idx = orders[:, start:start + batch_size]  # (S, B)
            opt.zero_grad()
            pred = forward(X_t[idx])
            y_b = y_t[idx]
            if per_sample_loss is None:
                losses = torch.stack([loss_fn(y_b[s], pred[s]) for s in range(S)])  # not vmappable: see docstring
            else:  # one call on all S batches as (S * B) rows, then each seed's own mean
                flat = per_sample_loss(y_b.reshape(-1, *y_b.shape[2:]), pred.reshape(-1, *pred.shape[2:]))
                losses = flat.reshape(S, -1).mean(dim=1)
            losses.sum().backward()  # d(sum)/d(seed s's parameters) = seed s's own gradient
            opt.step()
            totals += losses.detach().double() * idx.shape[1]
        for hist, total in zip(histories, (totals / n).tolist()):
            hist["loss"].append(total)
        evaluate("", X_t, y_t, with_loss=False)
        if validation_data is not None:
            evaluate("val_", Xv, yv, with_loss=True)
    if not return_models:
        return histories
    with torch.no_grad():
        for s, model in enumerate(models):
            for name, p in model.named_parameters():
                p.copy_(params[name][s])
    return histories, models
