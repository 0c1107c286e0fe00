"""Losses that model a distribution rather than a point: the Gaussian negative log-likelihood with
a learned variance, and the Gaussian KL divergence that regularises a VAE.

* ``gaussian_nll`` (torch's ``GaussianNLLLoss``): the model predicts a mean and a variance per
  output; ``beta=`` gives the beta-NLL of Seitzer et al. (2022);
* ``gaussian_kl``: KL(N(mu, diag(exp(log_var))) || N(0, I)) on a VAE encoder's ``(mu, log_var)``;
* ``gan_discriminator`` / ``gan_generator``: the two players' losses of a GAN, on the
  discriminator's logits, in the minimax, non-saturating, hinge and Wasserstein forms.

Both take inputs of their own (``args``), not ``(y_true, y_pred)``.  Their framework counterparts
are in ``lossbook/counterparts.py``.
Chapters: ``book/distributions/`` (gaussian-nll, vae, gan).
"""
from __future__ import annotations

import math

import numpy as np

from .core import Arg, Hyper, Loss, mean_last, width
from .probabilistic import _logistic

__all__ = ["gaussian_nll", "gaussian_kl", "gan_discriminator", "gan_generator"]

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# ============================================================================================
# Gaussian negative log-likelihood with a learned variance (torch's GaussianNLLLoss)
# ============================================================================================
def _gaussian_nll(y_true, mean, var, *, with_grad, full, eps, beta):
    r"""Negative log-likelihood of ``y_true`` under N(mean, var), with the variance predicted too.

    .. math::  \ell_i = \frac{1}{D}\sum_d w_{id}\Big[\tfrac12\log v_{id} + \frac{(\mu_{id} - y_{id})^2}{2 v_{id}}
               \;\big(+ \tfrac12\log 2\pi\big)\Big],\qquad v = \max(\sigma^2, \varepsilon),

    .. math::  \frac{\partial \ell_i}{\partial \mu_{id}} = \frac{w_{id}}{D}\,\frac{\mu_{id} - y_{id}}{v_{id}},
               \qquad \frac{\partial \ell_i}{\partial \sigma^2_{id}} = \frac{w_{id}}{D}\,
               \frac12\Big(\frac{1}{v_{id}} - \frac{(\mu_{id} - y_{id})^2}{v_{id}^2}\Big),
               \qquad w = v^{\beta}\ \text{(held constant)}

    The Gaussian likelihood with sigma^2 learned per output (heteroscedastic regression): the
    variance term pays log v for claiming a wide distribution, the squared error is discounted by
    1/v.  At fixed error e the loss is smallest at v = e^2, where the variance's gradient is 0.
    ``full=True`` adds the constant (1/2) log 2 pi that makes it the exact negative log-density.

    Conventions, all torch's: ``var`` is a variance (not a standard deviation, not a log-variance);
    it is clamped at ``eps`` (default 1e-6) before use, and the clamp passes the gradient through
    unchanged (torch clamps a copy in place under ``no_grad``), so below ``eps`` the variance's
    gradient is that of v = eps, not 0; the per-sample loss is the mean over the D outputs, so
    ``reduction="mean"`` equals torch's mean over every element.  lossbook never broadcasts: ``var``
    has the shape of ``mean`` (torch also accepts one variance per sample and broadcasts it).

    ``beta`` > 0 is beta-NLL (Seitzer et al. 2022): each term is weighted by v^beta with the weight
    treated as a constant (``var.detach() ** beta`` in torch), so the gradients are v^beta times the
    ones above.  With beta > 0 ``.grad`` returns that update direction, which is not the derivative
    of the value (the weight's own derivative is left out, as the method prescribes).  beta = 1
    gives the mean the gradient of half the squared error, e / D, whatever the variance; beta = 1/2,
    the value Seitzer et al. recommend, sits between that and plain NLL's e / (D v).

    Stability: e^2 / v is formed as e * (e / v), the quotient the gradient needs anyway.
    Chapter: ``book/distributions/gaussian-nll``.
    """
    v = np.maximum(var, eps)
    e = mean - y_true
    q = e / v  # the mean's gradient before the weights
    elementwise = 0.5 * (np.log(v) + e * q)
    if full:
        elementwise += HALF_LOG_2PI
    w = v ** beta if beta else None
    if w is not None:
        elementwise *= w
    loss = mean_last(elementwise)
    if not with_grad:
        return loss
    g_var = 0.5 * (1.0 / v - q * q)
    if w is not None:
        q *= w
        g_var *= w
    if width(mean) > 1:
        q /= width(mean)
        g_var /= width(mean)
    return loss, (q, g_var)


