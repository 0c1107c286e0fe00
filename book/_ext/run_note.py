"""A "run this notebook" note at the top of every chapter written as a notebook.

Every ``.ipynb`` page gets, right under its title, a short note saying where the notebook lives in
the repository and how to run it (``make lab``), so a reader of the HTML knows that every number on
the page is computed and can be recomputed.  Adding it here, at build time, keeps the notebooks
themselves free of boilerplate; pages written in Markdown get nothing.
"""
from __future__ import annotations

from docutils import nodes


def _add_note(app, doctree):
    env = app.env
    source = str(env.doc2path(env.docname))
    if not source.endswith(".ipynb"):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        return
    path = f"{env.docname}.ipynb"
    para = nodes.paragraph()
    para += nodes.Text("Every number on this page is computed by the notebook ")
    para += nodes.literal(text=path)
    para += nodes.Text(" when the book builds. To run it yourself, clone the repository and type ")
    para += nodes.literal(text="make lab")
    para += nodes.Text(": it runs offline, seeded, on a CPU in under two minutes.")
    note = nodes.admonition(classes=["tip", "run-this-notebook"])
    note += nodes.title(text="Run this notebook")
    note += para
    section.insert(1, note)


def setup(app):
    app.connect("doctree-read", _add_note)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
