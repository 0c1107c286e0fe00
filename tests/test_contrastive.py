"""Contrastive losses: identities and limits the registry tests cannot know."""
from __future__ import annotations

import numpy as np
import pytest

import lossbook as lb


def _rows(seed, n=6, d=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d))


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("normalize", [True, False])
def test_symmetric_is_the_mean_of_the_two_directions(normalize):
    q, k = _rows(0)
    both = lb.info_nce(q, k, symmetric=True, normalize=normalize)
    q2k, k2q = lb.info_nce(q, k, normalize=normalize), lb.info_nce(k, q, normalize=normalize)
    assert both == pytest.approx((q2k + k2q) / 2, rel=1e-14)
    g_both = lb.info_nce.grad(q, k, symmetric=True, normalize=normalize)
    g_qk = lb.info_nce.grad(q, k, normalize=normalize)
    g_kq = lb.info_nce.grad(k, q, normalize=normalize)
    np.testing.assert_allclose(g_both[0], (g_qk[0] + g_kq[1]) / 2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g_both[1], (g_qk[1] + g_kq[0]) / 2, rtol=1e-12, atol=1e-15)


def test_identity_with_softmax_cross_entropy():
    q, k = _rows(1)
    tau = 0.2
    logits = _unit(q) @ _unit(k).T / tau
    ce = lb.sparse_categorical_crossentropy(np.arange(len(q)), logits, from_logits=True)
    assert lb.info_nce(q, k, temperature=tau) == pytest.approx(ce, rel=1e-14)
    # NT-Xent with one partner per row: the cross-entropy of the similarity rows, the row itself left out
    z = np.vstack(_rows(2))
    labels = np.tile(np.arange(6), 2)
    s = _unit(z) @ _unit(z).T / tau
    np.fill_diagonal(s, -1e4)  # exp(-1e4 - max) is exactly 0
    partner = np.concatenate([np.arange(6, 12), np.arange(6)])
    ce = lb.sparse_categorical_crossentropy(partner, s, from_logits=True)
    assert lb.nt_xent(z, labels, temperature=tau) == pytest.approx(ce, rel=1e-14)


def test_small_temperature_approaches_the_hardest_negative_hinge():
    q, k = _rows(3)
    s = _unit(q) @ _unit(k).T
    n = len(q)
    hinge = np.mean(np.maximum(0.0, (s - np.eye(n) * 10).max(axis=1) - np.diag(s)))
    gaps = []
    for tau in (1e-1, 1e-2, 1e-3, 1e-4):
        gap = abs(tau * lb.info_nce(q, k, temperature=tau) - hinge)
        assert gap <= tau * np.log(n) + 1e-12  # tau * logsumexp(x / tau) is within tau log N of max(x)
        gaps.append(gap)
    assert gaps == sorted(gaps, reverse=True)


def test_a_batch_of_one_pair_has_zero_loss_and_gradient():
    q, k = _rows(4, n=1)
    for kw in ({}, {"symmetric": True}, {"normalize": False}):
        value, (gq, gk) = lb.info_nce.value_and_grad(q, k, **kw)
        assert value == 0.0 and not gq.any() and not gk.any()
    value, g = lb.nt_xent.value_and_grad(q[[0, 0]] + [[0.0] * 4, [0.1] * 4], [3, 3])
    assert value == 0.0 and not g.any()  # one pair, no negatives


def test_permutation_invariance():
    q, k = _rows(5)
    perm = np.random.default_rng(0).permutation(len(q))
    for kw in ({}, {"symmetric": True, "normalize": False}):
        v, (gq, gk) = lb.info_nce.value_and_grad(q, k, **kw)
        vp, (gqp, gkp) = lb.info_nce.value_and_grad(q[perm], k[perm], **kw)
        assert vp == pytest.approx(v, rel=1e-14)
        np.testing.assert_allclose(gqp, gq[perm], rtol=1e-12, atol=1e-16)
        np.testing.assert_allclose(gkp, gk[perm], rtol=1e-12, atol=1e-16)
    z = np.vstack(_rows(6))
    labels = np.tile(np.arange(6.0), 2)
    perm = np.random.default_rng(1).permutation(12)
    v, g = lb.nt_xent.value_and_grad(z, labels)
    vp, gp = lb.nt_xent.value_and_grad(z[perm], labels[perm])
    assert vp == pytest.approx(v, rel=1e-14)
    np.testing.assert_allclose(gp, g[perm], rtol=1e-12, atol=1e-16)
    # relabelling the pairs changes nothing
    assert lb.nt_xent(z, labels * 7 + 100) == pytest.approx(v, rel=1e-15)


