"""lb.plotting.explorer: the data the HTML book draws is the curves function on the grid, and misuse
is reported by name.

The book's script (lossbook/static/lossbook-explorer.js) only reads the JSON checked here; that it
draws it and moves with the sliders is checked in a browser by tests/browser/test_html.py.
"""
from __future__ import annotations

import itertools
import json
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import lossbook as lb
from lossbook.explorer import ENV, _encode_array
from lossbook.plotting import Panel, draw_panel, explorer

X = np.linspace(-2.0, 3.0, 101)


def hinge_curves(margin=1.0, squared=False, score=0.5):
    """A loss that depends on two parameters and a marker that depends on a third."""
    loss = Panel("hinge", xlabel="score s", ylabel="loss", ylim=(0, 9))
    power = 2 if squared else 1
    loss.line(X, np.maximum(0.0, margin - X) ** power, label="loss")
    loss.points([score], [max(0.0, margin - score) ** power], color="k")
    loss.vline(margin)
    grad = Panel("gradient", xlabel="score s")
    grad.line(X, -power * np.maximum(0.0, margin - X) ** (power - 1) * (X < margin), dash="--")
    return loss, grad


GRID = {"margin": [0.5, 1.0, 2.0], "squared": [False, True], "score": [-1.0, 0.5, 2.5]}


def decode(ex):
    """The frames as the script sees them: panel by panel, items with their arrays resolved."""
    data = json.loads(ex.data())
    frames = []
    for frame in data["frames"]:
        panels = []
        for layout_ref, item_refs in frame:
            items = []
            for ref in item_refs:
                item = dict(data["items"][ref])
                for key in ("x", "y", "h"):
                    if key in item and item["t"] in ("line", "points", "bars"):
                        item[key] = np.array([np.nan if v is None else v for v in data["arrays"][item[key]]])
                items.append(item)
            panels.append((data["layouts"][layout_ref], items))
        frames.append(panels)
    return data, frames


def test_the_data_for_every_grid_point_is_the_curves_function_there():
    ex = explorer(hinge_curves, **GRID)
    data, frames = decode(ex)
    combos = list(itertools.product(*GRID.values()))
    assert len(frames) == len(combos) == 3 * 2 * 3
    for frame, combo in zip(frames, combos):  # row-major: the last parameter varies fastest
        expected = hinge_curves(**dict(zip(GRID, combo)))
        assert len(frame) == len(expected)
        for (layout, items), panel in zip(frame, expected):
            assert layout["title"] == panel.title and layout["xlabel"] == panel.xlabel
            assert [it["t"] for it in items] == [it["t"] for it in panel.items]
            for got, want in zip(items, panel.items):
                if want["t"] in ("line", "points"):
                    for key in ("x", "y"):
                        scale = max(1.0, np.max(np.abs(want[key])))
                        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=scale * 1e-3)
                    assert got["c"] == want["c"]
                elif want["t"] == "vline":
                    assert got["v"] == pytest.approx(want["v"])


def test_sliders_list_the_grid_and_start_at_the_functions_defaults():
    data, _ = decode(explorer(hinge_curves, **GRID))
    params = {p["name"]: p for p in data["params"]}
    assert params["margin"]["values"] == ["0.5", "1", "2"] and params["margin"]["kind"] == "range"
    assert params["margin"]["start"] == 1  # margin=1.0
    assert params["squared"]["kind"] == "checkbox" and params["squared"]["start"] == 0
    assert params["score"]["start"] == 1  # score=0.5
    # a default that is not on the grid: the first value
    assert json.loads(explorer(hinge_curves, margin=[0.25, 2.0]).data())["params"][0]["start"] == 0
    # a grid rounded from arange holds -0.0: it is shown, and passed, as 0
    ex = explorer(hinge_curves, margin=list(np.round(np.arange(-0.2, 0.21, 0.1), 1)))
    assert json.loads(ex.data())["params"][0]["values"] == ["-0.2", "-0.1", "0", "0.1", "0.2"]
    assert str(ex.grids["margin"][2]) == "0.0"


def test_what_does_not_move_is_written_once():
    ex = explorer(hinge_curves, **GRID)
    data, _ = decode(ex)
    # the loss curve depends on margin and squared only: 6 distinct curves, not 18
    n_lines = sum(1 for it in data["items"] if it["t"] == "line" and "l" in it)
    assert n_lines == 6
    assert len(data["arrays"]) < 3 * 18  # x is shared by every line
    assert sum(1 for a in data["arrays"] if len(a) == X.size) <= 1 + 6 + 6


