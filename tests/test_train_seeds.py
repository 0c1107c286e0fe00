"""train_seeds (all seeds as one batched model) against train run seed after seed."""
import numpy as np
import pytest

import lossbook as lb
from lossbook.training import binary_accuracy, mlp, mse_metric, torch_loss_keras_order, train, train_seeds

SEEDS = [0, 3, 11]


@pytest.fixture(scope="module")
def reg():
    return lb.datasets.regression(n_samples=400, n_train=150)


@pytest.fixture(scope="module")
def circ():
    return lb.datasets.circles(n_samples=300, n_train=100)


def _one_by_one(sizes, acts, loss_fn, X, y, seeds, **kw):
    init = kw.pop("init", "he_uniform")
    return [train(mlp(sizes, acts, init=init, seed=s), loss_fn, X, y, seed=s, **kw) for s in seeds]


def _assert_same(batched, single, rtol=2e-5):
    assert len(batched) == len(single)
    for h, h1 in zip(batched, single):
        assert list(h) == list(h1)  # same keys, same order
        for k in h:
            np.testing.assert_allclose(h[k], h1[k], rtol=rtol, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("optimizer, kw", [("sgd", {"momentum": 0.9}), ("sgd", {}), ("adam", {})])
def test_train_seeds_equals_train_regression(reg, optimizer, kw):
    loss = lb.mean_squared_error.torch()
    common = dict(epochs=4, lr=0.01, optimizer=optimizer, batch_size=32,
                  validation_data=(reg.X_test, reg.y_test), metrics={"mse": mse_metric}, **kw)
    batched = train_seeds([20, 25, 1], ["relu", "linear"], loss, reg.X_train, reg.y_train, seeds=SEEDS, **common)
    single = _one_by_one([20, 25, 1], ["relu", "linear"], loss, reg.X_train, reg.y_train, SEEDS, **common)
    _assert_same(batched, single)
    assert list(batched[0]) == ["loss", "mse", "val_loss", "val_mse"]
    assert all(len(v) == 4 for h in batched for v in h.values())
    # the seeds really differ (their own initialisation and shuffling)
    assert batched[0]["loss"][-1] != batched[1]["loss"][-1]


def test_train_seeds_equals_train_circles_bce_adam(circ):
    loss = lb.binary_crossentropy.torch()
    common = dict(epochs=5, lr=0.01, optimizer="adam", batch_size=16, init="glorot_uniform",
                  validation_data=(circ.X_test, circ.y_test), metrics={"acc": binary_accuracy})
    batched = train_seeds([2, 16, 8, 1], ["tanh", "relu", "sigmoid"], loss, circ.X_train, circ.y_train,
                          seeds=SEEDS, **common)
    single = _one_by_one([2, 16, 8, 1], ["tanh", "relu", "sigmoid"], loss, circ.X_train, circ.y_train, SEEDS, **common)
    _assert_same(batched, single)


def test_train_seeds_torch_loss_softmax_and_models(circ):
    torch = pytest.importorskip("torch")
    loss = torch_loss_keras_order(torch.nn.NLLLoss())
    y = circ.y_train.astype(np.int64)

    def nll(y_true, y_pred):  # targets arrive as float32 (as in train): class ids back to int64
        return loss(y_true.long(), y_pred)

    common = dict(epochs=3, lr=0.05, momentum=0.5, batch_size=20)
    batched, models = train_seeds([2, 10, 2], ["relu", "log_softmax"], nll, circ.X_train, y, seeds=[5, 6], return_models=True,
                                  **common)
    single = []
    for s in [5, 6]:
        m = mlp([2, 10, 2], ["relu", "log_softmax"], seed=s)
        single.append(train(m, nll, circ.X_train, y, seed=s, **common))
        pred = lb.training.predict(m, circ.X_test)
        np.testing.assert_allclose(lb.training.predict(models[[5, 6].index(s)], circ.X_test), pred, rtol=1e-4, atol=1e-5)
    _assert_same(batched, single)


def test_train_seeds_history_shapes(reg):
    hs = train_seeds([20, 4, 1], ["relu", "linear"], lb.mean_squared_error.torch(), reg.X_train, reg.y_train,
                     seeds=range(4), epochs=2, lr=0.01)
    assert isinstance(hs, list) and len(hs) == 4
    assert all(list(h) == ["loss"] and len(h["loss"]) == 2 and all(np.isfinite(h["loss"])) for h in hs)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"seeds": []}, ValueError, "seeds must be a non-empty list"),
    ({"seeds": 3}, ValueError, "seeds must be a non-empty list"),
    ({"seeds": [0, 1.5]}, TypeError, "seeds must be integers"),
    ({"optimizer": "rmsprop"}, ValueError, "optimizer must be"),
    ({"epochs": 0}, ValueError, "epochs must be a positive integer"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
])
def test_train_seeds_bad_arguments(reg, kwargs, error, match):
    args = dict(seeds=[0, 1], epochs=1, lr=0.01)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        train_seeds([20, 4, 1], ["relu", "linear"], lb.mean_squared_error.torch(), reg.X_train, reg.y_train, **args)