def test_scale_invariance_and_zero_rows():
    q, k = _rows(7)
    assert lb.info_nce(3.0 * q, 1e-5 * k) == pytest.approx(lb.info_nce(q, k), rel=1e-13)
    # zero rows have cosine 0 with everything (the norm's floor), not NaN: all logits 0, loss log N
    z = np.zeros((5, 3))
    assert lb.info_nce(z, z) == pytest.approx(np.log(5), rel=1e-15)
    assert lb.nt_xent(np.zeros((4, 3)), [0, 0, 1, 1]) == pytest.approx(np.log(3), rel=1e-15)


def test_tiny_temperature_does_not_overflow():
    q, k = _rows(8)
    value, (gq, gk) = lb.info_nce.value_and_grad(q, k, temperature=1e-6)
    assert np.isfinite(value) and np.isfinite(gq).all() and np.isfinite(gk).all()
    value, g = lb.nt_xent.value_and_grad(np.vstack([q, k]), np.tile(np.arange(6), 2), temperature=1e-6)
    assert np.isfinite(value) and np.isfinite(g).all()


def test_bad_input_errors_name_the_argument():
    q, k = _rows(9)
    with pytest.raises(ValueError, match="keys"):
        lb.info_nce(q, k[:, :3])
    with pytest.raises(ValueError, match=r"queries must have shape \(N, D\)"):
        lb.info_nce(q[:, 0], k[:, 0])
    with pytest.raises(ValueError, match="temperature"):
        lb.info_nce(q, k, temperature=0.0)
    with pytest.raises(TypeError, match="sample_weight"):
        lb.info_nce(q, k, sample_weight=np.ones(6))
    z = np.vstack([q, k])
    with pytest.raises(ValueError, match="labels .*at least twice"):
        lb.nt_xent(z, np.arange(12))  # nobody has a partner
    with pytest.raises(ValueError, match="labels"):
        lb.nt_xent(z, np.r_[np.tile(np.arange(5), 2), 0.5, 0.5])  # not integers
    with pytest.raises(ValueError, match="labels"):
        lb.nt_xent(z, np.tile(np.arange(6), 2)[:-1])
    with pytest.raises(ValueError, match="embeddings"):
        lb.nt_xent(np.full((2, 3), np.nan), [0, 0])


def test_groups_of_three_follow_pml_and_optax_not_the_all_rows_denominator():
    z, _ = _rows(10, n=6)
    labels = np.array([0, 0, 0, 1, 1, 1])
    ours = lb.nt_xent(z, labels)
    for c in lb.nt_xent.counterparts:
        assert c.fn(z, labels, temperature=0.1) == pytest.approx(ours, rel=1e-12)
    # leaving the other positive in the denominator (SimCLR's "every row but itself") is larger
    s = _unit(z) @ _unit(z).T / 0.1
    np.fill_diagonal(s, -np.inf)
    pairs = [(i, p) for i in range(6) for p in range(6) if i != p and labels[i] == labels[p]]
    lse = np.log(np.exp(s - s.max(1, keepdims=True)).sum(1)) + s.max(1)
    all_rows = np.mean([lse[i] - s[i, p] for i, p in pairs])
    assert all_rows > ours


