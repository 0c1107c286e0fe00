"""help(lb.huber) reads like torch's and optax's docs: the call, the formula, Args, Returns, an example."""
import pydoc

import pytest

import lossbook as lb


@pytest.mark.parametrize("name", list(lb.LOSSES))
def test_every_loss_documents_its_call_arguments_and_an_example(name):
    loss = lb.LOSSES[name]
    doc = loss.__doc__
    assert doc.splitlines()[0] == f"{name}{loss.__signature__}"
    for section in ("Args:", "Returns:", "Example:", f"lb.{name}.torch()"):
        assert section in doc
    for arg in loss.arg_names:
        assert f"    {arg}: " in doc
    for key, hyper in loss.hyper.items():  # the registry's Hyper docs, shown at last
        assert f"    {key}: " in doc and f"Default ``{hyper.default!r}``" in doc
    assert name in lb.__test__  # so that the example runs as a doctest


def test_help_shows_the_signature_the_hyperparameters_and_the_example():
    text = pydoc.render_doc(lb.huber, renderer=pydoc.plaintext)
    assert "huber(y_true, y_pred, *, reduction='mean', sample_weight=None, delta=1.0)" in text
    assert "delta: where the loss turns from quadratic to linear. Default ``1.0``" in text
    assert ">>> lb.huber.torch()(*t).backward()" in text


def test_docstrings_are_raw_so_their_maths_reads_as_written():
    """A docstring's LaTeX is written once, in a raw string: no doubled backslashes in the source."""
    import ast
    import pathlib

    doubled = []
    for path in sorted((pathlib.Path(lb.__file__).parent).glob("*.py")):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module)) and ast.get_docstring(node):
                literal = ast.get_source_segment(source, node.body[0].value)
                if "\\\\" in literal and not literal.lower().startswith("r"):
                    doubled.append(f"{path.name}:{node.body[0].lineno}")
    assert not doubled, f"write these docstrings as r'''...''' with single backslashes: {doubled}"


def test_every_chapter_that_derives_a_loss_shows_the_package_code(repo_root):
    """The book links to the package: each such chapter includes its losses' source, read at build time."""
    import json

    for chapter in sorted({loss.chapter for loss in lb.LOSSES.values()}):
        path = repo_root / "book" / f"{chapter}.ipynb"
        if path.exists():
            nb = json.loads(path.read_text())
            markdown = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        else:  # a chapter written in MyST Markdown (or its placeholder)
            path = path.with_suffix(".md")
            markdown = path.read_text()
        assert "```{lossbook-source}" in markdown, f"book/{path.name}: add a {{lossbook-source}} block"


def test_every_reference_key_is_in_the_bibliography(repo_root):
    """A loss's ``references`` name entries of book/references.bib, shown by help() and the API page."""
    import re

    keys = set(re.findall(r"^@\w+\{([^,]+),", (repo_root / "book" / "references.bib").read_text(), re.M))
    missing = {(name, k) for name, loss in lb.LOSSES.items() for k in loss.references if k not in keys}
    assert not missing, f"reference keys not in book/references.bib: {sorted(missing)}"
    assert "``huber1964robust``" in lb.huber.__doc__ and "References:" in lb.huber.__doc__
