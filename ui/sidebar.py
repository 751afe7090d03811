"""The shared sidebar filters: one set of widgets on every page, kept in the session and the URL.

The URL decides on the first run of a browser session (a shared link reopens
the same view); afterwards the widgets decide and the URL follows them. The
:class:`~analytics.filters.Filters` value in ``st.session_state`` is the source
of truth: when the user arrives on another page, that page's widgets (which are
new widgets to Streamlit) are seeded from it, so filters survive page switches.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import streamlit as st

from analytics.filters import DATE_PRESETS, DIMENSION_FILTERS, Filters
from ui import resources

_STATE = "_filters"
_URL_KEYS = ("range", "from", "to", "q", "drill", *(name for name, _ in DIMENSION_FILTERS))


def _query_dict() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params.keys()}  # noqa: SIM118


def _seed(first: date | None, last: date | None, page: str) -> Filters:
    """Initialise widget state from the saved filters (or, on a session's first run, the URL).

    On a page change every filter widget is re-seeded: Streamlit treats a page's widgets as
    new widgets, and must not fall back to their defaults.
    """
    if _STATE not in st.session_state:
        st.session_state[_STATE] = Filters.from_query(_query_dict())
    f: Filters = st.session_state[_STATE]
    page_changed = st.session_state.get("_filters_page") != page
    st.session_state["_filters_page"] = page
    defaults = {
        "f_range": f.preset,
        "f_q": f.search,
        "f_dates": (f.start or first or date.today(), f.end or last or date.today()),
        **{f"f_{name}": list(getattr(f, name)) for name, _ in DIMENSION_FILTERS},
    }
    for key, value in defaults.items():
        if page_changed or key not in st.session_state:
            st.session_state[key] = value
    return f


def _reset() -> None:
    for key in [k for k in st.session_state.keys() if str(k).startswith("f_")]:  # noqa: SIM118
        del st.session_state[key]
    st.session_state[_STATE] = Filters()


def clear_drill() -> None:
    """Forget a drill-down (clicked bar) while keeping the other filters."""
    f: Filters = st.session_state.get(_STATE, Filters())
    st.session_state[_STATE] = replace(f, extra=())


def set_filters(f: Filters) -> None:
    """Replace the current filters (e.g. before switching to another page with a preset view)."""
    for key in [k for k in st.session_state.keys() if str(k).startswith("f_")]:  # noqa: SIM118
        del st.session_state[key]
    st.session_state[_STATE] = f


def sidebar_filters(first: date | None, last: date | None, page: str) -> Filters:
    """Draw the filters in the sidebar and return them resolved to concrete dates."""
    saved = _seed(first, last, page)
    path, ver = resources.db_path(), resources.version()
    with st.sidebar:
        st.markdown("### Filters")
        preset = st.selectbox(
            "Period",
            list(DATE_PRESETS),
            format_func=DATE_PRESETS.get,
            key="f_range",
            help=f"Presets count back from the latest case ({last:%d %b %Y})." if last else None,
        )
        start = end = None
        if preset == "custom":
            picked = st.date_input(
                "From – to",
                key="f_dates",
                min_value=first,
                max_value=last,
                persist_state="session",
                format="YYYY-MM-DD",
            )
            if isinstance(picked, tuple | list) and len(picked) == 2:
                start, end = picked
            else:
                st.caption("Pick an end date too.")
        search = st.text_input(
            "Search subject and description",
            key="f_q",
            placeholder="e.g. hacked, #RetoApagon",
            max_chars=200,
        )
        active = sum(bool(st.session_state.get(f"f_{n}")) for n, _ in DIMENSION_FILTERS)
        with st.expander(
            f"Region, queue, policy… ({active} active)" if active else "Region, queue, policy…",
            expanded=active > 0,
        ):
            values = {}
            for name, label in DIMENSION_FILTERS:
                options = resources.load_dimension_values(path, ver, name)
                chosen = [v for v in st.session_state.get(f"f_{name}", []) if v not in options]
                values[name] = st.multiselect(
                    label, options + chosen, key=f"f_{name}", placeholder="All"
                )
        if saved.extra:
            st.caption(
                "Drill-down: " + "; ".join(f"{k.replace('_', ' ')} = {v}" for k, v in saved.extra)
            )
            st.button("Clear drill-down", on_click=clear_drill, key="clear_drill")
        st.button("Reset all filters", on_click=_reset, key="reset_filters", type="tertiary")
    f = Filters(
        preset=preset if (preset != "custom" or start) else "last_90",
        start=start,
        end=end,
        search=search.strip(),
        extra=saved.extra,
        **{name: tuple(v) for name, v in values.items()},
    )
    st.session_state[_STATE] = f
    _write_url(f)
    return f.resolve(last, first)


def _write_url(f: Filters) -> None:
    """Mirror the filters in the query string, leaving other parameters (e.g. ?case=) alone."""
    wanted = f.to_query()
    for key in _URL_KEYS:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]
