"""The worked examples in examples/ run on the real data sets, in their quick
mode (subsets, few iterations), and write their figures.

The data live outside the repository: ``$FASTNMF_DATA``, else
``../shared/data`` beside it. Tests that need a data set are skipped when it
is absent; the recommendation example needs none.
"""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLES = REPOSITORY / "examples"
DATA = Path(os.environ.get("FASTNMF_DATA") or REPOSITORY.parent / "shared" / "data")


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"fastnmf_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def needs(*relative_paths):
    missing = [path for path in relative_paths if not (DATA / path).exists()]
    return pytest.mark.skipif(bool(missing), reason=f"data not found under {DATA}: {', '.join(missing)}")


def pngs(folder):
    return sorted(path.name for path in folder.glob("*.png"))


@needs("uci_bow/docword.kos.txt.gz", "uci_bow/vocab.kos.txt", "text/TDT2.mat")
def test_topic_modeling(tmp_path, capsys):
    results = load_example("topic_modeling").main(DATA, tmp_path, quick=True)
    printed = capsys.readouterr().out
    assert "KOS: 600 documents x 6906 words" in printed
    assert "TDT2: 800 documents x 36773 terms" in printed
    kos = results["kos"]
    assert sorted(kos["fits"]) == [3, 5]
    assert kos["main_topic"].shape == (600,)
    assert len(kos["vocabulary"]) == 6906
    assert results["tdt2"]["sizes"].sum() == 800
    assert np.all(results["tdt2"]["coherence"] < 0)
    assert pngs(tmp_path) == ["kos_loss.png", "kos_topics.png", "tdt2_topics.png"]


@needs(
    "stocks/yahoo_daily/GOOG.csv",
    "stocks/yahoo_daily/YHOO.csv",
    "stocks/sp500_5yr/sp500_daily_2014-12-12_to_2015-08-21.csv.gz",
)
def test_stock_volume(tmp_path, capsys):
    results = load_example("stock_volume").main(DATA, tmp_path, quick=True)
    printed = capsys.readouterr().out
    assert "GOOG and YHOO: 174 trading days, 2014-12-12 to 2015-08-21" in printed
    assert "r = 2: " in printed and "10 factors would not be unique" in printed
    assert results["dates"][0] == "2014-12-12" and results["dates"][-1] == "2015-08-21"
    assert {"GOOG", "GOOGL", "YHOO"} <= set(results["tickers"])
    shares = results["shares"]
    assert shares.shape == (10, len(results["tickers"]))
    np.testing.assert_allclose(shares.sum(axis=0), 1.0)
    # The busiest market-wide day of the window is a quadruple-witching day.
    assert results["dates"][int(np.argmax(results["market"]))] in ("2014-12-19", "2015-03-20")
    assert pngs(tmp_path) == [
        "factor_weights.png",
        "goog_yhoo_factors.png",
        "goog_yhoo_volume.png",
        "sp500_factors.png",
    ]


def test_recommendation(tmp_path, capsys):
    results = load_example("recommendation").main(None, tmp_path, quick=True)
    printed = capsys.readouterr().out
    assert "user 3: 5.0, user 4: 5.0" in printed  # book 3 goes to the users who rate like user 5
    assert results["errors"].shape == (len(results["ranks"]), len(results["alphas"]))
    assert np.all((results["errors"] > 0.5) & (results["errors"] < 1.5))
    assert set(results["fold_in_errors"]) == {5, 10, 20}
    assert pngs(tmp_path) == ["ratings_loss.png", "rmse_grid.png"]


@needs("faces/orl_faces_pgm.tar.gz")
def test_faces(tmp_path, capsys):
    results = load_example("faces").main(DATA, tmp_path, quick=True)
    printed = capsys.readouterr().out
    assert "ORL faces: 400 images of 40 people, 112 x 92 pixels" in printed
    assert results["result"].H.shape == (16, 28 * 23)
    assert results["components"].shape == (16, 28 * 23)
    assert pngs(tmp_path) == ["nmf_basis.png", "pca_basis.png", "reconstructions.png"]


def test_pgm_reader_rejects_other_files():
    faces = load_example("faces")
    pixels = faces.parse_pgm(b"P5\n3 2\n255\n" + bytes(range(6)), "tiny.pgm")
    np.testing.assert_array_equal(pixels, [[0, 1, 2], [3, 4, 5]])
    with pytest.raises(ValueError, match="tiny.pgm: not a binary PGM"):
        faces.parse_pgm(b"P2\n3 2\n255\n0 1 2 3 4 5\n", "tiny.pgm")


def test_every_example_has_main_and_a_data_argument():
    for path in sorted(EXAMPLES.glob("*.py")):
        if path.name == "run_all.py":
            continue
        module = load_example(path.stem)
        assert callable(module.main), path.name
        assert Path(module.default_data_dir()).resolve() == DATA.resolve(), path.name
