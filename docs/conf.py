"""Sphinx configuration of fastnmf's documentation.

Build it from the repository root, warnings as errors:

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Pages are Markdown (MyST); the API reference comes from the numpydoc
docstrings through autodoc. The build needs neither the network nor the data
sets: the examples' printed output and figures are committed under
``docs/examples/output/`` (regenerate them with ``python examples/run_all.py``).
"""

import importlib
import re
from pathlib import Path

import fastnmf

DOCS = Path(__file__).resolve().parent

project = "fastnmf"
author = "the fastnmf developers"
copyright = "the fastnmf developers"
version = release = fastnmf.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "examples/output"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_default_options = {"undoc-members": False, "show-inheritance": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# Links to other projects resolve only when their inventories can be fetched;
# the build never needs them (offline builds keep working, links become text).
intersphinx_mapping = {}

html_theme = "alabaster"
html_title = f"fastnmf {release}"
html_static_path = []
html_theme_options = {"description": "Fast non-negative matrix factorization", "fixed_sidebar": True}

# ---------------------------------------------------------------------------
# Pages and modules that other work adds. A toctree entry or an API section
# naming one that does not exist yet is dropped (with a note in the build
# log) instead of failing the -W build; once it exists it is included.
# ---------------------------------------------------------------------------

OPTIONAL_PAGES = ("performance", "recommendation", "distributed")
OPTIONAL_MODULE = re.compile(
    r"<!-- optional-module: (?P<module>[\w.]+) -->\n(?P<body>.*?)<!-- end optional-module -->\n", re.DOTALL
)


def _importable(module):
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _drop_missing(app, docname, source):
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    text = source[0]
    for page in OPTIONAL_PAGES:
        if (DOCS / f"{page}.md").exists():
            continue
        if docname == "index":
            logger.info(f"[fastnmf] docs/{page}.md does not exist yet: left out of the toctree")
            text = re.sub(rf"^{page}\n", "", text, flags=re.MULTILINE)
        # A link to the missing page becomes its plain text.
        text = re.sub(rf"\[([^\]]+)\]\((\.\./)?{page}\.md(#[\w-]+)?\)", r"\1", text)

    def keep_if_importable(match):
        if _importable(match.group("module")):
            return match.group("body")
        logger.info(f"[fastnmf] {match.group('module')} cannot be imported: its API section is left out")
        return ""

    source[0] = OPTIONAL_MODULE.sub(keep_if_importable, text)


SECTION_UNDERLINE = re.compile(r"^-{3,}$")


def _module_sections_as_rubrics(app, what, name, obj, options, lines):
    """numpydoc formats the sections of function and class docstrings, not
    those of module docstrings: there an "Examples" heading would become a
    document section, and two modules on one page would collide. Turn such
    headings into rubrics."""
    if what != "module":
        return
    for i in range(len(lines) - 1):
        if (
            lines[i].strip()
            and SECTION_UNDERLINE.match(lines[i + 1].strip())
            and len(lines[i + 1].strip()) >= len(lines[i].strip())
        ):
            lines[i] = f".. rubric:: {lines[i].strip()}"
            lines[i + 1] = ""


def setup(app):
    app.connect("source-read", _drop_missing)
    app.connect("autodoc-process-docstring", _module_sections_as_rubrics)
