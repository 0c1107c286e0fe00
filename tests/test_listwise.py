"""Identities of the listwise ranking losses (lossbook/listwise.py) that the registry battery does not see:
the two-item limits, equalities with other losses, the published optax examples, the Plackett-Luce
distribution, LambdaRank's gradient against the chapter's torch formula and its jump at a swap, what
lists with no relevant item give, and the invariance to a shift of a list's scores."""
import itertools

import numpy as np
import pytest

import lossbook as lb

RNG = np.random.default_rng(7)
LISTWISE = ("ranknet", "listnet", "softmax_ranking", "listmle", "lambdarank")


def _logistic(x):
    """log(1 + e^-x), written plainly (the test's inputs are moderate)."""
    return np.log1p(np.exp(-x))


# ---------------------------------------------------------------------------------------------
# two items: every pairwise and listwise loss is the logistic loss of the score difference
# ---------------------------------------------------------------------------------------------
def test_ranknet_on_two_items_is_the_logistic_loss_of_the_score_difference():
    s = RNG.normal(size=(9, 2)) * 3
    y = np.tile([2.0, 0.5], (9, 1))
    expected = _logistic(s[:, 0] - s[:, 1])  # item 0 is the more relevant
    for normalize in (True, False):  # one pair: the mean is the sum
        np.testing.assert_allclose(lb.ranknet(y, s, reduction="none", normalize=normalize), expected, rtol=1e-14)
    bce = lb.binary_crossentropy(np.ones((9, 1)), (s[:, 0] - s[:, 1])[:, None], from_logits=True, reduction="none")
    np.testing.assert_allclose(lb.ranknet(y, s, reduction="none"), bce, rtol=1e-14)
    # the order of the items in the list does not matter, only which is more relevant
    np.testing.assert_allclose(lb.ranknet(y[:, ::-1], s[:, ::-1], reduction="none"), expected, rtol=1e-14)


def test_listmle_on_two_items_is_ranknet_on_the_pair():
    s = RNG.normal(size=(9, 2)) * 3
    y = RNG.permuted(np.tile([1.0, 0.0], (9, 1)), axis=1)  # the relevant item at either position
    np.testing.assert_allclose(lb.listmle(y, s, reduction="none"), lb.ranknet(y, s, reduction="none"), rtol=1e-14)
    np.testing.assert_allclose(lb.listmle.grad(y, s), lb.ranknet.grad(y, s), rtol=1e-14, atol=1e-300)


def test_ties_listmle_takes_index_order_ranknet_skips_the_pair():
    s = np.array([[0.3, 1.7], [-2.0, 0.5]])
    y = np.ones((2, 2))
    np.testing.assert_allclose(lb.listmle(y, s, reduction="none"), _logistic(s[:, 0] - s[:, 1]), rtol=1e-14)
    assert np.all(lb.ranknet(y, s, reduction="none") == 0) and np.all(lb.ranknet.grad(y, s) == 0)


# ---------------------------------------------------------------------------------------------
# the softmax loss: optax's convention, its published examples, one relevant item
# ---------------------------------------------------------------------------------------------
def test_softmax_ranking_with_one_relevant_item_is_the_softmax_cross_entropy_of_that_item():
    s = RNG.normal(size=(6, 5)) * 4
    k = RNG.integers(0, 5, size=6)
    y = np.eye(5)[k]
    ce = lb.sparse_categorical_crossentropy(k.astype(float), s, from_logits=True, reduction="none")
    for normalize in (False, True):
        np.testing.assert_allclose(lb.softmax_ranking(y, s, reduction="none", normalize=normalize), ce, rtol=1e-14)
    # a relevance of 3 on that item: optax's form triples the loss, the normalised form does not
    np.testing.assert_allclose(lb.softmax_ranking(3 * y, s, reduction="none"), 3 * ce, rtol=1e-14)
    np.testing.assert_allclose(lb.softmax_ranking(3 * y, s, reduction="none", normalize=True), ce, rtol=1e-14)


def test_optax_module_docstring_examples():
    """optax/losses/_ranking.py's examples (0.2.8): 1.408, the gradient [-0.755, 0.09, 0.665], and 0.497 for
    the masked batch (the masked item left out of its list, the mean over the two lists)."""
    s, y = np.array([[2.0, 1.0, 3.0]]), np.array([[1.0, 0.0, 0.0]])
    assert f"{lb.softmax_ranking(y, s):.3f}" == "1.408"
    assert [float(f"{g:.3f}") for g in lb.softmax_ranking.grad(y, s)[0]] == [-0.755, 0.09, 0.665]
    first = lb.softmax_ranking([[1.0, 0.0]], [[2.0, 1.0]], reduction="sum")  # where = [True, True, False]
    second = lb.softmax_ranking([[0.0, 0.0, 1.0]], [[1.0, 0.5, 1.5]], reduction="sum")
    assert f"{(first + second) / 2:.3f}" == "0.497"


