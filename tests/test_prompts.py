"""The regeneration turn tells the model why its summary failed, in the words readers see."""

from __future__ import annotations

import pytest

from papergist.models import Verdict
from papergist.render.common import verdict_note
from papergist.summarize.prompts import regenerate_message

CASES = {
    "off topic": (Verdict(status="unverified", checked=3, off_topic=True),
                  "it does not read as a summary of this paper"),
    "off topic, with claims": (
        Verdict(status="unverified", checked=3, off_topic=True, unsupported=("GPT-9",)),
        'it does not read as a summary of this paper; it states "GPT-9", which the paper does not'),
    "claims": (Verdict(status="unverified", checked=3, unsupported=("99.9%", "GPT-9")),
               'it states "99.9%", "GPT-9", which the paper does not'),
    "unchecked": (Verdict(status="unchecked", checked=0),
                  "nothing in this summary could be checked against the paper"),
    "generic": (Verdict(status="unverified", checked=2, generic=True),
                "it names nothing specific to this paper"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_model_hears_the_reason_the_reader_would_see(case: str):
    verdict, reason = CASES[case]
    message = regenerate_message(verdict)
    assert message["role"] == "user"
    assert f"failed a check against the paper: {reason}." in message["content"]
    note = verdict_note(verdict)
    assert note is not None
    assert note.reason == reason.split("; ")[0] or note.claims == verdict.unsupported
