"""Sphinx directive ``lossbook-family``: the API reference of one loss family, from the registry.

``.. lossbook-family:: regression`` expands to an ``autofunction`` entry (signature and docstring,
formula included) for every registered loss of that family, followed by a link to the chapter that
derives it and the framework counterparts with their recipes.  A loss added to the package appears
in the reference without anyone editing a page.
"""
from __future__ import annotations

import re

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

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
            lines += [f"   **Chapter:** :doc:`/book/{loss.chapter}`. **Gradient:** ``lossbook.{name}.grad`` "
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


def setup(app):
    app.add_directive("lossbook-family", LossFamily)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
