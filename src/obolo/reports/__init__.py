"""Read-only views across products, for the pages and the operator console: plain
queries in one read transaction each. Nothing here moves money or changes a row; the
rules stay in the products' services."""
