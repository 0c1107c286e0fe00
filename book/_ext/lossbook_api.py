"""Sphinx directive ``lossbook-family``: the API reference of one loss family, from the registry.

``.. lossbook-family:: regression`` expands to an ``autofunction`` entry (signature and docstring,
formula included) for every registered loss of that family, followed by a link to the chapter that
derives it and the framework counterparts with their recipes.  A loss added to the package appears
in the reference without anyone editing a page.
"""
from __future__ import annotations

import inspect
import pathlib
import re

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx import addnodes

import lossbook as lb


def _plain(text: str) -> str:
    """Recipes are plain text: escape what reStructuredText would read as markup (|x| is a substitution)."""
    return re.sub(r"([\\`*_|])", r"\\\1", text)


class LossFamily(Directive):
    required_arguments = 1

    def run(self):
        family = self.arguments[0]
        names = lb.families().get(family)
        if not names:
            raise self.error(f"no registered loss in family {family!r}; families: {sorted(lb.families())}")
        lines: list[str] = []
        for name in names:
            loss = lb.LOSSES[name]
            lines += [f".. autofunction:: lossbook.{name}", ""]
            env = self.state.document.settings.env
            # a chapter still being written is not in the table of contents: name it, without a link
            chapter = (f":doc:`/book/{loss.chapter}`" if f"book/{loss.chapter}" in env.found_docs
                       else f"in preparation (``book/{loss.chapter}``)")
            lines += [f"   **Chapter:** {chapter}. **Gradient:** ``lossbook.{name}.grad`` "
                      f"(same arguments). **Bridge:** ``lossbook.{name}.torch()``, ``lossbook.{name}.keras()``.", ""]
            if loss.counterparts:
                lines += ["   **Counterparts:**", ""]
                for c in loss.counterparts:
                    recipe = _plain(c.recipe)
                    lines += [f"   - {c.framework}: ``{c.name}``: {recipe}"]
                lines += [""]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=f"lossbook-family {family}"), self.content_offset, container)
        return container.children


def chapter_losses(docname: str) -> list[str]:
    """The registered losses whose ``chapter`` is this page (``book/regression/mse`` -> MSE)."""
    chapter = docname.removeprefix("book/")
    return [name for name, loss in lb.LOSSES.items() if loss.chapter == chapter]


class LossbookSource(Directive):
    """``{lossbook-source}``: the package's implementation of every loss this chapter derives.

    For each registered loss whose ``chapter`` is the current page, a collapsed block with the
    source of its per-sample function (value and gradient), read from the package when the book
    builds (so it cannot drift from the code), where it lives, and a link to its API entry.
    """

    def run(self):
        env = self.state.document.settings.env
        names = chapter_losses(env.docname)
        if not names:
            raise self.error(f"no registered loss names {env.docname!r} as its chapter")
        root = pathlib.Path(lb.__file__).resolve().parents[1]
        out = []
        for name in names:
            fn = lb.LOSSES[name]._per_sample
            lines, start = inspect.getsourcelines(fn)
            path = pathlib.Path(inspect.getsourcefile(fn)).resolve().relative_to(root)
            box = nodes.admonition(classes=["dropdown", "lossbook-source"])
            box += nodes.title(text=f"lossbook.{name}: the package's code")
            para = nodes.paragraph()
            para += nodes.Text("The value and the gradient, as ")
            ref = addnodes.pending_xref("", refdomain="py", reftype="func", reftarget=f"lossbook.{name}",
                                        refexplicit=True, refwarn=True, refdoc=env.docname)
            ref += nodes.literal(text=f"lossbook.{name}")
            para += ref
            para += nodes.Text(f" computes them ({path}, lines {start}-{start + len(lines) - 1}):")
            box += para
            code = nodes.literal_block("".join(lines), "".join(lines), language="python")
            box += code
            out.append(box)
        return out


def setup(app):
    app.add_directive("lossbook-family", LossFamily)
    app.add_directive("lossbook-source", LossbookSource)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
