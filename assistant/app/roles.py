"""Who may use what in the app: the roles of HANDBOOK_AUTH accounts, checked on the server for every handler.

An account is `user:password` (role staff) or `user:password:role` with role one of staff,
trainer, evaluator, admin. The password is everything between the first ':' and a final
`:role`, so it may itself contain ':'; a password that ends in ":staff", ":trainer",
":evaluator" or ":admin" must be followed by its role (`ann:pa:admin:staff`).

| feature | staff | trainer | evaluator | admin |
|---|---|---|---|---|
| chat, feedback, export | yes | yes | yes | yes |
| topic brief and quiz | | yes | yes | yes |
| review queue, gap report | | | yes | yes |

Without a login (no HANDBOOK_AUTH) the page is what it always was, the chat and the topic
brief: the queue and the report, which show what other people asked, need a login with a role.
Hiding a tab is only for the eye; `Access.require` in each handler is what refuses.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.settings import AppSettings

Role = Literal["staff", "trainer", "evaluator", "admin"]
ROLES: tuple[Role, ...] = ("staff", "trainer", "evaluator", "admin")
DEFAULT_ROLE: Role = "staff"
NO_LOGIN_ROLE: Role = "trainer"
Feature = Literal["chat", "brief", "review", "report"]
ALLOWED: dict[Feature, frozenset[str]] = {
    "chat": frozenset(ROLES),
    "brief": frozenset({"trainer", "evaluator", "admin"}),
    "review": frozenset({"evaluator", "admin"}),
    "report": frozenset({"evaluator", "admin"}),
}
FEATURE_NAMES: dict[Feature, str] = {
    "chat": "the chat",
    "brief": "the topic brief",
    "review": "the review queue",
    "report": "the gap report",
}


class AccessDenied(PermissionError):
    """A handler called by an account whose role does not allow it; the message names the role needed."""


def split_role(secret: str) -> tuple[str, Role]:
    """`password:role` -> (password, role); without a known role after the last ':', the whole is the password."""
    password, colon, role = secret.rpartition(":")
    if colon and password and role in ROLES:
        return password, role  # type: ignore[return-value]
    return secret, DEFAULT_ROLE


def roles_of(text: str, separator: str = ",") -> dict[str, Role]:
    """user -> role of the `user:password[:role]` entries (parse_auth in assistant.app.server checks them)."""
    roles: dict[str, Role] = {}
    for raw in text.split(separator):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        user, colon, secret = entry.partition(":")
        if colon and user.strip():
            roles[user.strip()] = split_role(secret)[1]
    return roles


def load_roles(settings: AppSettings) -> dict[str, Role]:
    """The role of every account of HANDBOOK_AUTH and HANDBOOK_AUTH_FILE."""
    roles = roles_of(settings.auth) if settings.auth.strip() else {}
    if settings.auth_file is not None:
        with contextlib.suppress(OSError):  # load_auth reports an unreadable file before this is asked
            roles.update(roles_of(Path(settings.auth_file).read_text(encoding="utf-8"), separator="\n"))
    return roles


@dataclass(frozen=True)
class Access:
    """The role of the request's account and what it may do; `roles` None means the app has no login."""

    roles: dict[str, Role] | None = None

    @property
    def login(self) -> bool:
        return self.roles is not None

    def role(self, request: Any) -> Role | None:
        """The account's role; None for a request without a known account while a login is required."""
        if self.roles is None:
            return NO_LOGIN_ROLE
        user = getattr(request, "username", None)
        return self.roles.get(user) if isinstance(user, str) else None

    def allows(self, request: Any, feature: Feature) -> bool:
        role = self.role(request)
        return role is not None and role in ALLOWED[feature]

    def require(self, request: Any, feature: Feature) -> Role:
        """The account's role, or AccessDenied when it may not use `feature`."""
        role = self.role(request)
        if role is None or role not in ALLOWED[feature]:
            needed = " or ".join(r for r in ROLES if r in ALLOWED[feature])
            raise AccessDenied(f"{FEATURE_NAMES[feature]} is for the roles {needed}; ask your administrator")
        return role
