"""Embedding losses: what the registry tests cannot know (eps placements, seed 001's examples, zero vectors)."""
from __future__ import annotations

import numpy as np
import pytest

import lossbook as lb

torch = pytest.importorskip("torch")
F = torch.nn.functional


def t(x, grad=False):
    return torch.tensor(np.asarray(x, float), dtype=torch.float64, requires_grad=grad)


# ------------------------------------------------------------------------------------------
# cosine similarity (Keras's negated cosine)
# ------------------------------------------------------------------------------------------
def test_cosine_seed001_worked_example():
    y_true, y_pred = [[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]
    per = lb.cosine_similarity(y_true, y_pred, reduction="none")
    np.testing.assert_allclose(per, [0.0, -1.0], atol=1e-15)
    assert lb.cosine_similarity(y_true, y_pred) == pytest.approx(-0.5, abs=1e-15)
    keras = pytest.importorskip("lossbook.frameworks").import_keras()
    k = float(keras.losses.CosineSimilarity(axis=1)(np.float32(y_true), np.float32(y_pred)))
    assert k == pytest.approx(-0.5, abs=1e-7)  # -0.49999997 in float32


def test_cosine_sign_is_negated_similarity():
    a = np.array([[1.0, 2.0, 3.0]])
    assert lb.cosine_similarity(a, a) == pytest.approx(-1.0)
    assert lb.cosine_similarity(a, -a) == pytest.approx(1.0)
    assert lb.cosine_similarity(a, 5 * a) == pytest.approx(-1.0)  # scale-free above eps


def test_cosine_zero_and_tiny_vectors_follow_keras():
    e1 = np.array([[1.0, 0.0]])
    z = np.zeros((1, 2))
    assert lb.cosine_similarity(e1, z) == 0.0 and lb.cosine_similarity(z, e1) == 0.0
    np.testing.assert_array_equal(lb.cosine_similarity.grad(z, e1), [[0.0, 0.0]])
    # below Keras's eps = 1e-7 the prediction is divided by eps, not by its norm
    assert lb.cosine_similarity(e1, 1e-8 * e1) == pytest.approx(-0.1, rel=1e-12)
    np.testing.assert_allclose(lb.cosine_similarity.grad(e1, 1e-8 * e1, reduction="sum"), [[-1e7, 0.0]])
    keras = pytest.importorskip("lossbook.frameworks").import_keras()
    k = keras.losses.cosine_similarity(np.float32(e1), np.float32(1e-8 * e1))
    assert float(k[0]) == pytest.approx(-0.1, rel=1e-6)
    # torch's default eps is 1e-8, so it still calls this vector a unit vector
    assert -F.cosine_similarity(t(1e-8 * e1), t(e1)).item() == pytest.approx(-1.0)
    assert -F.cosine_similarity(t(1e-8 * e1), t(e1), eps=1e-7).item() == pytest.approx(-0.1)


def test_cosine_gradient_is_orthogonal_to_prediction():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.normal(size=(20, 5)), rng.normal(size=(20, 5))
    g = lb.cosine_similarity.grad(y_true, y_pred, reduction="sum")
    np.testing.assert_allclose(np.sum(g * y_pred, axis=1), 0.0, atol=1e-14)


def test_cosine_gradient_matches_torch_autograd_above_eps():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    yp = t(y_pred, grad=True)
    (-F.cosine_similarity(yp, t(y_true), eps=1e-7)).sum().backward()
    np.testing.assert_allclose(lb.cosine_similarity.grad(y_true, y_pred, reduction="sum"), yp.grad.numpy(),
                               rtol=1e-12, atol=1e-15)


def test_cosine_1d_rows_are_scalars():
    # an (N,) input is N one-dimensional vectors: the cosine is the sign of the product
    np.testing.assert_allclose(lb.cosine_similarity([1.0, 2.0, -3.0], [2.0, -1.0, -1.0], reduction="none"),
                               [-1.0, 1.0, -1.0])


# ------------------------------------------------------------------------------------------
# cosine embedding (torch)
# ------------------------------------------------------------------------------------------
def test_cosine_embedding_eps_inside_squared_norms():
    tiny = np.array([[1e-6, 0.0]])
    ours = lb.cosine_embedding(tiny, tiny, [1.0], reduction="none")
    theirs = torch.nn.CosineEmbeddingLoss(reduction="none")(t(tiny), t(tiny), t([1.0])).numpy()
    # c = 1e-12 / (1e-12 + eps) with eps = float32(1e-12): identical vectors, loss about 0.5
    np.testing.assert_allclose(ours, [0.5], rtol=1e-8)
    eps = float(np.float32(1e-12))
    np.testing.assert_allclose(ours, [1 - 1e-12 / (1e-12 + eps)], rtol=1e-12)
    np.testing.assert_allclose(theirs, ours, rtol=1e-12)
    z = np.zeros((1, 2))
    assert lb.cosine_embedding(z, z, [1.0]) == 1.0 and lb.cosine_embedding(z, z, [-1.0]) == 0.0


def test_cosine_embedding_refuses_other_targets():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="y"):
        lb.cosine_embedding(x, x, [1.0, 0.0])
    # torch silently gives 0 for y = 0
    assert torch.nn.CosineEmbeddingLoss(reduction="none")(t(x), t(x), t([1.0, 0.0]))[1].item() == 0.0


