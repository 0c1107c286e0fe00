"""Margin losses: the seeds' worked examples, the framework conventions the chapter measures, identities.

The registry-driven tests (tests/test_contract.py) already check every margin loss against its
counterparts on random input; this file pins the specific numbers and behaviours the book quotes.
"""
from __future__ import annotations

import numpy as np
import pytest

import lossbook as lb

torch = pytest.importorskip("torch")

SEED_PREDS = np.array([[0.25, 0.20, 0.55], [0.55, 0.05, 0.40], [0.10, 0.30, 0.60], [0.90, 0.05, 0.05]])
SEED_TARGET = np.array([0, 1, 2, 0])


# ------------------------------------------------------------------------------------------
# seed 000's torchmetrics examples
# ------------------------------------------------------------------------------------------
def test_seed000_binary_hinge_example():
    from torchmetrics import HingeLoss

    tm = HingeLoss(task="binary")(torch.tensor([0.5, 0.7, 0.1], dtype=torch.float64), torch.tensor([0, 1, 1]))
    ours = lb.hinge([0, 1, 1], [0.5, 0.7, 0.1], labels="01")
    assert abs(ours - 0.9) < 1e-15
    assert abs(float(tm) - ours) < 1e-7  # the metric object accumulates in float32


@pytest.mark.parametrize("mode,squared,documented", [
    ("crammer_singer", False, 0.9125),
    ("crammer_singer", True, 1.1131),
    ("one_vs_all", False, 0.875 + 1.125 + 1.1),
])
def test_seed000_multiclass_examples(mode, squared, documented):
    from torchmetrics.functional.classification import multiclass_hinge_loss

    tm_mode = mode.replace("_", "-")  # torchmetrics spells the modes with hyphens
    tm = multiclass_hinge_loss(torch.tensor(SEED_PREDS), torch.tensor(SEED_TARGET), num_classes=3,
                               squared=squared, multiclass_mode=tm_mode).numpy()
    ours = lb.multiclass_hinge(SEED_TARGET, SEED_PREDS, mode=mode, squared=squared)
    assert abs(float(np.sum(tm)) - ours) < 1e-15  # float64: equal to the last bit or so
    assert abs(ours - documented) < 5e-5


def test_one_vs_all_per_class_vector():
    from torchmetrics.functional.classification import multiclass_hinge_loss

    tm = multiclass_hinge_loss(torch.tensor(SEED_PREDS), torch.tensor(SEED_TARGET), num_classes=3,
                               multiclass_mode="one-vs-all").numpy()
    np.testing.assert_allclose(tm, [0.875, 1.125, 1.1], rtol=1e-14)


def test_binary_hinge_loss_random_batches():
    from torchmetrics.classification import BinaryHingeLoss

    torch.manual_seed(0)
    metric = BinaryHingeLoss()
    for _ in range(10):
        p, t = torch.rand(10, dtype=torch.float64), torch.randint(2, (10,))
        assert abs(float(metric(p, t)) - lb.hinge(t.numpy(), p.numpy(), labels="01")) < 1e-6


# ------------------------------------------------------------------------------------------
# torchmetrics's squashing (lossbook takes scores as given)
# ------------------------------------------------------------------------------------------
def test_torchmetrics_sigmoid_squashing_is_batch_dependent():
    from torchmetrics.functional.classification import binary_hinge_loss

    alone = float(binary_hinge_loss(torch.tensor([0.9], dtype=torch.float64), torch.tensor([1])))
    pair = float(binary_hinge_loss(torch.tensor([0.9, 1.5], dtype=torch.float64), torch.tensor([1, 1])))
    assert abs(alone - 0.1) < 1e-12
    sig = 1 / (1 + np.exp(-np.array([0.9, 1.5])))
    assert abs(pair - lb.hinge([1, 1], sig)) < 1e-12
    assert abs(pair - 0.23574) < 1e-5
    assert abs(lb.hinge([1, 1], [0.9, 1.5]) - 0.05) < 1e-15


def test_torchmetrics_softmax_on_scores_outside_unit_interval():
    from torchmetrics.functional.classification import multiclass_hinge_loss

    scores = np.array([[-1.0, 0.9, 0.2], [0.5, -1.1, 0.8], [2.2, -0.5, 0.3]])
    labels = np.array([0, 1, 2])
    tm = float(multiclass_hinge_loss(torch.tensor(scores), torch.tensor(labels), num_classes=3))
    soft = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    assert abs(tm - lb.multiclass_hinge(labels, soft)) < 1e-12
    assert abs(tm - lb.multiclass_hinge(labels, scores)) > 0.1
    with pytest.raises(NotImplementedError):  # the public counterpart refuses to pretend
        lb.multiclass_hinge.counterpart("torchmetrics").fn(labels, scores)


