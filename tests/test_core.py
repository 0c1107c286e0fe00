"""The shared machinery: reduction, validation messages, the bridge in Keras, helpers, the checker."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lossbook as lb
from lossbook import validation as V


def test_reduce_and_reduce_grad_by_hand():
    losses = np.array([1.0, 4.0, 9.0, 16.0])
    w = np.array([1.0, 1.0, 0.0, 0.0])
    assert lb.reduce(losses, "mean", w) == 1.25  # Keras's sum_over_batch_size: zero weights count in N
    assert lb.reduce(losses, "sum", w) == 5.0
    np.testing.assert_array_equal(lb.reduce(losses, "none", w), [1, 4, 0, 0])
    g = np.ones((4, 2))
    np.testing.assert_array_equal(lb.reduce_grad(g, "mean", w), np.array([[.25, .25], [.25, .25], [0, 0], [0, 0]]))


@pytest.mark.parametrize("bad, word", [
    (dict(y_true=[[1.0, 2.0]], y_pred=[1.0, 2.0]), "same shape"),
    (dict(y_true=[1.0], y_pred=[np.nan]), "y_pred must be finite"),
    (dict(y_true=[], y_pred=[]), "empty"),
    (dict(y_true=1.0, y_pred=1.0), "batch axis"),
    (dict(y_true=None, y_pred=[1.0]), "y_true must be an array"),
])
def test_validation_messages_are_specific(bad, word):
    with pytest.raises((ValueError, TypeError), match=word):
        lb.mean_squared_error(bad["y_true"], bad["y_pred"])


def test_hyperparameter_checks():
    assert V.check_hyper("delta", 2, ">0") == 2.0
    with pytest.raises(ValueError, match=r"delta must be >0, got 0"):
        V.check_hyper("delta", 0, ">0")
    with pytest.raises(TypeError, match="delta must be a real number"):
        V.check_hyper("delta", True, ">0")
    with pytest.raises(ValueError, match=r"q must be in \(0,1\)"):
        V.check_hyper("q", 1.0, "(0,1)")


def test_registry_rejects_a_duplicate_name():
    with pytest.raises(ValueError, match="registered already"):
        lb.Loss("mean_squared_error", lambda y_true, y_pred, *, with_grad: None, family="regression",
                chapter="regression/mse", summary="dup")


def test_bridge_trains_a_keras_model_exactly_like_keras_loss():
    keras = lb.frameworks.import_keras()
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    weights = []
    for loss in ("mean_squared_error", lb.mean_squared_error.keras()):
        model = lb.training.keras_mlp([4, 8, 1], ["relu", "linear"], seed=3)
        model.compile(loss=loss, optimizer=keras.optimizers.SGD(learning_rate=0.05))
        model.fit(X, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
        weights.append([np.array(w.numpy()) for w in model.weights])
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_bridge_rejects_numpy_prediction_and_bad_reduction():
    fn = lb.mean_squared_error.torch()
    with pytest.raises(TypeError, match="y_pred must be a torch tensor"):
        fn(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="reduction"):
        lb.mean_squared_error.torch(reduction="avg")


def test_compare_flags_a_disagreeing_counterpart():
    bad = lb.Counterpart("numpy", "off by one", "broken on purpose", lambda y_true, y_pred, **_: (y_pred - y_true) ** 2 + 1)
    loss = lb.Loss("_test_only_mse", lb.regression._mean_squared_error, family="regression", chapter="regression/mse",
                   summary="test", counterparts=(bad,))
    try:
        table = lb.compare(loss, [0.0, 1.0], [1.0, 1.0])
        assert not table.loc["off by one", "agrees"] and table.loc["off by one", "max_abs_diff"] == 1.0
    finally:
        del lb.LOSSES["_test_only_mse"]


def test_in_place_scaling_never_touches_memory_the_loss_does_not_own():
    # a (silly) loss whose per-sample gradient is y_pred itself: the mean must copy, not divide y_pred
    def alias(y_true, y_pred, *, with_grad):
        return (y_pred, y_pred) if with_grad else y_pred

    loss = lb.Loss("_test_only_alias", alias, family="regression", chapter="regression/mse", summary="test")
    try:
        y_pred = np.array([2.0, 4.0])
        _, g = loss.value_and_grad(np.zeros(2), y_pred)
        np.testing.assert_array_equal(y_pred, [2.0, 4.0])
        np.testing.assert_array_equal(g, [1.0, 2.0])
        fresh = lb.core._reduce_fresh_grad(np.array([2.0, 4.0]), "mean", None, [])
        np.testing.assert_array_equal(fresh, [1.0, 2.0])  # and a fresh array is scaled where it is
    finally:
        del lb.LOSSES["_test_only_alias"]


def test_checker_accepts_right_and_catches_wrong_answers(capsys):
    assert lb.check(lambda t, p: np.mean((p - t) ** 2), "mean_squared_error")
    assert not lb.check(lambda t, p: np.mean(np.abs(p - t)), "mean_squared_error", hint="square the error")
    out = capsys.readouterr().out
    assert "expected" in out and "got" in out and "Hint: square the error" in out
    assert not lb.check(lambda t, p: 1 / 0, "mean_squared_error")
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert not lb.check(lambda t, p: (p - t) ** 2, "mean_squared_error")  # per-sample, not the mean
    assert "shape" in capsys.readouterr().out


def _triplet_value(a, p, n, eps=1e-6):
    d = lambda x, z: np.linalg.norm(x - z + eps, axis=1)  # noqa: E731  (torch's eps placement)
    return np.mean(np.maximum(d(a, p) - d(a, n) + 1.0, 0.0))


def _triplet_grads(a, p, n, eps=1e-6):
    d_ap, d_an = a - p + eps, a - n + eps
    g_ap = d_ap / np.linalg.norm(d_ap, axis=1, keepdims=True)
    g_an = d_an / np.linalg.norm(d_an, axis=1, keepdims=True)
    on = (np.linalg.norm(d_ap, axis=1) - np.linalg.norm(d_an, axis=1) + 1.0 > 0)[:, None] / len(a)
    return on * (g_ap - g_an), -on * g_ap, on * g_an


def test_checker_handles_several_inputs_and_batch_losses(capsys):
    assert lb.check(_triplet_value, "triplet")
    assert not lb.check(lambda a, p, n: _triplet_value(a, p, n, eps=0.0), "triplet")  # eps in the wrong place
    assert "expected" in capsys.readouterr().out
    assert lb.check(_triplet_grads, "triplet", what="grad")
    assert not lb.check(lambda a, p, n: _triplet_grads(a, p, n)[:2], "triplet", what="grad")
    assert "3 gradients (anchor, positive, negative)" in capsys.readouterr().out
    assert not lb.check(lambda a, p, n: _triplet_grads(a, n, p), "triplet", what="grad")  # positive and negative swapped
    assert "gradient w.r.t. anchor" in capsys.readouterr().out

    def soft_f1(y, q, eps=1e-7):  # seed 001's formula: one value for the whole batch
        tp, fp, fn = np.sum(y * q), np.sum((1 - y) * q), np.sum(y * (1 - q))
        precision, recall = tp / (tp + fp + eps), tp / (tp + fn + eps)
        return 1 - 2 * precision * recall / (precision + recall + eps)

    assert lb.check(soft_f1, "soft_fbeta")
    assert not lb.check(lambda y, q: soft_f1(y, q) / len(q), "soft_fbeta")  # a batch loss is not a mean


def test_datasets_follow_the_articles():
    reg = lb.datasets.regression()
    assert reg.X_train.shape == (2500, 20) and reg.X_test.shape == (2500, 20)
    allx = np.vstack([reg.X_train, reg.X_test])
    np.testing.assert_allclose(allx.mean(0), 0, atol=1e-12)
    circ = lb.datasets.circles(n_samples=1000, n_train=500, labels="pm1")
    assert set(np.unique(circ.y_train)) == {-1.0, 1.0} and len(circ.X_test) == 500
    bl = lb.datasets.blobs()
    assert bl.y_train.shape == (500, 3) and np.all(bl.y_train.sum(1) == 1)
    with pytest.raises(ValueError, match="labels must be"):
        lb.datasets.circles(labels="bad")
    images, labels = lb.datasets.fake_images(n_images=10)
    assert images.shape == (10, 3, 28, 28) and images.dtype == np.float32 and set(labels) <= {0, 1}


def test_mlp_initialises_like_keras_and_train_returns_a_history():
    torch = lb.frameworks.import_torch()
    model = lb.training.mlp([20, 25, 1], ["relu", "linear"], seed=0)
    first, last = model[0], model[2]
    assert float(first.weight.detach().abs().max()) <= np.sqrt(6 / 20) and float(first.bias.detach().abs().max()) == 0
    assert float(last.weight.detach().abs().max()) <= np.sqrt(6 / 26)
    data = lb.datasets.regression(n_samples=200, n_train=100)
    hist = lb.training.train(model, lb.mean_squared_error.torch(), data.X_train, data.y_train, epochs=3, lr=0.01,
                             momentum=0.9, validation_data=(data.X_test, data.y_test),
                             metrics={"mse": lb.training.mse_metric})
    assert set(hist) == {"loss", "mse", "val_loss", "val_mse"} and all(len(v) == 3 for v in hist.values())
    assert hist["loss"][-1] < hist["loss"][0]
    with pytest.raises(ValueError, match="optimizer"):
        lb.training.train(model, lb.mean_squared_error.torch(), data.X_train, data.y_train, epochs=1, lr=0.1,
                          optimizer="rmsprop")
    assert isinstance(model, torch.nn.Sequential)


def test_metrics():
    assert lb.training.sign_accuracy([-1, 1, 1], [-0.2, 0.3, -0.1]) == pytest.approx(2 / 3)
    assert lb.training.binary_accuracy([0, 1, 1], [0.2, 0.7, 0.4]) == pytest.approx(2 / 3)
    assert lb.training.categorical_accuracy(np.eye(3), np.eye(3)[[0, 2, 2]]) == pytest.approx(2 / 3)


def test_compare_puts_numbers_first_prints_recipes_whole_and_names_what_is_not_expressible():
    y, p = lb.testing.sample_inputs(lb.multiclass_hinge)
    table = lb.compare("multiclass_hinge", y, p, mode="one_vs_all", squared=True)
    assert list(table.columns) == ["mean", "max_abs_diff", "agrees", "tolerance", "recipe"]
    row = table.loc["torchmetrics multiclass_hinge_loss"]
    assert row["recipe"].startswith("not expressible:") and row["agrees"] is pd.NA
    assert bool(table["agrees"].all())  # a row that cannot be computed is not a disagreement
    text = repr(table)
    assert all(r in text for r in table["recipe"])  # every recipe printed in full, nothing cut
    assert "<NA>" in text


def test_fit_keras_names_what_evaluate_returns_and_repeats_with_the_seed():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 3)), rng.normal(size=64)
    run = lambda loss: lb.training.fit_keras([3, 4, 1], ["relu", "linear"], loss, X[:32], y[:32],  # noqa: E731
                                             test_data=(X[32:], y[32:]), epochs=2, lr=0.01, metrics=["mse"])
    hist, res = run("mean_squared_error")
    assert set(res) == {"train_loss", "test_loss", "train_mse", "test_mse"} and len(hist["loss"]) == 2
    assert abs(res["test_loss"] - res["test_mse"]) < 1e-5  # MSE as loss and as metric: one number twice
    _, again = run(lb.mean_squared_error.keras())  # same seed: same weights and batches, through the bridge
    assert abs(again["test_loss"] - res["test_loss"]) < 1e-5


def test_plot_histories_takes_a_colour_per_label():
    import matplotlib

    matplotlib.use("Agg")
    hist = {"loss": [3.0, 2.0], "val_loss": [3.5, 2.5]}
    ax = lb.plotting.plot_histories({"Keras run": hist, "lossbook run": hist},
                                    colors=lambda label: lb.plotting.framework_color(label.split()[0]))
    got = {line.get_label(): line.get_color() for line in ax.get_lines()}
    assert got["Keras run: loss"] == got["Keras run: val_loss"] == lb.plotting.framework_color("keras")
    assert got["lossbook run: loss"] == lb.plotting.framework_color("lossbook")
    ax = lb.plotting.plot_histories({"a": hist}, colors={"a": "#123456"})
    assert ax.get_lines()[0].get_color() == "#123456"
