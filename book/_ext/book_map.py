"""Sphinx directive ``book-map``: the map of the book, generated from ``_toc.yml``.

For every part of the table of contents the directive renders the part's caption, an optional
one-line description, and a link to each of its chapters, titled with the chapter's own title.
A chapter added to ``_toc.yml`` therefore appears in the map without anyone editing the page.

The directive's content holds the descriptions, one per line, keyed by caption::

    ```{book-map}
    Foundations: what a loss is, and the chapter every other one follows.
    Regression losses: losses for a real-valued target.
    ```

A description whose caption is not a part of ``_toc.yml`` is an error, so the descriptions cannot
go stale either. The links are ``pending_xref`` nodes of the ``std:doc`` kind (what ``{doc}``
produces), resolved by Sphinx: a missing page warns, and the build runs with ``-W``.
"""
from __future__ import annotations

import pathlib

import yaml
from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes


def _entries(items: list[dict]) -> list[str]:
    """The documents of a list of toc entries, depth first (a chapter's sections follow it)."""
    docs: list[str] = []
    for item in items or []:
        if "file" in item:
            docs.append(str(item["file"]).removesuffix(".md").removesuffix(".ipynb"))
        docs += _entries(item.get("sections", []))
        docs += _entries(item.get("chapters", []))  # nested parts
    return docs


def toc_parts(toc: dict) -> list[dict]:
    """``[{"caption": ..., "docs": [docname, ...]}, ...]``, one per part of a jb-book ``_toc.yml``.

    The root page is not a chapter of any part and is left out. A toc without parts (a flat list of
    chapters) is one part without a caption.
    """
    if "parts" in toc:
        return [{"caption": str(part.get("caption", "")), "docs": _entries(part.get("chapters", []))}
                for part in toc["parts"]]
    return [{"caption": "", "docs": _entries(toc.get("chapters", []))}]


def parse_descriptions(lines: list[str], captions: list[str]) -> dict[str, str]:
    """``{caption: description}`` from ``Caption: text`` lines; a caption not in ``captions`` raises."""
    out: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            continue
        caption, sep, text = line.partition(":")
        caption = caption.strip()
        if not sep or caption not in captions:
            raise ValueError(f"book-map: {line.strip()!r} does not start with a part's caption and a colon; "
                             f"the parts of _toc.yml are {captions}")
        if caption in out:
            raise ValueError(f"book-map: two descriptions for {caption!r}")
        out[caption] = text.strip()
    return out


def _toc_path(app) -> pathlib.Path:
    name = getattr(app.config, "external_toc_path", None) or "_toc.yml"
    path = pathlib.Path(name)
    return path if path.is_absolute() else pathlib.Path(app.srcdir) / path


def _doc_link(docname: str, refdoc: str) -> addnodes.pending_xref:
    """What ``{doc}`/docname``` produces: a link titled with the page's own title."""
    ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget="/" + docname,
                                refexplicit=False, refwarn=True, refdoc=refdoc)
    ref += nodes.inline("", docname, classes=["xref", "std", "std-doc"])
    return ref


class BookMap(Directive):
    has_content = True

    def run(self):
        env = self.state.document.settings.env
        path = _toc_path(env.app)
        env.note_dependency(str(path))  # a change to the toc rebuilds the page that holds the map
        parts = toc_parts(yaml.safe_load(path.read_text()))
        try:
            descriptions = parse_descriptions(list(self.content), [p["caption"] for p in parts])
        except ValueError as err:
            raise self.error(str(err)) from None
        bullets = nodes.bullet_list(classes=["book-map"])
        for part in parts:
            para = nodes.paragraph()
            if part["caption"]:
                para += nodes.strong(text=part["caption"])
                para += nodes.Text(": ")
            if descriptions.get(part["caption"]):
                para += nodes.Text(descriptions[part["caption"]].rstrip(".") + ". Chapters: ")
            for k, doc in enumerate(part["docs"]):
                if k:
                    para += nodes.Text("; ")
                para += _doc_link(doc, env.docname)
            para += nodes.Text(".")
            bullets += nodes.list_item("", para)
        return [bullets]


def setup(app):
    app.add_directive("book-map", BookMap)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
