r"""Explorers: sliders over a grid of hyperparameters, live in JupyterLab and in the HTML book.

A chapter writes one function, ``curves(**values)``, that returns what to draw for one setting of
the sliders (one :class:`Panel`, or a list of them), and calls :func:`explorer` with a grid of
values per parameter::

    def focal(gamma=2.0, alpha=0.25):
        loss = Panel("loss", xlabel="logit")
        loss.line(xs, values(gamma, alpha), label="y = 1")
        return loss

    lb.plotting.explorer(focal, gamma=[0, 0.5, 1, 2, 5], alpha=[0.25, 0.5])

:func:`explorer` evaluates ``curves`` at every point of the grid once, when the cell runs. What
the cell then shows depends on where it runs:

* in a live kernel (JupyterLab), ipywidgets sliders that step over the grid and redraw the panels
  with matplotlib, in the book's style;
* when the book is built (the environment variable ``LOSSBOOK_EXPLORER=html``, which nbval's
  plugin ``tests/nbcache.py`` and the book's Sphinx extension set), an HTML output that carries the
  precomputed panels as JSON. The book's own script, ``lossbook/static/lossbook-explorer.js``
  (shipped once in the book's static files), draws them as SVG and moves them with the sliders:
  offline, without a kernel.

The data is kept small: each array is rounded to 4 significant digits of its largest value (of
every value on a log axis), lines are thinned to at most ``max_points`` points, and every array,
item and panel layout is stored once however many frames share it (a curve that does not depend on
a slider is written once, not once per frame).
"""
from __future__ import annotations

import base64
import html as _html
import inspect
import io
import itertools
import json
import math
import numbers
import os
from dataclasses import dataclass, field

import numpy as np

#: The environment variable that selects the HTML output (``html``) over ipywidgets.
ENV = "LOSSBOOK_EXPLORER"

_LOCS = ("upper right", "upper left", "lower left", "lower right", "center right", "center left",
         "upper center", "lower center")
_DASHES = {"-": "-", "solid": "-", "--": "--", "dashed": "--", ":": ":", "dotted": ":", "-.": "-.",
           "dashdot": "-."}
_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "tau": "τ", "lam": "λ", "lambda": "λ"}


def _text(value, what):
    """Text drawn on a panel: plain Unicode (the HTML explorer draws it as it is, no TeX)."""
    if value is None:
        return ""
    s = str(value)
    if "$" in s:
        raise ValueError(f"{what} must be plain text (use Unicode such as 'γ' or 'ŷ'), got {s!r}: "
                         "the HTML explorer does not typeset TeX")
    return s


_cycle_cache: list[str] = []


def _cycle() -> list[str]:
    """The book style's colour cycle, as hex (read from the style file, not from rcParams)."""
    if not _cycle_cache:
        import matplotlib

        from .plotting import STYLE

        params = matplotlib.rc_params_from_file(str(STYLE), use_default_template=False)
        _cycle_cache.extend(matplotlib.colors.to_hex(c) for c in params["axes.prop_cycle"].by_key()["color"])
    return _cycle_cache


def _hex(color) -> str:
    import matplotlib.colors

    if isinstance(color, str) and len(color) >= 2 and color[0] == "C" and color[1:].isdigit():
        cycle = _cycle()
        return cycle[int(color[1:]) % len(cycle)]
    try:
        return matplotlib.colors.to_hex(color, keep_alpha=False)
    except ValueError:
        raise ValueError(f"color must be a matplotlib colour ('C0', 'k', '0.6', '#1f5fa8'), got {color!r}") from None


def _array(values, what) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {a.shape}")
    return a


