"""Framework-native versions of lossbook's losses, for timing value + gradient.

The ``Counterpart.fn`` functions in the registry take NumPy and return NumPy per-sample values
(no autograd), which is right for checking values and wrong for timing.  Here each entry is a
factory ``factory(hyper) -> fn(y_true, y_pred) -> scalar tensor`` (or ``fn(*inputs)`` in the order of
the loss's ``arg_names``, for losses with their own inputs) that stays inside the
framework, so ``fn(...).backward()`` is exactly what a torch or Keras user pays per step.
``hyper`` is the loss's resolved hyperparameter dict (defaults filled in); a factory raises
``NotImplementedError`` for settings it does not express.

Conventions follow lossbook's ``reduction="mean"``: mean over samples of the per-sample loss,
where a sample's loss is the mean over its last axis for pointwise losses and the sum over
classes for cross-entropies.  ``bench_losses.py`` checks each value against lossbook before
timing it, so a wrong entry shows up as a mismatch, not as a fast number.

Losses whose framework has no loss of that name are *composed* from a few tensor ops the way a
torch user would write them (marked ``composed``); those without any entry are skipped and
listed as such in the benchmark output.
"""
from __future__ import annotations

import math


def _only(hyper, **allowed):
    """Raise NotImplementedError for any hyperparameter whose value is not in ``allowed[name]``."""
    for k, v in hyper.items():
        if v not in allowed.get(k, ()):
            raise NotImplementedError(f"{k}={v!r}")


