"""The series a trend scan watches, built from the store.

:func:`daily_counts` turns the cases table into long daily counts
``[dimension, value, period, count]`` for every value of every dimension in
:data:`DEFAULT_DIMENSIONS` (single columns and the pairs escalation teams slice by), with
one portable Ibis ``GROUP BY`` per dimension combined into a single ``UNION ALL``.
Pain-point clusters join as one more dimension when :mod:`analytics.painpoints` is
installed (it is built separately; without it that dimension is skipped).

For the default, unfiltered scan the counts are also kept in ``trend_counts`` (migration
4): :func:`refresh_count_cache` recounts only the days touched by imports since the last
scan, which is what keeps the scan after a daily import cheap. Store management uses DuckDB
directly (house style); analytical reads go through Ibis.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import ibis
import pandas as pd
from ibis import _

from analytics.filters import Filters, apply
from analytics.geo import REGION_BY_COUNTRY

Dimension = str | tuple[str, ...]

SINGLE_DIMENSIONS: tuple[str, ...] = (
    "category",
    "policy",
    "queue",
    "region",
    "country",
    "channel",
    "product_surface",
    "app_version",
)
PAIR_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("region", "category"),
    ("region", "policy"),
    ("queue", "region"),
    ("region", "product_surface"),
    ("region", "app_version"),
    ("product_surface", "app_version"),
    ("category", "app_version"),
    ("channel", "region"),
)
DEFAULT_DIMENSIONS: tuple[Dimension, ...] = (*SINGLE_DIMENSIONS, *PAIR_DIMENSIONS)
PAIN_POINT = "pain_point"
UNASSIGNED = "(unassigned)"
MISSING = "(missing)"
#: Joins the values of a pair in a series label ("LATAM / Dangerous acts").
SEPARATOR = " / "
#: Dimensions whose brand-new values are routine (each release brings an app version).
ROUTINE_NEW_VALUES: frozenset[str] = frozenset({"app_version"})
#: Channels through which regulators and trusted flaggers send notices (DSA Art. 16/22).
REGULATORY_CHANNELS: tuple[str, ...] = ("regulator/authority", "trusted flagger")
#: Case columns a scan reads for the cases behind its alerts.
WINDOW_COLUMNS: tuple[str, ...] = (
    "case_id",
    "created_at",
    *SINGLE_DIMENSIONS,
    "sensitive",
)


def dimension_name(dim: Dimension) -> str:
    """``"region x category"`` for a pair, the column name for a single dimension."""
    return dim if isinstance(dim, str) else " x ".join(dim)


def columns_of(dimension: str) -> tuple[str, ...]:
    return tuple(dimension.split(" x "))


def slice_of(dimension: str, value: str) -> dict[str, str]:
    """``{"region": "LATAM", "category": "Dangerous acts"}`` from a series' name and label.

    Values are split on :data:`SEPARATOR` from the left, so only the last column's value
    may itself contain " / " (queue names such as "Regulatory/DSA" have no spaces).
    """
    cols = columns_of(dimension)
    parts = value.split(SEPARATOR, len(cols) - 1) if len(cols) > 1 else [value]
    if len(parts) != len(cols):
        return {dimension: value}
    return dict(zip(cols, parts, strict=True))


def slice_key(slice_: dict[str, str]) -> str:
    """A stable key for a slice: ``"category=Dangerous acts|region=LATAM"`` (sorted)."""
    return "|".join(f"{k}={slice_[k]}" for k in sorted(slice_))


def slice_label(slice_: dict[str, str]) -> str:
    """A short human label: ``"region LATAM · category Dangerous acts"``."""
    return " · ".join(f"{k.replace('_', ' ')} {v}" for k, v in slice_.items())


def scope_slice(f: Filters | None) -> dict[str, str]:
    """The dimension filters of a scope as slice pairs (several values joined by commas)."""
    if f is None:
        return {}
    out = {name: ",".join(values) for name, values in f.dimension_values().items()}
    if f.search:
        out["search"] = f.search
    out.update({k: v for k, v in f.extra if k not in ("created_day", "created_week")})
    return out


def _day_ts(d: date) -> ibis.Expr:
    return ibis.timestamp(datetime.combine(d, datetime.min.time()))


def _scoped(t: ibis.Table, f: Filters | None, start: date | None, end: date | None) -> ibis.Table:
    scoped = apply(t, f, dates=False) if f is not None else t
    if start is not None:
        scoped = scoped.filter(_.created_at >= _day_ts(start))
    if end is not None:
        scoped = scoped.filter(_.created_at < _day_ts(end + timedelta(days=1)))
    return scoped


def _label(table: ibis.Table, cols: Sequence[str]) -> ibis.Expr:
    parts = [table[c].cast("string").fill_null(MISSING) for c in cols]
    label = parts[0]
    for extra in parts[1:]:
        label = label.concat(SEPARATOR, extra)
    return label


def daily_counts(
    t: ibis.Table,
    f: Filters | None = None,
    dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS,
    *,
    start: date | None = None,
    end: date | None = None,
    days: Sequence[date] | None = None,
) -> pd.DataFrame:
    """Cases per UTC day for every value of every dimension, as long counts.

    Args:
        t: the cases table (:func:`analytics.engine.cases_table`).
        f: scope filters (their dates are ignored: a scan needs the history before them).
        dimensions: column names and tuples of column names (pairs).
        start, end: first and last day to count (inclusive); ``days``: only these days.

    Returns:
        ``dimension`` ("region x category"), ``value`` ("LATAM / Dangerous acts"),
        ``period`` (midnight of the day, naive UTC) and ``count``.
    """
    scoped = _scoped(t, f, start, end)
    if days is not None:
        scoped = scoped.filter(_.created_at.date().isin(list(days)))
    needed = sorted({c for dim in dimensions for c in ((dim,) if isinstance(dim, str) else dim)})
    # Project first: the relation is shared by every GROUP BY, and DuckDB materialises a
    # shared subquery, so carrying the text columns along would copy them all.
    scoped = scoped.select(*needed, period=_.created_at.date())
    parts = []
    for dim in dimensions:
        cols = (dim,) if isinstance(dim, str) else tuple(dim)
        parts.append(
            scoped.group_by(period=_.period, value=_label(scoped, cols))
            .aggregate(count=_.count())
            .mutate(dimension=ibis.literal(dimension_name(dim)))
            .select("dimension", "value", "period", "count")
        )
    if not parts:
        return _empty_counts()
    frame = ibis.union(*parts).execute() if len(parts) > 1 else parts[0].execute()
    return _tidy(frame)


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    frame["period"] = pd.to_datetime(frame["period"]).astype("datetime64[ns]")
    frame["count"] = frame["count"].astype("int64")
    frame["dimension"] = frame["dimension"].astype(object)
    frame["value"] = frame["value"].astype(object)
    return frame.reset_index(drop=True)


def _empty_counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dimension": pd.Series(dtype=object),
            "value": pd.Series(dtype=object),
            "period": pd.Series(dtype="datetime64[ns]"),
            "count": pd.Series(dtype="int64"),
        }
    )


def long_counts(
    cases: pd.DataFrame,
    dimensions: Sequence[str | tuple[str, str]],
    *,
    time_col: str = "created_at",
    freq: str = "D",
) -> pd.DataFrame:
    """Long counts ``[dimension, value, period, count]`` of a case frame (pandas, in memory).

    ``dimensions`` names case columns (``"category"``) and pairs (``("region",
    "category")``, reported as dimension ``"region x category"`` and value
    ``"APAC / Scam"``). Missing values are counted as ``"(missing)"``.
    """
    period = pd.to_datetime(cases[time_col]).dt.floor(freq)
    parts = []
    for dim in dimensions:
        cols = [dim] if isinstance(dim, str) else list(dim)
        labels = [cases[c].astype("str").fillna("(missing)") for c in cols]
        value = labels[0]
        for extra in labels[1:]:
            value = value + " / " + extra
        counted = (
            pd.DataFrame({"value": value, "period": period})
            .groupby(["value", "period"], observed=True)
            .size()
            .rename("count")
            .reset_index()
        )
        counted.insert(0, "dimension", " x ".join(cols))
        parts.append(counted)
    return pd.concat(parts, ignore_index=True)


# --- Pain points (optional module) ------------------------------------------------------------


def painpoints_available() -> bool:
    """True when :mod:`analytics.painpoints` is installed and offers ``assignments``."""
    try:
        if importlib.util.find_spec("analytics.painpoints") is None:
            return False
    except (ImportError, ValueError):
        return False
    module = importlib.import_module("analytics.painpoints")
    return callable(getattr(module, "assignments", None))


def pain_point_assignments(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """``[case_id, pain_point, name]`` from :mod:`analytics.painpoints`, or None without it."""
    if not painpoints_available():
        return None
    module = importlib.import_module("analytics.painpoints")
    try:
        frame = module.assignments(con)
    except Exception:  # noqa: BLE001 - a half-built model must not break the trend scan
        return None
    if frame is None or frame.empty or "case_id" not in frame:
        return None
    return frame


def pain_point_labels(assigned: pd.DataFrame) -> pd.DataFrame:
    """``[case_id, label]``: the pain point's name (or id); unassigned/noise as one label."""
    ids = assigned.get("pain_point", pd.Series(index=assigned.index, dtype=object))
    names = assigned.get("name", pd.Series(index=assigned.index, dtype=object))
    label = names.astype(object).where(names.notna() & (names.astype(str) != ""), ids)
    noise = ids.isna() | ids.astype(str).isin(["", "-1", "None", "nan", UNASSIGNED])
    label = label.astype(str).where(~noise, UNASSIGNED)
    return pd.DataFrame({"case_id": assigned["case_id"].astype(str), "label": label})


