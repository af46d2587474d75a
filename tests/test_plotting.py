"""fastnmf.plotting, drawn headless: the figures it returns (axes, bars,
images, lines, titles), its errors, and its message when matplotlib is
missing."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from fastnmf import nmf  # noqa: E402
from fastnmf.plotting import (  # noqa: E402
    plot_basis_images,
    plot_factor_bars,
    plot_loss,
    plot_top_terms,
    plot_weights,
)

WORDS = ["labour", "energy", "market", "employment"]
SPEECHES = np.array([[36, 3, 45, 54], [4, 34, 23, 31], [9, 65, 11, 0], [17, 3, 3, 0], [0, 14, 7, 4]])


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


@pytest.fixture(scope="module")
def speech_fit():
    return nmf(SPEECHES, 2, loss="kullback-leibler", random_state=0, max_iter=200, tol=0, n_threads=1)


def test_factor_bars_one_panel_per_factor():
    factors = np.arange(12.0).reshape(3, 4)
    fig = plot_factor_bars(factors, WORDS, factor_names=["a", "b", "c"], ncols=2, title="bars")
    assert isinstance(fig, Figure)
    axes = visible_axes(fig)
    assert len(axes) == 3  # a 2 x 2 grid with the fourth panel hidden
    assert [ax.get_title() for ax in axes] == ["a", "b", "c"]
    assert all(len(ax.patches) == 4 for ax in axes)
    assert [bar.get_height() for bar in axes[1].patches] == [4.0, 5.0, 6.0, 7.0]
    assert [label.get_text() for label in axes[0].get_xticklabels()] == WORDS
    assert fig.get_suptitle() == "bars"


def test_factor_bars_grouped_in_one_axes():
    shares = np.array([[0.1, 0.3], [0.3, 0.1], [0.6, 0.6]])
    fig = plot_factor_bars(shares, ["GOOG", "YHOO"], grouped=True, value_label="share")
    (ax,) = fig.axes
    assert len(ax.patches) == 6  # 3 factors x 2 stocks
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["GOOG", "YHOO"]
    assert ax.get_ylabel() == "share"
    assert [label.get_text() for label in ax.get_xticklabels()] == ["factor 0", "factor 1", "factor 2"]


def test_factor_bars_default_labels_and_a_single_row():
    fig = plot_factor_bars([1.0, 2.0, 3.0])
    (ax,) = fig.axes
    assert ax.get_title() == "factor 0"
    assert [label.get_text() for label in ax.get_xticklabels()] == ["0", "1", "2"]


def test_top_terms_of_a_fit(speech_fit):
    fig = plot_top_terms(speech_fit.H, WORDS, 3, title="topics")
    axes = visible_axes(fig)
    assert len(axes) == 2
    assert [ax.get_title() for ax in axes] == ["topic 0", "topic 1"]
    for ax, row in zip(axes, speech_fit.H):
        assert len(ax.patches) == 3
        widths = [bar.get_width() for bar in ax.patches]
        assert widths == sorted(widths, reverse=True)  # heaviest first (drawn at the top)
        shares = np.sort(row / row.sum())[::-1][:3]
        np.testing.assert_allclose(widths, shares)
        top_word = WORDS[int(np.argmax(row))]
        assert ax.get_yticklabels()[0].get_text() == top_word


def test_top_terms_raw_weights_and_more_terms_than_columns(speech_fit):
    fig = plot_top_terms(speech_fit.H, WORDS, 10, normalize=False, topic_names=["x", "y"])
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert max(bar.get_width() for bar in ax.patches) == pytest.approx(speech_fit.H[0].max())


def test_weights_over_dates(speech_fit):
    dates = [f"2015-01-0{i + 1}" for i in range(5)]
    fig = plot_weights(speech_fit.W, dates, factor_names=["energy", "labour"], max_ticks=3)
    axes = fig.axes
    assert len(axes) == 2
    assert [ax.get_ylabel() for ax in axes] == ["energy", "labour"]
    assert all(len(ax.patches) == 5 for ax in axes)
    np.testing.assert_allclose([bar.get_height() for bar in axes[1].patches], speech_fit.W[:, 1])
    ticks = [label.get_text() for label in axes[-1].get_xticklabels()]
    assert ticks == ["2015-01-01", "2015-01-03", "2015-01-05"]


def test_weights_of_a_single_series():
    fig = plot_weights(np.array([1.0, 3.0, 2.0]))
    (ax,) = fig.axes
    assert len(ax.patches) == 3


def test_basis_images_grid():
    basis = np.random.default_rng(0).random((5, 6))
    fig = plot_basis_images(basis, (3, 2), title="parts")
    axes = visible_axes(fig)
    assert len(axes) == 5 and len(fig.axes) == 6  # a 2 x 3 grid
    images = [ax.get_images()[0] for ax in axes]
    np.testing.assert_array_equal(images[2].get_array(), basis[2].reshape(3, 2))
    assert images[0].get_clim() == (0.0, basis[0].max())
    assert all(ax.get_xticks().size == 0 for ax in axes)
    assert fig.get_suptitle() == "parts"


def test_basis_images_symmetric_for_signed_bases():
    basis = np.array([[-2.0, 1.0, 0.5, 0.0], [0.1, 0.2, -0.1, 0.0]])
    fig = plot_basis_images(basis, (2, 2), ncols=2, symmetric=True, titles=["pc 0", "pc 1"])
    images = [ax.get_images()[0] for ax in fig.axes]
    assert images[0].get_clim() == (-2.0, 2.0)
    assert images[1].get_clim() == (-0.2, 0.2)
    assert images[0].get_cmap().name == "RdBu_r"
    assert [ax.get_title() for ax in fig.axes] == ["pc 0", "pc 1"]


def test_loss_of_fits_uses_their_iterations(speech_fit):
    other = nmf(SPEECHES, 1, loss="kullback-leibler", random_state=0, max_iter=30, tol=0, n_threads=1)
    fig = plot_loss([speech_fit, other], labels=["r = 2", "r = 1"], title="loss")
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[0].get_xdata(), speech_fit.loss_iterations)
    np.testing.assert_array_equal(lines[0].get_ydata(), speech_fit.loss_history)
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["r = 2", "r = 1"]
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "loss"


def test_loss_of_a_plain_history_on_a_linear_axis_when_not_positive():
    fig = plot_loss(np.array([3.0, 1.0, 0.0]))
    (ax,) = fig.axes
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [0, 1, 2])
    assert ax.get_yscale() == "linear"
    assert ax.get_legend() is None


def test_loss_of_a_list_of_numbers_is_one_history():
    fig = plot_loss([3.0, 2.0, 1.0])
    (ax,) = fig.axes
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [3.0, 2.0, 1.0])


def test_draws_into_a_given_figure():
    fig = Figure()
    fig.add_subplot()  # cleared first
    returned = plot_factor_bars([[1.0, 2.0]], fig=fig)
    assert returned is fig
    assert len(fig.axes) == 1 and len(fig.axes[0].patches) == 2


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: plot_factor_bars(np.ones((2, 3)), ["a", "b"]), ValueError, "labels must have 3 entries; got 2"),
        (lambda: plot_factor_bars(np.array([[1.0, np.nan]])), ValueError, "factors must be finite"),
        (lambda: plot_factor_bars(np.ones((2, 2)), ncols=0), ValueError, "ncols must be a positive integer; got 0"),
        (lambda: plot_factor_bars(np.ones((2, 2)), fig="figure"), TypeError, "fig must be a matplotlib Figure"),
        (lambda: plot_top_terms(np.ones((2, 3)), ["a", "b", "c"], 0), ValueError, "n_terms must be a positive"),
        (lambda: plot_top_terms(np.array([["a"]]), ["a"]), TypeError, "H must hold real numbers"),
        (lambda: plot_weights(np.ones((4, 2)), ["a", "b"]), ValueError, "index must have 4 entries; got 2"),
        (lambda: plot_basis_images(np.ones((2, 6)), (4, 2)), ValueError, r"image_shape \(4, 2\) must multiply to"),
        (lambda: plot_basis_images(np.ones((2, 6)), 6), ValueError, "image_shape must be a \\(height, width\\) pair"),
        (lambda: plot_basis_images(np.ones((0, 6)), (2, 3)), ValueError, "basis must be a non-empty 2-D array"),
        (lambda: plot_loss([]), ValueError, "results must hold at least one"),
        (lambda: plot_factor_bars(sp.csr_array(np.ones((2, 2)))), TypeError, "factors must be a dense NumPy array"),
        (lambda: plot_loss(np.ones((2, 2))), ValueError, r"results\[0\] must be an NMFResult or a non-empty 1-D"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_missing_matplotlib_names_the_plot_extra(monkeypatch):
    for name in [name for name in sys.modules if name == "matplotlib" or name.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes "import matplotlib..." fail
    with pytest.raises(ImportError, match=r"fastnmf\[plot\]"):
        plot_loss(np.ones(3))


def test_importing_fastnmf_and_plotting_does_not_import_matplotlib():
    import subprocess

    code = "import sys, fastnmf, fastnmf.plotting; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