@dataclass
class Panel:
    """One set of axes in an explorer: what ``curves(**values)`` returns, alone or in a list.

    Text (title, labels, legend entries) is plain Unicode: it is drawn as written in the HTML book.
    Limits left at ``None`` are computed over every frame of the explorer, so the axes stay still
    while the sliders move.
    """

    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    xlim: tuple | None = None
    ylim: tuple | None = None
    ylog: bool = False
    legend: str | None = "upper right"
    aspect: str | None = None
    ticks: bool = True
    grid: bool = True
    items: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        self.title = _text(self.title, "title")
        self.xlabel = _text(self.xlabel, "xlabel")
        self.ylabel = _text(self.ylabel, "ylabel")
        for name in ("xlim", "ylim"):
            lim = getattr(self, name)
            if lim is not None:
                lim = tuple(float(v) for v in lim)
                if len(lim) != 2 or not all(math.isfinite(v) for v in lim) or lim[0] >= lim[1]:
                    raise ValueError(f"{name} must be (low, high) with low < high, got {getattr(self, name)!r}")
                setattr(self, name, lim)
        if self.ylog and self.ylim is not None and self.ylim[0] <= 0:
            raise ValueError(f"ylim must be positive on a log axis, got {self.ylim!r}")
        if self.legend is not None and self.legend not in _LOCS:
            raise ValueError(f"legend must be None or one of {_LOCS}, got {self.legend!r}")
        if self.aspect not in (None, "equal"):
            raise ValueError(f"aspect must be None or 'equal', got {self.aspect!r}")
        self._next_color = 0

    def _color(self, color):
        if color is None:
            color = f"C{self._next_color}"
            self._next_color += 1
        return _hex(color)

    def line(self, x, y, *, label=None, color=None, dash="-", width=1.6, marker=None):
        """A line through the points (x, y); NaN or infinite values leave a gap."""
        x, y = _array(x, "x"), _array(y, "y")
        if x.shape != y.shape:
            raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
        if dash not in _DASHES:
            raise ValueError(f"dash must be one of {sorted(_DASHES)}, got {dash!r}")
        if marker not in (None, "o"):
            raise ValueError(f"marker must be None or 'o', got {marker!r}")
        self.items.append({"t": "line", "x": x, "y": y, "l": _text(label, "label"), "c": self._color(color),
                           "d": _DASHES[dash], "w": float(width), "m": marker})
        return self

    def points(self, x, y, *, label=None, color=None, size=5.0):
        """Dots at the points (x, y)."""
        x, y = _array(x, "x"), _array(y, "y")
        if x.shape != y.shape:
            raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
        self.items.append({"t": "points", "x": x, "y": y, "l": _text(label, "label"), "c": self._color(color),
                           "s": float(size)})
        return self

    def vline(self, x, *, color="0.6", dash="--", width=1.0):
        """A vertical line across the panel at ``x``."""
        return self._rule("vline", x, color, dash, width)

    def hline(self, y, *, color="0.6", dash="--", width=1.0):
        """A horizontal line across the panel at ``y``."""
        return self._rule("hline", y, color, dash, width)

    def _rule(self, kind, v, color, dash, width):
        v = float(v)
        if not math.isfinite(v):
            raise ValueError(f"the {kind} position must be finite, got {v}")
        if dash not in _DASHES:
            raise ValueError(f"dash must be one of {sorted(_DASHES)}, got {dash!r}")
        self.items.append({"t": kind, "v": v, "c": _hex(color), "d": _DASHES[dash], "w": float(width)})
        return self

    def bars(self, x, heights, *, width=0.8, label=None, color=None):
        """Bars centred at ``x`` rising from 0 to ``heights``."""
        x, h = _array(x, "x"), _array(heights, "heights")
        if x.shape != h.shape:
            raise ValueError(f"x and heights must have the same length, got {x.size} and {h.size}")
        self.items.append({"t": "bars", "x": x, "h": h, "bw": float(width), "l": _text(label, "label"),
                           "c": self._color(color)})
        return self

    def text(self, x, y, s, *, coords="axes", ha="left", va="baseline", size=9, color="#222222"):
        """Text at (x, y): in axes fractions (``coords="axes"``, 0 to 1) or data coordinates."""
        if coords not in ("axes", "data"):
            raise ValueError(f"coords must be 'axes' or 'data', got {coords!r}")
        if ha not in ("left", "center", "right"):
            raise ValueError(f"ha must be 'left', 'center' or 'right', got {ha!r}")
        if va not in ("top", "center", "baseline", "bottom"):
            raise ValueError(f"va must be 'top', 'center', 'baseline' or 'bottom', got {va!r}")
        self.items.append({"t": "text", "x": float(x), "y": float(y), "s": _text(s, "text"), "k": coords,
                           "ha": ha, "va": va, "fs": float(size), "c": _hex(color)})
        return self

    def image(self, z, *, extent, cmap="viridis", vmin=None, vmax=None, levels=None, smooth=False):
        """A colour map of the 2-D array ``z``, row 0 at the bottom, spread over ``extent``.

        ``extent`` is ``(x0, x1, y0, y1)``; ``levels=n`` colours ``z`` in ``n`` bands (like
        ``contourf``), which also makes the image much smaller; ``smooth`` interpolates pixels.
        """
        z = np.asarray(z, dtype=float)
        if z.ndim != 2:
            raise ValueError(f"z must be 2-D, got shape {z.shape}")
        extent = tuple(float(v) for v in extent)
        if len(extent) != 4:
            raise ValueError(f"extent must be (x0, x1, y0, y1), got {extent!r}")
        finite = z[np.isfinite(z)]
        lo = float(finite.min()) if vmin is None and finite.size else float(vmin if vmin is not None else 0.0)
        hi = float(finite.max()) if vmax is None and finite.size else float(vmax if vmax is not None else 1.0)
        if hi <= lo:
            hi = lo + 1.0
        if levels is not None:
            n = int(levels)
            if n < 2:
                raise ValueError(f"levels must be at least 2, got {levels!r}")
            band = np.clip(np.floor((z - lo) / (hi - lo) * n), 0, n - 1)
            z = lo + (band + 0.5) * (hi - lo) / n
        self.items.append({"t": "image", "z": z, "ext": extent, "cmap": str(cmap), "vmin": lo, "vmax": hi,
                           "smooth": bool(smooth)})
        return self

    def meta(self) -> dict:
        return {"title": self.title, "xlabel": self.xlabel, "ylabel": self.ylabel, "xlim": self.xlim,
                "ylim": self.ylim, "ylog": bool(self.ylog), "legend": self.legend, "aspect": self.aspect,
                "ticks": bool(self.ticks), "grid": bool(self.grid)}


