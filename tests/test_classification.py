"""lossbook/classification.py: the identities each loss's docstring states, torch's and Keras's
worked examples, and bad input that must name the argument.

(The registry-driven tests in test_contract.py and test_accuracy.py already put every one of these
losses through counterparts, reductions, finite differences, the torch bridge, extremes and the
50-digit references; this file checks what is particular to each.)
"""
from __future__ import annotations

import numpy as np
import pytest

import lossbook as lb
from lossbook.counterparts import torch_multilabel_target

RNG = np.random.default_rng(7)
LOGITS = RNG.normal(scale=3.0, size=(6, 4))
ONE_HOT = np.eye(4)[[0, 1, 2, 3, 1, 0]]
SOFT = RNG.dirichlet(np.ones(4), size=6)
MULTI_HOT = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0], [0, 1, 1, 1]], float)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------------------------------
# soft margin and multi-label soft margin: binary cross-entropy under other names
# ------------------------------------------------------------------------------------------
def test_soft_margin_is_bce_on_logits_with_labels_moved_to_01():
    y = np.where(MULTI_HOT > 0, 1.0, -1.0)
    for kw in ({}, {"reduction": "none"}):
        np.testing.assert_allclose(lb.soft_margin(y, LOGITS, **kw),
                                   lb.binary_crossentropy((1 + y) / 2, LOGITS, from_logits=True, **kw), rtol=1e-15)
    np.testing.assert_allclose(lb.soft_margin.grad(y, LOGITS),
                               lb.binary_crossentropy.grad((1 + y) / 2, LOGITS, from_logits=True), rtol=1e-15)


def test_multilabel_soft_margin_is_binary_crossentropy_on_logits_bit_for_bit():
    for kw in ({}, {"reduction": "none"}, {"reduction": "sum", "sample_weight": np.arange(6.0)}):
        assert np.array_equal(lb.multilabel_soft_margin(MULTI_HOT, LOGITS, **kw),
                              lb.binary_crossentropy(MULTI_HOT, LOGITS, from_logits=True, **kw))
        assert np.array_equal(lb.multilabel_soft_margin.grad(MULTI_HOT, LOGITS, **kw),
                              lb.binary_crossentropy.grad(MULTI_HOT, LOGITS, from_logits=True, **kw))


def test_multilabel_soft_margin_takes_rows_of_class_logits_only():
    with pytest.raises(ValueError, match="y_pred"):
        lb.multilabel_soft_margin(np.array([1.0, 0.0]), np.array([0.3, -0.2]))


# ------------------------------------------------------------------------------------------
# multi-label margin: torch's index format, empty and full rows
# ------------------------------------------------------------------------------------------
def test_multilabel_margin_reproduces_torchs_documented_example():
    # torch.nn.MultiLabelMarginLoss's docstring: x = [[0.1, 0.2, 0.4, 0.8]], y = [[3, 0, -1, 1]] -> 0.85
    # (targets 3 and 0: the 1 after the -1 is not read)
    x = np.array([[0.1, 0.2, 0.4, 0.8]])
    y = np.array([[1.0, 0.0, 0.0, 1.0]])
    assert lb.multilabel_margin(y, x) == pytest.approx(0.85, abs=1e-15)
    assert torch_multilabel_target(y).tolist() == [[0, 3, -1, -1]]


def test_multilabel_margin_rows_without_pairs_cost_nothing_in_lossbook_and_torch():
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(2, 4))
    y = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])  # no target; every class a target
    assert np.array_equal(lb.multilabel_margin(y, x, reduction="none"), [0.0, 0.0])
    assert not np.any(lb.multilabel_margin.grad(y, x))
    theirs = torch.nn.MultiLabelMarginLoss(reduction="none")(torch.tensor(x), torch.tensor(torch_multilabel_target(y)))
    assert theirs.tolist() == [0.0, 0.0]


def test_multilabel_margin_is_the_pair_sum_over_c():
    c = LOGITS.shape[1]
    for y, x in zip(MULTI_HOT, LOGITS):
        expected = sum(max(0.0, 1 - (x[j] - x[k])) for j in range(c) for k in range(c) if y[j] and not y[k]) / c
        assert lb.multilabel_margin(y[None], x[None]) == pytest.approx(expected, rel=1e-14, abs=1e-15)


