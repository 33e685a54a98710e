"""The CLI's streams: UTF-8 whatever the locale; the progress display always closed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
KOREAN_JSON = {"title": "한국어 모델 연구",
               "abstract": "우리는 한국어 문장 분류를 위한 KoBERT 모델을 제안한다.",
               "sections": {"whats_new": "우리는 한국어 문장 분류를 위한 KoBERT 모델을 제안한다."}}


def _run(args: list[str], tmp_path: Path, stdin: bytes = b"", **env: str):
    """`python -m papergist ARGS` under an ASCII locale, stdout and stderr as pipes."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("PAPERGIST_", "LC_", "LANG", "PYTHON"))}
    base.update({"PYTHONPATH": SRC, "PYTHONIOENCODING": "ascii", "LC_ALL": "C",
                 "PAPERGIST_HOME": str(tmp_path / "home"), **env})
    return subprocess.run([sys.executable, "-m", "papergist", *args], input=stdin,
                          capture_output=True, env=base, timeout=60)


def test_stdout_is_utf8_under_an_ascii_locale(tmp_path):
    done = _run(["settings"], tmp_path, PAPERGIST_SMTP_USER="김철수", PAPERGIST_LANG="ko")
    assert (done.returncode, done.stderr) == (0, b"")
    lines = done.stdout.decode("utf-8").splitlines()
    assert "smtp_user = 김철수  [env; PAPERGIST_SMTP_USER]" in lines


def test_stdin_is_read_as_utf8_under_an_ascii_locale(tmp_path):
    text = json.dumps(KOREAN_JSON, ensure_ascii=False).encode("utf-8")
    done = _run(["verify", "-"], tmp_path, stdin=text)
    assert (done.returncode, done.stderr) == (0, b"")
    assert json.loads(done.stdout.decode("utf-8"))["status"] == "verified"


def test_stdin_that_is_not_utf8_is_a_clear_usage_error(tmp_path):
    text = json.dumps(KOREAN_JSON, ensure_ascii=False).encode("euc-kr")
    done = _run(["verify", "-"], tmp_path, stdin=text)
    assert done.returncode == 2
    assert done.stderr.decode("utf-8").startswith("papergist: error: - is not valid JSON: "
                                                  "'utf-8' codec can't decode byte")


def test_a_digest_with_korean_titles_is_written_to_a_pipe_under_an_ascii_locale(tmp_path):
    from conftest import local_env
    from fakes import FakeHF, load_day

    entries = load_day("2024-08-26")[:1]
    entries[0]["paper"]["title"] = entries[0]["title"] = "한국어 논문 요약"
    with FakeHF({"2024-08-26": entries}) as hf:
        done = _run(["digest", "2024-08-26", "-q"], tmp_path,
                    **local_env(tmp_path / "home", hf.url))
    assert (done.returncode, done.stderr.decode("utf-8")) == (0, "")
    assert "한국어 논문 요약" in done.stdout.decode("utf-8")


# --- the progress bar is closed on every path -------------------------------------------

SHOW_CURSOR, HIDE_CURSOR = "\x1b[?25h", "\x1b[?25l"


@pytest.fixture
def terminal(monkeypatch):
    """stderr as a terminal (so the bar is drawn), captured."""
    import io

    import papergist.console
    from rich.console import Console

    screen = io.StringIO()
    monkeypatch.setattr(papergist.console, "err", Console(file=screen, force_terminal=True,
                                                      width=80, highlight=False))
    return screen


def _live_bars() -> list[str]:
    """rich's refresh threads still running a second after they were told to stop."""
    import threading
    threads = [t for t in threading.enumerate() if type(t).__name__ == "_RefreshThread"]
    for thread in threads:
        thread.join(timeout=1)
    return [t.name for t in threads if t.is_alive()]


def _fail_mid_run(monkeypatch, error: BaseException) -> None:
    """The summarizing step advances the bar by one paper, then `error` is raised."""
    from papergist.pipeline import Pipeline

    async def one_then_fail(self, papers):
        self.progress.advance()
        raise error

    monkeypatch.setattr(Pipeline, "_summarize_all", one_then_fail)


def test_an_error_mid_run_shows_the_cursor_again(cli, terminal, monkeypatch):
    _fail_mid_run(monkeypatch, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        cli("digest", "2024-08-26")
    screen = terminal.getvalue()
    assert HIDE_CURSOR in screen
    assert screen.rindex(SHOW_CURSOR) > screen.rindex(HIDE_CURSOR)
    assert _live_bars() == []


def test_ctrl_c_mid_run_shows_the_cursor_again(cli, terminal, monkeypatch):
    _fail_mid_run(monkeypatch, KeyboardInterrupt())
    code, out, _ = cli("digest", "2024-08-26")
    screen = terminal.getvalue()
    assert (code, out) == (130, "")
    assert screen.rindex(SHOW_CURSOR) > screen.rindex(HIDE_CURSOR)
    assert "papergist: interrupted; what was finished is kept" in screen
    assert _live_bars() == []


def test_a_finished_run_closes_its_bar(cli, terminal):
    code, out, _ = cli("digest", "2024-08-26")
    screen = terminal.getvalue()
    assert code == 0 and out.startswith("#")
    assert screen.rindex(SHOW_CURSOR) > screen.rindex(HIDE_CURSOR)
    assert _live_bars() == []


def test_the_progress_is_a_context_manager_that_stops_its_bar(terminal):
    from papergist.cli import StderrProgress

    with pytest.raises(ValueError):
        with StderrProgress() as progress:
            progress.start(3, "Summarizing")
            bar = progress._bar
            assert bar.live.is_started
            raise ValueError
    assert (progress._bar, bar.live.is_started) == (None, False)
    progress.close()  # closing again is harmless