def _grid_values(name, values) -> list:
    if isinstance(values, (str, bytes, dict, set)) or not isinstance(values, (list, range, np.ndarray)):
        hint = (" (ipywidgets' (min, max, step) abbreviation is not a grid: write np.arange(min, max + step / 2, "
                "step) or a list)") if isinstance(values, tuple) else ""
        raise TypeError(f"{name} must be a list (or 1-D array, or range) of values, got {values!r}{hint}")
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {values.shape}")
    out = []
    for v in values:
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, bool) or isinstance(v, str):
            out.append(v)
        elif isinstance(v, numbers.Integral):
            out.append(int(v))
        elif isinstance(v, numbers.Real):
            if not math.isfinite(v):
                raise ValueError(f"{name} holds a non-finite value {v!r}")
            out.append(float(v) + 0.0)  # -0.0 (from rounding a grid) becomes 0.0, shown as "0"
        else:
            raise TypeError(f"{name} must hold numbers, booleans or strings, got {v!r}")
    if not out:
        raise ValueError(f"{name} must hold at least one value, got an empty grid")
    kinds = {"boolean" if isinstance(v, bool) else "string" if isinstance(v, str) else "number" for v in out}
    if len(kinds) > 1:
        raise TypeError(f"{name} mixes kinds of values: {out!r}")
    seen = set()
    for v in out:
        if v in seen:
            raise ValueError(f"{name} holds {v!r} twice")
        seen.add(v)
    return out


def _is_switch(grid) -> bool:
    """A grid of the two booleans is a checkbox, not a slider."""
    return len(grid) == 2 and all(isinstance(v, bool) for v in grid)


def _value_label(v) -> str:
    if isinstance(v, bool) or isinstance(v, str):
        return str(v)
    if isinstance(v, int):
        return str(v)
    return f"{v:.4g}"


def _fmt(v: float, digits: int) -> str:
    if not math.isfinite(v):
        return "null"
    s = f"{v:.{digits}g}"
    return "0" if s == "-0" else s


def _encode_array(a, digits: int, relative: bool) -> str:
    """A JSON array of the values of ``a``, NaN and infinities as ``null``.

    ``relative``: each value keeps ``digits`` significant digits (for log axes). Otherwise every
    value is rounded to ``10**-(digits - 1)`` of the array's largest absolute value, which keeps the
    largest to ``digits`` significant digits and writes values far below it (invisible on a linear
    axis) as short numbers or 0.
    """
    a = np.asarray(a, dtype=float)
    finite = np.isfinite(a)
    if relative or not finite.any():
        return "[" + ",".join(_fmt(float(v), digits) for v in a) + "]"
    top = float(np.max(np.abs(a[finite])))
    decimals = digits - 1 - (math.floor(math.log10(top)) if top > 0 else 0)
    out = []
    if decimals > 0:
        for v, ok in zip(np.round(a, decimals), finite):
            if not ok:
                out.append("null")
                continue
            t = f"{v:.{decimals}f}".rstrip("0").rstrip(".")
            out.append("0" if t in ("-0", "", "-") else t)
    else:
        step = 10.0 ** -decimals
        for v, ok in zip(a, finite):
            out.append(str(int(round(v / step) * step)) if ok else "null")
    return "[" + ",".join(out) + "]"