# ------------------------------------------------------------------------------------------
# Keras's {0, 1} -> {-1, 1} conversion
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keras():
    from lossbook.frameworks import import_keras

    return import_keras()


def _keras_per_sample(fn, y_true, y_pred):
    return np.asarray(fn(np.asarray(y_true, "float32")[:, None], np.asarray(y_pred, "float32")[:, None]), float)


@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
def test_keras_converts_binary_labels_of_the_whole_batch_only(keras, name):
    fn = getattr(keras.losses, name)
    converted = _keras_per_sample(fn, [0, 1], [0.3, 0.8])
    np.testing.assert_allclose(converted, lb.LOSSES[name]([0, 1], [0.3, 0.8], labels="01", reduction="none"),
                               rtol=1e-6)
    mixed = _keras_per_sample(fn, [0, 1, -1], [0.3, 0.8, 0.2])
    power = 2 if name == "squared_hinge" else 1
    np.testing.assert_allclose(mixed, np.array([1.0, 0.2, 1.2]) ** power, rtol=1e-6)  # the 0 stayed a 0


def test_lossbook_never_guesses_the_label_encoding():
    with pytest.raises(ValueError, match="labels='01'"):
        lb.hinge([0, 1], [0.3, 0.8])
    with pytest.raises(ValueError, match="y_true"):
        lb.hinge([0, 1, -1], [0.3, 0.8, 0.2], labels="01")
    # the same sample costs the same whatever else is in the batch
    a = lb.hinge([0, 1], [0.3, 0.8], labels="01", reduction="none")[0]
    b = lb.hinge([0, 0, 1], [0.3, -2.0, 0.8], labels="01", reduction="none")[0]
    assert a == b == pytest.approx(1.3)


