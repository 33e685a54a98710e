"""Settings that do what they say: home, lists, messages naming real flags, limits."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

from papergist.cli import app
from papergist.errors import ConfigError
from papergist.settings import SETTINGS, load_settings


def _config(tmp_path: Path, text: str, name: str = "elsewhere.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error(overrides=None, **env: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(overrides, env=env)
    return str(info.value)


# --- 1. home in a config file --------------------------------------------------------


def test_home_in_a_config_named_by_papergist_config_is_honoured(tmp_path):
    config = _config(tmp_path, f'home = "{(tmp_path / "data").as_posix()}"\n')
    settings = load_settings(env={"PAPERGIST_CONFIG": str(config)})
    assert (settings.home, settings.origins["home"]) == (tmp_path / "data", "config")
    assert settings.db_path == tmp_path / "data" / "papergist.db"


def test_papergist_home_beats_home_in_a_named_config(tmp_path):
    config = _config(tmp_path, 'home = "/nowhere"\n')
    settings = load_settings(env={"PAPERGIST_CONFIG": str(config),
                                  "PAPERGIST_HOME": str(tmp_path / "env")})
    assert (settings.home, settings.origins["home"]) == (tmp_path / "env", "env")


def test_home_in_the_config_file_inside_home_is_refused(tmp_path):
    path = _config(tmp_path, 'home = "/elsewhere"\n', name="home/config.toml")
    assert _error(PAPERGIST_HOME=str(tmp_path / "home")) == (
        f"home cannot be set in {path}: that file is read from the data directory itself. "
        "Set PAPERGIST_HOME instead, or keep the config file elsewhere and name it with "
        "PAPERGIST_CONFIG")


# --- 2. TOML arrays ------------------------------------------------------------------


def test_email_to_accepts_a_toml_array(tmp_path):
    config = _config(tmp_path, 'email_to = ["a@x.org", "b@y.org"]\n')
    settings = load_settings(env={"PAPERGIST_CONFIG": str(config),
                                  "PAPERGIST_HOME": str(tmp_path)})
    assert settings.email_to == "a@x.org, b@y.org"


def test_email_to_from_the_environment_is_comma_separated(tmp_path):
    settings = load_settings(env={"PAPERGIST_HOME": str(tmp_path),
                                  "PAPERGIST_EMAIL_TO": " a@x.org,, b@y.org ,"})
    assert settings.email_to == "a@x.org, b@y.org"


def test_email_to_refuses_an_array_of_numbers(tmp_path):
    config = _config(tmp_path, "email_to = [1, 2]\n")
    assert _error(PAPERGIST_CONFIG=str(config), PAPERGIST_HOME=str(tmp_path)) == (
        "invalid email_to (config file): [1, 2]: must be a list of texts without commas, "
        f'e.g. ["a@example.org", "b@example.org"] (in {config})')


@pytest.mark.parametrize("line, kind", [
    ('smtp_host = ["a", "b"]', "a list"),
    ("http_timeout = [1]", "a list"),
    ("smtp_host = { name = 'a' }", "a table"),
])
def test_a_list_or_table_for_a_single_value_is_refused(tmp_path, line, kind):
    config = _config(tmp_path, line + "\n")
    message = _error(PAPERGIST_CONFIG=str(config), PAPERGIST_HOME=str(tmp_path))
    name = line.split(" ")[0]
    assert message.startswith(f"invalid {name} (config file): ")
    assert message.endswith(f": must be a single value, not {kind} (in {config})")


def test_true_for_a_number_is_refused(tmp_path):
    config = _config(tmp_path, "smtp_port = true\n")
    assert _error(PAPERGIST_CONFIG=str(config), PAPERGIST_HOME=str(tmp_path)) == (
        f"invalid smtp_port (config file): True: must not be true or false (in {config})")


# --- 3. messages name the flag, variable or config key the value came from ----------


def test_a_bad_flag_value_names_the_real_flag(tmp_path):
    env = {"PAPERGIST_HOME": str(tmp_path)}
    assert _error({"max_concurrency": 0}, **env) == (
        "invalid max_concurrency (--max-concurrency): 0: must be a whole number, 1 or more")
    assert _error({"on_unverified": "maybe"}, **env) == (
        "invalid on_unverified (--on-unverified): 'maybe': must be warn, drop or keep")
    assert _error({"language": ["ko"]}, **env) == (
        "invalid language (--lang): ['ko']: must be a single value, not a list")


def test_a_bad_library_override_without_a_flag_says_so(tmp_path):
    assert _error({"http_timeout": 0}, PAPERGIST_HOME=str(tmp_path)) == (
        "invalid http_timeout (override http_timeout=): 0: must be a number of seconds, "
        "more than 0")


def test_a_bad_variable_names_the_variable(tmp_path):
    assert _error(PAPERGIST_HOME=str(tmp_path), PAPERGIST_MAX_CONCURRENCY="many") == (
        "invalid max_concurrency (PAPERGIST_MAX_CONCURRENCY): 'many': must be a whole "
        "number, 1 or more")


def test_a_bad_config_key_names_the_key_and_the_file(tmp_path):
    config = _config(tmp_path, 'on_unverified = "maybe"\nconcurrency = 2.5\n')
    assert _error(PAPERGIST_CONFIG=str(config), PAPERGIST_HOME=str(tmp_path)) == (
        f"invalid concurrency (config file): 2.5: must be a whole number, 1 or more "
        f"(in {config})")
    config.write_text('on_unverified = "maybe"\n', encoding="utf-8")
    assert _error(PAPERGIST_CONFIG=str(config), PAPERGIST_HOME=str(tmp_path)) == (
        f"invalid on_unverified (config file): 'maybe': must be warn, drop or keep "
        f"(in {config})")


def test_an_unknown_override_is_refused(tmp_path):
    assert _error({"max_concurency": 3}, PAPERGIST_HOME=str(tmp_path)) == (
        "unknown setting(s): max_concurency")


def test_every_flag_named_by_the_table_exists_on_digest():
    digest = typer.main.get_command(app).commands["digest"]
    options = {opt for param in digest.params for opt in param.opts}
    flagged = [s for s in SETTINGS if s.flag]
    assert len(flagged) == 9
    assert [s.flag for s in flagged if s.flag not in options] == []


# --- 4. limits and http_attempts ----------------------------------------------------


@pytest.mark.parametrize("name, env", [
    ("http_timeout", "PAPERGIST_HTTP_TIMEOUT"), ("paper_timeout", "PAPERGIST_PAPER_TIMEOUT"),
    ("llm_timeout", "PAPERGIST_LLM_TIMEOUT"),
])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_timeout_must_be_more_than_zero(tmp_path, name, env, value):
    assert _error(PAPERGIST_HOME=str(tmp_path), **{env: value}) == (
        f"invalid {name} ({env}): {value!r}: must be a number of seconds, more than 0")


def test_a_zero_timeout_in_the_config_file_is_refused(tmp_path):
    config = _config(tmp_path, "paper_timeout = 0\n")
    assert _error(PAPERGIST_CONFIG=str(config), PAPERGIST_HOME=str(tmp_path)) == (
        f"invalid paper_timeout (config file): 0: must be a number of seconds, more than 0 "
        f"(in {config})")


def test_a_zero_delay_is_allowed(tmp_path):
    settings = load_settings(env={"PAPERGIST_HOME": str(tmp_path), "PAPERGIST_ARXIV_DELAY": "0",
                                  "PAPERGIST_HTTP_BACKOFF": "0"})
    assert (settings.arxiv_delay, settings.http_backoff) == (0.0, 0.0)


def test_http_attempts_is_read_under_its_name_and_its_former_one(tmp_path):
    home = {"PAPERGIST_HOME": str(tmp_path)}
    assert load_settings(env=home).http_attempts == 4
    assert load_settings(env={**home, "PAPERGIST_HTTP_ATTEMPTS": "2"}).http_attempts == 2
    old = load_settings(env={**home, "PAPERGIST_HTTP_RETRIES": "3"})
    assert (old.http_attempts, old.http_retries, old.origins["http_attempts"]) == (3, 3, "env")
    both = {**home, "PAPERGIST_HTTP_RETRIES": "3", "PAPERGIST_HTTP_ATTEMPTS": "5"}
    assert load_settings(env=both).http_attempts == 5
    assert load_settings({"http_retries": 1}, env=home).http_attempts == 1


def test_http_retries_in_the_config_file_still_counts_attempts(tmp_path):
    config = _config(tmp_path, "http_retries = 2\n")
    settings = load_settings(env={"PAPERGIST_CONFIG": str(config), "PAPERGIST_HOME": str(tmp_path)})
    assert (settings.http_attempts, settings.origins["http_attempts"]) == (2, "config")


def test_both_names_of_http_attempts_in_one_config_file_are_refused(tmp_path):
    config = _config(tmp_path, "http_retries = 2\nhttp_attempts = 3\n")
    assert _error(PAPERGIST_CONFIG=str(config), PAPERGIST_HOME=str(tmp_path)) == (
        f"in {config}: give http_attempts only (http_retries is its former name)")


def test_a_bad_former_name_is_named_as_given(tmp_path):
    assert _error(PAPERGIST_HOME=str(tmp_path), PAPERGIST_HTTP_RETRIES="0") == (
        "invalid http_retries (PAPERGIST_HTTP_RETRIES): '0': must be a whole number, 1 or more")