# ------------------------------------------------------------------------------------------
# categorical focal cross-entropy
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("from_logits", [False, True])
def test_focal_with_gamma_0_and_alpha_1_is_categorical_crossentropy(from_logits):
    y_pred = LOGITS if from_logits else _softmax(LOGITS)
    for y in (ONE_HOT, SOFT):
        kw = {"from_logits": from_logits}
        np.testing.assert_allclose(lb.categorical_focal_crossentropy(y, y_pred, gamma=0.0, alpha=1.0, reduction="none", **kw),
                                   lb.categorical_crossentropy(y, y_pred, reduction="none", **kw), rtol=1e-14)
        np.testing.assert_allclose(lb.categorical_focal_crossentropy.grad(y, y_pred, gamma=0.0, alpha=1.0, **kw),
                                   lb.categorical_crossentropy.grad(y, y_pred, **kw), rtol=1e-13, atol=1e-16)


def test_focal_reproduces_keras_documented_example():
    # keras.losses.categorical_focal_crossentropy's docstring: [2.63401289e-04, 6.75912094e-01] (float32)
    y_true = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    y_pred = [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]
    for epsilon in (0.0, 1e-7):
        got = lb.categorical_focal_crossentropy(y_true, y_pred, reduction="none", epsilon=epsilon)
        np.testing.assert_allclose(got, [2.63401289e-04, 6.75912094e-01], rtol=1e-6)


def test_focal_alpha_is_one_factor_and_gamma_only_lowers_the_loss():
    y_pred = _softmax(LOGITS)
    base = lb.categorical_focal_crossentropy(SOFT, y_pred, alpha=1.0, reduction="none")
    np.testing.assert_allclose(lb.categorical_focal_crossentropy(SOFT, y_pred, alpha=0.25, reduction="none"),
                               0.25 * base, rtol=1e-15)
    assert np.all(base <= lb.categorical_crossentropy(SOFT, y_pred, reduction="none"))


def test_focal_confident_right_answer_keeps_its_tiny_gradient():
    # p_t = 1 - 3.7e-44: 1 - p_t rounds to 0, so a naive (1 - p)^gamma would give an exact 0 loss and gradient
    y, z = [[1.0, 0.0, 0.0]], [[100.0, 0.0, -100.0]]
    value = lb.categorical_focal_crossentropy(y, z, from_logits=True, gamma=1.0, alpha=1.0)
    assert value == pytest.approx(np.exp(-100) ** 2, rel=1e-12)  # (1 - p) * -log p, both ~ e^-100
    g = lb.categorical_focal_crossentropy.grad(y, z, from_logits=True, gamma=1.0, alpha=1.0)
    assert g[0, 0] < 0 and g[0, 1] > 0 and np.all(np.isfinite(g))


def test_focal_refuses_epsilon_with_logits():
    with pytest.raises(ValueError, match="epsilon"):
        lb.categorical_focal_crossentropy(ONE_HOT, LOGITS, from_logits=True, epsilon=1e-7)


# ------------------------------------------------------------------------------------------
# poly-1 and generalized cross-entropy
# ------------------------------------------------------------------------------------------
def test_poly1_with_epsilon_0_is_cross_entropy_on_logits():
    for y in (ONE_HOT, SOFT):
        np.testing.assert_allclose(lb.poly1_crossentropy(y, LOGITS, poly_epsilon=0.0, reduction="none"),
                                   lb.categorical_crossentropy(y, LOGITS, from_logits=True, reduction="none"),
                                   rtol=1e-14)
        np.testing.assert_allclose(lb.poly1_crossentropy.grad(y, LOGITS, poly_epsilon=0.0),
                                   lb.categorical_crossentropy.grad(y, LOGITS, from_logits=True), rtol=1e-14,
                                   atol=1e-17)


def test_poly1_adds_epsilon_times_one_minus_p_t():
    p_t = (_softmax(LOGITS) * ONE_HOT).sum(-1)
    ce = lb.categorical_crossentropy(ONE_HOT, LOGITS, from_logits=True, reduction="none")
    np.testing.assert_allclose(lb.poly1_crossentropy(ONE_HOT, LOGITS, reduction="none"), ce + 2.0 * (1 - p_t),
                               rtol=1e-13)