def _gaussian_nll_kinks(y_true, mean, var, *, full, eps, beta):
    """The clamp: at var = eps the loss has a kink (flat in var below it)."""
    return np.asarray(var, float) <= eps * (1 + 1e-6)


def _gaussian_nll_extremes():
    y = np.array([0.0, 1.0, -1e4, 1e4, 3.0, 0.0])
    mean = np.array([0.0, 1.0 + 1e-12, 1e4, -1e4, 3.0, 1e-8])
    var = np.array([1.0, 1e-300, 1e4, 1e-6, 0.0, 1e4])
    out = []
    for cfg in ({}, {"full": True}, {"eps": 1e-12}, {"beta": 0.5}):
        out.append((y, mean, var, cfg))
        out.append((y[:, None] * [1.0, -1.0], mean[:, None] * [1.0, 0.5], var[:, None] * [1.0, 2.0], cfg))
    return out


gaussian_nll = Loss(
    "gaussian_nll",
    _gaussian_nll,
    family="probabilistic",
    chapter="distributions/gaussian-nll",
    references=("nix1994estimating", "seitzer2022pitfalls"),
    summary="the Gaussian negative log-likelihood with a predicted variance (torch's GaussianNLLLoss)",
    args=(Arg("y_true", diff=False), Arg("mean"), Arg("var", domain="nonneg")),
    hyper={"full": Hyper(False, "bool", "add the constant (1/2) log 2 pi (the exact negative log-density)"),
           "eps": Hyper(1e-6, ">0", "the variance is clamped at eps from below (torch's default 1e-6)"),
           "beta": Hyper(0.0, "[0,1]", "beta-NLL: weight each term by var^beta, held constant (0: plain NLL)")},
    configs=({}, {"full": True}, {"eps": 1e-3}),
    kinks=_gaussian_nll_kinks,
    extremes=_gaussian_nll_extremes,
)


# ============================================================================================
# KL divergence of a diagonal Gaussian from the standard normal (the VAE's regulariser)
# ============================================================================================
#: 1/k! for k = 16, 15, ..., 2 (``np.polyval`` takes the highest power first)
_EXP_SERIES = np.array([1.0 / math.factorial(k) for k in range(16, 1, -1)])


def _expm1_minus_identity(s, expm1_s):
    """e^s - 1 - s to a few ulp of itself.

    ``expm1(s) - s`` cancels: its relative error grows like 1e-16 / |s| (2e-10 at s = 1e-6).
    Below |s| = 1/2 the Taylor series s^2 (1/2! + s/3! + ... + s^14/16!) is used instead (the
    first term left out, s^15/17!, is under 1e-16 of the sum there); above it the subtraction
    loses at most a few ulp.
    """
    out = expm1_s - s
    small = np.abs(s) < 0.5
    if small.any():
        t = s[small]
        out[small] = t * t * np.polyval(_EXP_SERIES, t)
    return out


def _gaussian_kl(mu, log_var, *, with_grad):
    r"""KL(N(mu, diag(exp(log_var))) || N(0, I)), summed over the latent dimensions.

    .. math::  \ell_i = \frac12\sum_d \big(\mu_{id}^2 + e^{s_{id}} - 1 - s_{id}\big),\qquad
               \frac{\partial \ell_i}{\partial \mu_{id}} = \mu_{id},\qquad
               \frac{\partial \ell_i}{\partial s_{id}} = \tfrac12\big(e^{s_{id}} - 1\big),
               \qquad s = \log\sigma^2

    The regulariser of a VAE's evidence lower bound: the encoder outputs, for each sample, the mean
    and the log-variance of a diagonal Gaussian over the latent code, and this is its divergence
    from the prior N(0, I) in closed form.  Each term is >= 0 and is 0 only at mu = 0, s = 0.

    The per-sample loss is the **sum** over the D latent dimensions (the KL of the whole code, as
    in Kingma and Welling's ELBO and the torch and Keras VAE examples), not a mean: averaging it
    over D (or averaging the reconstruction term over pixels while summing this one) changes the
    trade-off the ELBO makes.  ``reduction="mean"`` averages over the N samples.

    Stability: e^s - 1 - s is of order s^2 near the prior, where any form that subtracts s
    (``exp(s) - 1 - s``, even ``expm1(s) - s``) loses the digits that matter; see
    ``_expm1_minus_identity``.
    Chapter: ``book/distributions/vae``.
    """
    em1 = np.expm1(log_var)
    elementwise = 0.5 * (mu * mu + _expm1_minus_identity(log_var, em1))
    loss = elementwise.sum(axis=-1) if elementwise.ndim == 2 else elementwise
    if not with_grad:
        return loss
    return loss, (mu.copy(), 0.5 * em1)


