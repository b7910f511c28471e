"""Roles in HANDBOOK_AUTH: `user:password[:role]`, the old format unchanged, and what each role may use."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.app.roles import Access, AccessDenied, load_roles, roles_of, split_role
from assistant.app.server import auth_checker, parse_auth
from assistant.settings import AppSettings

pytestmark = pytest.mark.unit

AUTH = "ann:pa:ss, bob:secret:evaluator, cy:x:admin:staff, dee:word:trainer, eve:colon:admin"


def test_a_role_follows_the_password_and_the_old_format_still_works() -> None:
    assert parse_auth(AUTH) == [
        ("ann", "pa:ss"),  # "ss" is no role: part of the password, as before
        ("bob", "secret"),
        ("cy", "x:admin"),  # a password ending in ":admin" is followed by its role
        ("dee", "word"),
        ("eve", "colon"),
    ]
    assert roles_of(AUTH) == {"ann": "staff", "bob": "evaluator", "cy": "staff", "dee": "trainer", "eve": "admin"}
    check = auth_checker(parse_auth(AUTH))
    assert check("bob", "secret") and not check("bob", "secret:evaluator")
    assert split_role("Evaluator") == ("Evaluator", "staff") and split_role(":admin") == (":admin", "staff")


def test_roles_come_from_the_auth_file_too(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts"
    accounts.write_text("# trainers and evaluators\nfay:pw1:trainer\ngus:pw2\n")
    roles = load_roles(AppSettings(auth="hal:pw3:admin", auth_file=accounts))
    assert roles == {"hal": "admin", "fay": "trainer", "gus": "staff"}


@pytest.mark.parametrize(
    ("user", "chat", "brief", "review", "report"),
    [
        ("ann", True, False, False, False),
        ("dee", True, True, False, False),
        ("bob", True, True, True, True),
        ("eve", True, True, True, True),
        ("nobody", False, False, False, False),  # an account unknown to the roles (cannot log in anyway)
    ],
)
def test_what_each_role_may_use(user: str, chat: bool, brief: bool, review: bool, report: bool) -> None:
    access = Access(roles_of(AUTH))
    request = SimpleNamespace(username=user)
    allowed = {f: access.allows(request, f) for f in ("chat", "brief", "review", "report")}  # type: ignore[arg-type]
    assert allowed == {"chat": chat, "brief": brief, "review": review, "report": report}
    if not review:
        with pytest.raises(AccessDenied, match="the review queue is for the roles evaluator or admin"):
            access.require(request, "review")


def test_without_a_login_the_page_is_the_chat_and_the_brief() -> None:
    access = Access(None)
    request = SimpleNamespace(username=None)
    assert access.role(request) == "trainer"
    assert access.allows(request, "brief") and not access.allows(request, "review")
    assert not access.allows(request, "report")
