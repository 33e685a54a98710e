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

# The public names: the front door, what its methods return, settings, and the
# exception tree (drawn in `papergist.errors`). Everything else is internal.
from papergist.core import DayResult, Papergist, open, utc_today  # noqa: E402
from papergist.errors import (ConfigError, DeliveryError, EmptyFeed,  # noqa: E402
                              IncompleteDigest, MalformedResponse, OutputError, PapergistError,
                              SourceError, SourceRejected, SourceUnavailable, StoreError,
                              SummarizeError, UsageError)
from papergist.models import (ArchiveEntry, Digest, DigestItem, Paper,  # noqa: E402
                              PaperFailure, Relevance, RunReport, SearchHit, SearchResults,
                              Sections, Summary, Usage, Verdict)
from papergist.pipeline import DigestResult, Progress, Result  # noqa: E402
from papergist.publish import Delivery  # noqa: E402
from papergist.rank import Reader  # noqa: E402
from papergist.settings import Settings, load_settings  # noqa: E402
from papergist.site import SiteReport  # noqa: E402

__all__ = [
    "__version__",
    # the front door
    "open", "Papergist", "Progress", "utc_today",
    # what it returns
    "ArchiveEntry", "DayResult", "Delivery", "Digest", "DigestItem", "DigestResult", "Paper",
    "PaperFailure", "Reader", "Relevance", "Result", "RunReport", "SearchHit", "SearchResults",
    "Sections",
    "SiteReport", "Summary", "Usage", "Verdict",
    # settings
    "Settings", "load_settings",
    # errors
    "PapergistError", "UsageError", "ConfigError", "EmptyFeed", "SourceError",
    "SourceUnavailable", "SourceRejected", "MalformedResponse", "SummarizeError", "StoreError",
    "OutputError", "DeliveryError", "IncompleteDigest",
]
