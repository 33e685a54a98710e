"""papergist: the daily digest of trending AI papers.

The library is the product; the CLI (`papergist.cli`) is a thin layer over
`papergist.pipeline`. Stages (`sources`, `store`, `summarize`, `render`) do not
import each other: they exchange the plain models of `papergist.models`.
"""

__version__ = "0.1.0"
