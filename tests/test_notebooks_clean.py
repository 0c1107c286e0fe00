"""Notebooks are committed without outputs: the book executes them, readers run them."""
import json


def _notebooks(root):
    return [p for p in (root / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts]


def test_there_are_notebooks(repo_root):
    assert _notebooks(repo_root)


def test_notebooks_have_no_outputs(repo_root):
    dirty = []
    for path in _notebooks(repo_root):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(str(path.relative_to(repo_root)))
                break
    assert not dirty, f"strip the outputs of: {dirty} (jupyter nbconvert --clear-output --inplace)"