def torch_table(torch):
    """name -> (kind, factory); kind is 'native' (a torch loss) or 'composed' (a few tensor ops)."""
    F = torch.nn.functional

    def mse(h):
        return lambda yt, yp: F.mse_loss(yp, yt)

    def mae(h):
        return lambda yt, yp: F.l1_loss(yp, yt)

    def msle(h):
        _only(h, clip=(False,))
        return lambda yt, yp: (torch.log1p(yp) - torch.log1p(yt)).square().mean()

    def huber(h):
        return lambda yt, yp: F.huber_loss(yp, yt, delta=h["delta"])

    def smooth_l1(h):
        return lambda yt, yp: F.smooth_l1_loss(yp, yt, beta=h["beta"])

    def log_cosh(h):
        log2 = math.log(2.0)

        def fn(yt, yp):  # log cosh e = |e| + softplus(-2|e|) - log 2, stable at any error
            a = (yp - yt).abs()
            return (a + F.softplus(-2.0 * a) - log2).mean()
        return fn

    def mape(h):
        eps = h["epsilon"]
        return lambda yt, yp: 100.0 * ((yp - yt).abs() / yt.abs().clamp_min(eps)).mean()

    def quantile(h):
        q = h["q"]

        def fn(yt, yp):
            e = yt - yp
            return torch.maximum(q * e, (q - 1.0) * e).mean()
        return fn

    def bce(h):
        _only(h, from_logits=(False, True), label_smoothing=(0.0,), epsilon=(0.0,), pos_weight=(None,))
        if h["from_logits"]:
            return lambda yt, yp: F.binary_cross_entropy_with_logits(yp, yt)
        return lambda yt, yp: F.binary_cross_entropy(yp, yt)

    def focal(h):
        _only(h, from_logits=(False, True), label_smoothing=(0.0,), gamma=(h["gamma"],), alpha=(h["alpha"],),
              apply_class_balancing=(False, True))
        g, a, bal, logits = h["gamma"], h["alpha"], h["apply_class_balancing"], h["from_logits"]

        def fn(yt, yp):
            if logits:
                bce_ = F.binary_cross_entropy_with_logits(yp, yt, reduction="none")
                p = torch.sigmoid(yp)
            else:
                bce_ = F.binary_cross_entropy(yp, yt, reduction="none")
                p = yp
            p_t = yt * p + (1 - yt) * (1 - p)
            w = (1 - p_t) ** g
            if bal:
                w = w * (yt * a + (1 - yt) * (1 - a))
            return (w * bce_).mean()
        return fn

    def cce(h):
        _only(h, from_logits=(False, True), label_smoothing=(0.0,), epsilon=(0.0,), class_weight=(None,))
        if h["from_logits"]:
            return lambda yt, yp: F.cross_entropy(yp, yt)  # probability targets
        return lambda yt, yp: -torch.special.xlogy(yt, yp).sum(-1).mean()

    def scce(h):
        _only(h, from_logits=(False, True), epsilon=(0.0,), ignore_index=(None,), label_smoothing=(0.0,),
              class_weight=(None,))
        if h["from_logits"]:
            return lambda yt, yp: F.cross_entropy(yp, yt)
        return lambda yt, yp: F.nll_loss(torch.log(yp), yt)

    def nll(h):
        return lambda yt, yp: F.nll_loss(yp, yt)

    def kl(h):
        _only(h, epsilon=(0.0,))
        return lambda yt, yp: F.kl_div(torch.log(yp), yt, reduction="batchmean")

    def poisson(h):
        if h["log_input"] and h["epsilon"]:
            raise NotImplementedError("torch adds eps only to a rate (log_input=False)")
        eps = h["epsilon"] if not h["log_input"] else 1e-8  # torch's log(rate + eps); lossbook's default is 0
        return lambda yt, yp: F.poisson_nll_loss(yp, yt, log_input=h["log_input"], full=False, eps=eps)

    def hinge(h):
        _only(h, labels=("pm1",))
        return lambda yt, yp: (1.0 - yt * yp).clamp_min(0.0).mean()

    def squared_hinge(h):
        _only(h, labels=("pm1",))
        return lambda yt, yp: (1.0 - yt * yp).clamp_min(0.0).square().mean()

    def categorical_hinge(h):
        def fn(yt, yp):
            pos = (yt * yp).sum(-1)
            neg = ((1.0 - yt) * yp).amax(-1)
            return (1.0 + neg - pos).clamp_min(0.0).mean()
        return fn

    def multiclass_hinge(h):
        q = 2 if h["squared"] else 1

        def fn(yt, yp):
            if h["mode"] == "one_vs_all":
                t = 2.0 * F.one_hot(yt, yp.shape[-1]).to(yp.dtype) - 1.0
                return ((1.0 - t * yp).clamp_min(0.0) ** q).sum(-1).mean()
            s_y = yp.gather(1, yt[:, None])[:, 0]
            other = yp.masked_fill(F.one_hot(yt, yp.shape[-1]).bool(), -math.inf).amax(-1)
            return ((1.0 - s_y + other).clamp_min(0.0) ** q).mean()
        return fn

    def arcface(h):
        s, m = h["scale"], h["margin"]

        def fn(yt, yp):
            c = yp.gather(1, yt[:, None])
            theta = torch.acos(c.clamp(-1.0, 1.0))
            phi = torch.where(theta <= math.pi - m, torch.cos(theta + m), c - m * math.sin(m))
            return F.cross_entropy(yp.scatter(1, yt[:, None], phi) * s, yt)
        return fn

    def cosface(h):
        s, m = h["scale"], h["margin"]
        return lambda yt, yp: F.cross_entropy(yp.scatter(1, yt[:, None], yp.gather(1, yt[:, None]) - m) * s, yt)

    def multi_margin(h):
        return lambda yt, yp: F.multi_margin_loss(yp, yt, p=int(h["p"]), margin=h["margin"])

    def hinge_embedding(h):
        return lambda yt, yp: F.hinge_embedding_loss(yp, yt, margin=h["margin"])

    def margin_ranking(h):
        def fn(yt, yp):
            if yp.shape[-1] != 2:
                raise NotImplementedError("torch's MarginRankingLoss takes pairs (C = 2)")
            y = 1.0 - 2.0 * yt.to(yp.dtype)  # index 0 preferred -> torch's y = +1
            return F.margin_ranking_loss(yp[:, 0], yp[:, 1], y, margin=h["margin"])
        return fn

    # losses with their own inputs: fn takes them in the loss's order (lossbook's ``arg_names``)
    def cosine_similarity(h):  # Keras's sign; torch's eps guards the product of the norms
        return lambda yt, yp: -F.cosine_similarity(yp, yt, dim=-1, eps=1e-7).mean()

    def cosine_embedding(h):
        return lambda x1, x2, y: F.cosine_embedding_loss(x1, x2, y, margin=h["margin"])

    def contrastive(h):  # y = 1 for similar pairs, as in lossbook
        from lossbook.counterparts import torch_contrastive

        return lambda x1, x2, y: torch_contrastive(x1, x2, y, h["margin"]).mean()

    def triplet(h):
        if h["squared"]:
            raise NotImplementedError("squared=True (TripletMarginLoss has no squared form)")
        return lambda a, pos, neg: F.triplet_margin_loss(a, pos, neg, margin=h["margin"], p=h["p"],
                                                         eps=h["eps"], swap=h["swap"])

    def quadruplet(h):
        from lossbook.counterparts import torch_quadruplet

        return lambda a, pos, n1, n2: torch_quadruplet(a, pos, n1, n2, h["margin1"], h["margin2"]).mean()

    def soft_fbeta(h):  # seed 001's formula: one value for the whole batch
        from lossbook.counterparts import torch_soft_fbeta

        return lambda y, p: torch_soft_fbeta(y, p, h["beta"], h["epsilon"])

    # classification in practice (lossbook/classification.py)
    def soft_margin(h):
        return lambda yt, yp: F.soft_margin_loss(yp, yt)

    def multilabel_soft_margin(h):
        return lambda yt, yp: F.multilabel_soft_margin_loss(yp, yt)

    def multilabel_margin(h):
        def fn(yt, yp):  # multi-hot -> torch's target ids, -1 after the last one (part of what a user pays)
            c = yp.shape[-1]
            ids = torch.where(yt > 0.5, torch.arange(c), c).sort(dim=-1).values
            return F.multilabel_margin_loss(yp, ids.masked_fill(ids == c, -1))
        return fn

    def categorical_focal(h):
        _only(h, alpha=(h["alpha"],), gamma=(h["gamma"],), from_logits=(False, True), label_smoothing=(0.0,),
              epsilon=(0.0,))
        a, g = h["alpha"], h["gamma"]

        def fn(yt, yp):
            if h["from_logits"]:
                log_p = F.log_softmax(yp, dim=-1)
                p = log_p.exp()
            else:
                p, log_p = yp, torch.log(yp)
            return -(a * yt * (1 - p) ** g * log_p).sum(-1).mean()
        return fn

    def poly1(h):
        e = h["poly_epsilon"]
        return lambda yt, yp: F.cross_entropy(yp, yt) + e * (yt * (1 - torch.softmax(yp, dim=-1))).sum(-1).mean()

    def generalized_ce(h):
        q = h["q"]

        def fn(yt, yp):
            log_p = F.log_softmax(yp, dim=-1) if h["from_logits"] else torch.log(yp)
            return -(yt * torch.expm1(q * log_p)).sum(-1).mean() / q
        return fn

    def distillation_kl(h):
        t = h["temperature"]
        return lambda yt, yp: F.kl_div(F.log_softmax(yp / t, dim=-1), F.softmax(yt / t, dim=-1),
                                       reduction="batchmean") * t ** 2

    # distributions (lossbook/distributions.py)
    def gaussian_nll(h):
        def fn(yt, mean, var):
            nll = F.gaussian_nll_loss(mean, yt, var, full=h["full"], eps=h["eps"], reduction="none")
            return (nll * var.detach().clamp(min=h["eps"]) ** h["beta"]).mean() if h["beta"] else nll.mean()
        return fn

    def gaussian_kl(h):  # torch's VAE example, summed over the latent dimensions, mean over samples
        return lambda mu, lv: (-0.5 * (1 + lv - mu.pow(2) - lv.exp()).sum(-1)).mean() if mu.ndim == 2 else (
            -0.5 * (1 + lv - mu.pow(2) - lv.exp())).mean()

    def gan_discriminator(h):
        _only(h, form=("non_saturating", "minimax"))
        return lambda r, f: (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                             + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))

    def gan_generator(h):
        _only(h, form=("non_saturating",))
        return lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f))

    # listwise ranking (lossbook/listwise.py): torch has no ranking loss on lists
    def ranknet(h):
        def fn(yt, yp):
            d = yp[:, :, None] - yp[:, None, :]
            pairs = (yt[:, :, None] > yt[:, None, :]).to(yp.dtype)
            total = (F.binary_cross_entropy_with_logits(d, torch.ones_like(d), reduction="none") * pairs).sum((1, 2))
            return (total / pairs.sum((1, 2)).clamp(min=1) if h["normalize"] else total).mean()
        return fn

    def listnet(h):
        return lambda yt, yp: F.cross_entropy(yp, torch.softmax(yt, dim=-1))

    def softmax_ranking(h):
        def fn(yt, yp):
            if h["normalize"]:
                total = yt.sum(-1, keepdim=True)
                yt = torch.where(total > 0, yt / total.clamp(min=1e-300), torch.zeros_like(yt))
            return F.cross_entropy(yp, yt)
        return fn

    def listmle(h):
        def fn(yt, yp):
            order = torch.argsort(yt, dim=-1, descending=True, stable=True)
            s = yp.gather(-1, order)
            return (torch.logcumsumexp(s.flip(-1), dim=-1).flip(-1) - s).sum(-1).mean()
        return fn

    def lambdarank(h):  # the chapter's LambdaRank: RankNet's terms weighted by |Delta NDCG| (no_grad)
        def fn(yt, yp):
            with torch.no_grad():
                place = torch.argsort(torch.argsort(yp, dim=-1, descending=True, stable=True), dim=-1)
                disc = 1.0 / torch.log2(place.to(yp.dtype) + 2.0)
                ideal = (torch.sort(yt, dim=-1, descending=True).values
                         / torch.log2(torch.arange(yp.shape[-1], dtype=yp.dtype, device=yp.device) + 2.0)).sum(-1)
                pairs = (yt[:, :, None] > yt[:, None, :]).to(yp.dtype)
                w = pairs * ((yt[:, :, None] - yt[:, None, :]).abs() * (disc[:, :, None] - disc[:, None, :]).abs()
                             / ideal.clamp(min=1e-300)[:, None, None])
            d = yp[:, :, None] - yp[:, None, :]
            total = (F.binary_cross_entropy_with_logits(d, torch.ones_like(d), reduction="none") * w).sum((1, 2))
            return (total / pairs.sum((1, 2)).clamp(min=1) if h["normalize"] else total).mean()
        return fn

    # segmentation (lossbook/segmentation.py): one image per row
    def overlap(kind):
        def factory(h):
            s, eps = h["smooth"], h["epsilon"]

            def fn(yt, yp):
                inter = (yt * yp).sum(-1)
                if kind == "dice":
                    out = 1 - (2 * inter + s) / (yt.sum(-1) + yp.sum(-1) + s + eps)
                elif kind == "jaccard":
                    out = 1 - (inter + s) / (yt.sum(-1) + yp.sum(-1) - inter + s + eps)
                else:
                    fp, fn_ = ((1 - yt) * yp).sum(-1), (yt * (1 - yp)).sum(-1)
                    out = 1 - (inter + s) / (inter + h["alpha"] * fp + h["beta"] * fn_ + s + eps)
                return out.mean()
            return fn
        return factory

    def lovasz_hinge(h):  # Berman et al.'s lovasz_hinge_flat, batched over the rows
        def fn(yt, yp):
            errors = 1 - yp * (2 * yt - 1)
            errors_sorted, perm = torch.sort(errors, dim=-1, descending=True)
            gt_sorted = yt.gather(-1, perm)
            gts = gt_sorted.sum(-1, keepdim=True)
            jaccard = 1 - (gts - gt_sorted.cumsum(-1)) / (gts + (1 - gt_sorted).cumsum(-1))
            increments = torch.cat([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], dim=-1)
            return (F.relu(errors_sorted) * increments).sum(-1).mean()
        return fn


    # sparsemax (lossbook/fenchel_young.py): torch has no sparsemax; the sort-based projection, composed
    def sparsemax_loss(h):
        def fn(yt, yp):
            s = yp.sort(dim=-1, descending=True)[0]
            cums = s.cumsum(-1)
            ranks = torch.arange(1, yp.shape[-1] + 1, dtype=yp.dtype, device=yp.device)
            k = (1 + ranks * s > cums).sum(-1, keepdim=True)
            tau = (cums.gather(-1, k - 1) - 1) / k
            z_y = yp.gather(-1, yt[:, None])[:, 0]
            return (-z_y + 0.5 * torch.where(yp > tau, yp ** 2 - tau ** 2, 0.0).sum(-1) + 0.5).mean()
        return fn

    # sequences (lossbook/sequences.py)
    def ctc(h):
        def fn(tg, z, il, tl):  # -1 padding replaced by a class id torch reads but ignores; sum / N is lossbook's mean
            filler = torch.full_like(tg, 1.0 if h["blank"] == 0 else 0.0)
            targets = torch.where(tg < 0, filler, tg).long()
            return F.ctc_loss(z.log_softmax(-1).transpose(0, 1), targets, il.long(), tl.long(), blank=h["blank"],
                              reduction="sum", zero_infinity=h["zero_infinity"]) / z.shape[0]
        return fn

    return {
        "ctc": ("native", ctc),
        "ranknet": ("composed", ranknet),
        "listnet": ("native", listnet),
        "softmax_ranking": ("native", softmax_ranking),
        "listmle": ("composed", listmle),
        "lambdarank": ("composed", lambdarank),
        "dice": ("composed", overlap("dice")),
        "tversky": ("composed", overlap("tversky")),
        "jaccard": ("composed", overlap("jaccard")),
        "lovasz_hinge": ("composed", lovasz_hinge),
        "sparsemax_loss": ("composed", sparsemax_loss),
        "gan_discriminator": ("native", gan_discriminator),
        "gan_generator": ("native", gan_generator),
        "gaussian_nll": ("native", gaussian_nll),
        "gaussian_kl": ("composed", gaussian_kl),
        "soft_margin": ("native", soft_margin),
        "multilabel_soft_margin": ("native", multilabel_soft_margin),
        "multilabel_margin": ("native", multilabel_margin),
        "categorical_focal_crossentropy": ("composed", categorical_focal),
        "poly1_crossentropy": ("composed", poly1),
        "generalized_crossentropy": ("composed", generalized_ce),
        "distillation_kl": ("native", distillation_kl),
        "cosine_similarity": ("composed", cosine_similarity),
        "cosine_embedding": ("native", cosine_embedding),
        "contrastive": ("composed", contrastive),
        "triplet": ("native", triplet),
        "quadruplet": ("composed", quadruplet),
        "soft_fbeta": ("composed", soft_fbeta),
        "mean_squared_error": ("native", mse),
        "mean_absolute_error": ("native", mae),
        "mean_squared_logarithmic_error": ("composed", msle),
        "huber": ("native", huber),
        "smooth_l1": ("native", smooth_l1),
        "log_cosh": ("composed", log_cosh),
        "mean_absolute_percentage_error": ("composed", mape),
        "quantile": ("composed", quantile),
        "binary_crossentropy": ("native", bce),
        "binary_focal_crossentropy": ("composed", focal),
        "categorical_crossentropy": ("native", cce),
        "sparse_categorical_crossentropy": ("native", scce),
        "negative_log_likelihood": ("native", nll),
        "kl_divergence": ("native", kl),
        "poisson": ("native", poisson),
        "hinge": ("composed", hinge),
        "squared_hinge": ("composed", squared_hinge),
        "categorical_hinge": ("composed", categorical_hinge),
        "multiclass_hinge": ("composed", multiclass_hinge),
        "multi_margin": ("native", multi_margin),
        "hinge_embedding": ("native", hinge_embedding),
        "margin_ranking": ("native", margin_ranking),
        "arcface": ("composed", arcface),
        "cosface": ("composed", cosface),
    }


