"""`digest --ids --out-dir D` writes D/ids/DAY-HASH.md, never the day's file, so a
later `--since` still writes that day."""

from __future__ import annotations

from fakes import load_day

TAG = "a2723b8a"  # 8 hex digits of sha256("2408.12637,2408.13252")


def files(root) -> list[str]:
    """Every file under `root`, as paths relative to it."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_an_ids_digest_has_its_own_file_and_since_still_writes_the_day(cli, fake_hf, tmp_path,
                                                                        today):
    fake_hf.days[today.isoformat()] = load_day("2024-08-26")
    ids_file = f"{today}-{TAG}.md"
    code, out, err = cli("digest", "--ids", "2408.13252,2408.12637", "--out-dir", "papers", "-q")
    assert (code, out) == (0, "")
    assert files(tmp_path / "papers") == [f"ids/{today}-{TAG}.md"]
    ids_text = (tmp_path / "papers/ids" / ids_file).read_text(encoding="utf-8")
    assert ids_text.count("arxiv.org/abs/") == 2

    code, out, err = cli("digest", "--since", today.isoformat(), "--out-dir", "papers", "-q")
    assert (code, out) == (0, "")
    assert files(tmp_path / "papers") == [f"{today:%Y/%m/%d}.md", f"ids/{ids_file}"]
    assert (tmp_path / "papers/ids" / ids_file).read_text(encoding="utf-8") == ids_text
    assert (tmp_path / f"papers/{today:%Y/%m/%d}.md").read_text(encoding="utf-8").count(
        "arxiv.org/abs/") == 11


def test_the_same_ids_in_another_order_land_in_the_same_file(cli, tmp_path, today):
    for ids in ("2408.12637,2408.13252", "2408.13252, 2408.12637,2408.12637"):
        code, out, err = cli("digest", "--ids", ids, "--out-dir", "papers", "-q")
        assert (code, out) == (0, "")
    assert files(tmp_path / "papers") == [f"ids/{today}-{TAG}.md"]