class Explorer:
    """Sliders over a grid of parameter values, with every frame computed in advance.

    Made by :func:`explorer`. ``frames[i]`` holds the panels for the i-th point of the grid in
    row-major order (the last parameter varies fastest); :meth:`panels` finds them by value.
    """

    def __init__(self, curves, grid: dict, *, labels=None, ncols=None, max_points=200, digits=4,
                 max_bytes=1_500_000, max_frames=2000):
        if not callable(curves):
            raise TypeError(f"curves must be a function of the parameters that returns Panels, got {curves!r}")
        if not grid:
            raise ValueError("explorer needs at least one parameter grid, for example gamma=[0.0, 1.0, 2.0]")
        self.curves = curves
        self.names = list(grid)
        self.grids = {name: _grid_values(name, values) for name, values in grid.items()}
        labels = dict(labels or {})
        unknown = set(labels) - set(self.names)
        if unknown:
            raise ValueError(f"labels names parameters without a grid: {sorted(unknown)}")
        self.labels = {n: _text(labels.get(n, _GREEK.get(n, n)), f"the label of {n}") for n in self.names}
        self._check_signature()
        sizes = [len(self.grids[n]) for n in self.names]
        total = int(np.prod(sizes))
        if total > max_frames:
            raise ValueError(f"the grid has {' x '.join(map(str, sizes))} = {total} points, more than "
                             f"max_frames={max_frames}: use fewer values per parameter")
        self.max_points, self.digits, self.max_bytes = int(max_points), int(digits), int(max_bytes)
        self.start = [self._start_index(n) for n in self.names]
        self.frames = []
        for combo in itertools.product(*(self.grids[n] for n in self.names)):
            values = dict(zip(self.names, combo))
            self.frames.append(self._evaluate(values))
        counts = {len(f) for f in self.frames}
        if len(counts) > 1:
            raise ValueError(f"curves returned {sorted(counts)} panels depending on the values: it must return "
                             "the same number of panels for every point of the grid")
        self.npanels = counts.pop()
        if ncols is None:
            ncols = min(self.npanels, 2)
        if not isinstance(ncols, numbers.Integral) or ncols < 1:
            raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
        self.ncols = int(ncols)
        self.limits = [self._limits(k) for k in range(self.npanels)]
        self._json = None

    # -- building -----------------------------------------------------------------------------------

    def _check_signature(self):
        try:
            sig = inspect.signature(self.curves)
        except (TypeError, ValueError):
            self._defaults = {}
            return
        params = sig.parameters
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
        for name in self.names:
            if name not in params and not takes_kwargs:
                raise TypeError(f"curves() takes no parameter {name!r} (it takes {list(params)})")
        for name, p in params.items():
            if (p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty
                    and name not in self.grids):
                raise TypeError(f"curves() needs a value for {name!r}: give it a grid, {name}=[...]")
        self._defaults = {n: p.default for n, p in params.items() if p.default is not p.empty}

    def _start_index(self, name) -> int:
        values = self.grids[name]
        if name in self._defaults:
            d = self._defaults[name]
            for i, v in enumerate(values):
                if v == d or (isinstance(v, float) and isinstance(d, numbers.Real) and not isinstance(d, bool)
                              and math.isclose(v, d, rel_tol=1e-9, abs_tol=1e-12)):
                    return i
        return 0

    def _evaluate(self, values) -> list:
        out = self.curves(**values)
        panels = [out] if isinstance(out, Panel) else out
        if not isinstance(panels, (list, tuple)) or not panels or not all(isinstance(p, Panel) for p in panels):
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
            raise TypeError(f"curves({shown}) returned {type(out).__name__}: it must return a Panel or a "
                            "list of Panels")
        return list(panels)

    def _limits(self, k) -> dict:
        """Axis limits of panel k, fixed over every frame: the panel's own or the data's, padded."""
        first = self.frames[0][k]
        xs, ys = [], []
        for frame in self.frames:
            for item in frame[k].items:
                t = item["t"]
                if t in ("line", "points"):
                    xs.append(item["x"])
                    ys.append(item["y"])
                elif t == "bars":
                    xs.extend([item["x"] - item["bw"] / 2, item["x"] + item["bw"] / 2])
                    ys.extend([item["h"], np.zeros(1)])
                elif t == "image":
                    x0, x1, y0, y1 = item["ext"]
                    xs.append(np.array([x0, x1]))
                    ys.append(np.array([y0, y1]))
                elif t == "vline":
                    xs.append(np.array([item["v"]]))
                elif t == "hline":
                    ys.append(np.array([item["v"]]))
        has_image = any(it["t"] == "image" for f in self.frames for it in f[k].items)
        return {"xlim": first.xlim or _span(xs, log=False, pad=0 if has_image else 0.04),
                "ylim": first.ylim or _span(ys, log=first.ylog, pad=0 if has_image else 0.06)}

    # -- looking up ----------------------------------------------------------------------------------

    def index(self, **values) -> int:
        """The frame number of one setting of every parameter (by value)."""
        missing = [n for n in self.names if n not in values]
        extra = [n for n in values if n not in self.grids]
        if missing or extra:
            raise TypeError(f"give a value for each of {self.names}" + (f"; unknown: {extra}" if extra else ""))
        idx = 0
        for name in self.names:
            grid = self.grids[name]
            v = values[name]
            hits = [i for i, g in enumerate(grid) if g == v]
            if not hits:
                raise ValueError(f"{name}={v!r} is not on the grid {grid}")
            idx = idx * len(grid) + hits[0]
        return idx

    def panels(self, **values) -> list:
        """The panels drawn for one setting of every parameter."""
        return self.frames[self.index(**values)]

    # -- the HTML output -----------------------------------------------------------------------------

    def data(self) -> str:
        """The JSON that the book's script draws: parameters, shared arrays, items, layouts, frames."""
        if self._json is not None:
            return self._json
        arrays, items, metas = {}, {}, {}

        def ref(pool, key):
            return pool.setdefault(key, len(pool))

        def arr(a, relative=False):
            return ref(arrays, _encode_array(a, self.digits, relative))

        frames = []
        for frame in self.frames:
            out = []
            for k, panel in enumerate(frame):
                meta = dict(panel.meta(), **self.limits[k])
                meta = {key: v for key, v in meta.items() if v not in (None, "", False) or key in ("legend", "ticks", "grid")}
                item_refs = []
                for item in panel.items:
                    enc = self._encode_item(item, arr, panel.ylog)
                    item_refs.append(ref(items, json.dumps(enc, sort_keys=True, ensure_ascii=False)))
                out.append([ref(metas, json.dumps(meta, sort_keys=True, ensure_ascii=False)), item_refs])
            frames.append(out)
        params = []
        for name, start in zip(self.names, self.start):
            grid = self.grids[name]
            kind = "checkbox" if _is_switch(grid) else "range"
            params.append({"name": name, "label": self.labels[name], "values": [_value_label(v) for v in grid],
                           "start": start, "kind": kind, "checked": grid.index(True) if kind == "checkbox" else None})
        head = json.dumps({"version": 1, "ncols": self.ncols, "params": params}, ensure_ascii=False)[:-1]
        text = (head + ',"arrays":[' + ",".join(arrays) + '],"items":[' + ",".join(items) + '],"layouts":['
                + ",".join(metas) + '],"frames":' + json.dumps(frames, separators=(",", ":")) + "}")
        if len(text.encode()) > self.max_bytes:
            raise ValueError(f"the explorer's data takes {len(text.encode()) / 1e6:.2f} MB, more than "
                             f"max_bytes={self.max_bytes}: use fewer grid values or fewer points per line")
        self._json = text
        return text

    def _encode_item(self, item, arr, ylog) -> dict:
        t = item["t"]
        if t == "line":
            x, y = item["x"], item["y"]
            if x.size > self.max_points:
                keep = np.unique(np.round(np.linspace(0, x.size - 1, self.max_points)).astype(int))
                x, y = x[keep], y[keep]
            out = {"t": t, "x": arr(x), "y": arr(y, ylog), "c": item["c"], "d": item["d"], "w": item["w"]}
            if item["m"]:
                out["m"] = item["m"]
        elif t == "points":
            out = {"t": t, "x": arr(item["x"]), "y": arr(item["y"], ylog), "c": item["c"], "s": item["s"]}
        elif t == "bars":
            out = {"t": t, "x": arr(item["x"]), "h": arr(item["h"]), "bw": item["bw"], "c": item["c"]}
        elif t in ("vline", "hline"):
            out = {"t": t, "v": float(_fmt(item["v"], 6)), "c": item["c"], "d": item["d"], "w": item["w"]}
        elif t == "text":
            out = {key: item[key] for key in ("t", "s", "k", "ha", "va", "fs", "c")}
            out["x"], out["y"] = item["x"], item["y"]
        elif t == "image":
            out = {"t": t, "src": _png(item), "ext": list(item["ext"]), "smooth": item["smooth"]}
        else:  # pragma: no cover - Panel makes only the kinds above
            raise AssertionError(t)
        if item.get("l"):
            out["l"] = item["l"]
        return out

    def html(self) -> str:
        """The HTML output: a ``div.lossbook-explorer`` holding its data as ``application/json``."""
        data = self.data().replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        names = " × ".join(self.labels[n] for n in self.names)
        return ('<div class="lossbook-explorer tex2jax_ignore mathjax_ignore">'
                f'<p class="lossbook-explorer-fallback">Interactive figure (sliders: {_html.escape(names)}). '
                "It moves in the HTML book, where a script of the book draws it; in JupyterLab, run "
                "the cell to get the sliders.</p>"
                f'<script type="application/json" class="lossbook-explorer-data">{data}</script></div>')

    def _repr_mimebundle_(self, include=None, exclude=None):
        sizes = " x ".join(str(len(self.grids[n])) for n in self.names)
        return {"text/html": self.html(),
                "text/plain": f"<lossbook explorer over {', '.join(self.names)}: {sizes} frames>"}

    def _ipython_display_(self):
        from IPython.display import display

        if os.environ.get(ENV, "").strip().lower() != "html":
            try:
                display(self.widget())
                return
            except ImportError:  # no ipywidgets: the HTML explorer is the next best thing
                pass
        # raw=True publishes the bundle as it is (display(self) would call this method again)
        display(self._repr_mimebundle_(), raw=True)

    # -- the live view -------------------------------------------------------------------------------

    def figure(self, index=None):
        """A matplotlib figure of one frame (by number; the starting frame by default)."""
        import matplotlib.pyplot as plt

        from .plotting import _ensure_style

        _ensure_style()
        if index is None:
            index = 0
            for name, s in zip(self.names, self.start):
                index = index * len(self.grids[name]) + s
        nrows = -(-self.npanels // self.ncols)
        fig, axes = plt.subplots(nrows, self.ncols, figsize=(4.6 * self.ncols, 3.2 * nrows),
                                 squeeze=False, constrained_layout=True)
        for k, (ax, panel) in enumerate(zip(axes.flat, self.frames[index])):
            draw_panel(ax, panel, **self.limits[k])
        for ax in list(axes.flat)[self.npanels:]:
            ax.set_visible(False)
        return fig

    def widget(self):
        """ipywidgets sliders over the grid and the panels they select, drawn with matplotlib."""
        import ipywidgets as widgets
        import matplotlib.pyplot as plt
        from IPython.display import display

        controls = []
        for name, start in zip(self.names, self.start):
            grid = self.grids[name]
            if _is_switch(grid):
                controls.append(widgets.Checkbox(value=grid[start], description=self.labels[name]))
            else:
                controls.append(widgets.SelectionSlider(options=[(_value_label(v), i) for i, v in enumerate(grid)],
                                                        value=start, description=self.labels[name]))
        out = widgets.Output()

        def redraw(_=None):
            index = 0
            for name, control in zip(self.names, controls):
                pos = self.grids[name].index(control.value) if isinstance(control, widgets.Checkbox) else control.value
                index = index * len(self.grids[name]) + pos
            with out:
                out.clear_output(wait=True)
                fig = self.figure(index)
                display(fig)
                plt.close(fig)

        for control in controls:
            control.observe(redraw, "value")
        redraw()
        return widgets.VBox([widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap")), out])


def _span(arrays, *, log, pad):
    values = np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.zeros(0)
    values = values[np.isfinite(values)]
    if log:
        values = values[values > 0]
        if not values.size:
            return (0.1, 10.0)
        lo, hi = np.log10(values.min()), np.log10(values.max())
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        d = (hi - lo) * pad
        return (float(10 ** (lo - d)), float(10 ** (hi + d)))
    if not values.size:
        return (0.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12 * max(1.0, abs(lo)):
        d = max(abs(lo) * 0.1, 0.5)
        return (lo - d, hi + d)
    d = (hi - lo) * pad
    return (lo - d, hi + d)


def _png(item) -> str:
    import matplotlib.image

    buf = io.BytesIO()
    z = np.where(np.isfinite(item["z"]), item["z"], np.nan)
    matplotlib.image.imsave(buf, z, cmap=item["cmap"], vmin=item["vmin"], vmax=item["vmax"], origin="lower",
                            format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def draw_panel(ax, panel: Panel, *, xlim=None, ylim=None, legend=True):
    """Draw a :class:`Panel` on matplotlib axes (the live explorer, or a static figure).

    ``legend=False`` leaves the legend out (small multiples usually show it on one panel only).
    """
    zorder = {"image": 0, "bars": 1, "line": 2, "points": 2.5, "vline": 1.5, "hline": 1.5, "text": 3}
    for item in panel.items:
        t, z = item["t"], zorder[item["t"]]
        label = item.get("l") or None
        if t == "line":
            ax.plot(item["x"], item["y"], color=item["c"], ls=item["d"], lw=item["w"], label=label, zorder=z,
                    marker=item["m"], ms=3)
        elif t == "points":
            ax.plot(item["x"], item["y"], "o", color=item["c"], ms=item["s"], label=label, zorder=z)
        elif t == "bars":
            ax.bar(item["x"], item["h"], width=item["bw"], color=item["c"], label=label, zorder=z)
        elif t == "vline":
            ax.axvline(item["v"], color=item["c"], ls=item["d"], lw=item["w"], zorder=z)
        elif t == "hline":
            ax.axhline(item["v"], color=item["c"], ls=item["d"], lw=item["w"], zorder=z)
        elif t == "text":
            kw = {"transform": ax.transAxes} if item["k"] == "axes" else {}
            ax.text(item["x"], item["y"], item["s"], ha=item["ha"], va=item["va"], fontsize=item["fs"],
                    color=item["c"], zorder=z, **kw)
        elif t == "image":
            ax.imshow(item["z"], extent=item["ext"], origin="lower", cmap=item["cmap"], vmin=item["vmin"],
                      vmax=item["vmax"], aspect="auto", interpolation="bilinear" if item["smooth"] else "nearest",
                      zorder=z)
    ax.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
    if panel.ylog:
        ax.set_yscale("log")
    xlim, ylim = panel.xlim or xlim, panel.ylim or ylim
    if xlim:
        ax.set_xlim(xlim)
    if ylim:
        ax.set_ylim(ylim)
    if panel.aspect == "equal":
        ax.set_aspect("equal")
    if not panel.ticks:
        ax.set_xticks([])
        ax.set_yticks([])
    if panel.grid:
        ax.grid(alpha=0.3)
    if legend and panel.legend and any(it.get("l") for it in panel.items):
        ax.legend(loc=panel.legend, fontsize=8)
    return ax


def explorer(curves, *, labels=None, ncols=None, max_points=200, digits=4, max_bytes=1_500_000, **grid):
    """Sliders over ``grid``, drawing ``curves(**values)``: live in JupyterLab, offline in the HTML book.

    Args:
        curves: a function of the parameters (by keyword) that returns a :class:`Panel` or a list
            of them. Its default values choose where the sliders start.
        **grid: one list of values per parameter, e.g. ``gamma=[0.0, 0.5, 1.0]``; a slider steps
            over the list (a ``[False, True]`` grid is a checkbox). Every combination is computed
            once, when the cell runs.
        labels: the sliders' names, e.g. ``{"temperature": "T"}`` (``gamma`` is shown as γ, …).
        ncols: panels per row (at most 2 by default).
        max_points: lines with more points are thinned to this many in the HTML data.
        digits: significant digits kept in the HTML data.
        max_bytes: the HTML data may not be larger (a page of the book stays small).

    Returns:
        An :class:`Explorer`; as a cell's last value it shows ipywidgets sliders in a live kernel,
        or, when ``LOSSBOOK_EXPLORER=html`` (the book build), the HTML explorer.
    """
    return Explorer(curves, grid, labels=labels, ncols=ncols, max_points=max_points, digits=digits,
                    max_bytes=max_bytes)