@pytest.mark.parametrize("from_logits", [False, True])
def test_generalized_ce_tends_to_cross_entropy_as_q_goes_to_0(from_logits):
    y_pred = LOGITS if from_logits else _softmax(LOGITS)
    ce = lb.categorical_crossentropy(SOFT, y_pred, from_logits=from_logits, reduction="none")
    ce_grad = lb.categorical_crossentropy.grad(SOFT, y_pred, from_logits=from_logits)
    for q, tol in ((1e-4, 1e-3), (1e-8, 1e-7)):  # (1 - p^q)/q = -log p - q log^2 p / 2 - ...
        kw = {"q": q, "from_logits": from_logits}
        np.testing.assert_allclose(lb.generalized_crossentropy(SOFT, y_pred, reduction="none", **kw), ce, rtol=tol)
        np.testing.assert_allclose(lb.generalized_crossentropy.grad(SOFT, y_pred, **kw), ce_grad, rtol=tol,
                                   atol=1e-12)


def test_generalized_ce_at_q_1_is_one_minus_p_y():
    p = _softmax(LOGITS)
    p_y = (p * ONE_HOT).sum(-1)
    np.testing.assert_allclose(lb.generalized_crossentropy(ONE_HOT, p, q=1.0, reduction="none"), 1 - p_y, rtol=1e-14)
    np.testing.assert_allclose(lb.generalized_crossentropy.grad(ONE_HOT, p, q=1.0, reduction="sum"), -ONE_HOT)
    # bounded by 1/q, reached where the true class has probability 0 (cross-entropy is infinite there)
    assert lb.generalized_crossentropy([[1.0, 0.0]], [[0.0, 1.0]], q=0.5) == 2.0


def test_generalized_ce_q_must_be_in_0_1():
    for bad in (0.0, 1.5, -0.3):
        with pytest.raises(ValueError, match="q"):
            lb.generalized_crossentropy(ONE_HOT, _softmax(LOGITS), q=bad)


# ------------------------------------------------------------------------------------------
# distillation
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("temperature", [1.0, 4.0, 20.0])
def test_distillation_is_t_squared_kl_and_its_gradient_is_t_times_softmax_difference(temperature):
    teacher = RNG.normal(scale=3.0, size=LOGITS.shape)
    q_t, q_s = _softmax(teacher / temperature), _softmax(LOGITS / temperature)
    ours = lb.distillation_kl(teacher, LOGITS, temperature=temperature, reduction="none")
    np.testing.assert_allclose(ours, temperature ** 2 * lb.kl_divergence(q_t, q_s, reduction="none"), rtol=1e-12)
    np.testing.assert_allclose(lb.distillation_kl.grad(teacher, LOGITS, temperature=temperature, reduction="sum"),
                               temperature * (q_s - q_t), rtol=1e-12, atol=1e-16)


def test_distillation_of_identical_logits_is_zero_and_grows_with_distance():
    assert np.array_equal(lb.distillation_kl(LOGITS, LOGITS, reduction="none"), np.zeros(len(LOGITS)))
    assert not np.any(lb.distillation_kl.grad(LOGITS, LOGITS))
    assert lb.distillation_kl(LOGITS, 2 * LOGITS) < lb.distillation_kl(LOGITS, 3 * LOGITS)


def test_distillation_gradient_tends_to_logit_matching_at_high_temperature():
    # Hinton et al. section 2.1: for large T (zero-mean logits) dL/ds -> (s - t) / C
    t = LOGITS - LOGITS.mean(axis=-1, keepdims=True)
    s = np.roll(t, 1, axis=-1)
    g = lb.distillation_kl.grad(t, s, temperature=1e4, reduction="sum")
    np.testing.assert_allclose(g, (s - t) / t.shape[1], rtol=1e-3, atol=1e-6)


