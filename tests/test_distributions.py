"""Gaussian NLL (torch's conventions, beta-NLL) and the VAE's Gaussian KL: the identities the
registry-driven battery does not see (beta > 0 is not in the loss's configs, because its gradient
is by design not the derivative of its value)."""
import numpy as np
import pytest

import lossbook as lb

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)
Y, MEAN = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
VAR = RNG.gamma(2.0, size=(5, 3))


def _torch_beta_nll(y, mean, var, beta, eps=1e-6):
    """Seitzer et al.'s beta-NLL as their code writes it: the NLL times var.detach() ** beta."""
    m = torch.tensor(mean, requires_grad=True)
    v = torch.tensor(var, requires_grad=True)
    nll = torch.nn.GaussianNLLLoss(eps=eps, reduction="none")(m, torch.tensor(y), v)
    loss = (nll * v.detach().clamp(min=eps) ** beta).mean()
    loss.backward()
    return loss.item(), m.grad.numpy(), v.grad.numpy()


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_beta_nll_matches_the_detached_weight_recipe(beta):
    value, g_mean, g_var = _torch_beta_nll(Y, MEAN, VAR, beta)
    ours, (ours_mean, ours_var) = lb.gaussian_nll.value_and_grad(Y, MEAN, VAR, beta=beta)
    assert ours == pytest.approx(value, rel=1e-13)
    np.testing.assert_allclose(ours_mean, g_mean, rtol=1e-12)
    np.testing.assert_allclose(ours_var, g_var, rtol=1e-12)


def test_beta_one_gives_the_mean_half_the_squared_errors_gradient():
    _, (g_mean, _) = lb.gaussian_nll.value_and_grad(Y, MEAN, VAR, beta=1.0, reduction="sum")
    half_mse = lb.mean_squared_error.grad(Y, MEAN, reduction="sum") / 2
    np.testing.assert_allclose(g_mean, half_mse, rtol=1e-13)


def test_beta_gradient_is_not_the_derivative_of_the_value():
    """What the docstring warns about: with beta > 0 the variance's update leaves out d(v^beta)/dv."""
    y, m, v = np.array([0.0]), np.array([1.0]), np.array([0.5])
    g_var = lb.gaussian_nll.grad(y, m, v, beta=0.5)[1][0]
    h = 1e-6
    numeric = (lb.gaussian_nll(y, m, v + h, beta=0.5) - lb.gaussian_nll(y, m, v - h, beta=0.5)) / (2 * h)
    assert abs(g_var - numeric) > 0.1


def test_the_clamp_passes_the_gradient_through_as_torchs_does():
    y, m, v = np.array([0.0, 0.0]), np.array([1e-4, 0.0]), np.array([1e-9, 0.0])
    tm, tv = torch.tensor(m, requires_grad=True), torch.tensor(v, requires_grad=True)
    torch.nn.GaussianNLLLoss(eps=1e-6)(tm, torch.tensor(y), tv).backward()
    g_mean, g_var = lb.gaussian_nll.grad(y, m, v)
    np.testing.assert_allclose(g_var, tv.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(g_mean, tm.grad.numpy(), rtol=1e-13)
    assert np.all(g_var != 0)  # the derivative of the clamped function would be 0 here


def test_the_variance_is_optimal_at_the_squared_error():
    y, m = np.zeros(4), np.array([0.5, -2.0, 3.0, 0.1])
    best = m ** 2
    assert np.all(np.abs(lb.gaussian_nll.grad(y, m, best)[1]) < 1e-9 / best)
    for factor in (0.5, 2.0):
        assert np.all(lb.gaussian_nll(y, m, best * factor, reduction="none") > lb.gaussian_nll(y, m, best, reduction="none"))


def test_full_adds_half_log_two_pi_and_equals_the_normal_density():
    plain, full = lb.gaussian_nll(Y, MEAN, VAR), lb.gaussian_nll(Y, MEAN, VAR, full=True)
    assert full - plain == pytest.approx(0.5 * np.log(2 * np.pi), rel=1e-14)
    dist = torch.distributions.Normal(torch.tensor(MEAN), torch.tensor(VAR).sqrt())
    assert full == pytest.approx(-dist.log_prob(torch.tensor(Y)).mean().item(), rel=1e-14)


def test_var_must_be_a_variance_and_has_the_shape_of_mean():
    with pytest.raises(ValueError, match="var"):
        lb.gaussian_nll(Y, MEAN, -VAR)
    with pytest.raises(ValueError, match="shape"):
        lb.gaussian_nll(Y, MEAN, VAR[:, :1])  # torch would broadcast one variance per sample


def test_gaussian_kl_sums_over_the_latent_dimensions_and_is_zero_only_at_the_prior():
    mu, s = RNG.normal(size=(6, 4)), RNG.normal(size=(6, 4))
    per_sample = lb.gaussian_kl(mu, s, reduction="none")
    columns = sum(lb.gaussian_kl(mu[:, d], s[:, d], reduction="none") for d in range(4))
    np.testing.assert_allclose(per_sample, columns, rtol=1e-13)
    assert np.all(per_sample > 0)
    assert lb.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3))) == 0.0