# ------------------------------------------------------------------------------------------
# triplet: torch's eps placement, seed 001's squared form
# ------------------------------------------------------------------------------------------
def test_triplet_eps_goes_into_the_difference():
    a = np.zeros((1, 4))
    n = a.copy()
    n[0, 0] = 0.5
    ours = lb.triplet(a, a, n)
    theirs = torch.nn.TripletMarginLoss()(t(a), t(a), t(n)).item()
    assert theirs == pytest.approx(ours, rel=1e-15)
    # d(a, a) = ||0 + 1e-6||_2 = 1e-6 * sqrt(4) = 2e-6, and d(a, n) = ||(0.5 - 1e-6, -1e-6, ...)||
    d_an = np.sqrt((0.5 - 1e-6) ** 2 + 3e-12)
    assert ours == pytest.approx(1.0 + 2e-6 - d_an, rel=1e-14)
    assert lb.triplet(a, a, n, eps=0.0) == 0.5
    # pairwise_distance is not symmetric: ||x - z + eps|| != ||z - x + eps||
    x, z = t([[0.0, 0.0]]), t([[1.0, 0.0]])
    assert F.pairwise_distance(x, z).item() != F.pairwise_distance(z, x).item()


def test_triplet_squared_is_seed001_snippet():
    rng = np.random.default_rng(2)
    a, p, n = rng.normal(size=(3, 10, 4))

    def seed001(y_pred, alpha=0.2):  # seed 001's formula, in NumPy, with its final mean
        anchor, positive, negative = np.split(y_pred, 3, axis=1)
        pos = np.sum((anchor - positive) ** 2, axis=1)
        neg = np.sum((anchor - negative) ** 2, axis=1)
        return np.mean(np.maximum(pos - neg + alpha, 0.0))

    ours = lb.triplet(a, p, n, margin=0.2, squared=True, eps=0.0)
    assert ours == pytest.approx(seed001(np.concatenate([a, p, n], axis=1)), rel=1e-14)


def test_triplet_gradients_match_torch_autograd():
    rng = np.random.default_rng(3)
    a, p, n = rng.normal(size=(3, 12, 5))
    for hp in ({}, {"p": 1.0, "margin": 0.3}, {"swap": True}):
        ta, tp, tn = t(a, True), t(p, True), t(n, True)
        torch.nn.TripletMarginLoss(reduction="sum", **hp)(ta, tp, tn).backward()
        ga, gp, gn = lb.triplet.grad(a, p, n, reduction="sum", **hp)
        for ours, theirs in ((ga, ta), (gp, tp), (gn, tn)):
            np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_triplet_identical_points_finite():
    a = np.ones((2, 3))
    for hp in ({"eps": 0.0}, {"eps": 0.0, "p": 1.0}, {"eps": 0.0, "squared": True}):
        value, grads = lb.triplet.value_and_grad(a, a, a, reduction="none", **hp)
        np.testing.assert_allclose(value, 1.0)
        for g in grads:
            assert np.all(np.isfinite(g))


# ------------------------------------------------------------------------------------------
# contrastive and quadruplet
# ------------------------------------------------------------------------------------------
def test_contrastive_at_zero_distance_is_stable_where_naive_is_nan():
    x = np.array([[1.0, 2.0]])
    v, (g1, g2) = lb.contrastive.value_and_grad(x, x, [0.0], reduction="sum")
    assert v == 0.5  # dissimilar pair at distance 0: (1/2) m^2
    np.testing.assert_array_equal(g1, 0.0)
    a, b = t(x, True), t(x)
    d = torch.sqrt(((a - b) ** 2).sum(dim=1))  # the naive distance
    (0.5 * torch.clamp(1.0 - d, min=0) ** 2).sum().backward()
    assert torch.isnan(a.grad).all()