# ------------------------------------------------------------------------------------------
# bad input names the argument
# ------------------------------------------------------------------------------------------
BAD = [
    ("soft_margin", (MULTI_HOT, LOGITS), {}, "y_true"),  # labels 0 and 1, not -1 and 1
    ("multilabel_soft_margin", (2 * MULTI_HOT, LOGITS), {}, "y_true"),  # labels outside {0, 1}
    ("multilabel_margin", (MULTI_HOT - 1, LOGITS), {}, "y_true"),
    ("multilabel_margin", (MULTI_HOT[:, :3], LOGITS), {}, "shape"),  # wrong number of classes
    ("categorical_focal_crossentropy", (ONE_HOT, LOGITS), {}, "y_pred"),  # logits without from_logits
    ("categorical_focal_crossentropy", (ONE_HOT, _softmax(LOGITS)), {"gamma": -1.0}, "gamma"),
    ("categorical_focal_crossentropy", (ONE_HOT, _softmax(LOGITS)), {"alpha": 2.0}, "alpha"),
    ("poly1_crossentropy", (2 * ONE_HOT, LOGITS), {}, "y_true"),  # not a distribution
    ("poly1_crossentropy", (ONE_HOT, LOGITS), {"poly_epsilon": float("inf")}, "poly_epsilon"),
    ("generalized_crossentropy", (ONE_HOT, _softmax(LOGITS)), {"q": 0.0}, "q"),
    ("distillation_kl", (LOGITS, LOGITS), {"temperature": 0.0}, "temperature"),
    ("distillation_kl", (LOGITS[:, :3], LOGITS), {}, "shape"),
    ("distillation_kl", (LOGITS, LOGITS), {"sample_weight": -np.ones(6)}, "sample_weight"),  # negative weights
    ("soft_margin", (np.ones(6), np.zeros(6)), {"sample_weight": np.ones(5)}, "sample_weight"),  # wrong length
]


@pytest.mark.parametrize("name,inputs,kw,word", BAD, ids=[f"{b[0]}-{b[3]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_names_the_argument(name, inputs, kw, word):
    loss = lb.LOSSES[name]
    for call in (loss, loss.grad):
        with pytest.raises((ValueError, TypeError), match=word):
            call(*inputs, **kw)


# ------------------------------------------------------------------------------------------
# sparse categorical cross-entropy: ignore_index and label_smoothing (torch's meanings)
# ------------------------------------------------------------------------------------------
LABELS = np.array([0, 1, 2, 3, 1, -100])


def test_ignored_rows_cost_nothing_and_still_count_in_the_mean():
    torch = pytest.importorskip("torch")
    for k, labels in ((1, LABELS.clip(0)), (-100, LABELS)):
        per = lb.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True, ignore_index=k, reduction="none")
        grad = lb.sparse_categorical_crossentropy.grad(labels, LOGITS, from_logits=True, ignore_index=k)
        ignored = labels == k
        assert np.all(per[ignored] == 0) and np.all(per[~ignored] > 0)
        assert not np.any(grad[ignored]) and np.all(np.any(grad[~ignored], axis=1))
        kept = lb.sparse_categorical_crossentropy(labels[~ignored], LOGITS[~ignored], from_logits=True,
                                                  reduction="none")
        np.testing.assert_allclose(per[~ignored], kept, rtol=1e-15)
        mean = lb.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True, ignore_index=k)
        assert mean == pytest.approx(per.sum() / len(labels), rel=1e-15)  # the contract's N
        # torch's mean divides by the rows kept: lossbook's sum over that count is the recipe
        theirs = torch.nn.CrossEntropyLoss(ignore_index=k)(torch.tensor(LOGITS), torch.tensor(labels))
        total = lb.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True, ignore_index=k, reduction="sum")
        assert total / (~ignored).sum() == pytest.approx(float(theirs), rel=1e-14)


def test_every_row_ignored_is_zero_where_torch_gives_nan():
    torch = pytest.importorskip("torch")
    labels = np.full(len(LOGITS), -100)
    assert lb.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True, ignore_index=-100) == 0.0
    assert np.isnan(float(torch.nn.CrossEntropyLoss()(torch.tensor(LOGITS), torch.tensor(labels))))


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_label_smoothing_is_categorical_smoothing_of_the_one_hot(from_logits):
    y_pred = LOGITS if from_logits else _softmax(LOGITS)
    labels = ONE_HOT.argmax(1)
    for s in (0.1, 1.0):
        kw = {"from_logits": from_logits, "label_smoothing": s}
        np.testing.assert_allclose(lb.sparse_categorical_crossentropy(labels, y_pred, reduction="none", **kw),
                                   lb.categorical_crossentropy(ONE_HOT, y_pred, reduction="none", **kw), rtol=1e-14)
        np.testing.assert_allclose(lb.sparse_categorical_crossentropy.grad(labels, y_pred, **kw),
                                   lb.categorical_crossentropy.grad(ONE_HOT, y_pred, **kw), rtol=1e-14, atol=1e-17)


