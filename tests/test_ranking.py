"""The in-batch pairwise ranking hinge (seed 004), its chunked variant and the ranking metrics.

The registry tests (tests/test_contract.py) check values against both torch counterparts, finite
differences and the bridge's gradcheck; here: the formula against an explicit loop over pairs,
torch autograd's gradient, the worked example, chunked == dense, the memory bound, the metrics
against scikit-learn, and the errors.
"""
import tracemalloc

import numpy as np
import pytest

import lossbook as lb
from lossbook.counterparts import _torch_pairwise_margin_ranking, _torch_seed004
from lossbook.ranking import ndcg_at_k, pairwise_accuracy, pairwise_ranking_hinge_chunked

torch = pytest.importorskip("torch")
L = lb.pairwise_ranking_hinge


def loop_reference(labels, scores, margin=0.3, normalize=True, epsilon=1e-6):
    """The definition, one ordered pair at a time."""
    num = den = 0.0
    n = len(scores)
    for i in range(n):
        for j in range(n):
            if i != j:
                w = max(labels[j] - labels[i], 0.0)
                num += w * max(scores[i] - scores[j] + margin, 0.0)
                den += w
    return num / (den + epsilon) if normalize else num / (n * (n - 1))


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, size=n).astype(float), rng.normal(size=n)


@pytest.mark.parametrize("hp", [{}, {"normalize": False}, {"margin": 1.0, "epsilon": 1e-3}, {"margin": 0.0}])
def test_value_matches_the_pair_loop_and_torch(hp):
    labels, scores = data(23)
    full = L.resolve(hp)
    ref = loop_reference(labels, scores, **full)
    assert abs(L(labels, scores, **hp) - ref) <= 1e-13 * max(1, abs(ref))
    assert abs(_torch_seed004(labels, scores, **full) - ref) <= 1e-13 * max(1, abs(ref))
    assert abs(_torch_pairwise_margin_ranking(labels, scores, **full) - ref) <= 1e-13 * max(1, abs(ref))


