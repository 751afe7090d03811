"""Personal data redaction, sensitive-text masking and safe spreadsheet exports.

Case text is traumatic and personal. Everything that leaves the store for a
screen or a file goes through :func:`redact_frame` (emails, phone numbers,
@handles, URLs with user ids, account ids, IP addresses) and, for cases marked
``sensitive``, :func:`mask_sensitive`, unless a permitted user reveals it.
Exports neutralise cells that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import io
import re

import pandas as pd

from analytics.schema import TEXT_COLUMNS

# Order matters: URLs before emails/handles so "https://x.com/@user" is one token, and
# account ids before phone numbers so "account id: 99887766" is named for what it is.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("[url]", re.compile(r"\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.IGNORECASE)),
    ("[email]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    (
        "[account id]",
        # The id must hold a digit, so "a comedy account makes fun" stays as written.
        re.compile(
            r"\b(?:account|user|uid|subscriber|profile)(?:[ _-]?(?:id|number|no\.?))?\s*[:#=]?\s*"
            r"(?=[\w-]*\d)[\w-]{5,}\b",
            re.IGNORECASE,
        ),
    ),
    ("[ip]", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")),
    # International or local phone numbers: 8+ digits with optional separators.
    ("[phone]", re.compile(r"(?<![\w@])\+?\(?\d[\d ()./-]{6,}\d\b")),
    ("[handle]", re.compile(r"(?<![\w@])@[\w.]{2,30}\b")),  # \w: handles are often not ASCII
)

SENSITIVE_PLACEHOLDER = "[sensitive content hidden]"


_DATE_LIKE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}:\d{2}"
)


def _phone(match: re.Match) -> str:
    """A digit run is a phone number only if long enough and not a date or a time."""
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if _DATE_LIKE.search(text):
        return text
    if digits >= 9 or (text.startswith("+") and digits >= 8):
        return "[phone]"
    return text


def _replacement(placeholder: str):
    return _phone if placeholder == "[phone]" else placeholder


def redact_text(text: str | None) -> str | None:
    """Replace personal data in one string with placeholders like ``[email]``."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return text
    for placeholder, pattern in _PATTERNS:
        text = pattern.sub(_replacement(placeholder), text)
    return text


def redact_frame(
    df: pd.DataFrame, columns: tuple[str, ...] | list[str] | None = None
) -> pd.DataFrame:
    """A copy of ``df`` with personal data redacted in its free-text columns.

    Vectorised (pandas string methods), so a 100k-row export redacts in well under a second.
    """
    out = df.copy()
    for col in columns or [c for c in (*TEXT_COLUMNS, "tags", "title", "text") if c in df.columns]:
        if col not in out.columns:
            continue
        series = out[col].astype("string")
        for placeholder, pattern in _PATTERNS:
            series = series.str.replace(pattern, _replacement(placeholder), regex=True)
        out[col] = series.astype(object).where(series.notna(), None)
    return out


def mask_sensitive(
    df: pd.DataFrame, columns: tuple[str, ...] | list[str] | None = None
) -> pd.DataFrame:
    """Hide the text of rows marked ``sensitive`` (the user can reveal one case at a time)."""
    if "sensitive" not in df.columns:
        return df
    out = df.copy()
    flag = out["sensitive"].fillna(False).astype(bool)
    for col in columns or [c for c in TEXT_COLUMNS if c in out.columns]:
        out[col] = out[col].astype(object).where(~flag, SENSITIVE_PLACEHOLDER)
    return out


def safe_view(
    df: pd.DataFrame, *, reveal_personal: bool = False, reveal_sensitive: bool = False
) -> pd.DataFrame:
    """What a screen or export may show: redacted and masked unless the user may and asks."""
    out = df if reveal_personal else redact_frame(df)
    return out if reveal_sensitive else mask_sensitive(out)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells a spreadsheet would execute (=, +, -, @, tab, CR) with a quote."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            s = out[col]
            mask = s.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
            if mask.any():
                out[col] = s.where(~mask, "'" + s.astype(str))
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV (UTF-8 with BOM so Excel detects the encoding), formula cells neutralised."""
    return neutralise_formulas(df).to_csv(index=False).encode("utf-8-sig")


def to_excel_bytes(df: pd.DataFrame, sheet_name: str = "data") -> bytes:
    """An .xlsx workbook, formula cells neutralised and written as text."""
    clean = neutralise_formulas(df)
    for col in clean.columns:  # Excel has no time zones
        if isinstance(clean[col].dtype, pd.DatetimeTZDtype):
            clean[col] = clean[col].dt.tz_localize(None)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        clean.to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buf.getvalue()
