"""papergist: the daily digest of trending AI papers.

The library is the product: `papergist.open()` gives a `Papergist`, the one front
door that the CLI (`papergist.cli`) and every other interface call. Stages
(`sources`, `store`, `summarize`, `verify`, `render`) do not import each other:
they exchange the plain models of `papergist.models`.
"""

__version__ = "0.1.0"

import logging as _logging  # noqa: E402

# The library never configures logging: an application (or `papergist -v`) does.
_logging.getLogger("papergist").addHandler(_logging.NullHandler())

from papergist.core import DayResult, Papergist, open, utc_today  # noqa: E402

__all__ = ["DayResult", "Papergist", "__version__", "open", "utc_today"]
