"""Grounded summaries: every number and name a summary states, checked against the paper.

    >>> from papergist.verify import verify
    >>> verdict = verify({"whats_new": "Ferret reaches 95% ASR."}, title, abstract, fulltext)
    >>> verdict.status, verdict.unsupported, verdict.evidence

`extract_claims` finds the claims (numbers with units, Latin-script names) of text
in any language; `Source.build` indexes a paper once; `check` gives the
`papergist.models.Verdict`. Pure CPU, stdlib only; depends on `papergist.models`.
"""

from papergist.verify.claims import Claim, extract_claims
from papergist.verify.support import Source, check, verify

__all__ = ["Claim", "Source", "check", "extract_claims", "verify"]
