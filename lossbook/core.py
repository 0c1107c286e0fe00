"""The loss contract: one class that every loss in the book is an instance of.

A loss is written once, as a *per-sample* function that returns the loss of each sample and, on
request, the gradient of each sample's loss with respect to its own row of ``y_pred``::

    def _mse(y_true, y_pred, *, with_grad):
        err = y_pred - y_true
        loss = mean_last(err ** 2)
        return (loss, 2 * err / width(err)) if with_grad else loss

:class:`Loss` wraps it with everything the contract promises: input validation, the one
reduction / sample-weight implementation, the analytic gradient of the *reduced* loss
(``.grad``), the registry, the metadata that names the framework counterparts, and the bridge to
torch and Keras (``.torch()``, ``.keras()``).
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import validation as V

#: Every registered loss, by canonical name.  ``lb.LOSSES["hinge"] is lb.hinge``.
LOSSES: dict[str, "Loss"] = {}

#: The kinds of input a loss can declare (see :class:`Arg`); those of a fixed rank, with the shape
#: the error message asks for.
KINDS = {"same", "row", "steps", "padded"}
_RANK = {"steps": (3, "(N, T, C): C class scores at each of T steps"),
         "padded": (2, "(N, S): one sequence of up to S entries per sample, padded at the end")}


# --------------------------------------------------------------------------------------------
# small helpers the per-sample functions share
# --------------------------------------------------------------------------------------------
def mean_last(x: np.ndarray) -> np.ndarray:
    """Per-sample mean over the last axis of an ``(N, D)`` array; ``(N,)`` passes through."""
    return x.mean(axis=-1) if x.ndim == 2 else x


def sum_last(x: np.ndarray) -> np.ndarray:
    """Per-sample sum over the last axis of an ``(N, D)`` array; ``(N,)`` passes through."""
    return x.sum(axis=-1) if x.ndim == 2 else x


def put(a: np.ndarray, index: np.ndarray, values) -> None:
    """``np.put(a, index, values)``: write at flat indices.  Through a flat view when ``a`` is
    contiguous, which is 1.5-2 times faster than ``np.put`` (measured at 1e5 indices)."""
    if a.flags.c_contiguous:
        a.reshape(-1)[index] = values
    else:
        np.put(a, index, values)


def width(x: np.ndarray) -> int:
    """How many values make up one sample: ``D`` for ``(N, D)``, 1 for ``(N,)``."""
    return x.shape[-1] if x.ndim == 2 else 1


#: ``keras.backend.epsilon()`` (``keras.config.epsilon()``, seed 001's ``K.epsilon()``): the floor
#: Keras puts under MSLE's logs, MAPE's divisor, clipped probabilities and the norms of its
#: l2-normalisation; the losses that reproduce Keras take it as a hyperparameter or a config.
KERAS_EPSILON = 1e-7


# --------------------------------------------------------------------------------------------
# metadata
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hyper:
    """A keyword-only hyperparameter: its default and the set of valid values.

    ``check`` is a test understood by :func:`lossbook.validation.check_hyper` (``">0"``,
    ``"[0,1]"`` ...), ``"bool"``, or a tuple of allowed strings.
    """

    default: Any
    check: Any
    doc: str = ""

    def validate(self, name: str, value):
        if self.check == "int_or_none":  # a class id to ignore, or None (torch's ignore_index)
            if value is None:
                return None
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be None or an integer class id, got {value!r}")
            return int(value)
        if self.check == "[0,1]_or_per_class":  # one weight for every class, or one per class (Keras's alpha)
            if isinstance(value, (list, tuple, np.ndarray)):
                if len(value) == 0:
                    raise ValueError(f"{name} must hold one weight per class, got {value!r}")
                return tuple(V.check_hyper(f"{name}[{i}]", v, "[0,1]") for i, v in enumerate(value))
            return V.check_hyper(name, value, "[0,1]")
        if self.check == "index":  # a class id, such as CTC's blank
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an integer class id, got {value!r}")
            if value < 0:
                raise ValueError(f"{name} must be a non-negative integer (a class id), got {value!r}")
            return int(value)
        if self.check == "weights_or_none":  # None, a number >= 0, or a sequence of them (one per column)
            if value is None:
                return None
            if isinstance(value, (list, tuple, np.ndarray)):
                if len(value) == 0:
                    raise ValueError(f"{name} must hold at least one weight, got {value!r}")
                return tuple(V.check_hyper(name, v, ">=0") for v in value)
            return V.check_hyper(name, value, ">=0")
        if self.check == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {value!r}")
            return bool(value)
        if isinstance(self.check, tuple):
            if value not in self.check:
                raise ValueError(f"{name} must be one of {self.check}, got {value!r}")
            return value
        return V.check_hyper(name, value, self.check)

    def bad_value(self):
        """One invalid value, for the bad-input battery."""
        if self.check in ("bool", "int_or_none"):
            return "yes"
        if self.check == "weights_or_none":
            return -1.0
        if self.check == "index":
            return -1
        if self.check == "[0,1]_or_per_class":
            return 1.5
        if isinstance(self.check, tuple):
            return "no-such-option"
        return {">0": 0.0, ">=0": -1.0, "[0,1]": 1.5, "[0,1)": 1.0, "(0,1)": 0.0, "(0,1]": 0.0, "real": float("nan")}[self.check]


@dataclass(frozen=True)
class Counterpart:
    """How a framework computes the same loss, and the recipe that makes it agree with lossbook.

    ``fn(y_true, y_pred, **hyper)`` takes NumPy arrays in lossbook's conventions and returns the
    framework's *per-sample* values as a float64 NumPy array; it raises ``NotImplementedError``
    for hyperparameters the framework cannot express.  ``rtol`` is the agreement the tests demand
    (float64 frameworks: 1e-12; Keras computes in float32 only: about 1e-5).
    """

    framework: str  # "torch", "keras", "torchmetrics", "optax" (or "mpmath", "numpy": exact references)
    name: str  # e.g. "torch.nn.MSELoss"
    recipe: str  # the call that matches lossbook, in words a reader can paste
    fn: Callable[..., np.ndarray] | None = None
    rtol: float = 1e-12
    atol: float = 1e-12
    notes: str = ""


@dataclass(frozen=True)
class Arg:
    """One input of a loss that takes more than ``(y_true, y_pred)`` (embedding losses and the like).

    ``domain`` names an entry of ``lossbook.validation.DOMAINS`` (or is a callable of the
    resolved hyperparameters that returns one).  ``diff``: the loss is differentiated with respect
    to this input, so ``.grad`` returns a gradient for it.  ``kind="same"``: shape ``(N,)`` or
    ``(N, D)``, one shape shared by every ``"same"`` input; ``kind="row"``: one value per sample,
    shape ``(N,)`` (a ±1 target, a same/different label, a sequence's length); ``kind="steps"``:
    ``(N, T, C)``, a score per class at each of T time steps; ``kind="padded"``: ``(N, S)``, one
    sequence of up to S integers per sample, padded at the end (how far each is read is another
    input, its length).
    """

    name: str
    domain: str | Callable = "real"
    diff: bool = True
    kind: str = "same"


# --------------------------------------------------------------------------------------------
# the Loss
# --------------------------------------------------------------------------------------------
class Loss:
    """A loss that keeps the lossbook contract.

    Call it as ``loss(y_true, y_pred, *, reduction="mean", sample_weight=None, **hyper)``:

    * ``reduction="none"`` returns the per-sample losses, shape ``(N,)``;
    * ``"sum"`` returns ``sum_i w_i l_i``; ``"mean"`` returns ``sum_i w_i l_i / N`` (Keras's
      ``sum_over_batch_size``: samples with zero weight still count in ``N``).

    ``loss.grad(...)`` (same arguments) is the analytic gradient of the reduced loss with respect
    to ``y_pred``, shape of ``y_pred``; with ``"none"`` it is the gradient of the sum.

    Losses with other inputs declare them with ``args=`` (a tuple of :class:`Arg`), e.g. the
    triplet loss's ``(anchor, positive, negative)``: they are called with those arrays in that
    order (or by name), and ``.grad`` returns one gradient per differentiated input, as a tuple
    when there are several.  A *batch* loss (``batch=True``) is not a sum of per-sample terms (an
    F-score over the batch, a loss normalised by the whole batch): it returns one number and takes
    no ``reduction`` or ``sample_weight``.
    """

    def __init__(
        self,
        name: str,
        per_sample: Callable,
        *,
        family: str,
        chapter: str,
        summary: str,
        y_true: str | Callable = "real",
        y_pred: str | Callable = "real",
        shape: str = "same",
        args: tuple[Arg, ...] | None = None,
        batch: bool = False,
        hyper: dict[str, Hyper] | None = None,
        counterparts: tuple[Counterpart, ...] = (),
        kinks: Callable | None = None,
        configs: tuple[dict, ...] = ({},),
        ndims: tuple[int, ...] | None = None,
        extremes: Callable | None = None,
        sampler: Callable | None = None,
        check: Callable | None = None,
        keras_inputs: Callable | None = None,
        doc: str | None = None,
        references: tuple[str, ...] = (),
    ):
        if name in LOSSES:
            raise ValueError(f"a loss named {name!r} is registered already")
        if shape not in ("same", "labels"):
            raise ValueError(f"shape must be 'same' or 'labels', got {shape!r}")
        self.name = name
        self._per_sample = per_sample
        self.family = family
        self.chapter = chapter
        self.summary = summary
        self._y_true = y_true
        self._y_pred = y_pred
        self.shape = shape
        # the inputs: (y_true, y_pred) unless the loss declares its own
        self.pair = args is None
        if args is None:
            args = (Arg("y_true", y_true, diff=False, kind="labels" if shape == "labels" else "same"),
                    Arg("y_pred", y_pred))
        elif any(a.kind not in KINDS for a in args) or not any(a.diff for a in args):
            raise ValueError(f"args must be Arg(kind=one of {sorted(KINDS)}), at least one with diff=True")
        self.args = tuple(args)
        self.batch = bool(batch)
        self.hyper = dict(hyper or {})
        self.counterparts = tuple(counterparts)
        # kinks(*inputs, **hyper) -> bool array: where the loss is not differentiable (the
        # finite-difference tests stay away from those points); shape (N,) or of an input
        self.kinks = kinks
        # for the registry-driven tests: hyperparameter settings worth testing, the ranks of
        # the inputs to test, and extremes() -> [(*inputs, hyper), ...] of valid extreme input
        self.configs = tuple(configs)
        self.ndims = ndims or ((2,) if shape == "labels" else (1, 2))
        self.extremes = extremes
        # losses whose inputs the domains alone cannot describe (a sequence and its length):
        # sampler(rng, n, hyper) -> valid random inputs; check(*arrays, hyper) raises on what the
        # kinds and domains cannot see (a length longer than its sequence); keras_inputs(y_true,
        # y_pred) -> the inputs, for a loss with several inputs Keras's (y_true, y_pred) cannot carry
        self.sampler = sampler
        self.check = check
        self.keras_inputs = keras_inputs
        self.__name__ = self.__qualname__ = name
        self.__module__ = per_sample.__module__
        self.__signature__ = self._public_signature()
        # keys of book/references.bib: the papers that introduced or define the loss
        self.references = tuple(references)
        self._raw_doc = doc or per_sample.__doc__ or ""
        self.__doc__ = self._document(self._raw_doc)
        LOSSES[name] = self

    def add_counterparts(self, *counterparts: Counterpart) -> None:
        """Attach more framework counterparts (lossbook.counterparts does, for every registered loss)."""
        self.counterparts = self.counterparts + tuple(counterparts)
        self.__doc__ = self._document(self._raw_doc)

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args)

    @property
    def diff_args(self) -> tuple[int, ...]:
        """Positions of the inputs that get a gradient."""
        return tuple(i for i, a in enumerate(self.args) if a.diff)

    def _public_signature(self) -> inspect.Signature:
        """What ``help()``, IDEs and the API reference show: the contract's call, hyperparameters included."""
        P = inspect.Parameter
        params = [P(a.name, P.POSITIONAL_OR_KEYWORD) for a in self.args]
        if not self.batch:
            params += [P("reduction", P.KEYWORD_ONLY, default="mean"),
                       P("sample_weight", P.KEYWORD_ONLY, default=None)]
        params += [P(k, P.KEYWORD_ONLY, default=h.default) for k, h in self.hyper.items()]
        return inspect.Signature(params)

    def __repr__(self) -> str:
        return f"<lossbook loss {self.name!r} ({self.family}; see {self.chapter})>"

    def _document(self, doc: str) -> str:
        """The docstring ``help()`` and the API page show, in the skeleton torch and optax readers
        know: the call, the formula (the loss's own docstring), then Args, Shape, Returns, the
        methods, a runnable example (a doctest: ``lossbook.__test__`` collects them) and where the
        loss is derived. Args are generated from the registry (inputs' domains, the ``Hyper`` docs),
        so they cannot drift from what the code checks."""
        from .validation import DOMAINS

        def domains(arg):
            seen = []
            for hp in self.configs:
                try:
                    d = self.domain(arg.name, **hp)
                except (TypeError, ValueError):
                    continue
                when = ", ".join(f"{k}={v!r}" for k, v in hp.items())
                entry = (DOMAINS[d].description, when)
                if entry[0] not in [e[0] for e in seen]:
                    seen.append(entry)
            return "; ".join(f"{d} (with {w})" if w else d for d, w in seen) or "see the formula"

        shape = {"same": "shape ``(N,)`` or ``(N, D)``, one shape for every such input",
                 "labels": "integer class ids, shape ``(N,)``", "row": "one value per sample, shape ``(N,)``",
                 "steps": "shape ``(N, T, C)``: C scores at each of T steps", "padded": "shape ``(N, S)``, "
                 "one sequence per row, padded at the end"}
        lines = [f"{self.name}{self.__signature__}", "", inspect.cleandoc(doc), "", "Args:"]
        for a in self.args:
            lines.append(f"    {a.name}: {domains(a)}; {shape[a.kind]}.")
        if not self.batch:
            lines += ['    reduction: ``"mean"`` (default): the sum of the weighted per-sample losses over N '
                      '(Keras\'s ``sum_over_batch_size``); ``"sum"``; ``"none"``: the weighted per-sample losses.',
                      "    sample_weight: ``None`` or one non-negative weight per sample, shape ``(N,)``."]
        for k, h in self.hyper.items():
            check = (f"one of {h.check}" if isinstance(h.check, tuple) else
                     "True or False" if h.check == "bool" else
                     "None or an integer" if h.check == "int_or_none" else
                     "a class id (an integer >= 0)" if h.check == "index" else
                     "a number in ``[0,1]``, or a sequence of them, one per class" if h.check == "[0,1]_or_per_class" else
                     "None, a number >= 0 or a sequence of them" if h.check == "weights_or_none" else f"``{h.check}``")
            text = re.sub(r"\|([^|\s][^|]*)\|", r"``|\1|``", h.doc.rstrip(".") or k)  # |x| is RST markup
            lines.append(f"    {k}: {text}. Default ``{h.default!r}``; {check}.")
        diff = [self.args[i].name for i in self.diff_args]
        lines += ["", "Returns:"]
        if self.batch:
            lines.append("    One float for the whole batch (a batch loss is not a mean of per-sample terms).")
        else:
            lines.append('    A float; with ``reduction="none"``, the per-sample losses, shape ``(N,)``.')
        grad = (f"``{diff[0]}``, shape of ``{diff[0]}``" if len(diff) == 1 else
                "each of " + ", ".join(f"``{d}``" for d in diff) + " (a tuple, in that order)")
        lines += ["",
                  f"Methods: ``{self.name}.grad(...)`` (same arguments): the analytic gradient of the reduced loss "
                  f"with respect to {grad}. ``{self.name}.value_and_grad(...)``: both at once. "
                  f"``{self.name}.torch(**hyper)``: a torch callable with the same inputs, whose backward is "
                  f"``.grad`` (first derivatives only). ``{self.name}.keras(**hyper)``: the same as a Keras 3 "
                  f"loss (torch backend)."]
        if self.counterparts:
            lines += ["", "Counterparts: " + "; ".join(f"{c.framework} ``{c.name}``" for c in self.counterparts)
                      + f" (recipes in ``lossbook.{self.name}.counterparts``)."]
        ins = ", ".join(self.arg_names)
        t_ins = ", ".join(f"torch.tensor({a.name}" + (", requires_grad=True)" if a.diff else ")")
                          for a in self.args)
        first = self.args[self.diff_args[0]].name
        pick = "[0]" if len(diff) > 1 else ""
        lines += ["", "Example:",
                  "    >>> import lossbook as lb, torch",
                  f"    >>> {ins}{',' if len(self.args) == 1 else ''} = lb.testing.sample_inputs(lb.{self.name})"
                  "  # valid random input",
                  f"    >>> value = lb.{self.name}({ins})",
                  f"    >>> grad = lb.{self.name}.grad({ins}){pick}",
                  f"    >>> t = [{t_ins}]",
                  f"    >>> lb.{self.name}.torch()(*t).backward()  # the bridge's backward is .grad",
                  f"    >>> bool(torch.allclose(t[{self.diff_args[0]}].grad, torch.tensor(grad)))",
                  "    True"]
        if self.references:
            lines += ["", "References: " + ", ".join(f"``{k}``" for k in self.references)
                      + " (keys of ``book/references.bib``; the book's References page lists them)."]
        if "Chapter:" not in doc:
            lines += ["", f"Chapter: ``book/{self.chapter}``."]
        return "\n".join(lines)

    # ---------------------------------------------------------------------------------------
    def domain(self, arg: str, **hyper) -> str:
        """The domain (a key of ``DOMAINS``) of input ``arg`` under these hyperparameters."""
        a = self.args[self.arg_names.index(arg)]
        return a.domain(self.resolve(hyper)) if callable(a.domain) else a.domain

    def y_true_domain(self, **hyper) -> str:
        return self._y_true(self.resolve(hyper)) if callable(self._y_true) else self._y_true

    def y_pred_domain(self, **hyper) -> str:
        return self._y_pred(self.resolve(hyper)) if callable(self._y_pred) else self._y_pred

    def resolve(self, hyper: dict) -> dict:
        """Hyperparameters with defaults filled in and each value checked."""
        unknown = set(hyper) - set(self.hyper)
        if unknown:
            known = ", ".join(self.hyper) or "none"
            raise TypeError(f"{self.name}() got unexpected keyword argument(s) {sorted(unknown)}; "
                            f"its hyperparameters are: {known}")
        return {k: h.validate(k, hyper.get(k, h.default)) for k, h in self.hyper.items()}

    def _bind(self, arrays: tuple, kw: dict) -> tuple[list, dict]:
        """Inputs given by position or by name -> (inputs in ``args`` order, the remaining keywords)."""
        names = self.arg_names
        if len(arrays) > len(names):
            raise TypeError(f"{self.name}() takes {len(names)} inputs ({', '.join(names)}), got {len(arrays)}")
        kw = dict(kw)
        bound = list(arrays)
        for n in names[:len(arrays)]:
            if n in kw:
                raise TypeError(f"{self.name}() got {n} both by position and by name")
        for n in names[len(arrays):]:
            if n not in kw:
                raise TypeError(f"{self.name}() is missing input {n!r}; it takes ({', '.join(names)})")
            bound.append(kw.pop(n))
        return bound, kw

    def prepare(self, *inputs_and_hyper) -> tuple:
        """``prepare(*inputs, hyper)``: validate everything; return float64 arrays, then the
        resolved hyperparameters."""
        *inputs, hyper = inputs_and_hyper
        if len(inputs) != len(self.args):
            raise TypeError(f"{self.name} takes {len(self.args)} inputs ({', '.join(self.arg_names)})")
        hp = self.resolve(hyper)
        if self.pair:
            return (*self._prepare_pair(*inputs, hp), hp)
        arrays = [V.as_float_array(a.name, x, empty_rows=a.kind == "padded") for a, x in zip(self.args, inputs)]
        same = [(a, x) for a, x in zip(self.args, arrays) if a.kind == "same"]
        if same:
            first, ref = same[0]
            if ref.ndim > 2:
                raise ValueError(f"{first.name} must have shape (N,) or (N, D); got {ref.shape}")
            for a, x in same[1:]:
                if x.shape != ref.shape:
                    raise ValueError(f"{first.name} and {a.name} must have the same shape; got "
                                     f"{first.name} {ref.shape} and {a.name} {x.shape}")
        for a, x in zip(self.args, arrays):
            if a.kind in _RANK and x.ndim != _RANK[a.kind][0]:
                raise ValueError(f"{a.name} must have shape {_RANK[a.kind][1]}; got shape {x.shape}")
        first, ref = same[0] if same else next((a, x) for a, x in zip(self.args, arrays) if a.kind != "row")
        for a, x in zip(self.args, arrays):
            if a.kind == "row" and x.shape != ref.shape[:1]:
                raise ValueError(f"{a.name} must have shape ({ref.shape[0]},), one value per sample; got {x.shape}")
            if a.kind in _RANK and x.shape[0] != ref.shape[0]:
                raise ValueError(f"{a.name} must have {ref.shape[0]} rows, one per sample (as {first.name}); "
                                 f"got shape {x.shape}")
            V.check_domain(a.name, x, a.domain(hp) if callable(a.domain) else a.domain)
        if self.check is not None:
            self.check(*arrays, hp)
        return (*arrays, hp)

    def _prepare_pair(self, y_true, y_pred, hp) -> tuple[np.ndarray, np.ndarray]:
        y_pred = V.as_float_array("y_pred", y_pred)
        y_true = V.as_float_array("y_true", y_true)
        if self.shape == "same":
            V.check_same_shape(y_true, y_pred)
            if y_pred.ndim > 2:
                raise ValueError(f"y_pred must have shape (N,) or (N, D); got {y_pred.shape}")
        else:  # integer labels (N,) against scores (N, C)
            if y_pred.ndim != 2:
                raise ValueError(f"y_pred must have shape (N, C), one row of class scores per sample; got {y_pred.shape}")
            if y_true.shape != y_pred.shape[:1]:
                raise ValueError(f"y_true must have shape ({y_pred.shape[0]},), one class id per row of y_pred; "
                                 f"got {y_true.shape}")
            y_true = V.check_class_labels("y_true", y_true, y_pred.shape[1], ignore=hp.get("ignore_index"))
        yt_dom = self._y_true(hp) if callable(self._y_true) else self._y_true
        yp_dom = self._y_pred(hp) if callable(self._y_pred) else self._y_pred
        if self.shape == "same":
            V.check_domain("y_true", y_true, yt_dom)
        V.check_domain("y_pred", y_pred, yp_dom)
        return y_true, y_pred

    # ---------------------------------------------------------------------------------------
    def _check_batch_keywords(self, reduction, sample_weight):
        if self.batch and (reduction != "mean" or sample_weight is not None):
            which = "reduction" if reduction != "mean" else "sample_weight"
            raise TypeError(f"{which}: {self.name} is a batch loss (one value for the whole batch, not a "
                            "mean of per-sample terms); it takes no reduction or sample_weight")
        V.check_reduction(reduction)

    def per_sample(self, *inputs, **hyper) -> np.ndarray:
        """The unreduced, unweighted loss of each sample, shape ``(N,)``."""
        if self.batch:
            raise TypeError(f"{self.name} is a batch loss: it has no per-sample values")
        inputs, hyper = self._bind(inputs, hyper)
        *arrays, hp = self.prepare(*inputs, hyper)
        return self._per_sample(*arrays, with_grad=False, **hp)

    def __call__(self, *inputs, reduction: str = "mean", sample_weight=None, **hyper):
        inputs, hyper = self._bind(inputs, hyper)
        self._check_batch_keywords(reduction, sample_weight)
        *arrays, hp = self.prepare(*inputs, hyper)
        losses = self._per_sample(*arrays, with_grad=False, **hp)
        if self.batch:
            return float(losses)
        w = V.check_sample_weight(sample_weight, arrays[0].shape[0])
        return reduce(losses, reduction, w)

    def grad(self, *inputs, reduction: str = "mean", sample_weight=None, **hyper):
        """Analytic gradient of the reduced loss: with respect to ``y_pred`` (shape of ``y_pred``),
        or a tuple, one gradient per differentiated input, for losses with several."""
        return self.value_and_grad(*inputs, reduction=reduction, sample_weight=sample_weight, **hyper)[1]

    def value_and_grad(self, *inputs, reduction: str = "mean", sample_weight=None, **hyper):
        """Both at once, sharing the intermediate results (what a training step needs)."""
        inputs, hyper = self._bind(inputs, hyper)
        self._check_batch_keywords(reduction, sample_weight)
        *arrays, hp = self.prepare(*inputs, hyper)
        losses, g = self._per_sample(*arrays, with_grad=True, **hp)
        if self.batch:
            return float(losses), g
        w = V.check_sample_weight(sample_weight, arrays[0].shape[0])
        if isinstance(g, tuple):
            return reduce(losses, reduction, w), tuple(
                _reduce_fresh_grad(gi, reduction, w, arrays + [gj for gj in g if gj is not gi]) for gi in g)
        return reduce(losses, reduction, w), _reduce_fresh_grad(g, reduction, w, arrays)

    # ---------------------------------------------------------------------------------------
    def torch(self, *, reduction: str = "mean", **hyper):
        """This loss as a torch callable ``f(y_true, y_pred)`` whose backward is :meth:`grad`.

        ``f`` also accepts ``sample_weight=``.  Note the argument order: lossbook's (and Keras's)
        ``(y_true, y_pred)``, not torch's ``(input, target)``.  Losses with other inputs take them
        in their ``args`` order, ``f(anchor, positive, negative)``.
        """
        from .bridge import torch_loss

        return torch_loss(self, reduction=reduction, **hyper)

    def keras(self, **hyper):
        """This loss as a Keras 3 loss function (torch backend), backed by the analytic gradient.

        For a loss with several differentiated inputs, Keras's ``y_pred`` holds them side by
        side (concatenated along the last axis, in ``args`` order) and ``y_true`` carries the
        input that is not differentiated, if there is one.
        """
        from .bridge import keras_loss

        return keras_loss(self, **hyper)

    def counterpart(self, framework: str) -> Counterpart:
        for c in self.counterparts:
            if c.framework == framework:
                return c
        raise KeyError(f"{self.name} has no {framework} counterpart")


# --------------------------------------------------------------------------------------------
# the one reduction used by every loss
# --------------------------------------------------------------------------------------------
def reduce(losses: np.ndarray, reduction: str, sample_weight: np.ndarray | None):
    """Weight and reduce per-sample losses: ``'none'`` -> (N,), ``'sum'`` / ``'mean'`` -> float."""
    if sample_weight is not None:
        losses = losses * sample_weight
    if reduction == "none":
        return losses
    total = float(np.sum(losses))
    return total if reduction == "sum" else total / losses.shape[0]


def _reduce_fresh_grad(grad, reduction, sample_weight, others):
    """:func:`reduce_grad`, scaling ``grad`` in place when it is an array the loss has just made.

    At N = 1e6 this saves a pass and the allocation of a new array (1-2 ms).  Anything that could
    be someone else's memory (a view of an input, or of another returned gradient) is not touched:
    it gets the copying :func:`reduce_grad`.
    """
    if (not isinstance(grad, np.ndarray) or grad.dtype != np.float64 or not grad.flags.writeable
            or any(np.may_share_memory(grad, o) for o in others)):
        return reduce_grad(grad, reduction, sample_weight)
    n = grad.shape[0]
    if sample_weight is None:
        if reduction == "mean":
            grad /= n
        return grad
    scale = sample_weight / n if reduction == "mean" else sample_weight
    grad *= scale.reshape((n,) + (1,) * (grad.ndim - 1))
    return grad


def reduce_grad(grad: np.ndarray, reduction: str, sample_weight: np.ndarray | None) -> np.ndarray:
    """The gradient that goes with :func:`reduce`: per-sample gradients scaled by w_i (and 1/N)."""
    n = grad.shape[0]
    if sample_weight is None:  # the common case: one pass at most, no weight vector built
        return grad / n if reduction == "mean" else grad
    scale = sample_weight / n if reduction == "mean" else sample_weight
    return grad * scale.reshape((n,) + (1,) * (grad.ndim - 1))