# ------------------------------------------------------------------------------------------
# Keras categorical_hinge vs Crammer-Singer
# ------------------------------------------------------------------------------------------
def test_categorical_hinge_vs_crammer_singer_frameworks_md_example(keras):
    scores = np.array([[-2.0, -3.0, 0.5], [0.2, 0.9, 0.4], [2.0, 1.5, -1.0]])
    labels = np.array([2, 1, 0])
    onehot = np.eye(3)[labels]
    k = np.asarray(keras.losses.categorical_hinge(onehot.astype("float32"), scores.astype("float32")), float)
    np.testing.assert_allclose(k, [0.5, 0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(lb.categorical_hinge(onehot, scores, reduction="none"), k, rtol=1e-6)
    np.testing.assert_allclose(lb.multiclass_hinge(labels, scores, reduction="none"), [0.0, 0.5, 0.5])
    np.testing.assert_allclose(lb.multi_margin(labels, scores, reduction="none"), [0.0, 0.8 / 3, 0.5 / 3])


def test_categorical_hinge_relation_to_crammer_singer():
    rng = np.random.default_rng(0)
    scores, labels = rng.normal(size=(500, 4)), rng.integers(0, 4, size=500)
    onehot = np.eye(4)[labels]
    rivals = np.where(onehot == 1, -np.inf, scores).max(axis=1)
    true = scores[np.arange(500), labels]
    keras_like = lb.categorical_hinge(onehot, scores, reduction="none")
    cs = lb.multiclass_hinge(labels, scores, reduction="none")
    np.testing.assert_allclose(keras_like, np.maximum(0, 1 + np.maximum(rivals, 0) - true), rtol=1e-15)
    np.testing.assert_allclose(keras_like[rivals >= 0], cs[rivals >= 0], rtol=1e-12, atol=1e-15)
    assert np.any(keras_like[rivals < 0] > cs[rivals < 0])
    # shift invariance: Crammer-Singer yes, Keras no
    np.testing.assert_allclose(lb.multiclass_hinge(labels, scores + 5, reduction="none"), cs, rtol=1e-12)
    np.testing.assert_allclose(lb.categorical_hinge(onehot, scores + 5, reduction="none"), cs, rtol=1e-12)


# ------------------------------------------------------------------------------------------
# HingeEmbeddingLoss semantics
# ------------------------------------------------------------------------------------------
def test_hinge_embedding_targets_outside_pm1_in_torch():
    x = torch.tensor([0.3, 0.3, 0.3, -0.5, 2.0], dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, 0.0, 1.0, -1.0], dtype=torch.float64)
    out = torch.nn.HingeEmbeddingLoss(reduction="none")(x, y).numpy()
    np.testing.assert_allclose(out, [0.3, 0.7, 1.0, -0.5, 0.0])
    valid = [0, 1, 4]
    np.testing.assert_allclose(lb.hinge_embedding(y.numpy()[valid], x.numpy()[valid], reduction="none"), out[valid])
    with pytest.raises(ValueError, match="y_true"):
        lb.hinge_embedding(y.numpy(), x.numpy().clip(0))
    with pytest.raises(ValueError, match="y_pred"):  # a negative distance
        lb.hinge_embedding(np.array([1.0, 1.0]), np.array([0.3, -0.5]))


def test_hinge_embedding_with_randn_targets_ignores_them():
    torch.manual_seed(0)
    inp = torch.randn(3, 5, dtype=torch.float64)
    a = torch.nn.HingeEmbeddingLoss()(inp, torch.randn(3, 5, dtype=torch.float64))
    b = torch.nn.HingeEmbeddingLoss()(inp, torch.randn(3, 5, dtype=torch.float64))
    assert float(a) == float(b) == pytest.approx(np.mean(np.maximum(1.0, inp.numpy())), rel=1e-15)


def test_hinge_embedding_is_not_the_svm_hinge_despite_equal_means():
    scores, y = np.array([0.3, 0.8]), np.array([-1.0, 1.0])
    he = lb.hinge_embedding(y, scores, reduction="none")
    svm = lb.hinge(y, scores, reduction="none")
    np.testing.assert_allclose(he, [0.7, 0.8])
    np.testing.assert_allclose(svm, [1.3, 0.2])
    assert he.mean() == pytest.approx(svm.mean())  # 0.75 both: compare per sample, never only means


# ------------------------------------------------------------------------------------------
# MarginRankingLoss through the (y_true, y_pred) contract
# ------------------------------------------------------------------------------------------
def test_margin_ranking_matches_torch_pair_form():
    rng = np.random.default_rng(1)
    x1, x2, y = rng.normal(size=9), rng.normal(size=9), rng.choice([1.0, -1.0], size=9)
    for margin in (0.0, 0.3):
        expected = torch.nn.MarginRankingLoss(margin=margin, reduction="none")(
            torch.tensor(x1), torch.tensor(x2), torch.tensor(y)).numpy()
        ours = lb.margin_ranking((1 - y) / 2, np.column_stack([x1, x2]), margin=margin, reduction="none")
        np.testing.assert_allclose(ours, expected, rtol=1e-15)
    pair = np.column_stack([x1, x2])
    labels = (1 - y) / 2
    np.testing.assert_allclose(lb.margin_ranking(labels, pair, margin=1.0, reduction="none"),
                               lb.multiclass_hinge(labels, pair, reduction="none"), rtol=1e-15)
    np.testing.assert_allclose(lb.margin_ranking(labels, pair, margin=1.0, reduction="none"),
                               2 * lb.multi_margin(labels, pair, reduction="none"), rtol=1e-15)
    with pytest.raises(ValueError, match="y_pred"):
        lb.margin_ranking(np.array([0.0]), np.array([[1.0]]))


# ------------------------------------------------------------------------------------------
# identities and subgradients
# ------------------------------------------------------------------------------------------
def test_hinge_subgradient_at_the_kink_and_squared_gradient_continuity():
    g = lb.hinge.grad([1.0, -1.0], [1.0, -1.0], reduction="none")
    np.testing.assert_array_equal(g, [0.0, 0.0])  # exactly on the hinge: the subgradient 0
    eps = 1e-9
    g_sq = lb.squared_hinge.grad([1.0, 1.0], [1.0 - eps, 1.0 + eps], reduction="none")
    assert np.all(np.abs(g_sq) < 1e-8)


def test_multiclass_hinge_two_class_reduces_to_binary_hinge():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(20, 2))
    labels = rng.integers(0, 2, size=20)
    # Crammer-Singer on two classes is the binary hinge on the score difference, with margin 1
    y_pm = np.where(labels == 1, 1.0, -1.0)
    diff = scores[:, 1] - scores[:, 0]
    np.testing.assert_allclose(lb.multiclass_hinge(labels, scores, reduction="none"),
                               lb.hinge(y_pm, diff, reduction="none"), rtol=1e-15)


def test_labels_keyword_is_validated():
    with pytest.raises(ValueError, match="labels"):
        lb.hinge([1, -1], [0.2, 0.3], labels="binary")
    with pytest.raises(ValueError, match="mode"):
        lb.multiclass_hinge([0, 1], [[0.1, 0.2], [0.3, 0.4]], mode="crammer-singer")
    with pytest.raises(ValueError, match="p"):
        lb.multi_margin([0, 1], [[0.1, 0.2], [0.3, 0.4]], p=3)
