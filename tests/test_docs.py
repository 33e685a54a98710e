"""Docs that cannot go stale: every setting and exit status is in the README, and the
generated docs/settings.md and docs/cli.md equal a fresh `python -m papergist.docs_gen`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from papergist.cli import EXIT_STATUSES
from papergist.settings import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    for setting in SETTINGS:
        assert f"| `{setting.name}` | `{setting.env}` |" in README, setting.name


def test_exit_statuses_match_the_help():
    in_help = dict(re.findall(r"^\s+(\d+)  (.+)$", EXIT_STATUSES, re.M))
    in_readme = dict(re.findall(r"^\| (\d+) \| (.+) \|$", README, re.M))
    assert in_help == in_readme and len(in_help) == 9


def test_readme_first_screen_has_install_run_and_test():
    first_screen = "\n".join(README.splitlines()[:25])
    assert "pip install -e ." in first_screen
    assert "papergist digest 2024-08-26" in first_screen
    assert "python -m pytest" in first_screen


# --- generated docs: docs/settings.md and docs/cli.md -------------------------------

from papergist import docs_gen  # noqa: E402
from papergist.cli import app  # noqa: E402


@pytest.mark.parametrize("name", ["settings.md", "cli.md"])
def test_generated_docs_are_up_to_date(name):
    path = docs_gen.DOCS / name
    fresh = docs_gen.generated()[path]
    committed = path.read_text(encoding="utf-8") if path.is_file() else ""
    assert committed == fresh, f"docs/{name} is out of date: run python -m papergist.docs_gen"


def test_settings_doc_has_a_row_per_setting_with_its_flag():
    text = docs_gen.settings_markdown()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[0][3:-1] for row in rows] == [s.name for s in SETTINGS]
    assert "| `max_concurrency` | `PAPERGIST_MAX_CONCURRENCY` | `--max-concurrency` | `256` |" \
        in text
    assert "Former name: `http_retries` (`PAPERGIST_HTTP_RETRIES`), still read." in text


def test_cli_doc_has_every_command_and_option():
    import typer.main

    text = docs_gen.cli_markdown()
    root = typer.main.get_command(app)
    for name, command in root.commands.items():
        assert f"\n## papergist {name}\n" in text
        for param in command.params:
            assert all(opt in text for opt in param.opts if opt.startswith("-")), param.name


def test_the_check_mode_names_a_stale_file_and_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(docs_gen, "DOCS", tmp_path)
    assert docs_gen.main(["--check"]) == 1
    assert capsys.readouterr().err == (
        f"{tmp_path / 'settings.md'} is out of date: run python -m papergist.docs_gen\n"
        f"{tmp_path / 'cli.md'} is out of date: run python -m papergist.docs_gen\n")
    assert docs_gen.main([]) == 0
    assert docs_gen.main(["--check"]) == 0
    assert (tmp_path / "cli.md").read_text(encoding="utf-8") == docs_gen.cli_markdown()


# --- the README's Design tree names every module, and only modules that exist ---------

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "papergist"


def design_tree_modules() -> list[str]:
    """The modules the README's Design tree names, as paths under src/papergist/."""
    design = README[README.index("\n## Design\n"):]
    block = design[design.index("```\nsrc/papergist/\n") + 4:]
    block = block[:block.index("\n```")]
    named, package = [], ""
    for line in block.splitlines()[1:]:
        if not line.startswith("  "):
            break  # tests/, bench/: outside the package
        first = line.split()[0]
        if not line.startswith("   "):  # a new row: a package, or top-level modules
            package = first if first.endswith("/") else ""
        named += [package + name for name in re.findall(r"\b([a-z_]+\.py)\b", line)]
    return named


def package_modules() -> list[str]:
    """Every module under src/papergist/ but `__init__`, `__main__` and private `_x` ones."""
    return sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                  if not p.name.startswith("_"))


def test_the_design_tree_names_every_module_that_exists():
    named = design_tree_modules()
    assert len(named) == len(set(named)), "a module is named twice"
    assert sorted(named) == package_modules()
