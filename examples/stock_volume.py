"""Stock trading volume: GOOG and YHOO, then the S&P 500, 2014-12-12 to 2015-08-21.

A dates x stocks matrix of daily volumes factorizes as V ~ W H: each row of H
is a factor (how much of each stock's volume it carries), each column of W
its weight over the dates. The script

- reads GOOG's and YHOO's daily volumes (Yahoo Finance export) and shows
  why the dates x 2 matrix alone cannot give 10 factors (its rank is 2);
- puts the two stocks among the S&P 500 (492 tickers, 453 missing cells,
  fitted with ``mask``), fits 10 factors, and reports the factors GOOG and
  YHOO share and the dates most related to each, with what happened then;
- reads the same fit as the market's: each factor's stocks (sectors, index
  changes, merger news) and the market-wide days;
- writes ``goog_yhoo_volume.png``, ``goog_yhoo_factors.png``,
  ``factor_weights.png`` and ``sp500_factors.png``.

Each stock's volumes are divided by its median over the window, so that 1
is a typical day for every stock and a busy day of a small stock counts as
much as one of Apple. The loss is Kullback-Leibler: it weighs a day at 3x
the median against its fit relative to that day's size, so neither quiet
stocks nor single spikes dominate.

Run it as ``python examples/stock_volume.py [DATA_DIR] [--out OUT] [--quick]``.
DATA_DIR holds ``stocks/yahoo_daily/{GOOG,YHOO}.csv`` and
``stocks/sp500_5yr/sp500_daily_2014-12-12_to_2015-08-21.csv.gz``; it defaults
to ``$FASTNMF_DATA``, else ``../shared/data`` beside the repository.
"""

import argparse
import csv
import gzip
import os
from pathlib import Path

import numpy as np

from fastnmf import nmf
from fastnmf.plotting import plot_factor_bars, plot_top_terms, plot_weights

FIRST, LAST = "2014-12-12", "2015-08-21"
SP500_FILE = Path("stocks") / "sp500_5yr" / "sp500_daily_2014-12-12_to_2015-08-21.csv.gz"
N_FACTORS = 10

# What happened on some of the busiest days (public record: company earnings
# releases and the exchange calendar). "after close" news trades the next day.
EVENTS = {
    "2014-12-16": "Russian ruble crisis",
    "2014-12-19": "quadruple witching; S&P 500 quarterly rebalance",
    "2014-12-24": "Christmas Eve, half-day session",
    "2014-12-26": "day after Christmas",
    "2015-01-27": "YHOO's Q4 results and Alibaba spin-off plan (after close)",
    "2015-01-28": "the day after YHOO's Q4 results and spin-off plan",
    "2015-01-29": "GOOG's Q4 results (after close)",
    "2015-01-30": "the day after GOOG's Q4 results; month end",
    "2015-03-20": "quadruple witching; S&P 500 quarterly rebalance",
    "2015-04-21": "YHOO's Q1 results (after close)",
    "2015-04-22": "the day after YHOO's Q1 results",
    "2015-04-23": "GOOG's Q1 results (after close)",
    "2015-04-24": "the day after GOOG's Q1 results",
    "2015-06-19": "quadruple witching; S&P 500 quarterly rebalance",
    "2015-06-26": "Russell indexes' annual reconstitution",
    "2015-07-14": "YHOO's Q2 results (after close)",
    "2015-07-15": "the day after YHOO's Q2 results",
    "2015-07-16": "GOOG's Q2 results (after close)",
    "2015-07-17": "the day after GOOG's Q2 results (GOOG +16%)",
    "2015-08-05": "media stocks fall after Disney's results (Aug 4, after close)",
    "2015-08-11": "the day after Alphabet was announced",
    "2015-08-21": "market sell-off before the Aug 24 crash; options expiry",
}