def test_axis_limits_are_fixed_over_the_whole_grid():
    ex = explorer(hinge_curves, **GRID)
    data, frames = decode(ex)
    grads = [layout for frame in frames for layout, _ in frame[1:]]
    assert len({json.dumps([g["xlim"], g["ylim"]]) for g in grads}) == 1
    lo, hi = grads[0]["ylim"]
    assert lo < -2 * 2.5 and hi >= 0  # squared hinge at margin 2 reaches -2 * 4 at s = -2
    assert frames[0][0][0]["ylim"] == [0, 9]  # the panel's own


def test_long_lines_are_thinned_keeping_their_ends_and_gaps_stay_gaps():
    x = np.linspace(0, 1, 1001)

    def curves(k=1):
        y = np.sin(k * x)
        y[500] = np.nan
        return Panel().line(x, y)

    _, frames = decode(explorer(curves, k=[1, 2], max_points=50))
    line = frames[0][0][1][0]
    assert len(line["x"]) <= 50 and line["x"][0] == 0 and line["x"][-1] == 1
    thinned = explorer(curves, k=[1, 2], max_points=2000)
    _, frames = decode(thinned)
    assert np.isnan(frames[0][0][1][0]["y"][500])


def test_numbers_are_rounded_to_the_arrays_scale_or_to_significant_digits():
    assert _encode_array([1234.5678, 0.00012, -0.6], 4, False) == "[1235,0,-1]"
    assert _encode_array([3.14159, 0.0123, 0.000123], 4, False) == "[3.142,0.012,0]"
    assert _encode_array([3.14159e-9, 1.0], 4, True) == "[3.142e-09,1]"
    assert _encode_array([np.nan, np.inf, 1.0], 4, False) == "[null,null,1]"


def test_the_html_carries_its_data_as_json_that_cannot_close_its_script():
    def curves(k=1):
        return Panel("a </script> title").line([0, 1], [0, k], label="<b>&")

    ex = explorer(curves, k=[1, 2])
    html = ex.html()
    assert html.startswith('<div class="lossbook-explorer')
    body = re.search(r'<script type="application/json" class="lossbook-explorer-data">(.*)</script></div>$', html, re.S)
    assert body and "</" not in body.group(1) and "<" not in body.group(1)
    assert json.loads(body.group(1))["layouts"][0]["title"] == "a </script> title"
    bundle = ex._repr_mimebundle_()
    assert bundle["text/html"] == html and "k" in bundle["text/plain"]


def test_the_html_mode_displays_the_html_and_otherwise_ipywidgets(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()  # display() publishes through a shell, as in a kernel
    ex = explorer(hinge_curves, **GRID)
    monkeypatch.setenv(ENV, "html")
    with capture_output() as shown:
        ex._ipython_display_()
    assert not shown.stderr and not shown.stdout
    assert [list(o.data) for o in shown.outputs] == [["text/html", "text/plain"]]
    assert shown.outputs[0].data["text/html"] == ex.html()
    monkeypatch.delenv(ENV)
    with capture_output() as shown:
        ex._ipython_display_()
    assert not shown.stderr
    assert any("application/vnd.jupyter.widget-view+json" in o.data for o in shown.outputs)
    box = ex.widget()
    controls = box.children[0].children
    assert [type(c).__name__ for c in controls] == ["SelectionSlider", "Checkbox", "SelectionSlider"]
    assert [label for label, _ in controls[0].options] == ["0.5", "1", "2"]


def test_the_live_figure_draws_the_same_panels():
    ex = explorer(hinge_curves, **GRID)
    fig = ex.figure(ex.index(margin=2.0, squared=True, score=0.5))
    loss_ax = fig.axes[0]
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), np.maximum(0, 2.0 - X) ** 2)
    assert loss_ax.get_ylim() == (0, 9) and loss_ax.get_title() == "hinge"
    assert fig.axes[1].get_ylim() == pytest.approx(tuple(ex.limits[1]["ylim"]))
    matplotlib.pyplot.close(fig)
    ax = matplotlib.pyplot.figure().gca()
    draw_panel(ax, Panel(legend="upper left").bars([0, 1], [2, 3], label="b").text(0.5, 0.5, "t"))
    assert len(ax.patches) == 2 and ax.texts[0].get_text() == "t" and ax.get_legend() is not None
    ax = matplotlib.pyplot.figure().gca()
    draw_panel(ax, Panel().line([0, 1], [0, 1], label="a"), legend=False)
    assert ax.get_legend() is None
    matplotlib.pyplot.close("all")


