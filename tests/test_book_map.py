"""The intro's map of the book is generated from _toc.yml: no toc entry may be left out of it."""
from __future__ import annotations

import pathlib
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from book_map import parse_descriptions, toc_parts  # noqa: E402


def _toc_files(node) -> set[str]:
    """Every ``file:`` anywhere in a toc, however it is nested (the test's own independent walk)."""
    if isinstance(node, dict):
        found = {str(node["file"])} if "file" in node else set()
        return found.union(*(_toc_files(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_toc_files(v) for v in node)) if node else set()
    return set()


def test_every_entry_of_the_books_toc_is_on_the_map():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = toc_parts(toc)
    mapped = [doc for part in parts for doc in part["docs"]]
    assert sorted(mapped) == sorted(_toc_files(toc["parts"]))
    assert [p["caption"] for p in parts] == [p["caption"] for p in toc["parts"]]
    for doc in mapped:  # each entry is a page of the book
        assert any((ROOT / f"{doc}{ext}").exists() for ext in (".md", ".ipynb")), doc


def test_nested_sections_and_suffixes():
    toc = {"root": "intro", "parts": [
        {"caption": "A", "chapters": [{"file": "a/one.ipynb", "sections": [{"file": "a/one-b"}]}, {"file": "a/two.md"}]},
        {"caption": "B", "chapters": [{"file": "b/three"}]}]}
    assert toc_parts(toc) == [{"caption": "A", "docs": ["a/one", "a/one-b", "a/two"]},
                              {"caption": "B", "docs": ["b/three"]}]
    assert toc_parts({"root": "intro", "chapters": [{"file": "x"}]}) == [{"caption": "", "docs": ["x"]}]


def test_the_intro_uses_the_generated_map_and_its_descriptions_are_parts():
    intro = (ROOT / "book" / "intro.md").read_text()
    body = intro.split("```{book-map}", 1)[1].split("```", 1)[0]
    captions = [p["caption"] for p in toc_parts(yaml.safe_load((ROOT / "_toc.yml").read_text()))]
    parse_descriptions(body.splitlines(), captions)  # raises on a caption that is not a part


def test_a_stale_description_is_an_error():
    with pytest.raises(ValueError, match="Old part"):
        parse_descriptions(["Old part: gone"], ["Foundations"])
    assert parse_descriptions(["Foundations: what a loss is: its risk", ""], ["Foundations"]) == {
        "Foundations": "what a loss is: its risk"}