def default_data_dir():
    """``$FASTNMF_DATA``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("FASTNMF_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def read_yahoo_volume(path):
    """{date: volume} within [FIRST, LAST] from a Yahoo Finance daily CSV
    (columns Date, Open, High, Low, Close, Volume, Adj Close; newest first)."""
    with open(path, newline="") as file:
        return {row["Date"]: float(row["Volume"]) for row in csv.DictReader(file) if FIRST <= row["Date"] <= LAST}


def read_sp500_volume(path):
    """The dates x tickers volume matrix (NaN where a ticker has no row),
    with its sorted dates and tickers."""
    with gzip.open(path, "rt", newline="") as file:
        rows = [(row["date"], row["Name"], row["volume"]) for row in csv.DictReader(file)]
    dates = sorted({date for date, _, _ in rows})
    tickers = sorted({name for _, name, _ in rows})
    date_index = {date: i for i, date in enumerate(dates)}
    ticker_index = {name: j for j, name in enumerate(tickers)}
    volume = np.full((len(dates), len(tickers)), np.nan)
    for date, name, value in rows:
        if value:
            volume[date_index[date], ticker_index[name]] = float(value)
    return volume, dates, tickers


def per_stock_median_scaled(volume):
    """Each column divided by its median over the observed days."""
    return volume / np.nanmedian(volume, axis=0)


def event(date):
    return EVENTS.get(date, "")


def factor_shares(result):
    """shares[k, j]: the part of stock j's fitted volume that factor k carries
    (sum over dates of W[:, k] H[k, j], over the sum of (W H)[:, j]); free of
    the scale that W and H can trade between them."""
    carried = result.W.sum(axis=0)[:, np.newaxis] * result.H
    return carried / carried.sum(axis=0, keepdims=True)


def goog_and_yhoo_alone(data_dir, out_dir):
    goog = read_yahoo_volume(data_dir / "stocks" / "yahoo_daily" / "GOOG.csv")
    yhoo = read_yahoo_volume(data_dir / "stocks" / "yahoo_daily" / "YHOO.csv")
    dates = sorted(goog)
    if sorted(yhoo) != dates:
        raise ValueError("GOOG.csv and YHOO.csv cover different trading days in the window.")
    volume = np.array([[goog[d], yhoo[d]] for d in dates])
    scaled = per_stock_median_scaled(volume)
    print(
        f"GOOG and YHOO: {len(dates)} trading days, {dates[0]} to {dates[-1]}; median daily volume "
        f"GOOG {np.median(volume[:, 0]):,.0f}, YHOO {np.median(volume[:, 1]):,.0f} shares"
    )
    for j, name in enumerate(["GOOG", "YHOO"]):
        print(f"  {name}'s busiest days (volume / median):")
        for i in np.argsort(scaled[:, j], kind="stable")[::-1][:5]:
            print(f"    {dates[i]}  {scaled[i, j]:4.1f}  {event(dates[i])}")
    errors = {}
    for r in (1, 2):
        fit = nmf(scaled, r, init="random", random_state=0, max_iter=2000, tol=0.0)
        errors[r] = fit.reconstruction_err / np.linalg.norm(scaled)
    print(f"  dates x 2 stocks, relative error ||V - WH|| / ||V||: r = 1: {errors[1]:.3f}, r = 2: {errors[2]:.1e}")
    print("  Two columns have rank 2: r = 2 is already exact and 10 factors would not be unique.")
    fig = plot_weights(
        scaled,
        dates,
        factor_names=["GOOG", "YHOO"],
        title="Daily volume / the stock's median, 2014-12-12 to 2015-08-21",
    )
    fig.savefig(out_dir / "goog_yhoo_volume.png", dpi=90)
    return dates, volume


def market_matrix(data_dir, goog_yhoo_dates, goog_yhoo_volume, quick):
    volume, dates, tickers = read_sp500_volume(data_dir / SP500_FILE)
    if dates != goog_yhoo_dates:
        raise ValueError("The S&P 500 file and the Yahoo files cover different trading days.")
    # YHOO left the index before the S&P 500 set was built (2018): add it.
    volume = np.column_stack([volume, goog_yhoo_volume[:, 1]])
    tickers = tickers + ["YHOO"]
    if quick:
        keep = sorted(set(range(60)) | {tickers.index("GOOG"), tickers.index("GOOGL"), len(tickers) - 1})
        volume, tickers = volume[:, keep], [tickers[j] for j in keep]
    return volume, dates, tickers


def main(data_dir, out_dir, *, quick=False):
    """Run the example; ``quick`` uses 63 stocks and few iterations (tests).

    Returns a dict with the fit, the shares, the dates and the tickers.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dates, goog_yhoo_volume = goog_and_yhoo_alone(data_dir, out_dir)

    volume, dates, tickers = market_matrix(data_dir, dates, goog_yhoo_volume, quick)
    observed = ~np.isnan(volume)
    incomplete = [tickers[j] for j in np.flatnonzero(~observed.all(axis=0))]
    scaled = per_stock_median_scaled(volume)
    print(
        f"\nS&P 500 with YHOO: {len(dates)} dates x {len(tickers)} stocks, {np.sum(~observed)} missing cells "
        f"({len(incomplete)} tickers: {', '.join(incomplete)}), fitted with mask=~isnan(V)"
    )
    result = nmf(
        scaled,
        N_FACTORS,
        loss="kullback-leibler",
        mask=observed,
        random_state=0,
        max_iter=30 if quick else 2000,
        tol=0.0 if quick else 1e-5,
    )
    print(
        f"r = {N_FACTORS}: {result.n_iter} iterations, converged: {result.converged}, "
        f"KL divergence per observed cell {result.data_loss / observed.sum():.3f}"
    )
    shares = factor_shares(result)
    names = [f"factor {k}" for k in range(N_FACTORS)]
    goog, yhoo = tickers.index("GOOG"), tickers.index("YHOO")

    print("\nHow much of GOOG's and of YHOO's volume each factor carries, and its three days of highest weight:")
    for k in range(N_FACTORS):
        top_days = np.argsort(result.W[:, k], kind="stable")[::-1][:3]
        print(
            f"  factor {k}: GOOG {shares[k, goog]:4.0%}  YHOO {shares[k, yhoo]:4.0%}  "
            f"{'  '.join(dates[i] for i in top_days)}"
        )
    smaller_share = np.minimum(shares[:, goog], shares[:, yhoo])
    shared = np.argsort(smaller_share, kind="stable")[::-1][:3]
    print("\nThe three factors that both stocks carry most (largest smaller share), and their days:")
    for k in shared:
        print(f"  factor {k} (GOOG {shares[k, goog]:.0%}, YHOO {shares[k, yhoo]:.0%}):")
        for i in np.argsort(result.W[:, k], kind="stable")[::-1][:4]:
            print(f"    {dates[i]}  weight {result.W[i, k]:5.2f}  {event(dates[i])}")
    print("\nEach stock's busiest days: volume / median, as fitted, and the factor carrying most of it")
    for j, name in ((goog, "GOOG"), (yhoo, "YHOO")):
        for i in np.argsort(scaled[:, j], kind="stable")[::-1][:4]:
            parts = result.W[i] * result.H[:, j]
            k = int(np.argmax(parts))
            print(
                f"  {name} {dates[i]}  {scaled[i, j]:4.1f}  fitted {parts.sum():4.1f}  factor {k} "
                f"({parts[k] / parts.sum():.0%})  {event(dates[i])}"
            )

    print(
        "\nThe same factors across the market: stocks for which the factor carries at least a "
        "quarter of the volume, its top stocks and its top days"
    )
    breadth = np.sum(shares >= 0.25, axis=1)
    for k in range(N_FACTORS):
        top_stocks = np.argsort(shares[k], kind="stable")[::-1][:8]
        top_days = np.argsort(result.W[:, k], kind="stable")[::-1][:3]
        print(
            f"  factor {k}: {breadth[k]:3d} stocks; {' '.join(tickers[j] for j in top_stocks)}; "
            f"days {' '.join(dates[i][5:] for i in top_days)}"
        )
    market = np.nanmedian(scaled, axis=1)
    print("\nMarket-wide days: the median over stocks of volume / median")
    for i in np.argsort(market, kind="stable")[::-1][:6]:
        print(f"  {dates[i]}  {market[i]:4.2f}  {event(dates[i])}")
    print("  quietest:", ", ".join(f"{dates[i]} {market[i]:.2f}" for i in np.argsort(market, kind="stable")[:3]))

    fig = plot_factor_bars(
        shares[:, [goog, yhoo]],
        ["GOOG", "YHOO"],
        factor_names=[str(k) for k in range(N_FACTORS)],
        grouped=True,
        value_label="share of the stock's volume",
        title="How much of each stock's volume each factor carries",
    )
    fig.axes[0].set_xlabel("factor")
    fig.savefig(out_dir / "goog_yhoo_factors.png", dpi=90)
    fig = plot_weights(result.W, dates, factor_names=names, title="Factor weights over the dates (W)")
    fig.savefig(out_dir / "factor_weights.png", dpi=90)
    fig = plot_top_terms(
        shares,
        tickers,
        8,
        topic_names=[f"factor {k}" for k in range(N_FACTORS)],
        normalize=False,
        title="Stocks whose volume each factor carries most (share of the stock's volume)",
    )
    fig.savefig(out_dir / "sp500_factors.png", dpi=90)
    return {"result": result, "shares": shares, "dates": dates, "tickers": tickers, "market": market}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=Path("stock_volume_output"))
    parser.add_argument("--quick", action="store_true", help="63 stocks and few iterations")
    args = parser.parse_args()
    main(args.data_dir, args.out, quick=args.quick)