def pain_point_counts(
    t: ibis.Table,
    assigned: pd.DataFrame,
    f: Filters | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Daily cases per pain point (dimension ``pain_point``); cases without one are unassigned."""
    labels = ibis.memtable(pain_point_labels(assigned))
    scoped = _scoped(t, f, start, end).select("case_id", "created_at")
    joined = scoped.left_join(labels, scoped.case_id == labels.case_id)
    counted = (
        joined.group_by(period=_.created_at.date(), value=_.label.fill_null(UNASSIGNED))
        .aggregate(count=_.count())
        .mutate(dimension=ibis.literal(PAIN_POINT))
        .select("dimension", "value", "period", "count")
        .execute()
    )
    return _tidy(counted)


# --- Cases behind alerts, texts, holidays -----------------------------------------------------


def window_cases(
    t: ibis.Table,
    f: Filters | None,
    start: date,
    end: date,
    columns: Sequence[str] = WINDOW_COLUMNS,
) -> pd.DataFrame:
    """The cases of ``start..end`` (inclusive) with the columns alerts are explained with."""
    scoped = _scoped(t, f, start, end)
    cols = [c for c in columns if c in scoped.columns]
    out = scoped.select(*cols).execute()
    out["created_at"] = pd.to_datetime(out["created_at"])
    return out


def case_texts(
    t: ibis.Table,
    f: Filters | None,
    start: date,
    end: date,
    *,
    recent_from: date | None = None,
    max_baseline: int | None = None,
) -> pd.DataFrame:
    """``[case_id, created_at, region, sensitive, text]`` (subject + description) of a span.

    With ``recent_from`` and ``max_baseline``, cases before ``recent_from`` are thinned to
    about ``max_baseline`` by a deterministic rule on the creation second (rates per case
    stay unbiased; the test of :func:`analytics.terms.emerging_terms` conditions on counts).
    """
    scoped = _scoped(t, f, start, end)
    n_before = None
    if recent_from is not None and max_baseline:
        before = scoped.filter(_.created_at < _day_ts(recent_from))
        n_before = int(before.count().execute())
        if n_before > max_baseline:
            keep = max(1, round(600 * max_baseline / n_before))
            seconds = scoped.created_at.epoch_seconds() % 600
            scoped = scoped.filter((_.created_at >= _day_ts(recent_from)) | (seconds < keep))
    text = _.subject.fill_null("").concat(" ", _.description.fill_null(""))
    out = scoped.select("case_id", "created_at", "region", "sensitive", text=text).execute()
    out["created_at"] = pd.to_datetime(out["created_at"])
    out.attrs["baseline_cases"] = n_before  # before thinning (per-day rates need it)
    return out


def region_of_slice(slice_: dict[str, str], scope: Filters | None = None) -> str:
    """The region whose holidays shape a series: its own, its country's, the scope's, or '*'."""
    if slice_.get("region"):
        return slice_["region"]
    if slice_.get("country") in REGION_BY_COUNTRY:
        return REGION_BY_COUNTRY[slice_["country"]]
    if scope is not None and len(scope.region) == 1:
        return scope.region[0]
    return "*"


def holiday_map(first: date, last: date) -> dict[str, list[date]]:
    """Public holidays per escalation region (see :mod:`analytics.calendar`)."""
    from analytics.calendar import region_holidays

    frame = region_holidays(first, last)
    return {str(r): sorted(g["date"]) for r, g in frame.groupby("region")}


# --- Count cache for the unfiltered scan ------------------------------------------------------


@dataclass(frozen=True)
class CacheRefresh:
    """What :func:`refresh_count_cache` did."""

    mode: str  # "full" or "incremental" (or "none" when nothing changed)
    days: int  # days recounted
    last_import_id: int


def last_import_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(
        con.cursor().execute("SELECT coalesce(max(import_id), 0) FROM imports").fetchone()[0]
    )


def _deleted_imports(cur: duckdb.DuckDBPyConnection) -> int:
    return int(cur.execute("SELECT count(*) FROM imports WHERE status = 'deleted'").fetchone()[0])


def refresh_count_cache(
    con: duckdb.DuckDBPyConnection,
    t: ibis.Table,
    *,
    since_import: int | None,
    deleted_before: int | None = None,
    dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS,
) -> CacheRefresh:
    """Bring ``trend_counts`` up to date with the cases.

    ``since_import`` is the last import the cache reflects (None: rebuild). Only the days
    of cases written by later imports (and of the versions they replaced) are recounted;
    a deleted import, or a cache built for other dimensions, forces a rebuild.
    """
    cur = con.cursor()
    latest = last_import_id(con)
    names = {dimension_name(d) for d in dimensions}
    cached = {r[0] for r in cur.execute("SELECT DISTINCT dimension FROM trend_counts").fetchall()}
    rebuild = (
        since_import is None
        or deleted_before is None
        or deleted_before != _deleted_imports(cur)
        or (cached and cached != names)
        or not cached
    )
    if rebuild:
        counts = daily_counts(t, None, dimensions)
        _replace_days(cur, counts, None)
        return CacheRefresh("full", int(counts["period"].nunique()), latest)
    dirty = [
        r[0]
        for r in cur.execute(
            "SELECT DISTINCT created_at::DATE FROM cases WHERE import_id > ? "
            "UNION SELECT DISTINCT created_at::DATE FROM case_versions WHERE replaced_by > ?",
            [since_import, since_import],
        ).fetchall()
        if r[0] is not None
    ]
    if not dirty:
        return CacheRefresh("none", 0, latest)
    counts = daily_counts(t, None, dimensions, days=dirty)
    _replace_days(cur, counts, dirty)
    return CacheRefresh("incremental", len(dirty), latest)


def _replace_days(
    cur: duckdb.DuckDBPyConnection, counts: pd.DataFrame, days: list[date] | None
) -> None:
    from analytics.store import transaction

    rows = counts.rename(columns={"value": "slice_value", "period": "count_date", "count": "n"})
    rows["count_date"] = rows["count_date"].dt.date
    with transaction(cur):
        if days is None:
            cur.execute("DELETE FROM trend_counts")
        else:
            cur.execute(
                "DELETE FROM trend_counts WHERE count_date IN (SELECT unnest(?::DATE[]))", [days]
            )
        cur.register("_trend_counts_new", rows[["dimension", "slice_value", "count_date", "n"]])
        cur.execute("INSERT INTO trend_counts SELECT * FROM _trend_counts_new")
        cur.unregister("_trend_counts_new")


def cached_counts(con: duckdb.DuckDBPyConnection, start: date | None = None) -> pd.DataFrame:
    """The cached long counts (from ``start``), in the shape of :func:`daily_counts`."""
    sql = (
        "SELECT dimension, slice_value AS value, count_date::TIMESTAMP AS period, n AS count "
        "FROM trend_counts"
    )
    params: list = []
    if start is not None:
        sql += " WHERE count_date >= ?"
        params.append(start)
    return _tidy(con.cursor().execute(sql, params).df())