# ------------------------------------------------------------------------------------------
# supervised contrastive
# ------------------------------------------------------------------------------------------
def test_supcon_with_pairs_is_nt_xent_and_differs_with_larger_groups():
    z = np.vstack(_rows(10))
    pairs = np.tile(np.arange(6), 2)
    for tau in (0.05, 0.1, 1.0):
        assert lb.supervised_contrastive(z, pairs, temperature=tau) == pytest.approx(
            lb.nt_xent(z, pairs, temperature=tau), rel=1e-14)
        np.testing.assert_allclose(lb.supervised_contrastive.grad(z, pairs, temperature=tau),
                                   lb.nt_xent.grad(z, pairs, temperature=tau), rtol=1e-11, atol=1e-15)
    triples = np.repeat(np.arange(4), 3)  # the other positives sit in SupCon's denominator, not NT-Xent's
    assert lb.supervised_contrastive(z, triples) > lb.nt_xent(z, triples)


def test_supcon_l_out_is_at_least_l_in():
    z = np.vstack(_rows(11))
    labels = np.repeat(np.arange(3), 4)
    u = _unit(z)
    s = u @ u.T / 0.1
    np.fill_diagonal(s, -np.inf)
    log_p = s - np.log(np.exp(s - s.max(1, keepdims=True)).sum(1, keepdims=True)) - s.max(1, keepdims=True)
    pos = (labels[:, None] == labels[None]) & ~np.eye(12, dtype=bool)
    l_in = np.mean(-np.log(np.where(pos, np.exp(log_p), 0).sum(1) / pos.sum(1)))
    l_out = lb.supervised_contrastive(z, labels)
    assert l_out == pytest.approx(np.mean(-np.where(pos, log_p, 0).sum(1) / pos.sum(1)), rel=1e-13)
    assert l_out > l_in  # Jensen: the log of a mean is at least the mean of the logs


def test_supcon_one_label_and_zero_rows():
    z = np.vstack(_rows(12))
    value, g = lb.supervised_contrastive.value_and_grad(z, np.zeros(12))
    assert np.isfinite(value) and value > 0 and np.isfinite(g).all()  # everyone a positive: still a loss
    assert lb.supervised_contrastive(np.zeros((4, 3)), [0, 0, 1, 1]) == pytest.approx(np.log(3), rel=1e-15)
    with pytest.raises(ValueError, match="labels"):
        lb.supervised_contrastive(z, np.arange(12))


# ------------------------------------------------------------------------------------------
# ArcFace and CosFace
# ------------------------------------------------------------------------------------------
def _cosines(seed, n=8, c=5):
    rng = np.random.default_rng(seed)
    x = _unit(rng.normal(size=(n, 4)))
    w = _unit(rng.normal(size=(c, 4)))
    return rng.integers(0, c, size=n).astype(float), x @ w.T


def test_margin_zero_is_softmax_cross_entropy_of_scaled_cosines():
    y, cos = _cosines(0)
    for s in (1.0, 16.0, 64.0):
        ce = lb.sparse_categorical_crossentropy(y, s * cos, from_logits=True, reduction="none")
        np.testing.assert_allclose(lb.arcface(y, cos, scale=s, margin=0.0, reduction="none"), ce, rtol=1e-14)
        np.testing.assert_allclose(lb.cosface(y, cos, scale=s, margin=0.0, reduction="none"), ce, rtol=1e-14)


def test_cosface_is_cross_entropy_with_the_margin_on_the_target_logit():
    y, cos = _cosines(1)
    onehot = np.eye(cos.shape[1])[y.astype(int)]
    logits = 30.0 * (cos - 0.35 * onehot)
    ce = lb.sparse_categorical_crossentropy(y, logits, from_logits=True, reduction="none")
    np.testing.assert_allclose(lb.cosface(y, cos, scale=30.0, reduction="none"), ce, rtol=1e-14)


