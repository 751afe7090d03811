"""Who may do what: users, roles and permissions, enforced in service code.

Roles come from a small TOML file (``roles.toml``, path in config) mapping
users or groups to ``viewer``, ``analyst`` or ``admin``. Without sign-in the
app runs as one local user with the admin role, and says so. Functions that
change data or reveal text call :func:`require` themselves, so hiding a button
is never the only guard.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from analytics.errors import PermissionDeniedError

ROLES = ("viewer", "analyst", "admin")

#: action -> lowest role allowed to do it.
PERMISSIONS: dict[str, str] = {
    "view": "viewer",
    "export": "viewer",
    "reveal": "analyst",  # personal data and sensitive text
    "edit_reviews": "analyst",
    "edit_alerts": "analyst",
    "edit_findings": "analyst",
    "curate_pain_points": "analyst",
    "refit": "analyst",
    "import": "admin",
    "delete_import": "admin",
    "manage_roles": "admin",
    "view_audit": "admin",
}

_ACTION_TEXT = {
    "reveal": "reveal personal data or sensitive text",
    "import": "import data",
    "delete_import": "delete an import",
    "edit_reviews": "edit post-mortems",
    "edit_alerts": "change alerts",
    "edit_findings": "change SOP findings",
    "curate_pain_points": "rename or merge pain points",
    "refit": "refit the pain-point model",
    "manage_roles": "manage roles",
    "view_audit": "view the audit log",
}


@dataclass(frozen=True)
class User:
    """The person using the app. ``local`` is True when sign-in is not configured."""

    name: str
    role: str
    email: str | None = None
    groups: tuple[str, ...] = field(default=())
    local: bool = False

    def can(self, action: str) -> bool:
        needed = PERMISSIONS.get(action, "admin")
        return ROLES.index(self.role) >= ROLES.index(needed)


LOCAL_USER = User(name="local user", role="admin", local=True)


def require(user: User, action: str) -> None:
    """Raise :class:`PermissionDeniedError` unless ``user`` may do ``action``."""
    if not user.can(action):
        what = _ACTION_TEXT.get(action, action.replace("_", " "))
        needed = PERMISSIONS.get(action, "admin")
        raise PermissionDeniedError(
            f"Your role ({user.role}) cannot {what}; it needs the {needed} role. Ask an admin."
        )


def load_roles(path: Path) -> dict[str, str]:
    """Read ``[users]`` and ``[groups]`` tables of a roles file into one lookup (lower-cased)."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for section in ("users", "groups"):
        for who, role in (data.get(section) or {}).items():
            if role not in ROLES:
                raise PermissionDeniedError(
                    f"Unknown role '{role}' for {who} in {path.name}; use {', '.join(ROLES)}."
                )
            out[f"{section}:{who.lower()}"] = role
    default = data.get("default_role", "viewer")
    out["default"] = default if default in ROLES else "viewer"
    return out


def resolve_user(
    name: str, email: str | None, groups: tuple[str, ...], roles: dict[str, str]
) -> User:
    """The role of a signed-in user: their own entry, else the highest of their groups, else default."""
    role = roles.get(f"users:{(email or name).lower()}") or roles.get(f"users:{name.lower()}")
    if role is None:
        group_roles = [
            roles[f"groups:{g.lower()}"] for g in groups if f"groups:{g.lower()}" in roles
        ]
        role = max(group_roles, key=ROLES.index) if group_roles else roles.get("default", "viewer")
    return User(name=name, role=role, email=email, groups=groups)
