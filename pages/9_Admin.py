"""Admin: who may do what, and the audit log of reveals, exports, imports and edits."""

from __future__ import annotations

import streamlit as st

from analytics import access, audit
from analytics.config import get_settings
from ui import resources
from ui.auth import auth_configured
from ui.page import setup, show_error
from ui.render import downloads

ctx = setup("Admin", ":material/admin_panel_settings:", filters=False)
settings = get_settings()

st.subheader("You")
st.write(
    f"**{ctx.user.name}** · role **{ctx.user.role}**"
    + (" · single local user" if ctx.user.local else "")
)
allowed = [a for a in access.PERMISSIONS if ctx.user.can(a)]
st.caption("You may: " + ", ".join(a.replace("_", " ") for a in allowed))

st.subheader("Sign-in and roles")
if auth_configured():
    st.write("Sign-in with OpenID Connect is **on** (`.streamlit/secrets.toml`, section `[auth]`).")
else:
    st.write(
        "Sign-in is **off**: everyone who can open the app is the single local user with the "
        "admin role. To turn it on, add an `[auth]` section to `.streamlit/secrets.toml` "
        "(see README, *Sign-in and roles*)."
    )
st.write(
    f"Roles file: `{settings.roles_path}`"
    + ("" if settings.roles_path.exists() else " (not present)")
)
table = st.columns(3)
for col, role in zip(table, access.ROLES, strict=True):
    with col.container(border=True):
        st.markdown(f"**{role}**")
        st.caption(
            ", ".join(
                a.replace("_", " ")
                for a, r in access.PERMISSIONS.items()
                if access.ROLES.index(role) >= access.ROLES.index(r)
            )
        )

st.subheader("Audit log")
if not ctx.user.can("view_audit"):
    st.info(f"Your role ({ctx.user.role}) cannot view the audit log.", icon=":material/lock:")
    st.stop()
actions = ["all", "reveal", "export", "import", "delete_import", "edit"]
pick = st.segmented_control("Action", actions, default="all", key="audit_action") or "all"
try:
    log = audit.audit_log(resources.connection(), ctx.user, action=None if pick == "all" else pick)
except Exception as exc:
    show_error(exc)
    st.stop()
if log.empty:
    st.caption("Nothing recorded yet.")
else:
    st.dataframe(log, hide_index=True)
    downloads(log, "audit_log", key="dl_audit", user=ctx.user)
