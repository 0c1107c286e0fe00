"""Every registered loss trains through its bridges from the very first call, and misuse is an error.

Registry-driven: a loss is covered the moment it is registered. Each configuration whose model
output lives in its own domain (probabilities, logits, log-probabilities, ...) gets a tiny model
whose last activation maps into that domain, and is fitted for one epoch through ``.keras()`` and
stepped once through ``.torch()``.
"""
import numpy as np
import pytest

import lossbook as lb
from lossbook.frameworks import import_keras, import_torch
from lossbook.testing import sample_inputs

N, D, FEATURES = 16, 3, 4

# the last activation that maps a linear layer into each domain of y_pred
KERAS_ACTIVATION = {"real": None, "nonzero": None, "probability": "sigmoid", "simplex": "softmax",
                    "log_simplex": "log_softmax", "nonneg": "softplus", "positive": "softplus",
                    "above_minus_one": "softplus", "cosine": "tanh"}  # tanh: in (-1, 1), as cosines are


def _pred_domains(loss, hyper):
    if loss.pair:
        return [loss.y_pred_domain(**hyper)]
    return [loss.domain(loss.args[i].name, **hyper) for i in loss.diff_args]


def _cases():
    for loss in lb.LOSSES.values():
        seen = set()
        for hyper in loss.configs:
            key = tuple(_pred_domains(loss, hyper))
            if key not in seen:  # one configuration per kind of model output
                seen.add(key)
                yield pytest.param(loss, dict(hyper), id=f"{loss.name}[{','.join(f'{k}={v}' for k, v in hyper.items())}]")


CASES = list(_cases())


def _data(loss, hyper):
    """(x, y_true, output width, y_pred domain, flat) for a model that predicts what the loss takes."""
    ndim = loss.ndims[-1]
    inputs = sample_inputs(loss, hyper, ndim, seed=1, n=N, d=D)
    x = np.random.default_rng(2).normal(size=(N, FEATURES))
    flat = ndim == 1
    if loss.pair:
        y_true, y_pred = inputs
        width = 1 if flat else y_pred.shape[-1]
    else:
        fixed = [inputs[i] for i, a in enumerate(loss.args) if not a.diff]
        y_true = fixed[0] if fixed else np.zeros(N)
        width = D * len(loss.diff_args)
    return x, y_true, width, _pred_domains(loss, hyper), flat


def _steps(loss, hyper):
    """For a loss that scores sequences (an input of kind "steps", (N, T, C)): the sampled inputs and
    (T, C), so that the model's output is reshaped to them; None otherwise."""
    if loss.pair or not any(a.kind == "steps" for a in loss.args):
        return None
    inputs = sample_inputs(loss, hyper, seed=1, n=N)
    shape = next(x.shape[1:] for x, a in zip(inputs, loss.args) if a.kind == "steps")
    return inputs, shape


@pytest.mark.parametrize("loss, hyper", CASES)
def test_every_loss_trains_through_keras_from_the_first_fit(loss, hyper):
    keras = import_keras()
    x, y_true, width, domains, flat = _data(loss, hyper)
    keras.utils.set_random_seed(0)
    steps = _steps(loss, hyper)
    if steps is not None:  # Keras's (y_true, y_pred): the loss's keras_inputs reads what it needs from them
        (_, shape) = steps
        layers = [keras.Input((FEATURES,)), keras.layers.Dense(int(np.prod(shape))), keras.layers.Reshape(shape)]
    elif len(set(domains)) == 1:
        layers = [keras.Input((FEATURES,)), keras.layers.Dense(width, activation=KERAS_ACTIVATION[domains[0]])]
    else:  # inputs of different domains side by side (a mean and a variance): one activation per part
        acts = [keras.activations.get(KERAS_ACTIVATION[d]) for d in domains]
        k = width // len(domains)
        layers = [keras.Input((FEATURES,)), keras.layers.Dense(width), keras.layers.Lambda(
            lambda t: keras.ops.concatenate([a(t[:, j * k:(j + 1) * k]) for j, a in enumerate(acts)], axis=-1))]
    if flat:
        layers.append(keras.layers.Lambda(lambda t: t[:, 0]))
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss.keras(**hyper))
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y_true, batch_size=8, epochs=1, verbose=0, shuffle=False)  # the first call
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def _torch_activation(torch, domain):
    return {None: lambda t: t, "sigmoid": torch.sigmoid, "softmax": lambda t: torch.softmax(t, -1),
            "log_softmax": lambda t: torch.log_softmax(t, -1),
            "softplus": torch.nn.functional.softplus, "tanh": torch.tanh}[KERAS_ACTIVATION[domain]]


