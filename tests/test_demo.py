"""``fastnmf demo``: topics of Python's own language reference."""

import io
import subprocess
import sys

import numpy as np
import pytest

from fastnmf._demo import MinimalTfidf, python_reference_corpus, run, vectorizer


def test_the_corpus_ships_with_python():
    corpus = python_reference_corpus()
    assert len(corpus.texts) > 100  # 124 sections in Python 3.10, 173 in 3.13
    assert len(set(corpus.texts)) == len(corpus.texts)
    assert 'The "try" statement' in corpus.titles
    assert all(title.strip() for title in corpus.titles)


def test_minimal_tfidf_equals_sklearns():
    pytest.importorskip("sklearn")
    texts = python_reference_corpus().texts
    with_sklearn, _ = vectorizer(use_sklearn=True)
    minimal, how = vectorizer(use_sklearn=False)
    assert isinstance(minimal, MinimalTfidf) and "built-in" in how
    A, B = with_sklearn.fit_transform(texts), minimal.fit_transform(texts)
    assert list(with_sklearn.get_feature_names_out()) == list(minimal.get_feature_names_out())
    np.testing.assert_allclose(A.toarray(), B.toarray(), rtol=1e-12, atol=1e-15)
    queries = ["a generator yields values", "no known words here: zzz"]
    np.testing.assert_allclose(
        with_sklearn.transform(queries).toarray(), minimal.transform(queries).toarray(), atol=1e-15
    )


@pytest.mark.parametrize("use_sklearn", [None, False], ids=["default", "without-sklearn"])
def test_demo_finds_readable_topics(use_sklearn):
    out = io.StringIO()
    demo = run(use_sklearn=use_sklearn, out=out)
    text = out.getvalue()
    assert len(demo.top_terms) == 10 and all(len(terms) == 8 for terms in demo.top_terms)
    assert text.count("\nTopic ") == 10 and "Done in" in text
    # Topics a reader of the reference would name: exceptions, pattern matching, strings.
    themes = [
        {"try", "except", "exception", "finally", "clause"},
        {"pattern", "patterns", "match", "subject", "case"},
        {"character", "characters", "unicode", "ascii", "string", "strings"},
    ]
    for theme in themes:
        assert any(len(theme & set(terms)) >= 2 for terms in demo.top_terms), theme
    # A new text about exceptions lands on the exceptions topic (transform, H fixed).
    line = next(line for line in text.splitlines() if line.startswith("New text 'How do I catch an error"))
    topic = int(line.split("-> topic ")[1].split()[0])
    assert len(themes[0] & set(demo.top_terms[topic - 1])) >= 2, line
    assert demo.result.converged


def test_demo_from_the_command_line():
    completed = subprocess.run([sys.executable, "-m", "fastnmf", "demo"], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    assert "Topic 10" in completed.stdout and "Done in" in completed.stdout
    assert completed.stderr == ""
