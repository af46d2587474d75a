"""The documentation's code runs: the ``>>>`` examples of every Markdown page
under docs/ and of every docstring in the fastnmf package, with doctest.

A page's examples run in order in one namespace, like a session; only fenced
code blocks are read, so the closing fence never counts as expected output.
Examples that need the network, a data set or a file mark themselves
``# doctest: +SKIP``.
"""

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import fastnmf

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(path for path in DOCS.rglob("*.md") if "_build" not in path.parts)
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def closes(match, fence):
    """Whether a fence line closes a block opened by ``fence``: the same
    character, at least as long, and nothing after it."""
    marker, rest = match.group(2), match.group(3)
    return marker[0] == fence[0] and len(marker) >= len(fence) and not rest.strip()


def fenced_code_only(text):
    """``text`` with every line outside fenced code blocks, and the fences
    themselves, blanked: line numbers stay those of the page."""
    lines = text.splitlines()
    kept = [""] * len(lines)
    fence = None
    for number, line in enumerate(lines):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(2)
        elif match and closes(match, fence):
            fence = None
        else:
            kept[number] = line
    return "\n".join(kept) + "\n"


def run_doctest(test):
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    output = []
    runner.run(test, out=output.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(output)


def with_agg_backend():
    """Plotting examples draw headless; nothing to do without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")


@pytest.mark.parametrize("page", PAGES, ids=[str(path.relative_to(DOCS)) for path in PAGES])
def test_page_examples_run(page):
    text = fenced_code_only(page.read_text(encoding="utf-8"))
    if ">>>" not in text:
        return  # a page without examples has nothing to run
    with_agg_backend()
    test = doctest.DocTestParser().get_doctest(text, {}, page.name, str(page), 0)
    run_doctest(test)


def package_modules():
    names = [fastnmf.__name__]
    for module in pkgutil.walk_packages(fastnmf.__path__, prefix="fastnmf."):
        names.append(module.name)
    return sorted(names)


@pytest.mark.parametrize("module_name", package_modules())
def test_docstring_examples_run(module_name):
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:  # an optional dependency (dask, scikit-learn, matplotlib) is missing
        pytest.skip(f"{module_name} cannot be imported: {error}")
    tests = [test for test in doctest.DocTestFinder().find(module, module_name) if test.examples]
    if not tests:
        return  # no >>> examples in this module's docstrings
    with_agg_backend()
    for test in tests:
        run_doctest(test)


def test_fence_stripping_keeps_only_code():
    page = "Text >>> not code\n```pycon\n>>> 1 + 1\n2\n```\nmore text\n"
    assert fenced_code_only(page) == "\n\n>>> 1 + 1\n2\n\n\n"