def _gaussian_kl_extremes():
    mu = np.array([0.0, 1e-8, -1e-8, 1e4, -1e4, 1e-300, 3.0])
    s = np.array([0.0, 1e-8, -1e-8, 50.0, -700.0, 1e-300, -3.0])
    return [(mu, s, {}), (mu[:, None] * [1.0, -1.0], s[:, None] * [1.0, 0.5], {})]


gaussian_kl = Loss(
    "gaussian_kl",
    _gaussian_kl,
    family="probabilistic",
    chapter="distributions/vae",
    references=("kingma2014auto",),
    summary="KL of a diagonal Gaussian (mu, log-variance) from N(0, I): the VAE's regulariser",
    args=(Arg("mu"), Arg("log_var")),
    extremes=_gaussian_kl_extremes,
)


# ============================================================================================
# GAN losses: the discriminator's and the generator's, in four forms
# ============================================================================================
GAN_FORMS = ("non_saturating", "minimax", "hinge", "wasserstein")
_GAN_FORM = Hyper("non_saturating", GAN_FORMS,
                  "which GAN objective: Goodfellow et al.'s minimax game or its non-saturating generator loss "
                  "(the same discriminator loss), the hinge loss, or the Wasserstein critic's")


def _gan_discriminator(real_logits, fake_logits, *, with_grad, form):
    r"""The discriminator's (critic's) loss on its logits for real and generated samples.

    With d = the discriminator's logit (D = sigmoid(d) the probability that a sample is real):

    .. math::  \text{minimax, non-saturating:}\ \ \ell_i = \mathrm{softplus}(-d^{\,r}_i) + \mathrm{softplus}(d^{\,f}_i)
               = -\log D(x_i) - \log\big(1 - D(G(z_i))\big)

    .. math::  \text{hinge:}\ \ \ell_i = \max(0, 1 - d^{\,r}_i) + \max(0, 1 + d^{\,f}_i), \qquad
               \text{Wasserstein:}\ \ \ell_i = d^{\,f}_i - d^{\,r}_i

    The gradients are :math:`-\sigma(-d^r)` and :math:`\sigma(d^f)` (the first two forms),
    :math:`-[d^r < 1]` and :math:`[d^f > -1]` (hinge; subgradient 0 at the kinks), -1 and 1
    (Wasserstein).  The first two forms differ only in the generator's loss
    (:data:`gan_generator`): the discriminator's is binary cross-entropy with real samples labelled
    1 and generated ones 0 (Goodfellow et al. 2014).  The hinge form is the one of Miyato et al.'s
    spectrally normalised GANs; the Wasserstein critic's (Arjovsky et al. 2017) needs a Lipschitz
    constraint, such as Gulrajani et al.'s gradient penalty, which is a term on the critic's
    gradient with respect to its input and so belongs to the training code (a double backward in
    torch), not to this loss.

    Sample i pairs the i-th real logit with the i-th generated one (equal batches, as GAN training
    uses them), so the mean over N is the sum of the two expectations.  ``(N, D)`` logits (a patch
    discriminator's map) are averaged over D.  Stability: softplus from one :math:`e^{-|d|}` (see
    ``probabilistic._logistic``); logits of +-1e4 are fine.
    Chapter: ``book/distributions/gan``.
    """
    if form in ("minimax", "non_saturating"):
        _, loss_r, _, sig_neg_r = _logistic(real_logits)
        loss_f, _, sig_f, _ = _logistic(fake_logits)
        grad_r, grad_f = -sig_neg_r, sig_f
    elif form == "hinge":
        loss_r, loss_f = np.maximum(1.0 - real_logits, 0.0), np.maximum(1.0 + fake_logits, 0.0)
        grad_r, grad_f = -(real_logits < 1.0).astype(float), (fake_logits > -1.0).astype(float)
    else:  # wasserstein
        loss_r, loss_f = -real_logits, fake_logits.copy()
        grad_r, grad_f = np.full(real_logits.shape, -1.0), np.ones(fake_logits.shape)
    loss = mean_last(loss_r + loss_f)
    if not with_grad:
        return loss
    if width(real_logits) > 1:
        grad_r /= width(real_logits)
        grad_f /= width(fake_logits)
    return loss, (grad_r, grad_f)


