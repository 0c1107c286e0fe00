"""Figures the chapters share: a loss and its gradient, training histories, small multiples.

All of them use one matplotlib style, ``lossbook/lossbook.mplstyle``: opaque white figures (they stay
readable when the book is read in dark mode), a light grid, and one colour per framework
(:data:`COLORS`).  Chapters call :func:`use_style` once; the helpers here apply it themselves.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: The style file shipped with the package.
STYLE = Path(__file__).with_name("lossbook.mplstyle")

#: One colour per source of numbers, the same in every figure of the book.
COLORS = {
    "lossbook": "#1f5fa8",  # blue: ours
    "torch": "#e8702a",  # orange
    "keras": "#7b3294",  # purple
    "torchmetrics": "#2a9d5c",  # green
    "published": "#222222",  # near-black: a figure quoted from a source article
}

_style_applied = False


def use_style():
    """Apply lossbook's matplotlib style to every figure drawn after the call (idempotent).

    ``import lossbook`` does not touch matplotlib's settings (a package should not restyle its
    users' figures); the chapters call this once, and the helpers below apply it if nobody has.

    >>> import matplotlib
    >>> use_style()
    >>> matplotlib.rcParams["figure.facecolor"]
    'white'
    """
    global _style_applied
    import matplotlib.style

    matplotlib.style.use(str(STYLE))
    _style_applied = True


def _ensure_style():
    """The helpers apply the style once, unless a chapter already did (and may have tuned it since)."""
    if not _style_applied:
        use_style()


def framework_color(name: str) -> str:
    """The book's colour for ``"lossbook"``, ``"torch"``, ``"keras"``, ``"torchmetrics"`` or ``"published"``.

    >>> framework_color("Keras")
    '#7b3294'
    """
    key = name.lower()
    if key not in COLORS:
        raise ValueError(f"name must be one of {sorted(COLORS)}, got {name!r}")
    return COLORS[key]


def loss_and_grad_curve(loss, y_true, y_pred_grid, **hyper):
    """Per-sample loss and gradient along a grid of predictions for one fixed target.

    ``y_true`` is a scalar target (or a row, for losses of vectors); returns ``(values, grads)``.
    """
    grid = np.asarray(y_pred_grid, dtype=float)
    targets = np.full_like(grid, float(y_true))
    values, grads = loss.value_and_grad(targets, grid, reduction="none", **hyper)
    return values, grads


def plot_loss_and_grad(loss, y_true, y_pred_grid, variants=({},), *, x=None, xlabel="prediction $\\hat y$",
                       labels=None, axes=None, title=None):
    """Two panels: the loss and its gradient against the prediction, one line per hyperparameter set.

    ``x`` replaces the horizontal coordinate (for example the error ``y_pred - y_true``).
    """
    import matplotlib.pyplot as plt

    _ensure_style()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2), constrained_layout=True)
    xs = np.asarray(y_pred_grid, float) if x is None else np.asarray(x, float)
    for i, hyper in enumerate(variants):
        values, grads = loss_and_grad_curve(loss, y_true, y_pred_grid, **hyper)
        label = labels[i] if labels else (", ".join(f"{k}={v}" for k, v in hyper.items()) or loss.name)
        axes[0].plot(xs, values, label=label)
        axes[1].plot(xs, grads, label=label)
    axes[0].set(xlabel=xlabel, ylabel="loss", title=title or loss.name)
    axes[1].set(xlabel=xlabel, ylabel="d loss / d prediction", title="gradient")
    for ax in axes:
        ax.axhline(0, color="0.8", lw=0.8, zorder=0)
        ax.grid(alpha=0.3)
    if len(variants) > 1 or labels:
        axes[0].legend(fontsize=8)
    return axes


def loss_and_grad_panels(loss, y_true, y_pred_grid, *, x=None, xlabel="prediction ŷ", title=None, label=None,
                         **hyper):
    """The two panels of :func:`plot_loss_and_grad` for one hyperparameter set, for an explorer.

    Returns ``(loss_panel, gradient_panel)`` (:class:`Panel`), ready for ``curves`` to return or
    to add lines to. Text is plain Unicode (``"error e"``, not TeX).
    """
    values, grads = loss_and_grad_curve(loss, y_true, y_pred_grid, **hyper)
    xs = np.asarray(y_pred_grid, float) if x is None else np.asarray(x, float)
    value_panel = Panel(title or loss.name, xlabel=xlabel, ylabel="loss")
    grad_panel = Panel("gradient", xlabel=xlabel, ylabel="d loss / d prediction", legend=None)
    for panel, ys in ((value_panel, values), (grad_panel, grads)):
        panel.hline(0.0, color="0.8", dash="-", width=0.8)
        panel.line(xs, ys, label=label)
    return value_panel, grad_panel


def plot_histories(histories: dict, keys=("loss", "val_loss"), *, ax=None, title=None, ylabel="loss", logy=False,
                   colors=None):
    """Overlay training curves: ``histories`` maps a label to a Keras-like history dict.

    Solid lines for the first key (training), dashed for the second (validation). ``colors`` gives
    each label its colour: a dict, or a function of the label (for one colour per framework,
    ``colors=lambda label: framework_color(label.split()[0])``); by default the style's cycle.
    """
    import matplotlib.pyplot as plt

    _ensure_style()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    styles = ["-", "--", ":", "-."]
    for i, (label, hist) in enumerate(histories.items()):
        color = (colors(label) if callable(colors) else colors[label]) if colors is not None else f"C{i}"
        for key, style in zip(keys, styles):
            if key in hist:
                epochs = np.arange(1, len(hist[key]) + 1)
                ax.plot(epochs, hist[key], style, color=color, label=f"{label}: {key}")
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def small_multiples(draw, values, *, ncols=4, panel_size=(2.6, 2.2), sharey=True, title_fmt="{}"):
    """A grid of panels, ``draw(ax, value)`` for each value: the static twin of a slider."""
    import matplotlib.pyplot as plt

    _ensure_style()
    values = list(values)
    nrows = -(-len(values) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
                             sharey=sharey, squeeze=False, constrained_layout=True)
    for ax, v in zip(axes.flat, values):
        draw(ax, v)
        ax.set_title(title_fmt.format(v), fontsize=9)
    for ax in list(axes.flat)[len(values):]:
        ax.set_visible(False)
    return fig


# Explorers (sliders over a grid of values, live in JupyterLab and offline in the HTML book) live in
# their own module; the chapters reach them here, beside the other figures.
from .explorer import Explorer, Panel, draw_panel, explorer  # noqa: E402,F401
