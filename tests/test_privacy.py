"""Redaction, sensitive masking and formula neutralisation."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from analytics.privacy import (
    SENSITIVE_PLACEHOLDER,
    mask_sensitive,
    neutralise_formulas,
    redact_frame,
    redact_text,
    safe_view,
    to_csv_bytes,
    to_excel_bytes,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mail me at jo.doe+x@example.co.uk now", "mail me at [email] now"),
        ("call +55 11 91234 5678 today", "call [phone] today"),
        ("my handle is @maria_rio.", "my handle is [handle]."),
        ("@joão627 e amigos", "[handle] e amigos"),
        ("see https://app.example.com/user/123456?ref=x please", "see [url] please"),
        ("account id: 99887766 was hacked", "[account id] was hacked"),
        ("user 12345678 again", "[account id] again"),
        ("A comedy account makes fun of a mayor", "A comedy account makes fun of a mayor"),
        ("login from 192.168.10.22", "login from [ip]"),
        ("version 37.1.0 broke the report button", "version 37.1.0 broke the report button"),
        ("I waited 20 days", "I waited 20 days"),
        ("since Oct 2026 (27) nothing", "since Oct 2026 (27) nothing"),
        ("created 2026-03-14 10:00 and 14/03/2026", "created 2026-03-14 10:00 and 14/03/2026"),
        ("call (415) 555-0132 now", "call [phone] now"),
        ("case 12345 and order 55-1234", "case 12345 and order 55-1234"),
        ("#RetoApagon is viral", "#RetoApagon is viral"),
    ],
)
def test_redact_text(text, expected):
    assert redact_text(text) == expected


def test_redact_frame_and_mask():
    df = pd.DataFrame(
        {
            "case_id": ["1", "2"],
            "description": ["a@b.com wrote", None],
            "subject": ["@xy hi", "ok"],
            "sensitive": [False, True],
        }
    )
    red = redact_frame(df)
    assert red["description"].tolist() == ["[email] wrote", None]
    assert red["subject"].tolist() == ["[handle] hi", "ok"]
    assert df["description"].iloc[0] == "a@b.com wrote"  # input untouched
    masked = mask_sensitive(red)
    assert masked["subject"].tolist() == ["[handle] hi", SENSITIVE_PLACEHOLDER]
    shown = safe_view(df, reveal_personal=True, reveal_sensitive=True)
    assert shown["description"].iloc[0] == "a@b.com wrote"


def test_formula_cells_neutralised_in_csv_and_excel():
    df = pd.DataFrame(
        {
            "s": ['=HYPERLINK("http://x","y")', "+1 call", "-x", "@SUM(A1)", "plain"],
            "n": [-1, 2, 3, 4, 5],
        }
    )
    neutral = neutralise_formulas(df)
    assert neutral["s"].tolist()[:4] == [
        '\'=HYPERLINK("http://x","y")',
        "'+1 call",
        "'-x",
        "'@SUM(A1)",
    ]
    assert neutral["n"].tolist() == [-1, 2, 3, 4, 5]  # numbers are not text
    csv_text = to_csv_bytes(df).decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text and "\n=" not in csv_text
    wb = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(df)))
    values = [c.value for c in wb.active["A"]][1:]
    assert all(not str(v).startswith("=") for v in values)
    assert wb.active["A2"].data_type == "s"