#: Keras conventions that make its value differ from lossbook's default on the benchmark's input
#: (the timing is still like for like: the same operations on the same sizes).
KERAS_CONVENTIONS = {
    "dice": "Keras's Dice has smooth=0 and 1e-7 in the denominator only; lossbook's default is smooth=1",
    "tversky": "Keras's Tversky has smooth=0 and 1e-7 in the denominator only, and its alpha weighs the false "
               "negatives; lossbook's default is smooth=1",
    "jaccard": "Keras's Tversky(alpha=1, beta=1) has smooth=0 and 1e-7 in the denominator only; lossbook's "
               "default is smooth=1",
    "mean_squared_logarithmic_error": "Keras clips y and y_pred at epsilon before log1p (lossbook's clip=True); "
                                      "the default clip=False keeps values in (-1, 0)",
}


def keras_table(keras):
    """name -> factory(hyper) -> fn(y_true, y_pred); Keras's own loss classes (float32)."""
    L = keras.losses

    def cls(name, **map_):
        def factory(h):
            kwargs = {}
            for k, v in h.items():
                if v is None:
                    continue  # an option left off (pos_weight=None, ...): nothing to pass
                if k in map_:
                    if map_[k] is None:
                        continue  # a setting Keras always uses (e.g. its own epsilon): time it anyway
                    kwargs[map_[k]] = v
                else:
                    raise NotImplementedError(f"{k}={v!r}")
            obj = getattr(L, name)(**kwargs)
            return lambda yt, yp: obj(yt, yp)
        return factory

    def msle(h):
        _only(h, clip=(False, True))  # Keras always clips at epsilon: same ops either way
        obj = L.MeanSquaredLogarithmicError()
        return lambda yt, yp: obj(yt, yp)

    def hinge(name):
        def factory(h):
            _only(h, labels=("pm1",))
            obj = getattr(L, name)()
            return lambda yt, yp: obj(yt, yp)
        return factory

    def poisson(h):
        _only(h, log_input=(False,), epsilon=(0.0, 1e-7))
        obj = L.Poisson()
        return lambda yt, yp: obj(yt, yp)

    def scce(h):  # Keras has no label smoothing for integer labels
        _only(h, from_logits=(False, True), epsilon=(0.0, 1e-7), ignore_index=(h["ignore_index"],),
              label_smoothing=(0.0,), class_weight=(None,))
        obj = L.SparseCategoricalCrossentropy(from_logits=h["from_logits"], ignore_class=h["ignore_index"])
        return lambda yt, yp: obj(yt, yp)

    def soft_fbeta(h):
        from lossbook.counterparts import keras_soft_fbeta  # seed 001's custom_fbeta_loss in keras.ops

        if h["epsilon"] != 1e-7:
            raise NotImplementedError(f"epsilon={h['epsilon']!r} (Keras uses its own 1e-7)")
        return lambda yt, yp: keras_soft_fbeta(yt, yp, beta=h["beta"])

    def overlap(kind):  # one image per row (axis=1); timed at lossbook's default smooth=1 all the same
        def factory(h):
            if kind == "dice":
                obj = L.Dice(axis=1)
            else:  # Keras's alpha weighs the false negatives: swapped
                a, b = (1.0, 1.0) if kind == "jaccard" else (h["beta"], h["alpha"])
                obj = L.Tversky(alpha=a, beta=b, axis=1)
            return lambda yt, yp: obj(yt, yp)
        return factory

    return {
        "dice": overlap("dice"),
        "tversky": overlap("tversky"),
        "jaccard": overlap("jaccard"),
        "cosine_similarity": cls("CosineSimilarity"),
        "soft_fbeta": soft_fbeta,
        "mean_squared_error": cls("MeanSquaredError"),
        "mean_absolute_error": cls("MeanAbsoluteError"),
        "mean_squared_logarithmic_error": msle,
        "huber": cls("Huber", delta="delta"),
        "log_cosh": cls("LogCosh"),
        "mean_absolute_percentage_error": cls("MeanAbsolutePercentageError", epsilon=None),
        "binary_crossentropy": cls("BinaryCrossentropy", from_logits="from_logits",
                                   label_smoothing="label_smoothing", epsilon=None),
        "binary_focal_crossentropy": cls("BinaryFocalCrossentropy", gamma="gamma", alpha="alpha",
                                         apply_class_balancing="apply_class_balancing",
                                         from_logits="from_logits", label_smoothing="label_smoothing"),
        "categorical_crossentropy": cls("CategoricalCrossentropy", from_logits="from_logits",
                                        label_smoothing="label_smoothing", epsilon=None),
        "sparse_categorical_crossentropy": scce,
        "negative_log_likelihood": lambda h: (lambda yt, yp, _o=L.SparseCategoricalCrossentropy(from_logits=True):
                                              _o(yt, yp)),
        "kl_divergence": cls("KLDivergence", epsilon=None),
        "poisson": poisson,
        "hinge": hinge("Hinge"),
        "squared_hinge": hinge("SquaredHinge"),
        "categorical_hinge": cls("CategoricalHinge"),
        "categorical_focal_crossentropy": cls("CategoricalFocalCrossentropy", alpha="alpha", gamma="gamma",
                                              from_logits="from_logits", label_smoothing="label_smoothing",
                                              epsilon=None),
        "multilabel_soft_margin": lambda h: (lambda yt, yp, _o=L.BinaryCrossentropy(from_logits=True): _o(yt, yp)),
    }
