"""The book's explorers move in the HTML: ship their script once and load it where it is needed.

``lb.plotting.explorer`` (``lossbook/explorer.py``) writes each explorer into its notebook's output
as a ``div.lossbook-explorer`` holding its precomputed frames as JSON.  This extension

* copies ``lossbook/static/`` (``lossbook-explorer.js`` and ``.css``) into the book's ``_static``
  folder, once for the whole book;
* adds the two files to the pages that hold an explorer, and to no other page;
* sets ``LOSSBOOK_EXPLORER=html`` before any notebook runs, so that a notebook the build has to
  execute itself writes the HTML explorer, not ipywidgets (nbval's plugin ``tests/nbcache.py``
  does the same for the notebooks it executes and caches).
"""
from __future__ import annotations

import importlib.util
import os
import pathlib

MARK = "lossbook-explorer"


def _static_dir() -> pathlib.Path:
    spec = importlib.util.find_spec("lossbook")  # without importing it (and torch)
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "static"


def _add_static(app, config):
    config.html_static_path = [*config.html_static_path, str(_static_dir())]


def _add_assets(app, pagename, templatename, context, doctree):
    if MARK in context.get("body", ""):
        app.add_css_file("lossbook-explorer.css")
        app.add_js_file("lossbook-explorer.js", loading_method="defer")


def setup(app):
    os.environ.setdefault("LOSSBOOK_EXPLORER", "html")
    app.connect("config-inited", _add_static)
    app.connect("html-page-context", _add_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