def test_optax_does_not_normalise_the_labels():
    """optax's own test_computes_loss_value: labels [0, 0, 1, 1] give the *sum* of the two items' -log p."""
    s, y = np.array([[0.0, 3.0, 1.0, 2.0]]), np.array([[0.0, 0.0, 1.0, 1.0]])
    log_z = np.log(np.exp(s).sum())
    expected = -((1.0 - log_z) + (2.0 - log_z))
    assert lb.softmax_ranking(y, s) == pytest.approx(expected, rel=1e-14)
    assert lb.softmax_ranking(y, s, normalize=True) == pytest.approx(expected / 2, rel=1e-14)
    optax = pytest.importorskip("optax")
    from lossbook.frameworks import import_jax

    import_jax()  # x64
    assert float(optax.losses.ranking_softmax_loss(s[0], y[0])) == pytest.approx(expected, rel=1e-13)


# ---------------------------------------------------------------------------------------------
# ListNet and ListMLE: their probability models
# ---------------------------------------------------------------------------------------------
def test_listnet_is_a_cross_entropy_entropy_at_s_equals_y():
    y = RNG.gamma(2.0, size=(5, 4))
    p = np.exp(y) / np.exp(y).sum(axis=1, keepdims=True)
    entropy = -(p * np.log(p)).sum(axis=1)
    np.testing.assert_allclose(lb.listnet(y, y.copy(), reduction="none"), entropy, rtol=1e-13)
    np.testing.assert_allclose(lb.listnet.grad(y, y.copy()), 0.0, atol=1e-16)
    # the target is softmax(y) (Cao et al.), not y / sum(y): binary relevance shows the difference
    yb = np.array([[1.0, 0.0, 0.0]])
    s = np.array([[2.0, 0.0, -1.0]])
    target = np.exp(yb) / np.exp(yb).sum()
    log_q = s - np.log(np.exp(s).sum())
    assert lb.listnet(yb, s) == pytest.approx(-(target * log_q).sum(), rel=1e-14)
    assert lb.listnet(yb, s) > lb.softmax_ranking(yb, s, normalize=True)


def test_listmle_is_a_plackett_luce_distribution_over_the_orders():
    """exp(-listmle) is the probability of the relevance order: it sums to 1 over the 4! orders."""
    s = RNG.normal(size=(1, 4)) * 2
    total = 0.0
    for perm in itertools.permutations(range(4)):
        y = np.empty((1, 4))
        y[0, list(perm)] = [4.0, 3.0, 2.0, 1.0]  # perm[0] first, perm[1] second, ...
        total += np.exp(-lb.listmle(y, s))
    assert total == pytest.approx(1.0, rel=1e-13)


def test_listmle_breaks_ties_in_index_order():
    y = np.array([[1.0, 1.0, 0.0]])
    s = np.array([[0.2, -0.4, 1.1]])
    by_hand = np.array([[2.0, 1.0, 0.0]])  # the same order, without the tie
    assert lb.listmle(y, s) == lb.listmle(by_hand, s)
    assert lb.listmle(y[:, [1, 0, 2]], s[:, [1, 0, 2]]) != lb.listmle(y, s)  # swapping the tied items


# ---------------------------------------------------------------------------------------------
# lists with no relevant item, shift invariance, extremes, shapes
# ---------------------------------------------------------------------------------------------
def test_lists_with_no_relevant_item():
    y = np.zeros((2, 4))
    s = RNG.normal(size=(2, 4))
    for normalize in (True, False):
        assert np.all(lb.ranknet(y, s, reduction="none", normalize=normalize) == 0)
        assert np.all(lb.softmax_ranking(y, s, reduction="none", normalize=not normalize) == 0)
        assert np.all(lb.softmax_ranking.grad(y, s, normalize=normalize) == 0)
    # ListNet: the uniform target, logsumexp(s) - mean(s); ListMLE: the likelihood of the index order
    lse = np.log(np.exp(s).sum(axis=1))
    np.testing.assert_allclose(lb.listnet(y, s, reduction="none"), lse - s.mean(axis=1), rtol=1e-14)
    np.testing.assert_allclose(lb.listmle(y, s, reduction="none"), lb.listmle(np.array([[4.0, 3, 2, 1]] * 2), s,
                                                                              reduction="none"), rtol=1e-15)