def test_gaussian_kl_is_the_kl_of_two_gaussians():
    """Against the KL of N(mu, sigma^2) from N(0, 1) by numerical integration of q log(q / p)."""
    mu, s = 0.7, np.log(0.3)
    sd = np.exp(s / 2)
    x = np.linspace(mu - 12 * sd, mu + 12 * sd, 200001)
    log_q = -0.5 * ((x - mu) / sd) ** 2 - np.log(sd * np.sqrt(2 * np.pi))
    log_p = -0.5 * x ** 2 - 0.5 * np.log(2 * np.pi)
    integral = np.trapezoid(np.exp(log_q) * (log_q - log_p), x)
    assert lb.gaussian_kl(np.array([mu]), np.array([s])) == pytest.approx(integral, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# GAN losses
# ---------------------------------------------------------------------------------------------
D_REAL, D_FAKE = RNG.normal(size=7) * 3, RNG.normal(size=7) * 3


def test_the_discriminator_is_binary_cross_entropy_with_real_labelled_one():
    for form in ("minimax", "non_saturating"):
        ours = lb.gan_discriminator(D_REAL, D_FAKE, form=form, reduction="none")
        bce = (lb.binary_crossentropy(np.ones((7, 1)), D_REAL[:, None], from_logits=True, reduction="none")
               + lb.binary_crossentropy(np.zeros((7, 1)), D_FAKE[:, None], from_logits=True, reduction="none"))
        np.testing.assert_allclose(ours, bce, rtol=1e-14)


def test_minimax_saturates_where_non_saturating_does_not():
    """A confidently rejected fake (d = -10): minimax's gradient ~ -sigma(-10), non-saturating's ~ -1."""
    d = np.array([-10.0])
    g_mm = lb.gan_generator.grad(d, form="minimax")[0]
    g_ns = lb.gan_generator.grad(d, form="non_saturating")[0]
    assert abs(g_mm) < 1e-4 and g_ns < -0.9999
    # both push the logit the same way, and agree where D is undecided
    assert lb.gan_generator.grad(np.zeros(1), form="minimax")[0] == lb.gan_generator.grad(np.zeros(1))[0] == -0.5


def test_hinge_and_wasserstein_forms():
    hinge = lb.gan_discriminator(D_REAL, D_FAKE, form="hinge", reduction="none")
    np.testing.assert_allclose(hinge, np.maximum(0, 1 - D_REAL) + np.maximum(0, 1 + D_FAKE), rtol=1e-15)
    w = lb.gan_discriminator(D_REAL, D_FAKE, form="wasserstein")
    assert w == pytest.approx(np.mean(D_FAKE - D_REAL), rel=1e-14)
    for form in ("hinge", "wasserstein"):
        assert lb.gan_generator(D_FAKE, form=form) == pytest.approx(-np.mean(D_FAKE), rel=1e-14)


def test_the_optimal_discriminator_minimises_its_loss_at_the_density_ratio():
    """Goodfellow et al.'s D* = p_data / (p_data + p_g): at a point where the two densities are a and b,
    the expected loss a softplus(-d) + b softplus(d) is smallest at d = log(a / b)."""
    a, b = 0.3, 0.1
    d = np.linspace(-5, 5, 100001)
    risk = a * np.logaddexp(0, -d) + b * np.logaddexp(0, d)
    ours = (a * lb.gan_discriminator(d, np.full_like(d, -1e4), reduction="none")
            + b * lb.gan_discriminator(np.full_like(d, 1e4), d, reduction="none"))
    np.testing.assert_allclose(ours, risk, rtol=1e-12, atol=1e-300)
    assert d[np.argmin(ours)] == pytest.approx(np.log(a / b), abs=1e-4)