@pytest.mark.parametrize("hp", [{}, {"normalize": False, "margin": 1.0}])
def test_gradient_is_torch_autograd_even_on_the_kinks(hp):
    labels = np.array([0.0, 1.0, 2.0, 3.0, 1.0, 0.0])
    scores = np.array([0.0, 0.3, 0.6, 0.9, -0.5, 0.3])  # several pairs exactly at the margin 0.3
    full = L.resolve(hp)
    s = torch.tensor(scores, requires_grad=True)
    lt = torch.tensor(labels)
    w = torch.relu(lt[None, :] - lt[:, None])
    pairs = w * torch.relu(s[:, None] - s[None, :] + full["margin"])
    out = pairs.sum() / (w.sum() + full["epsilon"] if full["normalize"] else 30)
    out.backward()
    value, grad = L.value_and_grad(labels, scores, **hp)
    assert abs(value - float(out.detach())) < 1e-14
    np.testing.assert_allclose(grad, s.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_worked_example_graded_labels():
    # the chapter's example: four documents, grades 0..3, scores that get one pair badly wrong
    labels = np.array([3.0, 0.0, 2.0, 1.0])
    scores = np.array([0.2, 0.5, 0.4, -0.1])
    # weighted pairs (i below j in relevance): (1,0) w3 z=0.6, (1,2) w2 z=0.4, (1,3) w1 z=0.9,
    # (3,0) w2 z=0.0 (exactly on the kink), (3,2) w1 z=-0.2, (2,0) w1 z=0.5
    num = 3 * 0.6 + 2 * 0.4 + 1 * 0.9 + 0 + 0 + 1 * 0.5
    den = 3 + 2 + 1 + 2 + 1 + 1
    assert den == 10
    assert abs(L(labels, scores) - num / (den + 1e-6)) < 1e-15
    assert abs(L(labels, scores, normalize=False) - num / 12) < 1e-15


def test_all_equal_labels_give_zero_and_a_zero_gradient():
    scores = np.array([3.0, -1.0, 0.5])
    value, grad = L.value_and_grad(np.full(3, 2.0), scores)
    assert value == 0.0 and np.all(grad == 0.0)


def test_large_n_and_huge_inputs_stay_finite():
    labels, scores = data(3000, seed=3)
    assert np.isfinite(L(labels, scores * 1e150))
    value, grad = L.value_and_grad(labels * 1e6, scores)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_column_input_is_accepted_but_wider_rows_are_not():
    labels, scores = data(10)
    assert L(labels[:, None], scores[:, None]) == L(labels, scores)
    assert L.grad(labels[:, None], scores[:, None]).shape == (10, 1)
    with pytest.raises(ValueError, match="y_pred must have shape \\(N,\\) or \\(N, 1\\)"):
        L(np.zeros((10, 2)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="y_true and y_pred must have the same shape"):
        L(labels, scores[:, None])


def test_batch_loss_takes_no_reduction():
    labels, scores = data(5)
    with pytest.raises(TypeError, match="batch loss"):
        L(labels, scores, reduction="sum")


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
@pytest.mark.parametrize("hp", [{}, {"normalize": False, "margin": 1.0}])
def test_chunked_equals_dense(chunk, hp):
    labels, scores = data(301, seed=5)
    value, grad = L.value_and_grad(labels, scores, **hp)
    v_c, g_c = pairwise_ranking_hinge_chunked(labels, scores, chunk_size=chunk, with_grad=True, **hp)
    assert abs(v_c - value) <= 1e-13 * abs(value)
    np.testing.assert_allclose(g_c, grad, rtol=1e-10, atol=1e-15)
    assert pairwise_ranking_hinge_chunked(labels, scores, chunk_size=chunk, **hp) == v_c


def test_chunked_rejects_bad_chunk_size_and_bad_input():
    labels, scores = data(5)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
            pairwise_ranking_hinge_chunked(labels, scores, chunk_size=bad)
    with pytest.raises(ValueError, match="y_pred must be finite"):
        pairwise_ranking_hinge_chunked(labels, np.array([0, 1, np.nan, 0, 0.0]))
    with pytest.raises(ValueError, match="margin"):
        pairwise_ranking_hinge_chunked(labels, scores, margin=-1.0)


def peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_dense_grows_as_n_squared_chunked_as_n_times_chunk():
    chunk = 64
    for n in (800, 1600):
        labels, scores = data(n, seed=n)
        dense = peak_bytes(lambda: L.value_and_grad(labels, scores))
        chunked = peak_bytes(lambda: pairwise_ranking_hinge_chunked(labels, scores, chunk_size=chunk,
                                                                      with_grad=True))
        assert dense >= 2 * n * n * 8  # at least two (N, N) float64 matrices
        # at most a handful of (chunk, N) float64 blocks plus O(N) vectors: never an (N, N) matrix
        assert chunked <= 6 * chunk * n * 8 + 40 * n * 8, (n, chunked)
        assert chunked < dense / 4


def test_ndcg_matches_sklearn_with_and_without_ties():
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(0)
    for trial in range(20):
        y_true = rng.integers(0, 4, size=(5, 12)).astype(float)
        y_score = np.round(rng.normal(size=(5, 12)), 1 if trial % 2 else 6)  # rounding makes ties
        for k in (None, 1, 3, 10, 12):
            assert abs(ndcg_at_k(y_true, y_score, k) - ndcg_score(y_true, y_score, k=k)) < 1e-12
    one = rng.integers(0, 4, size=20).astype(float)
    sc = rng.normal(size=20)
    assert abs(ndcg_at_k(one, sc, 5) - ndcg_score(one[None], sc[None], k=5)) < 1e-12
    # a list with no relevant item scores 0 (sklearn's convention)
    assert ndcg_at_k(np.zeros((1, 4)), np.arange(4.0)[None]) == 0.0
    assert ndcg_at_k([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]) == 1.0


def test_ndcg_errors():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        ndcg_at_k([1.0, 0.0], [0.1, 0.2], k=0)
    with pytest.raises(ValueError, match="y_true must be non-negative"):
        ndcg_at_k([-1.0, 0.0], [0.1, 0.2])
    with pytest.raises(ValueError, match="same shape"):
        ndcg_at_k([1.0, 0.0], [[0.1, 0.2]])


def test_pairwise_accuracy():
    labels = np.array([0.0, 1.0, 2.0, 2.0])
    assert pairwise_accuracy(labels, labels) == 1.0
    assert pairwise_accuracy(labels, -labels) == 0.0
    assert pairwise_accuracy(labels, np.zeros(4)) == 0.5  # every tie counts half
    # a loop over the pairs with different labels
    rng = np.random.default_rng(1)
    lab, sc = rng.integers(0, 4, 40).astype(float), rng.normal(size=40)
    hits = [(sc[j] > sc[i]) for i in range(40) for j in range(40) if lab[j] > lab[i]]
    assert abs(pairwise_accuracy(lab, sc) - np.mean(hits)) < 1e-15
    with pytest.raises(ValueError, match="no two different labels"):
        pairwise_accuracy(np.ones(3), np.arange(3.0))
