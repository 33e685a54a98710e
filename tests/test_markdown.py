"""The classic Markdown layout, and hostile text that must stay literal."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings, strategies as st
from markdown_it import MarkdownIt

from papergist.models import Digest, DigestItem, Paper, PaperFailure, Sections, Summary
from papergist.render.markdown import inline, render_markdown, safe_url

MD = MarkdownIt("commonmark")


def _paper(**kw) -> Paper:
    base = dict(id="2408.12637", title="A title", abstract="An abstract.", authors=("A", "B"),
                thumbnail="https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2408.12637.png")
    return Paper(**{**base, **kw})


def _summary(paper_id="2408.12637", **sections) -> Summary:
    text = {"whats_new": "New.", "technical_details": "Tech.", "performance_highlights": "Perf."}
    return Summary(paper_id=paper_id, sections=Sections(**{**text, **sections}),
                   summarizer="extractive", model="extractive", language="en",
                   prompt_version="extractive-1", source="abstract", source_hash="h")


def _digest(*items: DigestItem) -> Digest:
    return Digest(date=date(2024, 8, 26), items=items)


def _text_of(tokens) -> str:
    """The literal text a reader sees in inline tokens."""
    out = []
    for tok in tokens:
        for child in tok.children or []:
            if child.type in ("text", "code_inline"):
                out.append(child.content)
            elif child.type == "softbreak":
                out.append("\n")
    return "".join(out)


def test_classic_layout():
    item = DigestItem(paper=_paper(), rank=1, upvotes=34, summary=_summary())
    assert render_markdown(_digest(item)) == (
        "## Daily Papers (2024-08-26)\n\n"
        "_Summaries are extractive: each section quotes sentences of the paper's abstract "
        "verbatim; no model wrote them._\n\n"
        "### [A title](https://arxiv.org/abs/2408.12637)\n\n"
        "![](https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2408.12637.png)\n\n"
        "Vote: 34\n\n"
        "Authors: A, B\n\n"
        "- **What's New**: New.\n"
        "- **Technical Details**: Tech.\n"
        "- **Performance Highlights**: Perf.\n")


def test_video_thumbnail_is_a_link():
    item = DigestItem(paper=_paper(thumbnail="https://cdn.example/x/clip.mp4"), rank=1, upvotes=1,
                      summary=_summary())
    text = render_markdown(_digest(item))
    assert "[Video](https://cdn.example/x/clip.mp4)" in text and "![](https://cdn.example/x/clip" not in text


def test_optional_lines_only_when_present():
    bare = DigestItem(paper=_paper(thumbnail=None), rank=1, summary=_summary())
    text = render_markdown(_digest(bare))
    assert "Vote:" not in text and "![" not in text and "Code:" not in text
    full = DigestItem(paper=_paper(github_repo="https://github.com/a/b",
                                   project_page="https://a.github.io/b/"), rank=1, upvotes=0,
                      summary=_summary())
    text = render_markdown(_digest(full))
    assert "Vote: 0" in text
    assert "Code: <https://github.com/a/b>\n\nProject page: <https://a.github.io/b/>" in text


def test_list_sections_render_as_text_not_repr():
    summary = _summary(whats_new=["First point.", "Second point."])
    text = render_markdown(_digest(DigestItem(paper=_paper(), rank=1, summary=summary)))
    assert "- **What's New**: First point. Second point.\n" in text
    assert "['" not in text


def test_failed_paper_keeps_abstract_and_a_visible_note():
    failure = PaperFailure(paper_id="2408.12637", stage="summarize", reason="no abstract")
    item = DigestItem(paper=_paper(abstract="The *abstract*."), rank=1, failure=failure)
    text = render_markdown(_digest(item))
    assert "> **No summary**: no abstract" in text
    assert "- **Abstract**: The \\*abstract\\*." in text
    assert "_Summaries are extractive" not in text


def test_unsafe_urls_are_dropped_or_encoded():
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://x.org/a b)c") == "https://x.org/a%20b%29c"
    item = DigestItem(paper=_paper(thumbnail="javascript:alert(1)",
                                   github_repo="data:text/html,hi"), rank=1, summary=_summary())
    text = render_markdown(_digest(item))
    assert "javascript" not in text and "data:" not in text


HOSTILE = st.text(alphabet=st.sampled_from(list("[]()*_`<>!#&~\\|-+.=:;'\"/ \nabcXYZ01é한")) ,
                  min_size=1, max_size=60).filter(lambda s: s.strip())


@settings(max_examples=300, deadline=None)
@given(title=HOSTILE, author=HOSTILE, section=HOSTILE, abstract=HOSTILE)
def test_hostile_text_cannot_break_the_markdown(title, author, section, abstract):
    ok = DigestItem(paper=_paper(title=title, authors=(author, "B")), rank=1, upvotes=3,
                    summary=_summary(whats_new=section, performance_highlights=section))
    failed = DigestItem(paper=_paper(id="2408.00001", title=title, abstract=abstract), rank=2,
                        failure=PaperFailure(paper_id="2408.00001", stage="s", reason=section))
    tokens = MD.parse(render_markdown(_digest(ok, failed)))
    assert not [t for t in tokens if t.type == "html_block"]
    assert not [c for t in tokens for c in t.children or [] if c.type == "html_inline"]
    headings = [tokens[i + 1] for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h3"]
    assert len(headings) == 2
    for heading, paper_id in zip(headings, ["2408.12637", "2408.00001"]):
        links = [c for c in heading.children if c.type == "link_open"]
        assert [link.attrs["href"] for link in links] == [f"https://arxiv.org/abs/{paper_id}"]
        assert _text_of([heading]) == " ".join(title.split())
    bullets = [t for t in tokens if t.type == "list_item_open"]
    assert len(bullets) == 4  # three sections, and the failed paper's abstract
    whats_new = next(t for t in tokens if t.type == "inline" and t.content.startswith("**What"))
    assert _text_of([whats_new]) == "What's New: " + " ".join(section.split())
    authors = next(t for t in tokens if t.type == "inline" and t.content.startswith("Authors:"))
    assert _text_of([authors]) == "Authors: " + " ".join(f"{author}, B".split())


def test_inline_is_one_line():
    assert inline("a\n\n- b\n# c") == "a - b # c"