def test_train_seeds_bad_data(reg):
    f = lb.mean_squared_error.torch()
    with pytest.raises(ValueError, match="X must have shape"):
        train_seeds([5, 4, 1], ["relu", "linear"], f, reg.X_train, reg.y_train, seeds=[0], epochs=1, lr=0.01)
    with pytest.raises(ValueError, match="one row per row of X"):
        train_seeds([20, 4, 1], ["relu", "linear"], f, reg.X_train, reg.y_train[:-1], seeds=[0], epochs=1, lr=0.01)
    with pytest.raises(ValueError, match="activations must have one entry per layer"):
        train_seeds([20, 4, 1], ["relu"], f, reg.X_train, reg.y_train, seeds=[0], epochs=1, lr=0.01)


def test_train_seeds_per_sample_loss_fast_path(reg, circ):
    torch = pytest.importorskip("torch")
    cases = [
        (reg, [20, 8, 1], ["relu", "linear"], lb.huber.torch(), lb.huber.torch(reduction="none"), "sgd"),
        (reg, [20, 8, 1], ["relu", "linear"], torch_loss_keras_order(torch.nn.MSELoss()),
         torch_loss_keras_order(torch.nn.MSELoss(reduction="none")), "adam"),
        (circ, [2, 8, 1], ["relu", "sigmoid"], lb.binary_crossentropy.torch(),
         lb.binary_crossentropy.torch(reduction="none"), "sgd"),
    ]
    for data, sizes, acts, loss, per_sample, opt in cases:
        common = dict(epochs=3, lr=0.01, momentum=0.9 if opt == "sgd" else 0.0, optimizer=opt,
                      validation_data=(data.X_test, data.y_test))
        fast = train_seeds(sizes, acts, loss, data.X_train, data.y_train, seeds=SEEDS, per_sample_loss=per_sample,
                           **common)
        _assert_same(fast, _one_by_one(sizes, acts, loss, data.X_train, data.y_train, SEEDS, **common))


def test_keras_formulas_equal_lossbook_with_keras_clip():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    formulas = lb.training.keras_formulas()
    probs = rng.dirichlet(np.ones(3), size=16)
    probs[0] = [1.0, 0.0, 0.0]  # the clip matters here
    onehot = np.eye(3)[rng.integers(0, 3, 16)]
    binary = rng.integers(0, 2, (16, 1)).astype(float)
    p1 = rng.uniform(0, 1, (16, 1))
    signed, scores = 2 * binary - 1, rng.uniform(-2, 2, (16, 1))
    cases = {
        "binary_crossentropy": (binary, p1, {"epsilon": 1e-7}),
        "categorical_crossentropy": (onehot, probs, {"epsilon": 1e-7}),
        "sparse_categorical_crossentropy": (onehot.argmax(1).astype(float), probs, {"epsilon": 1e-7}),
        "kl_divergence": (onehot, probs, {"epsilon": 1e-7}),
        "hinge": (signed, scores, {}),
        "squared_hinge": (signed, scores, {}),
    }
    assert set(cases) == set(formulas)
    for name, (t, p, hyper) in cases.items():
        got = formulas[name](torch.tensor(t), torch.tensor(p)).numpy().reshape(len(t), -1).mean(-1)
        np.testing.assert_allclose(got, lb.LOSSES[name](t, p, reduction="none", **hyper), rtol=1e-12, err_msg=name)


def test_train_logs_the_running_mean_over_the_whole_run():
    """log_every counts mini-batches over the run (an epoch here holds 3, fewer than log_every = 4)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    model = mlp([2, 1], ["linear"], seed=0)
    lines = []
    history = train(model, lb.mean_squared_error.torch(), X, y, epochs=4, lr=0.0, batch_size=10, seed=3,
                    log_every=4, log=lines.append)
    # lr = 0: the model never moves, so each batch's loss can be recomputed from the same order
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        pred = model(torch.tensor(X, dtype=torch.float32))[:, 0].double().numpy()
    losses = []
    for _ in range(4):
        order = torch.randperm(30, generator=gen).numpy()
        losses += [np.mean((pred[order[s:s + 10]] - np.float32(y[order[s:s + 10]])) ** 2) for s in (0, 10, 20)]
    expected = [(k, np.mean(losses[k - 4:k])) for k in (4, 8, 12)]
    assert [k for k, _ in history["log"]] == [4, 8, 12] and len(lines) == 3
    np.testing.assert_allclose([v for _, v in history["log"]], [v for _, v in expected], rtol=1e-6)
    assert "loss after mini-batch    12" in lines[-1]
