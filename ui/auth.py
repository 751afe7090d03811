"""Optional sign-in with Streamlit's OpenID Connect support.

Sign-in is on when ``.streamlit/secrets.toml`` has an ``[auth]`` section. The
role comes from the roles file (see :mod:`analytics.access`).
"""

from __future__ import annotations

import streamlit as st

from analytics.access import User, load_roles, resolve_user
from analytics.config import get_settings


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def signed_in_user() -> User | None:
    """The signed-in user with their role, None when sign-in is not configured.

    When it is configured and nobody is signed in, shows a sign-in screen and stops the page.
    """
    if not auth_configured():
        return None
    if not st.user.is_logged_in:
        st.title("Escalation Insights")
        st.write("Sign in to see the escalation history.")
        st.button("Sign in", on_click=st.login, type="primary")
        st.stop()
    info = st.user.to_dict()
    groups = info.get("groups") or []
    if isinstance(groups, str):
        groups = [groups]
    name = str(info.get("name") or info.get("email") or info.get("sub") or "user")
    roles = load_roles(get_settings().roles_path)
    user = resolve_user(name, info.get("email"), tuple(str(g) for g in groups), roles)
    with st.sidebar:
        st.button("Sign out", on_click=st.logout, key="sign_out", type="tertiary")
    return user
