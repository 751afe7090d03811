"""Public holidays per escalation region, from the ``holidays`` package (no network).

A region's holiday is a public holiday in one of its anchor countries (the
markets whose staffing and user behaviour dominate the region's load).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import pandas as pd

REGION_HOLIDAY_COUNTRIES: dict[str, tuple[str, ...]] = {
    "APAC": ("ID",),
    "EMEA": ("GB", "DE"),
    "LATAM": ("BR",),
    "NA": ("US",),
}


@lru_cache(maxsize=32)
def _country_holidays(country: str, years: tuple[int, ...]) -> dict[date, str]:
    import holidays

    return dict(holidays.country_holidays(country, years=list(years)).items())


def region_holidays(start: date, end: date, regions: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per (date, region) holiday between ``start`` and ``end`` with its name."""
    years = tuple(range(start.year, end.year + 1))
    rows = []
    for region, countries in REGION_HOLIDAY_COUNTRIES.items():
        if regions and region not in regions:
            continue
        seen: dict[date, str] = {}
        for country in countries:
            for day, name in _country_holidays(country, years).items():
                if start <= day <= end:
                    seen.setdefault(day, f"{name} ({country})")
        rows += [{"date": d, "region": region, "holiday": n} for d, n in sorted(seen.items())]
    return pd.DataFrame(rows, columns=["date", "region", "holiday"])


def holiday_dates(start: date, end: date, region: str | None = None) -> set[date]:
    """Days that are a holiday in ``region`` (or in any region when None)."""
    frame = region_holidays(start, end, (region,) if region else None)
    return set(frame["date"])
