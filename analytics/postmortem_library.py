"""The lessons-learned library: search published reviews, and see what keeps coming back.

Search is ``ILIKE`` over titles and section texts (every word must appear somewhere in the
review; words are bound parameters with ``%``/``_`` escaped). Reviews are few (hundreds),
so this needs no index; DuckDB's full-text extension would have to be downloaded.

Patterns are causes, pain points, their single ``dimension=value`` parts and tags that
appear in at least ``min_reviews`` reviews.
"""

from __future__ import annotations

import json
import re

import duckdb
import pandas as pd

from analytics.postmortem_text import SECTION_TITLES


def _like(word: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", word) + "%"


def search_reviews(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    statuses: tuple[str, ...] = ("published",),
    limit: int = 50,
) -> pd.DataFrame:
    """Reviews whose title or sections contain every word of ``query``.

    Columns: review_id, title, severity, window_start, window_end, published_at, section
    (where the first word was found), snippet.
    """
    words = [w for w in query.split() if w][:8]
    columns = ["review_id", "title", "severity", "window_start", "window_end", "published_at"]
    if not words:
        return pd.DataFrame(columns=[*columns, "section", "snippet"])
    # Every pattern must match: one bound list parameter, no SQL composed from input.
    sql = """WITH docs AS (
                 SELECT r.review_id, r.title, r.severity, r.window_start, r.window_end,
                        r.published_at,
                        r.title || chr(10) || coalesce(string_agg(s.body, chr(10)), '') AS doc
                 FROM pm_reviews r LEFT JOIN pm_sections s USING (review_id)
                 WHERE list_contains(?, r.status)
                 GROUP BY r.review_id, r.title, r.severity, r.window_start, r.window_end,
                          r.published_at)
             SELECT * FROM docs
             WHERE list_bool_and(list_transform(?, lambda p: doc ILIKE p ESCAPE '\\'))
             ORDER BY published_at DESC NULLS LAST LIMIT ?"""
    cur = con.cursor()
    try:
        found = cur.execute(sql, [list(statuses), [_like(w) for w in words], limit]).df()
        if found.empty:
            return pd.DataFrame(columns=[*columns, "section", "snippet"])
        bodies = cur.execute(
            "SELECT review_id, section, body FROM pm_sections WHERE list_contains(?, review_id)",
            [found["review_id"].astype(int).tolist()],
        ).fetchall()
    finally:
        cur.close()
    first = words[0].lower()
    where_found: dict[int, tuple[str, str]] = {}
    order = {key: i for i, key in enumerate(SECTION_TITLES)}
    for review_id, section, body in sorted(bodies, key=lambda b: (b[0], order.get(b[1], 99))):
        pos = (body or "").lower().find(first)
        if pos >= 0 and review_id not in where_found:
            lo = max(pos - 80, 0)
            snippet = ("…" if lo else "") + body[lo : pos + 120].replace("\n", " ") + "…"
            where_found[review_id] = (SECTION_TITLES.get(section, section), snippet)
    found["section"] = [where_found.get(r, ("Title", ""))[0] for r in found["review_id"]]
    found["snippet"] = [where_found.get(r, ("", ""))[1] for r in found["review_id"]]
    return found[[*columns, "section", "snippet"]]


def recurring_patterns(
    con: duckdb.DuckDBPyConnection,
    *,
    min_reviews: int = 2,
    statuses: tuple[str, ...] = ("published", "in review"),
) -> pd.DataFrame:
    """Causes, cause parts, pain points and tags found in at least ``min_reviews`` reviews.

    Columns: pattern, kind (cause, cause part, pain point, tag), reviews (count),
    review_ids, titles; most frequent first.
    """
    cur = con.cursor()
    try:
        causes = cur.execute(
            """SELECT c.review_id, r.title, c.kind, c.label, c.slice FROM pm_causes c
               JOIN pm_reviews r USING (review_id) WHERE list_contains(?, r.status)""",
            [list(statuses)],
        ).fetchall()
        tags = cur.execute(
            "SELECT review_id, title, tags FROM pm_reviews WHERE list_contains(?, status)",
            [list(statuses)],
        ).fetchall()
    finally:
        cur.close()
    hits: list[tuple[str, str, int, str]] = []
    for review_id, title, kind, label, raw_slice in causes:
        is_pain = kind == "pain point"
        hits.append((label, "pain point" if is_pain else "cause", review_id, title))
        parts = json.loads(raw_slice or "{}")
        if not is_pain and len(parts) > 1:
            hits += [(f"{k}={v}", "cause part", review_id, title) for k, v in parts.items()]
    for review_id, title, raw in tags:
        hits += [(tag, "tag", review_id, title) for tag in json.loads(raw or "[]")]
    columns = ["pattern", "kind", "reviews", "review_ids", "titles"]
    if not hits:
        return pd.DataFrame(columns=columns)
    df = pd.DataFrame(hits, columns=["pattern", "kind", "review_id", "title"])
    df["key"] = df["pattern"].str.lower()
    # A single-dimension cause and the same cause part are one pattern.
    df["kind"] = df.groupby("key")["kind"].transform(lambda k: sorted(set(k))[0])
    grouped = (
        df.drop_duplicates(["key", "review_id"])
        .groupby("key")
        .agg(
            pattern=("pattern", "first"),
            kind=("kind", "first"),
            reviews=("review_id", "nunique"),
            review_ids=("review_id", lambda s: sorted(int(v) for v in s)),
            titles=("title", lambda s: "; ".join(sorted(set(s)))),
        )
    )
    out = grouped[grouped["reviews"] >= min_reviews].sort_values(
        ["reviews", "pattern"], ascending=[False, True]
    )
    return out.reset_index(drop=True)[columns]