@pytest.mark.parametrize("loss, hyper", CASES)
def test_every_loss_trains_through_torch_from_the_first_step(loss, hyper):
    torch = import_torch()
    x, y_true, width, domains, flat = _data(loss, hyper)
    torch.manual_seed(0)
    layer = torch.nn.Linear(FEATURES, width).double()
    acts = [_torch_activation(torch, d) for d in domains]
    k = width // len(domains)

    def act(t):  # one activation per differentiated input's part of the output
        return torch.cat([a(t[:, j * k:(j + 1) * k]) for j, a in enumerate(acts)], dim=-1)
    before = layer.weight.detach().clone()
    opt = torch.optim.SGD(layer.parameters(), lr=0.01)
    out = act(layer(torch.from_numpy(x)))
    out = out[:, 0] if flat else out
    crit = loss.torch(**hyper)
    steps = _steps(loss, hyper)
    if steps is not None:  # the model's output laid out (N, T, C); the other inputs as sampled
        inputs, shape = steps
        layer = torch.nn.Linear(FEATURES, int(np.prod(shape))).double()
        before = layer.weight.detach().clone()
        opt = torch.optim.SGD(layer.parameters(), lr=0.01)
        args = [layer(torch.from_numpy(x)).reshape((N,) + shape) if a.diff else torch.from_numpy(v)
                for v, a in zip(inputs, loss.args)]
        value = crit(*args)
    elif loss.pair:
        value = crit(torch.from_numpy(np.asarray(y_true)), out)
    else:
        parts = list(torch.chunk(out, len(loss.diff_args), dim=-1))
        inputs = [None] * len(loss.args)
        for i, p in zip(loss.diff_args, parts):
            inputs[i] = p
        for i, a in enumerate(loss.args):
            if not a.diff:
                inputs[i] = torch.from_numpy(np.asarray(y_true))
        value = crit(*inputs)
    value.backward()
    opt.step()
    assert torch.isfinite(value)
    assert not torch.equal(before, layer.weight.detach())


def test_torch_order_is_an_error_not_a_silent_zero_gradient():
    torch = import_torch()
    layer = torch.nn.Linear(3, 1).double()
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 1, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"lossbook takes \(y_true, y_pred\), Keras's order"):
        lb.mean_squared_error.torch()(layer(x), y)
    lb.mean_squared_error.torch()(y, layer(x)).backward()  # the right order trains
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


def test_an_input_the_loss_does_not_differentiate_must_not_require_grad():
    """gaussian_nll(y_true, mean, var) called with the model's mean in y_true's slot would train the
    variance alone and leave the mean without a gradient: an error instead."""
    torch = import_torch()
    mean = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    var = torch.ones(4, dtype=torch.float64, requires_grad=True)
    y = torch.randn(4, dtype=torch.float64)
    with pytest.raises(TypeError, match="y_true requires grad, but gaussian_nll sends no gradient"):
        lb.gaussian_nll.torch()(mean, y, var)
    lb.gaussian_nll.torch()(y, mean, var).backward()  # the right order trains both
    assert mean.grad is not None and var.grad is not None


@pytest.mark.parametrize("second_order", ["hessian", "double_backward"])
def test_second_order_use_says_the_bridge_has_no_second_derivative(second_order):
    torch = import_torch()
    crit = lb.mean_squared_error.torch()
    target = torch.randn(4, dtype=torch.float64)
    pred = torch.randn(4, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="no second derivative"):
        if second_order == "hessian":
            torch.autograd.functional.hessian(lambda p: crit(target, p), pred)
        else:
            (g,) = torch.autograd.grad(crit(target, pred), pred, create_graph=True)
            g.sum().backward()
    # torch's own MSE has the second derivative the bridge refuses to fake: 2/N on the diagonal
    h = torch.autograd.functional.hessian(lambda p: torch.nn.functional.mse_loss(p, target), pred)
    assert torch.allclose(h, torch.eye(4, dtype=torch.float64) * 0.5)


def test_keras_bridge_accepts_numpy_like_keras_losses():
    y, p = np.zeros((3, 2)), np.ones((3, 2))
    out = lb.huber.keras()(y, p)
    np.testing.assert_allclose(np.asarray(out), lb.huber(y, p, reduction="none"))
    keras = import_keras()
    np.testing.assert_allclose(np.asarray(out), np.asarray(keras.losses.huber(y, p)), rtol=1e-6)
