"""Numba kernels. Only arrays and scalars go in: no SciPy objects, strings or
None. Validation and the choice of kernel live in :mod:`fastnmf._terms`."""

from .csr import csr_observed_terms, csr_sampled_numerator, csr_times_dense, split_by_columns
from .dense import dense_tile_terms
from .gram import gram_parts, gram_parts_widened, row_block_products
from .hals import hals_lanes, hals_rows
from .products import row_dots
from .update import multiplicative_update

__all__ = [
    "csr_observed_terms",
    "csr_sampled_numerator",
    "csr_times_dense",
    "dense_tile_terms",
    "gram_parts",
    "gram_parts_widened",
    "hals_lanes",
    "hals_rows",
    "multiplicative_update",
    "row_block_products",
    "row_dots",
    "split_by_columns",
]