def test_arcface_target_logit_is_cos_of_angle_plus_margin_and_never_decreases():
    m = 0.5
    c = np.linspace(-1, 1, 2001)
    y = np.zeros(len(c))
    cos = np.column_stack([c, np.zeros(len(c))])
    loss = lb.arcface(y, cos, scale=1.0, margin=m, reduction="none")
    # the loss is log(1 + e^(0 - phi(c))): phi from the loss
    phi = -np.log(np.expm1(loss))
    inside = c >= -np.cos(m)
    np.testing.assert_allclose(phi[inside], np.cos(np.arccos(c[inside]) + m), atol=1e-12)
    np.testing.assert_allclose(phi[~inside], c[~inside] - m * np.sin(m), atol=1e-12)
    assert np.all(np.diff(phi) > 0)  # increasing in the target's cosine, through the branch switch
    # the switch is a jump up, from -cos m - m sin m just below it to -1 at it (0.117 at m = 0.5); the
    # grid's neighbours sit within a step (0.001) of it on either side
    jump = phi[inside][0] - phi[~inside][-1]
    assert abs(jump - (np.cos(m) + m * np.sin(m) - 1)) < 0.01


def test_arcface_slope_at_cosine_one_is_the_slope_just_below():
    y = np.array([0.0])
    g1 = lb.arcface.grad(y, np.array([[1.0, 0.2]]), scale=1.0)
    g_below = lb.arcface.grad(y, np.array([[np.nextafter(1.0, 0.0), 0.2]]), scale=1.0)
    assert np.isfinite(g1).all() and abs(g1[0, 0]) > 1e6  # sin(m) / 1.49e-8 times the softmax error
    # the same slope; the softmax moves by 1e-9 between the two points (phi does, by slope x 1.1e-16)
    np.testing.assert_allclose(g1, g_below, rtol=1e-8)


def test_arcface_and_cosface_bad_input():
    y, cos = _cosines(2)
    bad = cos.copy()
    bad[0, 0] = 1.0 + 1e-9
    with pytest.raises(ValueError, match="y_pred must be cosines in"):
        lb.arcface(y, bad)
    y_bad = y.copy()
    y_bad[0] = cos.shape[1]
    with pytest.raises(ValueError, match="y_true"):
        lb.cosface(y_bad, cos)
    with pytest.raises(ValueError, match="margin"):
        lb.arcface(y, cos, margin=-0.1)


# ------------------------------------------------------------------------------------------
# batch-hard triplet
# ------------------------------------------------------------------------------------------
def test_batch_hard_is_the_triplet_loss_on_the_hardest_pairs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    z = rng.normal(size=(12, 3))
    labels = np.repeat(np.arange(4), 3)
    pos, neg = lb.embedding.mine_triplets(torch.tensor(z), labels, "hard")
    hp, hn = lb.embedding.hardest_pairs(z, labels)
    assert np.array_equal(pos.numpy(), hp) and np.array_equal(neg.numpy(), hn)
    for m in (0.0, 0.5, 2.0):
        mined = lb.triplet(z, z[pos.numpy()], z[neg.numpy()], margin=m, eps=0.0)
        assert lb.batch_hard_triplet(z, labels, margin=m) == pytest.approx(mined, rel=1e-14)
    d = np.linalg.norm(z[:, None] - z[None], axis=2)
    same = labels[:, None] == labels[None]
    pre = np.where(same & ~np.eye(12, dtype=bool), d, -np.inf).max(1) - np.where(same, np.inf, d).min(1)
    assert lb.batch_hard_triplet(z, labels, margin=0.0, soft=True) == pytest.approx(
        np.mean(np.log1p(np.exp(pre))), rel=1e-14)


def test_batch_hard_invariances_and_no_negatives():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(8, 3))
    labels = np.repeat(np.arange(4), 2)
    v, g = lb.batch_hard_triplet.value_and_grad(z, labels)
    vt, gt = lb.batch_hard_triplet.value_and_grad(z + 100.0, labels)  # distances do not see a shift
    assert vt == pytest.approx(v, rel=1e-12)
    np.testing.assert_allclose(gt, g, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g.sum(0), 0.0, atol=1e-15)  # every pull has its equal push
    value, g = lb.batch_hard_triplet.value_and_grad(z, np.zeros(8))
    assert value == 0.0 and not g.any()
