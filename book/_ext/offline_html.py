"""Keep the HTML book self-contained: drop the Thebe (live code via Binder) scripts.

Jupyter Book 1.x always loads sphinx-thebe, even with launch buttons off.  It injects its config
script twice (a console error: "Identifier 'THEBE_JS_URL' has already been declared") and points at
unpkg.com, which an offline reader cannot reach.  The book runs its code in JupyterLab (``make lab``)
instead, so the scripts are removed from every page.
"""
from __future__ import annotations


def _strip_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [s for s in scripts
                                   if "thebe" not in str(s).lower()
                                   and "thebe" not in str(getattr(s, "attributes", {}).get("body", "")).lower()]


def setup(app):
    app.connect("html-page-context", _strip_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
