"""Sphinx extension: the built book serves its own MathJax, so its math renders offline.

``_config.yml`` points Sphinx's ``mathjax_path`` at ``_static/mathjax/`` and lists this module in
``extra_extensions``; after every HTML build it copies there the part of Debian's ``libjs-mathjax``
(MathJax 2.7, installed by ``scripts/install-system-deps.sh``; Debian 12 packages no MathJax 3)
that the ``TeX-AMS_CHTML`` combined configuration loads: about 1.6 MB of the package's 54.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

MATHJAX = Path("/usr/share/javascript/mathjax")
# What the loader with ?config=TeX-AMS_CHTML fetches: the combined configuration, the jax it names,
# the extensions it loads on demand (\boldsymbol, \cancel, the math menu, ...), the element jax's
# operator tables, and the web fonts of the CommonHTML output (woff first; Chromium and Firefox
# never reach the .otf fallback).
FILES = ("MathJax.js", "config/TeX-AMS_CHTML.js", "extensions", "jax/input/TeX", "jax/element",
         "jax/output/CommonHTML", "fonts/HTML-CSS/TeX/woff")


def _require_mathjax(app: Sphinx) -> None:
    missing = [f for f in FILES if not (MATHJAX / f).exists()]
    if app.builder.format == "html" and missing:
        raise ExtensionError(f"MathJax is missing from {MATHJAX} ({', '.join(missing)}): install "
                             "Debian's libjs-mathjax (scripts/install-system-deps.sh does)")


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for f in FILES:
        source = MATHJAX / f
        if source.is_dir():
            shutil.copytree(source, target / f, dirs_exist_ok=True)
        else:
            (target / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / f)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _require_mathjax)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
