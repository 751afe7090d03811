"""Rendering helpers: KPI tiles, safe tables with downloads, blurred text, empty states."""

from __future__ import annotations

import html
import math

import pandas as pd
import streamlit as st

from analytics.access import User
from analytics.privacy import safe_view, to_csv_bytes, to_excel_bytes


def fmt_value(value, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "%":
        return f"{value:.1%}"
    if unit == "cases":
        return f"{value:,.0f}"
    if unit in ("h", "d"):
        return f"{value:,.1f} {unit}"
    if unit == "/5":
        return f"{value:.2f} / 5"
    return f"{value:,.2f}"


def fmt_delta(row) -> str | None:
    change = row["change"]
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return None
    if row["unit"] == "%":
        return f"{change * 100:+.1f} pts"
    pct = row["change_pct"]
    pct_text = (
        "" if pct is None or (isinstance(pct, float) and math.isnan(pct)) else f" ({pct:+.0%})"
    )
    if row["unit"] == "cases":
        return f"{change:+,.0f}{pct_text}"
    return f"{change:+,.1f}{pct_text}"


def kpi_tiles(kpis: pd.DataFrame, keys: list[str] | None = None, columns: int = 4) -> None:
    """KPI tiles with the change against the previous equal period; red when it got worse."""
    rows = kpis if keys is None else kpis.set_index("key").loc[keys].reset_index()
    with st.grid(columns, gap="small"):
        for _, row in rows.iterrows():
            st.metric(
                row["label"],
                fmt_value(row["value"], row["unit"]),
                fmt_delta(row),
                delta_color="normal" if row["higher_is_better"] else "inverse",
                help=f"{row['help']} Previous period: {fmt_value(row['previous'], row['unit'])}.",
                border=True,
                height="stretch",
            )


def downloads(df: pd.DataFrame, name: str, *, key: str, user: User | None = None) -> None:
    """CSV and Excel downloads of exactly what is shown (formula cells neutralised)."""
    from ui.audit_hooks import log_export

    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(
        ":material/download: CSV",
        to_csv_bytes(df),
        f"{name}.csv",
        "text/csv",
        key=f"{key}_csv",
        on_click=log_export,
        args=(user, name, "csv", len(df)),
        width="stretch",
    )
    c2.download_button(
        ":material/table_view: Excel",
        to_excel_bytes(df, name),
        f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx",
        on_click=log_export,
        args=(user, name, "xlsx", len(df)),
        width="stretch",
    )


def safe_table(df: pd.DataFrame, *, reveal: bool = False) -> pd.DataFrame:
    """Cases as they may be shown: personal data redacted and sensitive text hidden."""
    return safe_view(df, reveal_personal=reveal, reveal_sensitive=reveal)


def blurred(text: str | None, *, reveal: bool) -> None:
    """Case text as plain text (never rendered as HTML/Markdown); blurred until revealed."""
    if not text:
        st.caption("(empty)")
        return
    escaped = html.escape(text).replace("\n", "<br>")
    style = "" if reveal else "filter: blur(5px); user-select: none;"
    st.html(f'<div style="white-space: pre-wrap; {style}">{escaped}</div>')


def empty_state(message: str, icon: str = ":material/inbox:") -> None:
    st.info(message, icon=icon)
