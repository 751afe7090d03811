"""Persisting trend scans: one alert per trend, re-detection, firing again, the scan log.

:func:`record_scan` upserts the trends of a :class:`~analytics.trend_watch.ScanResult`. A
trend finds its alert through its headline key, any member's key, or (only while that
alert is recent) a slice the alert listed as related; re-detection updates the alert's
numbers and never adds a second row. An alert *fires again* (back to the top of the feed,
``times_fired`` + 1) when:

* it was quiet for :data:`QUIET_DAYS` and alerts again (status unchanged: its owner
  still owns it);
* it was resolved and a new episode starts after the resolution day (back to ``new``);
* it was dismissed and is clearly worse than when dismissed (back to ``new``): its recent
  cases per day at least :data:`REFIRE_LEVEL_RATIO` times the level at dismissal, or its
  risk score :data:`REFIRE_RISK_POINTS` points above the score at dismissal. Anything less
  keeps a dismissed alert dismissed (its numbers still update).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from analytics import audit
from analytics.access import User, require
from analytics.alerts import ACTIVE, Alert, list_alerts, log_change, number, to_json, utcnow
from analytics.errors import ConflictError
from analytics.store import data_version, transaction

QUIET_DAYS = 14
REFIRE_LEVEL_RATIO = 1.5
REFIRE_RISK_POINTS = 15.0


def last_scan_state(con: duckdb.DuckDBPyConnection) -> dict:
    """What the last unfiltered scan saw: its day, last import id and deleted imports."""
    row = (
        con.cursor()
        .execute(
            "SELECT as_of, last_import_id, data_version FROM trend_scans WHERE scope IS NULL "
            "ORDER BY scan_id DESC LIMIT 1"
        )
        .fetchone()
    )
    if row is None:
        return {}
    deleted = str(row[2] or "").rsplit("-", 1)[-1]
    return {
        "as_of": row[0],
        "last_import_id": row[1],
        "deleted": int(deleted) if deleted.isdigit() else None,
    }


@dataclass(frozen=True)
class ScanSummary:
    """What :func:`record_scan` changed."""

    new: int
    updated: int
    refired: int
    alert_ids: tuple[int, ...]


def record_scan(con: duckdb.DuckDBPyConnection, result, user: User) -> ScanSummary:
    """Persist a :class:`~analytics.trend_watch.ScanResult`: upsert one alert per trend."""
    require(user, "edit_alerts")
    try:
        new, updated, refired, ids = _upsert(con.cursor(), result, user)
    except duckdb.TransactionException as exc:
        raise ConflictError(
            "Another scan or edit was saving these alerts at the same moment; press Scan now "
            "again (nothing was lost)."
        ) from exc
    audit.record(
        con, user, "alert_scan", f"scan as of {result.as_of}",
        f"{result.mode}: {new} new, {updated} updated, {refired} fired again",
    )  # fmt: skip
    return ScanSummary(new, updated, refired, tuple(ids))


def _upsert(cur, result, user: User) -> tuple[int, int, int, list[int]]:
    new = updated = refired = 0
    ids: list[int] = []
    with transaction(cur):
        existing = {a.alert_id: a for a in list_alerts(cur)}
        by_key = {a.alert_key: a.alert_id for a in existing.values()}
        related: dict[str, list[int]] = {}
        for a in existing.values():
            for k in a.related.get("keys", []):
                related.setdefault(k, []).append(a.alert_id)
        used: set[int] = set()
        recent = {a.alert_id: a.last_detected for a in existing.values()}
        trends = result.trends if not result.trends.empty else pd.DataFrame(columns=["key"])
        for trend in trends.to_dict("records"):
            match = _match(trend, by_key, related, used, recent)
            if match is None:
                ids.append(_insert(cur, trend, result, user))
                new += 1
                continue
            used.add(match)
            fired = _update(cur, existing[match], trend, result.as_of)
            refired += fired
            updated += 1 - fired
            ids.append(match)
        scope = result.scope.to_query() if result.scope is not None else None
        scope = {k: v for k, v in (scope or {}).items() if k not in ("range", "from", "to")}
        cur.execute(
            "INSERT INTO trend_scans (started_at, seconds, scan_mode, as_of, scope, series, "
            "detections, alerts_new, alerts_updated, last_import_id, data_version, user_name) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [utcnow(), result.seconds, result.mode, result.as_of, to_json(scope) if scope else None,
             result.series, len(result.detections), new, updated + refired,
             result.last_import_id, data_version(cur), user.name],
        )  # fmt: skip
    return new, updated, refired, ids


def _match(trend: dict, by_key: dict, related: dict, used: set[int], recent: dict) -> int | None:
    """The existing alert of this trend: same key, then a member's key, then an alert sharing
    a slice that alerted within :data:`QUIET_DAYS` before the trend began (a generic term
    seen in June must not pull an unrelated October trend into the June alert)."""
    candidates: list[tuple[int, int]] = []
    if trend["key"] in by_key:
        candidates.append((3, by_key[trend["key"]]))
    for k in trend["members"]:
        if k in by_key:
            candidates.append((2, by_key[k]))
        for alert_id in related.get(k, []):
            last = recent.get(alert_id)
            if last is not None and (trend["onset"] - last).days <= QUIET_DAYS:
                candidates.append((1, alert_id))
    for _score, alert_id in sorted(candidates, key=lambda c: -c[0]):
        if alert_id not in used:
            return alert_id
    return None


def _fields(trend: dict) -> dict:
    """Column values of a trend (its headline detection) for an insert or update."""
    risk = dict(trend.get("risk") or {})
    return {
        "kind": trend.get("kind"),
        "observed": number(trend.get("observed")),
        "expected": number(trend.get("expected")),
        "growth": number(trend.get("growth")),
        "p_value": number(trend.get("p_value")),
        "q_value": number(trend.get("q_value")),
        "baseline_week": to_json(trend.get("baseline_week")),
        "risk_score": number(trend.get("risk_score")),
        "risk": to_json(
            {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in risk.items()}
        ),  # fmt: skip
        "spread": to_json(
            {"regions": trend.get("regions") or {}, "countries": trend.get("countries") or {}}
        ),  # fmt: skip
        "sparkline": to_json(trend.get("path")),
        "example_ids": to_json(list(trend.get("examples") or [])),
    }


def _related(trend: dict, previous: dict | None = None) -> str:
    keys = sorted(set((previous or {}).get("keys", [])) | set(trend["members"]))
    return json.dumps({"items": trend.get("related") or [], "keys": keys}, default=str)


def _insert(cur, trend: dict, result, user: User) -> int:
    values = _fields(trend)
    scope = result.scope.to_query() if result.scope is not None else {}
    scope = {k: v for k, v in scope.items() if k not in ("range", "from", "to")}
    row = cur.execute(
        "INSERT INTO trend_alerts (alert_key, origin, dimension, slice_value, slice, related, "
        "status, kind, onset, first_detected, last_detected, fired_on, times_fired, observed, "
        "expected, growth, p_value, q_value, baseline_week, risk_score, peak_risk_score, risk, "
        "spread, sparkline, example_ids, scope, created_at, updated_at, updated_by) VALUES "
        "(?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?) RETURNING alert_id",
        [trend["key"], trend["origin"], trend["dimension"], str(trend["value"]),
         to_json(trend["slice"]), _related(trend), values["kind"], trend["onset"],
         trend["detected"], trend["last_day"], result.as_of, values["observed"],
         values["expected"], values["growth"], values["p_value"], values["q_value"],
         values["baseline_week"], values["risk_score"], values["risk_score"], values["risk"],
         values["spread"], values["sparkline"], values["example_ids"], to_json(scope), utcnow(),
         utcnow(), user.name],
    ).fetchone()  # fmt: skip
    log_change(cur, row[0], user, "detected", None, "new", _reason(trend))
    return int(row[0])


def _reason(trend: dict) -> str:
    growth = trend.get("growth")
    grew = "new" if growth is None or math.isinf(float(growth)) else f"{float(growth):.1f}x"
    return (
        f"{trend['dimension']} = {trend['value']}: {trend['observed']:.0f} cases vs "
        f"{trend['expected']:.1f} expected ({grew}), q = {trend['q_value']:.1e}"
    )


def _update(cur, alert: Alert, trend: dict, as_of: date) -> int:
    """Update an alert from a re-detection; returns 1 if it fired again."""
    values = _fields(trend)
    status, fired, why = alert.status, False, ""
    onset = trend["onset"]
    level = float(trend.get("level") or 0.0)
    risk = values["risk_score"] or 0.0
    quiet = alert.last_detected is not None and (
        onset - alert.last_detected > timedelta(days=QUIET_DAYS)
    )
    if alert.status in ACTIVE and quiet:
        fired, why = True, f"alerting again after {QUIET_DAYS}+ quiet days"
    elif alert.status == "dismissed" and worsened(alert, level, risk):
        status, fired = "new", True
        why = (f"clearly worse than when dismissed: {level:.1f} cases/day vs "
               f"{alert.dismissed_level or 0:.1f}, risk {risk:.0f} vs {alert.dismissed_risk or 0:.0f}")  # fmt: skip
    elif alert.status == "resolved" and alert.resolved_on and onset > alert.resolved_on:
        status, fired = "new", True
        why = f"a new episode began on {onset} after resolution on {alert.resolved_on}"
    first = trend["detected"] if fired else min(alert.first_detected or trend["detected"],
                                                trend["detected"])  # fmt: skip
    changed = cur.execute(
        "UPDATE trend_alerts SET related = ?, status = ?, kind = ?, onset = ?, "
        "first_detected = ?, last_detected = ?, fired_on = ?, times_fired = ?, observed = ?, "
        "expected = ?, growth = ?, p_value = ?, q_value = ?, baseline_week = ?, risk_score = ?, "
        "peak_risk_score = ?, risk = ?, spread = ?, sparkline = ?, example_ids = ?, "
        "version = version + ? WHERE alert_id = ? AND version = ?",
        [_related(trend, alert.related), status, values["kind"],
         onset if fired else min(alert.onset or onset, onset), first,
         max(alert.last_detected or trend["last_day"], trend["last_day"]),
         as_of if fired else alert.fired_on, alert.times_fired + int(fired), values["observed"],
         values["expected"], values["growth"], values["p_value"], values["q_value"],
         values["baseline_week"] if fired or not alert.baseline_week else
         json.dumps(alert.baseline_week), risk, max(alert.peak_risk_score or 0.0, risk),
         values["risk"], values["spread"], values["sparkline"], values["example_ids"],
         int(fired), alert.alert_id, alert.version],
    ).fetchone()[0]  # fmt: skip
    if changed != 1:  # someone acted on the alert while the scan was saving
        raise ConflictError(
            f"Alert {alert.alert_id} changed while the scan was saving; scan again."
        )
    if fired:
        log_change(cur, alert.alert_id, None, "fired again", alert.status, status, why)
    return int(fired)


def worsened(alert: Alert, level: float, risk: float) -> bool:
    """Is a dismissed trend clearly worse now than at dismissal? (see the module docstring)"""
    base_level = alert.dismissed_level or 0.0
    base_risk = alert.dismissed_risk or 0.0
    by_level = base_level > 0 and level >= REFIRE_LEVEL_RATIO * base_level
    return by_level or risk >= base_risk + REFIRE_RISK_POINTS