@pytest.mark.parametrize("name", LISTWISE)
def test_adding_a_constant_to_every_score_of_a_list_changes_nothing(name):
    loss = lb.LOSSES[name]
    y = RNG.gamma(2.0, size=(6, 5)) * (RNG.random((6, 5)) < 0.7)
    y[0] = 0.0
    s = RNG.normal(size=(6, 5))
    shift = np.array([0.0, 1.0, -3.0, 100.0, 1e3, -0.5])[:, None]  # exact: s + shift rounds at most once
    for hp in loss.configs:
        v0, g0 = loss.value_and_grad(y, s, reduction="none", **hp)
        v1, g1 = loss.value_and_grad(y, s + shift, reduction="none", **hp)
        np.testing.assert_allclose(v1, v0, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(g1, g0, rtol=1e-9, atol=1e-13)
        # no component along the shift: the row sums are 0 to rounding of the gradient's size (sum y for softmax_ranking)
        assert np.all(np.abs(g0.sum(axis=1)) <= 1e-15 * (1 + y.sum(axis=1)) * y.shape[1])


def test_huge_scores_give_exact_answers():
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    s = np.array([[-1e4, 1e4], [-1e4, 1e4]])
    for name in ("ranknet", "listmle"):  # the wrong order costs the difference, the right one e^-2e4 = 0
        np.testing.assert_array_equal(lb.LOSSES[name](y, s, reduction="none"), [2e4, 0.0])
        np.testing.assert_array_equal(lb.LOSSES[name].grad(y, s, reduction="sum"), [[-1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(lb.softmax_ranking(y, s, reduction="none"), [2e4, 0.0])
    # near-equal scores of 1e4: the loss depends on their differences only
    near = 1e4 + np.array([[0.5, -0.25, 0.125, 1.0]])
    yy = np.array([[3.0, 2.0, 1.0, 0.0]])
    for name in LISTWISE:
        assert lb.LOSSES[name](yy, near) == pytest.approx(lb.LOSSES[name](yy, near - 1e4), rel=1e-15)


@pytest.mark.parametrize("name", LISTWISE)
def test_a_single_list_must_be_a_row(name):
    with pytest.raises(ValueError, match="shape"):
        lb.LOSSES[name](np.array([1.0, 0.0, 2.0]), np.array([0.1, 0.2, 0.3]))


def test_ranknet_normalize_divides_by_the_number_of_pairs():
    y = np.array([[3.0, 1.0, 1.0, 0.0]])  # pairs with y_i > y_j: 3 + 1 + 1 = 5 (the tie is not one)
    s = RNG.normal(size=(1, 4))
    assert lb.ranknet(y, s, normalize=False) == pytest.approx(5 * lb.ranknet(y, s), rel=1e-15)


# ---------------------------------------------------------------------------------------------
# LambdaRank: the chapter's gradient, RankNet with unit weights, the jump at a swap
# ---------------------------------------------------------------------------------------------
def _chapter_lambdarank_grad(torch, y, s, unit_weights=False):
    """book/ranking/listwise.ipynb's lambdarank_grad, as the chapter writes it."""
    with torch.no_grad():
        n = s.shape[-1]
        place = torch.argsort(torch.argsort(s, dim=-1, descending=True), dim=-1)  # 0 = top
        discount = 1.0 / torch.log2(place.to(s.dtype) + 2.0)
        ideal = (torch.sort(y, dim=-1, descending=True).values
                 / torch.log2(torch.arange(n, dtype=s.dtype) + 2.0)).sum(-1)
        better = (y[..., :, None] > y[..., None, :]).to(s.dtype)  # [i, j]: i more relevant than j
        delta = ((y[..., :, None] - y[..., None, :]).abs() * (discount[..., :, None] - discount[..., None, :]).abs()
                 / ideal.clamp(min=1e-12)[..., None, None])
        weight = better if unit_weights else better * delta
        lam = torch.sigmoid(-(s[..., :, None] - s[..., None, :])) * weight
        return (lam.sum(-2) - lam.sum(-1)) / better.sum((-2, -1)).clamp(min=1)[..., None]


@pytest.mark.parametrize("length", [1, 2, 5, 12, 24])
def test_lambdarank_grad_is_the_chapters_lambdarank_gradient(length):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(length)
    y = rng.integers(0, 4, size=(40, length)).astype(float)
    y[0] = 0.0  # a list with no relevant item: 0
    s = rng.normal(size=(40, length)) * 2
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    expected = _chapter_lambdarank_grad(torch, t(y), t(s)).numpy()
    np.testing.assert_allclose(lb.lambdarank.grad(y, s, reduction="sum"), expected, rtol=1e-13, atol=1e-16)
    # with every weight set to 1 the chapter's formula is RankNet's gradient
    unit = _chapter_lambdarank_grad(torch, t(y), t(s), unit_weights=True).numpy()
    np.testing.assert_allclose(unit, lb.ranknet.grad(y, s, reduction="sum"), rtol=1e-13, atol=1e-17)
    # the value's autograd gradient, through the float64 torch counterpart, is the same
    st = torch.tensor(s, dtype=torch.float64, requires_grad=True)
    from lossbook.counterparts import LISTWISE as TABLE
    torch_value = TABLE["lambdarank"][0].fn
    assert torch_value.__name__ == "_torch_lambdarank"
    np.testing.assert_allclose(torch_value(y, s, normalize=True), lb.lambdarank(y, s, reduction="none"), rtol=1e-13)
    lb.lambdarank.torch(reduction="sum")(torch.tensor(y), st).backward()
    np.testing.assert_allclose(st.grad.numpy(), expected, rtol=1e-13, atol=1e-16)


def test_lambdarank_value_is_ranknet_weighted_by_the_swap_gains_held_constant():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    y = rng.integers(0, 4, size=(20, 8)).astype(float)
    s = rng.normal(size=(20, 8))
    st = torch.tensor(s, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(y, dtype=torch.float64)
    from lossbook.counterparts import _torch_lambdarank

    for normalize in (True, False):
        np.testing.assert_allclose(lb.lambdarank(y, s, reduction="none", normalize=normalize),
                                   _torch_lambdarank(y, s, normalize=normalize), rtol=1e-13)
    # normalize=False is Burges's sum: the chapter's gradient times the number of pairs
    pairs = (y[:, :, None] > y[:, None, :]).sum(axis=(1, 2))
    chapter = _chapter_lambdarank_grad(torch, yt, st.detach()).numpy()
    np.testing.assert_allclose(lb.lambdarank.grad(y, s, reduction="sum", normalize=False),
                               chapter * np.maximum(pairs, 1)[:, None], rtol=1e-13, atol=1e-16)


def test_lambdarank_on_two_items_is_ranknet_times_the_ndcg_gain_of_the_swap():
    s = RNG.normal(size=(9, 2)) * 3
    y = np.tile([2.0, 0.0], (9, 1))
    # IDCG = 2 D(1) = 2, |Delta NDCG| = 2 (D(1) - D(2)) / 2 = 1 - 1 / log2(3), whichever order
    gain = 1 - 1 / np.log2(3)
    np.testing.assert_allclose(lb.lambdarank(y, s, reduction="none"), gain * lb.ranknet(y, s, reduction="none"),
                               rtol=1e-14)
    np.testing.assert_allclose(lb.lambdarank.grad(y, s), gain * lb.ranknet.grad(y, s), rtol=1e-14, atol=1e-300)


def test_lambdarank_jumps_where_two_items_of_different_grades_swap():
    """The chapter's jump: item 2 moved across item 1 (places 2 and 3); RankNet is continuous there."""
    y = np.array([[3.0, 1.0, 0.0, 2.0, 0.0, 1.0]])
    s = np.array([[2.0, 1.0, 0.5, 0.0, -0.5, -1.0]])
    before, after = s.copy(), s.copy()
    before[0, 2], after[0, 2] = 1.0 - 1e-9, 1.0 + 1e-9
    assert lb.lambdarank.kinks(y, before, normalize=True).all() and not lb.lambdarank.kinks(y, s, normalize=True).any()
    for loss in (lb.lambdarank, lb.ranknet):
        jump = abs(loss(y, after) - loss(y, before))
        grad_jump = np.abs(loss.grad(y, after) - loss.grad(y, before)).max()
        if loss is lb.lambdarank:
            assert jump > 1e-3 and grad_jump > 1e-3
        else:
            assert jump < 1e-8 and grad_jump < 1e-8


def test_lambdarank_ties_in_the_scores_take_index_order():
    y = np.array([[0.0, 2.0, 1.0]])
    s = np.zeros((1, 3))  # all tied: places 1, 2, 3 in index order
    d = 1 / np.log2(np.arange(2, 5))
    ideal = 2 * d[0] + 1 * d[1]
    w = {(1, 0): 2 * abs(d[1] - d[0]), (1, 2): 1 * abs(d[1] - d[2]), (2, 0): 1 * abs(d[2] - d[0])}
    expected = sum(w.values()) / ideal * np.log(2) / 3  # softplus(0) = log 2, three pairs
    assert lb.lambdarank(y, s) == pytest.approx(expected, rel=1e-14)


def test_lambdarank_grades_scale_out_and_tiny_grades_keep_their_digits():
    y = np.array([[3.0, 0.0, 1.0, 2.0]])
    s = RNG.normal(size=(1, 4))
    for scale in (1e-300, 5e-324 * 8, 1e4, 1e300):
        np.testing.assert_allclose(lb.lambdarank(y * scale, s), lb.lambdarank(y, s), rtol=1e-14)
        np.testing.assert_allclose(lb.lambdarank.grad(y * scale, s), lb.lambdarank.grad(y, s), rtol=1e-14)