def _gan_generator(fake_logits, *, with_grad, form):
    r"""The generator's loss on the discriminator's logits for generated samples.

    .. math::  \text{minimax:}\ \ \ell_i = \log\big(1 - D(G(z_i))\big) = -\mathrm{softplus}(d_i), \qquad
               \frac{\partial\ell_i}{\partial d_i} = -\sigma(d_i)

    .. math::  \text{non-saturating:}\ \ \ell_i = -\log D(G(z_i)) = \mathrm{softplus}(-d_i), \qquad
               \frac{\partial\ell_i}{\partial d_i} = -\sigma(-d_i)

    .. math::  \text{hinge, Wasserstein:}\ \ \ell_i = -d_i, \qquad \frac{\partial\ell_i}{\partial d_i} = -1

    The minimax generator minimises the discriminator's own objective with the sign flipped
    (Goodfellow et al. 2014).  Early in training the discriminator rejects generated samples
    confidently (d very negative), where the minimax gradient -sigma(d) vanishes: the generator
    learns nothing exactly when it is worst.  The non-saturating loss has the same fixed points and
    a gradient near -1 there; it is what GAN code uses.  The minimax loss is <= 0 (a log of a
    probability); lossbook keeps its sign.  ``(N, D)`` logits are averaged over D.
    Chapter: ``book/distributions/gan``.
    """
    if form == "minimax":
        softplus_d, _, sig_d, _ = _logistic(fake_logits)
        loss, grad = -softplus_d, -sig_d
    elif form == "non_saturating":
        _, loss, _, sig_neg_d = _logistic(fake_logits)
        grad = -sig_neg_d
    else:  # hinge and Wasserstein: the critic's score, raised
        loss, grad = -fake_logits, np.full(fake_logits.shape, -1.0)
    loss = mean_last(loss)
    if not with_grad:
        return loss
    if width(fake_logits) > 1:
        grad /= width(fake_logits)
    return loss, grad


def _gan_discriminator_kinks(real_logits, fake_logits, *, form):
    if form != "hinge":
        return np.zeros(np.shape(real_logits), bool)
    r, f = np.asarray(real_logits, float), np.asarray(fake_logits, float)
    return (np.abs(r - 1.0) < 1e-6) | (np.abs(f + 1.0) < 1e-6)


def _gan_extremes(two):
    logits = np.array([0.0, 1.0, -1.0, 1e-8, 30.0, -30.0, 700.0, -700.0, 1e4, -1e4])
    out = []
    for form in GAN_FORMS:
        cfg = {"form": form}
        if two:
            out += [(logits, logits[::-1].copy(), cfg), (logits[:, None] * [1.0, -1.0], logits[:, None] * [0.5, 2.0], cfg)]
        else:
            out += [(logits, cfg), (logits[:, None] * [1.0, -1.0], cfg)]
    return out


_GAN_CONFIGS = ({}, {"form": "minimax"}, {"form": "hinge"}, {"form": "wasserstein"})

gan_discriminator = Loss(
    "gan_discriminator",
    _gan_discriminator,
    family="probabilistic",
    chapter="distributions/gan",
    references=("goodfellow2014gan", "miyato2018spectral", "arjovsky2017wasserstein"),
    summary="the GAN discriminator's (critic's) loss on its logits for real and generated samples",
    args=(Arg("real_logits"), Arg("fake_logits")),
    hyper={"form": _GAN_FORM},
    configs=_GAN_CONFIGS,
    kinks=_gan_discriminator_kinks,
    extremes=lambda: _gan_extremes(True),
)

gan_generator = Loss(
    "gan_generator",
    _gan_generator,
    family="probabilistic",
    chapter="distributions/gan",
    references=("goodfellow2014gan", "miyato2018spectral", "arjovsky2017wasserstein"),
    summary="the GAN generator's loss on the discriminator's logits for generated samples",
    args=(Arg("fake_logits"),),
    hyper={"form": _GAN_FORM},
    configs=_GAN_CONFIGS,
    extremes=lambda: _gan_extremes(False),
)