def test_sparse_options_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="ignore_index"):
        lb.sparse_categorical_crossentropy(LABELS.clip(0), LOGITS, from_logits=True, ignore_index=1.5)
    with pytest.raises(ValueError, match="y_true"):  # -100 is a label only when it is the ignore_index
        lb.sparse_categorical_crossentropy(LABELS, LOGITS, from_logits=True, ignore_index=1)
    with pytest.raises(ValueError, match="label_smoothing"):
        lb.sparse_categorical_crossentropy(LABELS.clip(0), LOGITS, from_logits=True, label_smoothing=-0.1)


# ------------------------------------------------------------------------------------------
# binary cross-entropy: pos_weight (torch's BCEWithLogitsLoss meaning)
# ------------------------------------------------------------------------------------------
def test_pos_weight_per_class_matches_torch_and_weighs_the_positive_term_only():
    torch = pytest.importorskip("torch")
    w = (0.5, 2.0, 4.0, 1.0)
    ours = lb.binary_crossentropy(MULTI_HOT, LOGITS, from_logits=True, pos_weight=w, reduction="none")
    theirs = torch.nn.BCEWithLogitsLoss(reduction="none", pos_weight=torch.tensor(w, dtype=torch.float64))(
        torch.tensor(LOGITS), torch.tensor(MULTI_HOT)).mean(-1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)
    # by hand: w y softplus(-x) + (1 - y) softplus(x), and the same on probabilities
    sp = np.logaddexp(0, -LOGITS), np.logaddexp(0, LOGITS)
    np.testing.assert_allclose(ours, (np.array(w) * MULTI_HOT * sp[0] + (1 - MULTI_HOT) * sp[1]).mean(-1), rtol=1e-13)
    p = 1 / (1 + np.exp(-LOGITS))
    np.testing.assert_allclose(lb.binary_crossentropy(MULTI_HOT, p, pos_weight=w, reduction="none"), ours, rtol=1e-12)
    # the gradient: torch's autograd through BCEWithLogitsLoss against the analytic one
    x = torch.tensor(LOGITS, requires_grad=True)
    torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(w, dtype=torch.float64))(x, torch.tensor(MULTI_HOT)).backward()
    np.testing.assert_allclose(lb.binary_crossentropy.grad(MULTI_HOT, LOGITS, from_logits=True, pos_weight=w),
                               x.grad.numpy(), rtol=1e-12, atol=1e-17)


def test_pos_weight_1_is_plain_bce_and_0_drops_the_positives():
    for from_logits, y_pred in ((True, LOGITS), (False, 1 / (1 + np.exp(-LOGITS)))):
        kw = {"from_logits": from_logits}
        np.testing.assert_allclose(lb.binary_crossentropy(MULTI_HOT, y_pred, pos_weight=1.0, reduction="none", **kw),
                                   lb.binary_crossentropy(MULTI_HOT, y_pred, reduction="none", **kw), rtol=1e-13)
        # w = 0: only the negatives' terms, -log(1 - p), each the BCE of that entry against target 0
        negatives = lb.binary_crossentropy.per_sample(np.zeros(MULTI_HOT.size), y_pred.ravel(), **kw)
        expected = ((1 - MULTI_HOT) * negatives.reshape(MULTI_HOT.shape)).mean(-1)
        np.testing.assert_allclose(lb.binary_crossentropy(MULTI_HOT, y_pred, pos_weight=0.0, reduction="none", **kw),
                                   expected, rtol=1e-13)


def test_pos_weight_bad_input_names_it():
    for bad, exc in ((-1.0, ValueError), ((1.0, -2.0, 1.0, 1.0), ValueError), ((1.0, 2.0), ValueError),
                     ("heavy", TypeError), ((), ValueError)):
        with pytest.raises(exc, match="pos_weight"):
            lb.binary_crossentropy(MULTI_HOT, LOGITS, from_logits=True, pos_weight=bad)


# ------------------------------------------------------------------------------------------
# class_weight on categorical and sparse cross-entropy
# ------------------------------------------------------------------------------------------
W4 = (0.5, 2.0, 1.0, 4.0)