def test_contrastive_label_convention():
    x1, x2 = np.zeros((2, 2)), np.array([[0.3, 0.4], [0.3, 0.4]])  # d = 0.5
    np.testing.assert_allclose(lb.contrastive(x1, x2, [1.0, 0.0], reduction="none"), [0.125, 0.125])
    np.testing.assert_allclose(lb.contrastive(x1, 4 * x2, [1.0, 0.0], reduction="none"), [2.0, 0.0])


def test_quadruplet_gradients_match_torch_autograd_and_reduce_to_triplet():
    rng = np.random.default_rng(4)
    a, p, n1, n2 = rng.normal(size=(4, 10, 3))
    ts = [t(x, True) for x in (a, p, n1, n2)]
    d = lambda x, z: ((x - z) ** 2).sum(dim=1)  # noqa: E731
    (torch.clamp(d(ts[0], ts[1]) - d(ts[0], ts[2]) + 1.0, min=0)
     + torch.clamp(d(ts[0], ts[1]) - d(ts[2], ts[3]) + 0.5, min=0)).sum().backward()
    for ours, theirs in zip(lb.quadruplet.grad(a, p, n1, n2, reduction="sum"), ts):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)
    # with n2 far away the second hinge is off: the quadruplet loss is the squared triplet loss
    far = n1 + 100.0
    assert lb.quadruplet(a, p, n1, far) == pytest.approx(lb.triplet(a, p, n1, squared=True, eps=0.0), rel=1e-14)


def test_pk_batch_draws_p_classes_of_k_samples():
    labels = np.repeat(np.arange(6), 10)
    idx = lb.embedding.pk_batch(labels, np.random.default_rng(0), P=4, K=3)
    counts = np.unique(labels[idx], return_counts=True)[1]
    assert len(idx) == 12 and len(counts) == 4 and set(counts) == {3} and len(set(idx)) == 12
    with pytest.raises(ValueError, match="P must be"):
        lb.embedding.pk_batch(labels, np.random.default_rng(0), P=7, K=3)


def test_miners_pick_the_triplets_they_promise():
    import torch

    # one dimension: class 0 at 0 and 1, class 1 at 1.5, 3 and 10
    x = torch.tensor([[0.0], [1.0], [1.5], [3.0], [10.0]], dtype=torch.float64)
    labels = np.array([0, 0, 1, 1, 1])
    pos, neg = lb.embedding.mine_triplets(x, labels, "hard")
    assert pos[0] == 1 and neg[0] == 2  # farthest positive, closest negative
    assert pos[2] == 4 and neg[2] == 1
    pos, neg = lb.embedding.mine_triplets(x, labels, "semi-hard", generator=torch.Generator().manual_seed(0), margin=2.5)
    assert pos[0] == 1 and neg[0] == 2  # the band is 1 < d < 3.5: 1.5 and 3 lie in it, 1.5 is the closest
    pos, neg = lb.embedding.mine_triplets(x, labels, "semi-hard", generator=torch.Generator().manual_seed(0), margin=0.1)
    assert neg[0] == 4  # nothing in the band: the farthest negative
    for how in ("random", "hard", "semi-hard"):
        pos, neg = lb.embedding.mine_triplets(x, labels, how, generator=torch.Generator().manual_seed(1))
        assert (labels[pos.numpy()] == labels).all() and (pos.numpy() != np.arange(5)).all()
        assert (labels[neg.numpy()] != labels).all()
    with pytest.raises(ValueError, match="positive and a negative"):
        lb.embedding.mine_triplets(x[:3], np.array([0, 0, 1]), "hard")  # the last anchor has no positive


def test_knn_accuracy_on_separable_and_shuffled_embeddings():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    ytr, yte = rng.integers(0, 3, 60), rng.integers(0, 3, 30)
    etr, ete = centres[ytr] + rng.normal(size=(60, 2)), centres[yte] + rng.normal(size=(30, 2))
    assert lb.embedding.knn_accuracy(etr, ytr, ete, yte) == 1.0
    assert lb.embedding.knn_accuracy(etr, rng.permutation(ytr), ete, yte) < 0.7
