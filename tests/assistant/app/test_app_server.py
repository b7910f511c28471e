"""Login settings: HANDBOOK_AUTH / HANDBOOK_AUTH_FILE parsing and the login check."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.app.server import AuthConfigError, auth_checker, load_auth, parse_auth
from assistant.settings import AppSettings


@pytest.mark.unit
def test_pairs_split_on_commas_and_the_first_colon() -> None:
    assert parse_auth(" alice:s3cret , bob:pa:ss:word ,, ") == [("alice", "s3cret"), ("bob", "pa:ss:word")]
    assert parse_auth("") == []


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice", "entry 1 has no ':'"),
        ("alice:x,:pw", "entry 2 has an empty user name"),
        ("alice:", "user 'alice'\\) has an empty password"),
        ("alice:x,alice:y", "user 'alice' is listed twice"),
    ],
)
def test_bad_entries_name_the_setting_and_entry_but_not_the_password(text: str, message: str) -> None:
    with pytest.raises(AuthConfigError, match=f"^HANDBOOK_AUTH: .*{message}") as info:
        parse_auth(text)
    assert "x," not in str(info.value) and ":y" not in str(info.value)


@pytest.mark.unit
def test_env_and_file_are_combined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("# trainers\ncarol:with,comma\n\ndave:d\n", encoding="utf-8")
    monkeypatch.setenv("HANDBOOK_AUTH", "alice:a")
    monkeypatch.setenv("HANDBOOK_AUTH_FILE", str(accounts))
    settings = AppSettings()
    assert settings.auth == "alice:a" and settings.auth_file == accounts
    assert load_auth(settings) == [("alice", "a"), ("carol", "with,comma"), ("dave", "d")]


@pytest.mark.unit
def test_file_problems_are_reported(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigError, match="HANDBOOK_AUTH_FILE: cannot read"):
        load_auth(AppSettings(auth="", auth_file=tmp_path / "missing.txt"))
    both = tmp_path / "both.txt"
    both.write_text("alice:b\n", encoding="utf-8")
    with pytest.raises(AuthConfigError, match="both list user\\(s\\) alice"):
        load_auth(AppSettings(auth="alice:a", auth_file=both))
    assert load_auth(AppSettings(auth="", auth_file=None)) == []


@pytest.mark.unit
def test_login_check() -> None:
    check = auth_checker([("alice", "s3cret"), ("bob", "pa:ss")])
    assert check("alice", "s3cret") and check("bob", "pa:ss")
    assert not check("alice", "S3cret")
    assert not check("alice", "")
    assert not check("mallory", "s3cret")
    assert not check("", "")
