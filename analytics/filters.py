"""The shared filters of every view: a frozen value, its URL form, and how it narrows a table.

``Filters`` is what a team lead picks in the sidebar (date range with presets,
dimension values, free-text search). It round-trips through the URL query
string (:meth:`Filters.to_query` / :meth:`Filters.from_query`) so a copied link
reopens the same view, and :func:`apply` turns it into an Ibis filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta

import ibis
from ibis import _

#: Dimension filters, in sidebar order: (field name, label).
DIMENSION_FILTERS: tuple[tuple[str, str], ...] = (
    ("region", "Region"),
    ("country", "Country"),
    ("channel", "Channel"),
    ("queue", "Queue"),
    ("category", "Category"),
    ("policy", "Policy"),
    ("priority", "Priority"),
    ("product_surface", "Product surface"),
    ("status", "Status"),
)

DATE_PRESETS: dict[str, str] = {
    "last_7": "Last 7 days",
    "last_30": "Last 30 days",
    "last_90": "Last 90 days",
    "quarter": "This quarter",
    "last_365": "Last 12 months",
    "all": "All time",
    "custom": "Custom range",
}


@dataclass(frozen=True)
class Filters:
    """A view of the case history. ``end`` is inclusive; dates are UTC calendar days."""

    preset: str = "last_90"
    start: date | None = None
    end: date | None = None
    region: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    queue: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    policy: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    product_surface: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    search: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())  # drill-down: (column, value) pairs

    def resolve(self, anchor: date | None, first: date | None = None) -> Filters:
        """Concrete start/end for a preset, counted back from ``anchor`` (the latest data day).

        Presets are anchored on the data rather than on today, because exports lag: "last 7
        days" of a history exported last week should show that week, not an empty chart.
        """
        anchor = anchor or date.today()
        if self.preset == "custom" and self.start and self.end:
            return self
        days = {"last_7": 7, "last_30": 30, "last_90": 90, "last_365": 365}
        if self.preset in days:
            return replace(self, start=anchor - timedelta(days=days[self.preset] - 1), end=anchor)
        if self.preset == "quarter":
            q_start = date(anchor.year, 3 * ((anchor.month - 1) // 3) + 1, 1)
            return replace(self, start=q_start, end=anchor)
        return replace(self, start=first or date(2000, 1, 1), end=anchor)

    def previous(self) -> Filters:
        """The same filters over the equal-length period just before (for comparisons)."""
        if self.start is None or self.end is None:
            raise ValueError("resolve() the filters before asking for the previous period")
        length = (self.end - self.start).days + 1
        return replace(
            self,
            preset="custom",
            start=self.start - timedelta(days=length),
            end=self.start - timedelta(days=1),
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1 if self.start and self.end else 0

    def with_drill(self, **pairs: str) -> Filters:
        """Narrow to extra column values (a clicked bar), keeping everything else."""
        merged = dict(self.extra) | {k: str(v) for k, v in pairs.items() if v is not None}
        return replace(self, extra=tuple(sorted(merged.items())))

    def dimension_values(self) -> dict[str, tuple[str, ...]]:
        return {
            name: getattr(self, name) for name, _label in DIMENSION_FILTERS if getattr(self, name)
        }

    # --- URL round trip -------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """Query-string parameters for this view (only what differs from the defaults)."""
        q: dict[str, str] = {}
        if self.preset != "last_90":
            q["range"] = self.preset
        if self.preset == "custom" and self.start and self.end:
            q["from"], q["to"] = self.start.isoformat(), self.end.isoformat()
        for name, values in self.dimension_values().items():
            q[name] = "|".join(values)
        if self.search:
            q["q"] = self.search
        if self.extra:
            q["drill"] = "|".join(f"{k}={v}" for k, v in self.extra)
        return q

    @classmethod
    def from_query(cls, params: dict[str, str | list[str]]) -> Filters:
        """Rebuild filters from query parameters; unknown or malformed values are ignored."""

        def one(key: str) -> str:
            value = params.get(key, "")
            return value[-1] if isinstance(value, list) and value else (value or "")

        preset = one("range") or "last_90"
        if preset not in DATE_PRESETS:
            preset = "last_90"
        start = end = None
        if preset == "custom":
            try:
                start, end = date.fromisoformat(one("from")), date.fromisoformat(one("to"))
            except ValueError:
                preset = "last_90"
            else:
                if start > end:
                    start, end = end, start
        dims = {name: tuple(v for v in one(name).split("|") if v) for name, _ in DIMENSION_FILTERS}
        extra = []
        for pair in one("drill").split("|"):
            if "=" in pair:
                k, v = pair.split("=", 1)
                if k in _DRILLABLE:
                    extra.append((k, v))
        return cls(
            preset=preset,
            start=start,
            end=end,
            search=one("q")[:200],
            extra=tuple(sorted(extra)),
            **dims,
        )

    def describe(self) -> str:
        """A short human description, e.g. for a review's scope or an export header."""
        parts = []
        if self.start and self.end:
            parts.append(f"{self.start:%d %b %Y} – {self.end:%d %b %Y}")
        for name, values in self.dimension_values().items():
            parts.append(f"{name.replace('_', ' ')}: {', '.join(values)}")
        if self.search:
            parts.append(f'text contains "{self.search}"')
        for k, v in self.extra:
            parts.append(f"{k.replace('_', ' ')} = {v}")
        return "; ".join(parts) or "all cases"


_DRILLABLE = {f.name for f in fields(Filters)} | {
    "app_version",
    "language",
    "team",
    "event_id",
    "linked_ticket",
    "reporter_type",
    "outcome",
    "pain_point",
    "created_day",
    "created_week",
    "sub_policy",
}


def apply(t: ibis.Table, f: Filters, *, dates: bool = True) -> ibis.Table:
    """Narrow ``t`` to the filters. ``dates=False`` keeps every date (for backlog and baselines)."""
    preds = []
    if dates and f.start:
        preds.append(_.created_at >= ibis.timestamp(datetime.combine(f.start, datetime.min.time())))
    if dates and f.end:
        preds.append(
            _.created_at
            < ibis.timestamp(datetime.combine(f.end + timedelta(days=1), datetime.min.time()))
        )
    for name, values in f.dimension_values().items():
        preds.append(_[name].isin(list(values)))
    for word in f.search.split():
        needle = word.lower()
        preds.append(
            _.subject.lower().contains(needle).fill_null(False)
            | _.description.lower().contains(needle).fill_null(False)
        )
    for column, value in f.extra:
        if column == "created_day":
            day = date.fromisoformat(value[:10])
            preds.append(_.created_at.date() == day)
        elif column == "created_week":
            monday = date.fromisoformat(value[:10])
            preds.append(_.created_at.date().between(monday, monday + timedelta(days=6)))
        elif column == "pain_point":
            # Value: one stored cluster id, or several joined by "," (a merged pain point).
            ids = [int(v) for v in value.split(",") if v.strip().lstrip("-").isdigit()]
            a = t.get_backend().table("pain_point_assignments")
            preds.append(_.case_id.isin(a.filter(a.pain_point.isin(ids)).case_id))
        elif column in t.columns:
            preds.append(_[column] == value)
    return t.filter(*preds) if preds else t