def test_class_weight_matches_torch_per_sample_and_its_mean_by_the_recipe():
    torch = pytest.importorskip("torch")
    labels = ONE_HOT.argmax(1)
    w = torch.tensor(W4, dtype=torch.float64)
    per = lb.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True, class_weight=W4, reduction="none")
    theirs = torch.nn.CrossEntropyLoss(weight=w, reduction="none")(torch.tensor(LOGITS), torch.tensor(labels))
    np.testing.assert_allclose(per, theirs.numpy(), rtol=1e-14)
    # torch's mean divides by the weights of the samples' classes; lossbook's by N
    total = lb.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True, class_weight=W4, reduction="sum")
    torch_mean = float(torch.nn.CrossEntropyLoss(weight=w)(torch.tensor(LOGITS), torch.tensor(labels)))
    assert total / np.asarray(W4)[labels].sum() == pytest.approx(torch_mean, rel=1e-14)
    assert lb.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True, class_weight=W4) == pytest.approx(
        total / len(labels), rel=1e-15)
    # dense soft targets: torch weighs each class's term, and its mean divides by N
    dense = lb.categorical_crossentropy(SOFT, LOGITS, from_logits=True, class_weight=W4, reduction="none")
    theirs = torch.nn.CrossEntropyLoss(weight=w, reduction="none")(torch.tensor(LOGITS), torch.tensor(SOFT))
    np.testing.assert_allclose(dense, theirs.numpy(), rtol=1e-14)
    # and the gradient through torch's autograd
    x = torch.tensor(LOGITS, requires_grad=True)
    torch.nn.CrossEntropyLoss(weight=w, reduction="sum")(x, torch.tensor(labels)).backward()
    np.testing.assert_allclose(lb.sparse_categorical_crossentropy.grad(labels, LOGITS, from_logits=True,
                                                                       class_weight=W4, reduction="sum"),
                               x.grad.numpy(), rtol=1e-13, atol=1e-16)


def test_class_weight_on_hard_labels_is_keras_fit_class_weight():
    # Keras's fit(class_weight=w) gives each sample the weight w[y] and divides the sum by N
    labels = ONE_HOT.argmax(1)
    for from_logits, y_pred in ((True, LOGITS), (False, _softmax(LOGITS))):
        kw = {"from_logits": from_logits}
        by_sample = lb.sparse_categorical_crossentropy(labels, y_pred, sample_weight=np.asarray(W4)[labels], **kw)
        assert lb.sparse_categorical_crossentropy(labels, y_pred, class_weight=W4, **kw) == pytest.approx(by_sample,
                                                                                                          rel=1e-14)
        assert lb.categorical_crossentropy(ONE_HOT, y_pred, class_weight=W4, **kw) == pytest.approx(by_sample,
                                                                                                    rel=1e-14)


def test_class_weight_bad_input_names_it():
    labels = ONE_HOT.argmax(1)
    for loss, y in ((lb.sparse_categorical_crossentropy, labels), (lb.categorical_crossentropy, ONE_HOT)):
        for bad, exc in (((1.0, 2.0), ValueError), ((1.0, -1.0, 1.0, 1.0), ValueError), (2.0, ValueError),
                         ("balanced", TypeError)):
            with pytest.raises(exc, match="class_weight"):
                loss(y, LOGITS, from_logits=True, class_weight=bad)


def test_per_class_alpha_of_the_focal_loss_is_a_per_sample_weight_on_one_hot_targets():
    rng = np.random.default_rng(12)
    logits = rng.normal(size=(9, 3)) * 3
    labels = rng.integers(0, 3, size=9)
    y = np.eye(3)[labels]
    alpha = np.array([0.25, 0.5, 1.0])
    kw = dict(from_logits=True, gamma=2.0)
    per_class = lb.categorical_focal_crossentropy.value_and_grad(y, logits, alpha=tuple(alpha), **kw)
    weighted = lb.categorical_focal_crossentropy.value_and_grad(y, logits, alpha=1.0, sample_weight=alpha[labels], **kw)
    assert per_class[0] == pytest.approx(weighted[0], rel=1e-14)
    np.testing.assert_allclose(per_class[1], weighted[1], rtol=1e-13, atol=1e-16)
    # with soft targets the two differ: each class's term has its own weight
    soft = lb.categorical_focal_crossentropy(0.8 * y + 0.2 / 3, logits, alpha=tuple(alpha), **kw)
    assert abs(soft - lb.categorical_focal_crossentropy(0.8 * y + 0.2 / 3, logits, alpha=1.0,
                                                        sample_weight=alpha[labels], **kw)) > 1e-3
    with pytest.raises(ValueError, match=r"alpha must hold one weight per class \(3\), got 2"):
        lb.categorical_focal_crossentropy(y, logits, alpha=(0.5, 0.5), **kw)
    with pytest.raises(ValueError, match="alpha"):
        lb.categorical_focal_crossentropy(y, logits, alpha=(0.5, 1.5, 0.5), **kw)
