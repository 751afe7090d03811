"""Page setup shared by every view: config, connection, user, banners, sidebar filters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from analytics.access import LOCAL_USER, User
from analytics.errors import EscalationInsightsError
from analytics.filters import Filters
from analytics.store import StoreInfo
from ui import resources
from ui.sidebar import sidebar_filters


@dataclass(frozen=True)
class PageContext:
    """What a page needs: where the data is, what is loaded, the filters and the user."""

    db_path: str
    version: str
    info: StoreInfo
    filters: Filters | None
    user: User

    @property
    def has_data(self) -> bool:
        return self.info.cases > 0


def current_user() -> User:
    """The signed-in user (see ui.auth), or the single local user when sign-in is off."""
    from ui.auth import signed_in_user

    return signed_in_user() or LOCAL_USER


def setup(title: str, icon: str, *, filters: bool = True) -> PageContext:
    """Call first on every page. Stops the page with a clear message if the store cannot open."""
    st.set_page_config(page_title=f"{title} · Escalation Insights", page_icon=icon, layout="wide")
    user = current_user()
    try:
        resources.connection()
        ver = resources.version()
        info = resources.load_info(resources.db_path(), ver)
    except EscalationInsightsError as exc:
        st.title(f"{icon} {title}")
        st.error(str(exc), icon=":material/error:")
        st.stop()
    _navigation()
    with st.sidebar:
        if user.local:
            st.caption(":material/person: Single local user (sign-in is not configured)")
        else:
            st.caption(f":material/person: {user.name} · {user.role}")
    f = None
    if filters and info.cases:
        first, last = resources.load_bounds(resources.db_path(), ver)
        f = sidebar_filters(first, last, page=title)
    st.title(f"{icon} {title}")
    if info.is_demo:
        st.info(
            "You are looking at the **demo history** (synthetic cases with planted scenarios). "
            "Import your own export on the Data page.",
            icon=":material/science:",
        )
    return PageContext(resources.db_path(), ver, info, f, user)


#: Sidebar navigation: (script, label, icon). Pages that do not exist yet are skipped.
NAVIGATION: tuple[tuple[str, str, str], ...] = (
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Overview.py", "Overview", ":material/monitoring:"),
    ("pages/2_Cases.py", "Cases", ":material/list_alt:"),
    ("pages/3_Pain_points.py", "Pain points", ":material/bubble_chart:"),
    ("pages/4_Trending_risks.py", "Trending risks", ":material/trending_up:"),
    ("pages/5_Root_cause.py", "Root cause", ":material/account_tree:"),
    ("pages/6_Post-mortems.py", "Post-mortems", ":material/assignment:"),
    ("pages/7_SOP_grey_areas.py", "SOP grey areas", ":material/rule:"),
    ("pages/8_Data.py", "Data", ":material/database:"),
    ("pages/9_Admin.py", "Admin", ":material/admin_panel_settings:"),
)


ROOT = Path(__file__).resolve().parent.parent


def _navigation() -> None:
    with st.sidebar:
        for script, label, icon in NAVIGATION:
            if (ROOT / script).exists():
                st.page_link(script, label=label, icon=icon)
        st.divider()


def show_error(exc: Exception) -> None:
    """A named product error as a friendly message; anything else with its type for support."""
    if isinstance(exc, EscalationInsightsError):
        st.error(str(exc), icon=":material/error:")
    else:
        st.error(
            f"Something went wrong ({type(exc).__name__}: {exc}). The data is unchanged.",
            icon=":material/error:",
        )


def require_data(ctx: PageContext) -> None:
    """Empty state for pages that need cases: say what to do, then stop the page."""
    if ctx.has_data:
        return
    st.info(
        "There are no cases yet. Load the demo history from the **Home** page, or import an "
        "export on the **Data** page.",
        icon=":material/inbox:",
    )
    st.page_link("app.py", label="Home", icon=":material/home:")
    st.page_link("pages/8_Data.py", label="Import data", icon=":material/upload:")
    st.stop()
