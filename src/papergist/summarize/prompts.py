"""Versioned prompts: text files in `prompts/`, named `<version>.<part>.txt`.

The version is stored next to every summary, so changing a prompt means adding
a new version (and the cache then knows old summaries came from the old one).
Paper text is data: it is delimited by tags the paper cannot close (any `<` that
would start one of our tags is escaped), and the instructions are repeated after it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from string import Template

from papergist.models import WHY_GENERIC, WHY_NOTHING_CHECKED, WHY_OFF_TOPIC, Verdict
from papergist.summarize.language import language_name

PROMPT_VERSION = "summary-v2"
CJK_TERM_RULE = ("Keep model, dataset, benchmark and method names in English; after a "
                 "translated technical term give the English term in parentheses, "
                 "for example {example}.")
TERM_RULES = {
    "ko": CJK_TERM_RULE.format(example="교차 주의(cross-attention)"),
    "ja": CJK_TERM_RULE.format(example="交差注意（cross-attention）"),
    "zh": CJK_TERM_RULE.format(example="交叉注意力（cross-attention）"),
}
DEFAULT_TERM_RULE = "Keep model, dataset, benchmark and method names in English."
_OUR_TAGS = re.compile(r"<(?=\s*/?\s*(?:paper|title|abstract|text)\b)", re.IGNORECASE)


@lru_cache(maxsize=None)
def template(part: str, version: str = PROMPT_VERSION) -> Template:
    """One part (`system`, `user`, `repair`, `regenerate`) of a prompt version."""
    text = resources.files("papergist.summarize").joinpath(
        "prompts", f"{version}.{part}.txt").read_text(encoding="utf-8")
    return Template(text)


def data(text: str) -> str:
    """Paper text made unable to close or open our delimiting tags."""
    return _OUR_TAGS.sub("&lt;", text)


def _language(code: str) -> dict[str, str]:
    base = code.split("-")[0].split("_")[0].lower()
    return {"language_name": language_name(code), "language_code": code,
            "term_rule": TERM_RULES.get(base, DEFAULT_TERM_RULE)}


def build_messages(title: str, abstract: str, body: str | None, language: str) -> list[dict]:
    """The chat messages for one paper: system rules, then the delimited paper."""
    lang = _language(language)
    text_block = f"<text>\n{data(body)}\n</text>\n" if body else ""
    user = template("user").substitute(title=data(title), abstract=data(abstract),
                                       text_block=text_block, **lang)
    return [{"role": "system", "content": template("system").substitute(**lang)},
            {"role": "user", "content": user}]


def regenerate_message(verdict: Verdict) -> dict:
    """What to tell the model when its summary failed the check against the paper."""
    reasons = [WHY_OFF_TOPIC] if verdict.off_topic else []
    if verdict.unsupported:
        reasons.append("it states " + ", ".join(f'"{data(c)}"' for c in verdict.unsupported)
                       + ", which the paper does not")
    if not reasons:
        reasons.append(WHY_NOTHING_CHECKED if verdict.status == "unchecked" else WHY_GENERIC)
    problems = "; ".join(reasons)
    return {"role": "user", "content": template("regenerate").substitute(problems=problems)}


def repair_message(problem: str, language: str) -> dict:
    """What to tell the model after a reply that could not be used."""
    return {"role": "user",
            "content": template("repair").substitute(problem=problem, **_language(language))}