def test_a_panel_uses_the_books_colours():
    p = Panel().line([0, 1], [0, 1]).line([0, 1], [1, 0]).line([0, 1], [1, 1], color="C4")
    assert [it["c"] for it in p.items] == [lb.plotting.COLORS["lossbook"], lb.plotting.COLORS["torch"], "#c0392b"]


@pytest.mark.parametrize("call, error, words", [
    (lambda: explorer("not a function", k=[1]), TypeError, "curves must be a function"),
    (lambda: explorer(hinge_curves), ValueError, "at least one parameter grid"),
    (lambda: explorer(hinge_curves, margin=(0.25, 2.0, 0.25)), TypeError, "margin must be a list"),
    (lambda: explorer(hinge_curves, margin=0.5), TypeError, "margin must be a list"),
    (lambda: explorer(hinge_curves, margin=[]), ValueError, "margin must hold at least one value"),
    (lambda: explorer(hinge_curves, margin=[1.0, 1.0]), ValueError, "margin holds 1.0 twice"),
    (lambda: explorer(hinge_curves, margin=[1.0, "big"]), TypeError, "margin mixes kinds"),
    (lambda: explorer(hinge_curves, margin=[1.0, float("nan")]), ValueError, "margin holds a non-finite"),
    (lambda: explorer(hinge_curves, margin=[[1.0]]), TypeError, "margin must hold numbers"),
    (lambda: explorer(hinge_curves, gamma=[1.0]), TypeError, "takes no parameter 'gamma'"),
    (lambda: explorer(lambda k, j: Panel(), k=[1]), TypeError, "needs a value for 'j'"),
    (lambda: explorer(lambda k: None, k=[1]), TypeError, "curves(k=1) returned NoneType"),
    (lambda: explorer(lambda k: [Panel()] * k, k=[1, 2]), ValueError, "same number of panels"),
    (lambda: explorer(lambda k, j: Panel(), k=list(range(50)), j=list(range(50))), ValueError, "max_frames"),
    (lambda: explorer(lambda k=1: Panel(), k=[1], labels={"q": "q"}), ValueError, "labels names parameters"),
    (lambda: explorer(lambda k=1: Panel(), k=[1], ncols=0), ValueError, "ncols must be"),
    (lambda: explorer(lambda k: Panel().line(np.arange(5000.0), np.arange(5000.0) * k), k=list(range(1, 200)),
                      max_points=5000, max_bytes=100_000).data(), ValueError, "max_bytes=100000"),
    (lambda: Panel("$\\gamma$"), ValueError, "title must be plain text"),
    (lambda: Panel(ylim=(1, 0)), ValueError, "ylim must be (low, high)"),
    (lambda: Panel(legend="top"), ValueError, "legend must be"),
    (lambda: Panel().line([0, 1], [0]), ValueError, "x and y must have the same length"),
    (lambda: Panel().line([0, 1], [0, 1], color="blurple"), ValueError, "color must be a matplotlib colour"),
    (lambda: Panel().line([0, 1], [0, 1], dash="~"), ValueError, "dash must be"),
    (lambda: Panel().text(0, 0, "t", coords="pixels"), ValueError, "coords must be"),
    (lambda: Panel().image(np.zeros(3), extent=(0, 1, 0, 1)), ValueError, "z must be 2-D"),
])
def test_mistakes_are_reported_by_name(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_loss_and_grad_panels_hold_the_losss_values_and_gradients():
    e = np.linspace(-3, 3, 61)
    loss, grad = lb.plotting.loss_and_grad_panels(lb.huber, 0.0, e, xlabel="error e", label="Huber", delta=0.5)
    values, grads = lb.huber.value_and_grad(np.zeros_like(e), e, reduction="none", delta=0.5)
    assert loss.items[1]["l"] == "Huber" and loss.xlabel == "error e" and grad.title == "gradient"
    np.testing.assert_array_equal(loss.items[1]["y"], values)
    np.testing.assert_array_equal(grad.items[1]["y"], grads)
