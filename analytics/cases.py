"""Case lists and case detail: the drill-down behind every chart.

Lists return the columns a person scans (not the whole record) and are capped;
:func:`case_count` says how many match in total so the UI can say "showing
500 of 3,120". Redaction happens in :mod:`analytics.privacy`, not here, so the
same rows can be shown redacted or, to a permitted user, revealed.
"""

from __future__ import annotations

import contextlib
import json

import ibis
import pandas as pd
from ibis import _

from analytics.filters import Filters, apply

LIST_COLUMNS = (
    "case_id",
    "created_at",
    "status",
    "priority",
    "region",
    "country",
    "channel",
    "queue",
    "category",
    "policy",
    "product_surface",
    "subject",
    "description",
    "outcome",
    "sla_breached",
    "overturned",
    "sensitive",
)
SORTS = {
    "newest": ibis.desc("created_at"),
    "oldest": ibis.asc("created_at"),
    "priority": ibis.desc("priority_rank"),
}
_PRIORITY_RANK = {"urgent": 4, "high": 3, "normal": 2, "low": 1}


def _scoped(t: ibis.Table, f: Filters, case_ids: list[str] | None) -> ibis.Table:
    scoped = apply(t, f)
    if case_ids is not None:
        scoped = scoped.filter(_.case_id.isin(list(case_ids)))
    return scoped


def case_count(t: ibis.Table, f: Filters, case_ids: list[str] | None = None) -> int:
    """How many cases match the filters (and, optionally, a set of case ids)."""
    return int(_scoped(t, f, case_ids).count().execute())


def case_list(
    t: ibis.Table,
    f: Filters,
    *,
    sort: str = "newest",
    limit: int = 500,
    case_ids: list[str] | None = None,
    columns: tuple[str, ...] = LIST_COLUMNS,
) -> pd.DataFrame:
    """Cases matching the filters, sorted (newest, oldest, priority), at most ``limit`` rows."""
    scoped = _scoped(t, f, case_ids)
    rank = scoped.priority.cases(*_PRIORITY_RANK.items(), else_=0)
    scoped = scoped.mutate(priority_rank=rank)
    order = SORTS.get(sort, SORTS["newest"])
    keys = [order] if sort != "priority" else [order, ibis.desc("created_at")]
    cols = [c for c in columns if c in scoped.columns]
    return scoped.order_by(keys).limit(limit).select(*cols).execute()


def case_detail(t: ibis.Table, case_id: str) -> dict | None:
    """The whole record of one case (``extra`` parsed from JSON), or None."""
    df = t.filter(_.case_id == case_id).limit(1).execute()
    if df.empty:
        return None
    record = df.iloc[0].to_dict()
    extra = record.get("extra")
    if isinstance(extra, str):
        with contextlib.suppress(json.JSONDecodeError):
            record["extra"] = json.loads(extra)
    return {k: (None if _isna(v) else v) for k, v in record.items()}


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
