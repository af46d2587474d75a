"""fastnmf's asv benchmark suite (see ../README.md)."""
