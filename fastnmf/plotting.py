"""Figures that make NMF results readable (optional: needs matplotlib).

Install matplotlib with the ``plot`` extra, ``pip install "fastnmf[plot]"``;
fastnmf itself never imports it, and this module imports it only when one of
its functions is called.

=========================  ==================================================
function                   draws
=========================  ==================================================
:func:`plot_factor_bars`   each factor's weight on a few named items (bars)
:func:`plot_top_terms`     the top terms of each topic (horizontal bars)
:func:`plot_weights`       the weights of each factor over time or order
:func:`plot_basis_images`  basis vectors as images (e.g. faces), in a grid
:func:`plot_loss`          the objective against the iteration
=========================  ==================================================

Each function returns a :class:`matplotlib.figure.Figure`. By default it is a
new figure that pyplot does not manage: save it with ``fig.savefig(...)``, or
let Jupyter display it as a cell's value. To draw into a pyplot window
instead, pass one, e.g. ``plot_loss(result, fig=plt.figure())`` and then
``plt.show()``.

Examples
--------
>>> import numpy as np
>>> from fastnmf import nmf
>>> from fastnmf.plotting import plot_top_terms
>>> V = np.array([[36, 3, 45, 54], [4, 34, 23, 31], [9, 65, 11, 0],
...               [17, 3, 3, 0], [0, 14, 7, 4]])
>>> result = nmf(V, 2, random_state=0)
>>> fig = plot_top_terms(result.H, ["labour", "energy", "market", "employment"], 2)
>>> len(fig.axes)
2
"""

import math
import numbers

import numpy as np

from ._validation import as_dense_array

__all__ = ["plot_basis_images", "plot_factor_bars", "plot_loss", "plot_top_terms", "plot_weights"]

# Panel sizes in inches.
PANEL_WIDTH = 2.6
PANEL_HEIGHT = 2.0
IMAGE_PANEL = 1.1


