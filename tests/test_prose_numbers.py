"""A number typed by hand into the book's prose must be computed, defined or cited.

Every number in a notebook's markdown must be one of:

* computed: pasted by ``{glue}`` from the cell that computes it (and asserts it where it is a claim);
* inside maths or code, where it is a derivation or a definition on the page;
* a small count (0 to 10), a year, a section or seed label ("seed 003"), a citation;
* on the page's own short list, ``metadata.lossbook.prose_numbers`` in the notebook (for the
  Markdown pages, ``MD_ALLOWED`` below), each with its reason, which starts with one of
  ``REASONS``: a hyperparameter or constant the text sets, a published figure (with its source),
  a property of a data set, a label.

Measured-sounding phrases ("six times slower", "3x faster") are caught the same way. A listed
number that no longer appears must leave the list, so the lists cannot grow stale.
"""
from __future__ import annotations

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
REASONS = ("hyperparameter", "published", "definition", "data", "label", "derived")

# Markdown pages have no notebook metadata: their lists live here.
MD_ALLOWED: dict[str, dict[str, str]] = {}

_STRIP = [
    (re.compile(r"\$\$.*?\$\$", re.S), " "),                 # display maths
    (re.compile(r"^```.*?^```", re.S | re.M), " "),           # fenced code and directives' code
    (re.compile(r"(?<!\\)\$[^$\n]+\$"), " "),                  # inline maths
    (re.compile(r"\{[\w:-]+\}`[^`]*`"), " "),                  # roles: {glue}`x`, {cite}`k`, {eq}`l`, {doc}`p`
    (re.compile(r"``.+?``"), " "),                             # inline code, double backticks
    (re.compile(r"`[^`\n]*`"), " "),                           # inline code
    (re.compile(r"\]\([^)]*\)"), "]"),                         # link targets
    (re.compile(r"^\s*:[\w-]+:.*$", re.M), " "),               # directive options (:label:, :class:)
    (re.compile(r"^\s*\(.*\)=\s*$", re.M), " "),               # MyST targets (label)=
    (re.compile(r"^#+ .*$", re.M), " "),                       # headings (chapter and seed labels)
    (re.compile(r"<[^>\n]+>"), " "),                           # HTML tags and their attributes
    (re.compile(r"\b[Ss]eeds?\s+\d{3}(?:(?:,|\s+and|\s+or|/)\s*\d{3})*"), " "),  # the articles' labels
    (re.compile(r"\b(?:19|20)\d\d[a-z]?\b"), " "),             # years
    (re.compile(r"\b\d+(?:\.\d+)*\s*(?:px|pt|em)\b"), " "),    # layout
]
_NUMBER = re.compile(r"(?<![\w.\-/])\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?%?")
_MULTIPLIER = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|fifty|hundred|"
    r"thousand|a few|\d+(?:\.\d+)?)\s+times\s+(?:faster|slower|larger|smaller|more|less|higher|lower|as)\b"
    r"|\b\d+(?:\.\d+)?\s*[x×]\s*(?:faster|slower)?\b", re.I)
_SMALL = {str(i) for i in range(11)}


def prose_tokens(markdown: str) -> list[str]:
    """The hand-typed numbers and multipliers of a markdown text, after what is allowed is removed."""
    text = markdown
    for pattern, repl in _STRIP:
        text = pattern.sub(repl, text)
    found = [m.group(0).strip() for m in _MULTIPLIER.finditer(text)]
    text = _MULTIPLIER.sub(" ", text)
    for m in _NUMBER.finditer(text):
        token = m.group(0).rstrip(",.")
        if token.rstrip("%") in _SMALL or not token:
            continue
        found.append(token)
    return found


def unlisted(tokens: list[str], allowed: dict[str, str]) -> list[str]:
    return sorted({t for t in tokens if t not in allowed})


def bad_reasons(allowed: dict[str, str]) -> list[str]:
    return sorted(k for k, why in allowed.items() if not str(why).split(":")[0].strip() in REASONS)


def _pages():
    for path in sorted((ROOT / "book").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts or "_build" in path.parts:
            continue
        nb = json.loads(path.read_text())
        md = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        allowed = nb.get("metadata", {}).get("lossbook", {}).get("prose_numbers", {})
        yield path.relative_to(ROOT).as_posix(), md, allowed
    for path in sorted((ROOT / "book").rglob("*.md")):
        rel = path.relative_to(ROOT).as_posix()
        yield rel, path.read_text(), MD_ALLOWED.get(rel, {})


PAGES = list(_pages())


@pytest.mark.parametrize("page, markdown, allowed", PAGES, ids=[p[0] for p in PAGES])
def test_every_number_in_the_prose_is_computed_defined_or_cited(page, markdown, allowed):
    missing = unlisted(prose_tokens(markdown), allowed)
    assert not missing, (
        f"{page}: numbers typed into the prose: {missing}. Glue each from the cell that computes "
        "it, or list it with its reason in the notebook's metadata.lossbook.prose_numbers")


@pytest.mark.parametrize("page, markdown, allowed", PAGES, ids=[p[0] for p in PAGES])
def test_the_lists_of_allowed_numbers_are_justified_and_current(page, markdown, allowed):
    assert not bad_reasons(allowed), f"{page}: reasons must start with one of {REASONS}"
    stale = sorted(set(allowed) - set(prose_tokens(markdown)))
    assert not stale, f"{page}: listed but no longer in the prose, remove them: {stale}"


def test_a_planted_timing_or_ratio_is_caught():
    page = "We fit the model (see {glue}`fit_time` s). Each epoch costs about 20 s."
    assert unlisted(prose_tokens(page), {}) == ["20"]
    assert unlisted(prose_tokens("The fused kernel is six times slower."), {}) == ["six times slower"]
    assert unlisted(prose_tokens("lossbook is 1.6x faster here."), {}) == ["1.6x faster"]
    allowed = {"20": "hyperparameter: the epoch budget the text sets"}
    assert unlisted(prose_tokens(page), allowed) == []


def test_what_is_allowed_without_a_list():
    page = ("The loss $\\ell = 0.5 e^2$ and ``np.clip(p, 1e-7, 1)``; {cite}`lin2017focal` (2017) "
            "uses three layers. Seed 003 and seeds 001/002 trained for 5 epochs.\n\n"
            "$$ L = \\frac{1}{N} \\sum_{i=1}^{300} x_i $$\n")
    assert prose_tokens(page) == []
