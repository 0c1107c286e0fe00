"""optax, the third framework: every loss optax has agrees with lossbook in float64.

The registry-driven contract test already compares every counterpart on every configuration;
these tests make sure optax was really evaluated (a NotImplementedError everywhere would pass
there silently), that JAX runs in float64, and pin the conventions the book reports.
"""
import numpy as np
import pytest

import lossbook as lb
from lossbook.counterparts import OPTAX
from lossbook.frameworks import import_jax
from lossbook.testing import sample_inputs


def test_jax_runs_in_float64():
    jax, jnp, optax = import_jax()
    assert jnp.asarray(1.0).dtype == jnp.float64


@pytest.mark.parametrize("name", list(OPTAX))
def test_optax_agrees_to_float64_precision_on_some_configuration(name):
    loss = lb.LOSSES[name]
    (optax_c,) = [c for c in loss.counterparts if c.framework == "optax"]
    agreed = []
    for hyper in loss.configs:
        for ndim in loss.ndims:
            inputs = sample_inputs(loss, hyper, ndim, seed=3)
            try:
                theirs = optax_c.fn(*inputs, **loss.resolve(hyper))
            except NotImplementedError:
                continue
            ours = loss(*inputs, reduction="none", **hyper)
            np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=1e-12)
            agreed.append(hyper)
    assert agreed, f"optax never evaluated {name}"


def test_optax_triplet_with_norm_degree_1_is_not_the_l1_distance():
    """optax computes power(power(d, p).sum() + eps, 1/p): for p = 1 the signed differences cancel."""
    _, jnp, optax = import_jax()
    a, p, n = np.zeros((1, 2)), np.array([[1.0, -1.0]]), np.array([[3.0, 0.0]])
    got = float(optax.losses.triplet_margin_loss(a, p, n, margin=1.0, norm_degree=1, eps=0.0)[0])
    signed = max((-1.0 + 1.0) - (-3.0) + 1.0, 0.0)  # sum(a - p) = 0, sum(a - n) = -3
    l1 = lb.triplet(a, p, n, p=1.0, eps=0.0, margin=1.0)  # |a - p|_1 = 2, |a - n|_1 = 3
    assert got == signed == 4.0 and l1 == 0.0
    with pytest.raises(NotImplementedError, match="not the L1 distance"):
        OPTAX["triplet"][2](a, p, n, margin=1.0, p=1.0, swap=False, squared=False, eps=0.0)


def test_optax_puts_the_triplet_eps_inside_the_root():
    _, jnp, optax = import_jax()
    a, p, n = sample_inputs(lb.triplet, {}, 2, seed=5)
    ours = lb.triplet(a, p, n, reduction="none")  # torch's eps = 1e-6 added to the difference
    inside = np.asarray(optax.losses.triplet_margin_loss(a, p, n, eps=1e-6))
    gap = np.max(np.abs(inside - ours))
    assert 1e-9 < gap < 1e-4  # small but far above float64 rounding: a different formula
    np.testing.assert_allclose(np.asarray(optax.losses.triplet_margin_loss(a, p, n, eps=0.0)),
                               lb.triplet(a, p, n, reduction="none", eps=0.0), rtol=1e-12)


def test_compare_has_an_optax_row():
    y, x = sample_inputs(lb.binary_crossentropy, {"from_logits": True}, 2)
    table = lb.compare("binary_crossentropy", y, x, from_logits=True)
    assert bool(table.loc["optax.losses.sigmoid_binary_cross_entropy", "agrees"])
    table = lb.compare("binary_crossentropy", *sample_inputs(lb.binary_crossentropy, {}, 2))
    assert table.loc["optax.losses.sigmoid_binary_cross_entropy", "recipe"].startswith("not expressible")