def _matplotlib_figure():
    """matplotlib's Figure class, or an ImportError that says how to get it."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "fastnmf.plotting needs matplotlib, which is not installed: install the 'plot' extra, "
            'pip install "fastnmf[plot]" (or pip install matplotlib).'
        ) from error
    return Figure


def _new_figure(fig, figsize):
    """``fig`` if the caller gave one (cleared), else a new constrained-layout figure."""
    Figure = _matplotlib_figure()
    if fig is None:
        return Figure(figsize=figsize, layout="constrained")
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure or None; got {type(fig).__name__}.")
    fig.clear()
    return fig


def _as_matrix(values, name):
    """A finite 2-D float array (a copy is never needed: nothing is written)."""
    array = as_dense_array(values, name)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array; got shape {np.shape(values)}.")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {array.dtype}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; it holds NaN or infinite values.")
    return array.astype(np.float64, copy=False)


def _labels(labels, count, name, default_prefix):
    """``count`` strings: the given labels, or ``default_prefix`` 0, 1, ..."""
    if labels is None:
        return [f"{default_prefix}{i}" for i in range(count)]
    labels = [str(label) for label in labels]
    if len(labels) != count:
        raise ValueError(f"{name} must have {count} entries; got {len(labels)}.")
    return labels


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _panel_grid(fig, count, ncols, panel_size, extra_height=0.0):
    """``count`` panels in rows of at most ``ncols``, on ``fig`` (cleared) or a new figure.

    Parameters
    ----------
    fig : matplotlib Figure or None
        As the plotting functions' ``fig``.
    count : int
        Panels wanted.
    ncols : int
        Panels per row at most.
    panel_size : (float, float)
        Width and height of one panel, in inches.
    extra_height : float, default 0.0
        Inches added to the figure's height (e.g. for a title).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : array of ``count`` Axes
        Row by row; the grid's spare axes are hidden.
    cols : int
        Panels per row.
    """
    cols = min(count, ncols)
    rows = math.ceil(count / cols)
    panel_width, panel_height = panel_size
    fig = _new_figure(fig, (panel_width * cols, panel_height * rows + extra_height))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes[:count], cols


def plot_factor_bars(
    factors,
    labels=None,
    *,
    factor_names=None,
    grouped=False,
    ncols=5,
    value_label="weight",
    title=None,
    fig=None,
):
    """Bar charts of how much of each item each factor carries.

    Parameters
    ----------
    factors : array of shape (r, n)
        One row per factor, one column per item: e.g. H restricted to a few
        stocks, or W transposed for a few documents.
    labels : sequence of n str or None
        The items' names (default "0", "1", ...).
    factor_names : sequence of r str or None
        The factors' names (default "factor 0", "factor 1", ...).
    grouped : bool, default False
        False: one panel per factor, a bar per item. True: a single panel
        with a group of bars per factor, one bar (and legend entry) per item:
        readable when n is small (2 to 5 items).
    ncols : int, default 5
        Panels per row when ``grouped`` is False.
    value_label : str, default "weight"
        What the bars' heights are (the y axis label; in panels, on the
        first panel of each row).
    title : str or None
        The figure's title.
    fig : matplotlib Figure or None
        Draw into this figure (cleared first) instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        r axes (or one when ``grouped``), each with its bars as patches.
    """
    F = _as_matrix(factors, "factors")
    r, n = F.shape
    labels = _labels(labels, n, "labels", "")
    factor_names = _labels(factor_names, r, "factor_names", "factor ")
    ncols = _positive_int(ncols, "ncols")
    if grouped:
        fig = _new_figure(fig, (max(4.0, 0.35 * r * (n + 1)), 3.0))
        ax = fig.add_subplot()
        width = 0.8 / n
        positions = np.arange(r)
        for item in range(n):
            ax.bar(positions + (item - (n - 1) / 2) * width, F[:, item], width, label=labels[item])
        long_names = r * max(len(name) for name in factor_names) > 60
        ax.set_xticks(positions, factor_names, rotation=45 if long_names else 0, ha="right" if long_names else "center")
        ax.set_ylabel(value_label)
        ax.legend(frameon=False)
    else:
        panel_width = max(PANEL_WIDTH, 0.8 + 0.2 * n)  # room for n bars
        fig, axes, cols = _panel_grid(fig, r, ncols, (panel_width, PANEL_HEIGHT))
        label_inches = 0.08 * n * (max(len(label) for label in labels) + 1)
        rotation = 90 if label_inches > panel_width - 0.6 else 0
        for k in range(r):
            ax = axes[k]
            ax.bar(np.arange(n), F[k])
            ax.set_xticks(np.arange(n), labels, rotation=rotation, fontsize="small")
            ax.set_title(factor_names[k], fontsize="medium")
            if k % cols == 0:
                ax.set_ylabel(value_label)
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_top_terms(H, vocabulary, n_terms=10, *, topic_names=None, normalize=True, ncols=5, title=None, fig=None):
    """The ``n_terms`` heaviest terms of each topic, as horizontal bars.

    Parameters
    ----------
    H : array of shape (r, n)
        Topics x terms (``nmf(...).H`` of a documents x terms matrix).
    vocabulary : sequence of n str
        The terms, in H's column order.
    n_terms : int, default 10
        Terms per topic (at most n).
    topic_names : sequence of r str or None
        Panel titles (default "topic 0", "topic 1", ...).
    normalize : bool, default True
        Show each term's share of its topic (the row of H divided by its
        sum) rather than the raw weight, so that topics compare.
    ncols : int, default 5
        Panels per row.
    title : str or None
        The figure's title.
    fig : matplotlib Figure or None
        Draw into this figure (cleared first) instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per topic with ``n_terms`` bars, heaviest on top.
    """
    H = _as_matrix(H, "H")
    r, n = H.shape
    vocabulary = _labels(vocabulary, n, "vocabulary", "")
    n_terms = min(_positive_int(n_terms, "n_terms"), n)
    topic_names = _labels(topic_names, r, "topic_names", "topic ")
    ncols = _positive_int(ncols, "ncols")
    if normalize:
        totals = H.sum(axis=1, keepdims=True)
        H = np.divide(H, totals, out=np.zeros_like(H), where=totals > 0)
    fig, axes, _ = _panel_grid(fig, r, ncols, (PANEL_WIDTH, 0.6 + 0.17 * n_terms))
    for k in range(r):
        top = np.argsort(H[k], kind="stable")[::-1][:n_terms]
        ax = axes[k]
        positions = np.arange(n_terms)[::-1]
        ax.barh(positions, H[k, top])
        ax.set_yticks(positions, [vocabulary[j] for j in top], fontsize="small")
        ax.tick_params(axis="x", labelsize="x-small")
        ax.set_title(topic_names[k], fontsize="medium")
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_weights(W, index=None, *, factor_names=None, max_ticks=8, title=None, fig=None):
    """Each factor's weights over time (or any order), one panel per factor.

    Parameters
    ----------
    W : array of shape (m, r), or (m,) for a single series
        Rows in order (dates, positions), one column per factor: e.g.
        ``nmf(...).W`` of a dates x stocks matrix.
    index : sequence of m labels or None
        What each row is (e.g. ISO dates); shown as at most ``max_ticks``
        tick labels under the last panel. Default 0 .. m-1.
    factor_names : sequence of r str or None
        Panel titles (default "factor 0", "factor 1", ...).
    max_ticks : int, default 8
        At most this many labelled ticks on the shared x axis.
    title : str or None
        The figure's title.
    fig : matplotlib Figure or None
        Draw into this figure (cleared first) instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        r axes stacked vertically, sharing x, each with m bars.
    """
    if np.ndim(W) == 1:
        W = np.asarray(W)[:, np.newaxis]  # a single series
    W = _as_matrix(W, "W")
    m, r = W.shape
    index = _labels(index, m, "index", "")
    factor_names = _labels(factor_names, r, "factor_names", "factor ")
    max_ticks = _positive_int(max_ticks, "max_ticks")
    fig = _new_figure(fig, (8.0, 0.3 + 1.05 * r))
    axes = fig.subplots(r, 1, sharex=True, squeeze=False).ravel()
    positions = np.arange(m)
    for k in range(r):
        ax = axes[k]
        ax.bar(positions, W[:, k], width=1.0)
        ax.set_ylabel(factor_names[k], rotation=0, ha="right", va="center", fontsize="small")
        ax.tick_params(axis="y", labelsize="x-small")
        ax.margins(x=0.005)
    step = max(1, math.ceil(m / max_ticks))
    ticks = positions[::step]
    axes[-1].set_xticks(ticks, [index[i] for i in ticks], fontsize="small")
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_basis_images(basis, image_shape, *, ncols=None, symmetric=False, cmap=None, titles=None, title=None, fig=None):
    """Basis vectors shown as images in a grid (e.g. NMF "parts" of faces).

    Parameters
    ----------
    basis : array of shape (k, p)
        One image per row, its p = height * width pixels in row-major order:
        e.g. ``nmf(...).H`` of an images x pixels matrix.
    image_shape : (height, width)
        The shape of each image.
    ncols : int or None
        Images per row (default: the square root of k, rounded up).
    symmetric : bool, default False
        For signed bases (PCA): a diverging colour map centred on zero.
        Otherwise each image is scaled from 0 to its maximum, dark to light.
    cmap : str or None
        A matplotlib colour map (default "gray", or "RdBu_r" when
        ``symmetric``).
    titles : sequence of k str or None
        A small title over each image.
    title : str or None
        The figure's title.
    fig : matplotlib Figure or None
        Draw into this figure (cleared first) instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        k visible axes, each holding one image, without ticks.
    """
    B = _as_matrix(basis, "basis")
    k, p = B.shape
    try:
        height, width = (int(size) for size in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be a (height, width) pair; got {image_shape!r}.") from None
    if height < 1 or width < 1 or height * width != p:
        raise ValueError(f"image_shape {tuple(image_shape)} must multiply to the {p} pixels of each basis row.")
    ncols = math.ceil(math.sqrt(k)) if ncols is None else _positive_int(ncols, "ncols")
    titles = None if titles is None else _labels(titles, k, "titles", "")
    cmap = cmap if cmap is not None else ("RdBu_r" if symmetric else "gray")
    panel_width = IMAGE_PANEL * min(1.0, width / height) + 0.05
    panel_height = IMAGE_PANEL * min(1.0, height / width) + (0.2 if titles else 0.05)
    fig, axes, _ = _panel_grid(fig, k, ncols, (panel_width, panel_height), extra_height=0.3 if title else 0.0)
    for i in range(k):
        image = B[i].reshape(height, width)
        if symmetric:
            limit = float(np.abs(image).max()) or 1.0
            low, high = -limit, limit
        else:
            low, high = 0.0, float(image.max()) or 1.0
        ax = axes[i]
        ax.imshow(image, cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize="x-small")
    if title is not None:
        fig.suptitle(title)
    return fig


def _history(item, name):
    """(iterations, objective values) of an NMFResult or a 1-D history."""
    history = np.asarray(getattr(item, "loss_history", item), dtype=np.float64)
    if history.ndim != 1 or history.size == 0:
        raise ValueError(f"{name} must be an NMFResult or a non-empty 1-D sequence of objective values.")
    iterations = getattr(item, "loss_iterations", None)
    if iterations is None or len(iterations) != history.size:
        iterations = np.arange(history.size)
    return np.asarray(iterations), history


def plot_loss(results, *, labels=None, log=True, title=None, fig=None):
    """The objective against the iteration, for one fit or several.

    Parameters
    ----------
    results : NMFResult, 1-D array, or a list of them
        Fits (their ``loss_history`` against their ``loss_iterations``) or
        objective histories, whose entry t is the objective after t
        iterations.
    labels : sequence of str or None
        One legend entry per history (no legend when None).
    log : bool, default True
        Logarithmic y axis (the objective spans decades early on). Histories
        with a non-positive value are drawn on a linear axis.
    title : str or None
        The axes' title.
    fig : matplotlib Figure or None
        Draw into this figure (cleared first) instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one line per history.
    """
    if isinstance(results, (list, tuple)) and not (results and all(isinstance(v, numbers.Real) for v in results)):
        items = list(results)
    else:
        items = [results]  # one result, or one history (a list of numbers included)
    if not items:
        raise ValueError("results must hold at least one NMFResult or history.")
    histories = [_history(item, f"results[{i}]") for i, item in enumerate(items)]
    if labels is not None:
        labels = _labels(labels, len(histories), "labels", "")
    fig = _new_figure(fig, (5.0, 3.2))
    ax = fig.add_subplot()
    marker = "." if max(history.size for _, history in histories) < 50 else None  # dots only when few
    for i, (iterations, history) in enumerate(histories):
        ax.plot(iterations, history, marker=marker, label=None if labels is None else labels[i])
    if log and all((history > 0).all() for _, history in histories):
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("objective")
    if labels is not None:
        ax.legend(frameon=False)
    if title is not None:
        ax.set_title(title)
    return fig
