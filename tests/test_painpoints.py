"""Pain points in the store: fits, stable ids, lineage, curation, metrics, drill-down."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics import cases, engine, painpoint_metrics, painpoints
from analytics.access import LOCAL_USER, User
from analytics.errors import PermissionDeniedError, WorkflowError
from analytics.filters import Filters
from analytics.ingest import import_file

TOPICS = {
    "hacked": [
        "my account was hacked and the password changed",
        "someone hacked my account, cannot log in",
        "hacker changed my email and password",
        "account taken over by a hacker, locked out",
    ],
    "refund": [
        "order never arrived and the seller refuses a refund",
        "paid for an order, no refund yet",
        "seller scammed me, please refund my order",
        "refund for my order was refused",
    ],
    "appeal": [
        "nobody answers my appeal for weeks",
        "my appeal is still pending without answer",
        "still waiting for my appeal to be reviewed",
        "appeal ignored, no response at all",
    ],
}


def _export(path, n_per_topic: int, start: int = 0, seed: int = 0, extra_topic: str | None = None):
    rng = np.random.default_rng(seed)
    rows = []
    topics = dict(TOPICS)
    if extra_topic:
        topics[extra_topic] = [
            "the new live gifts feature charged me twice",
            "live gift coins vanished after update",
            "charged twice for live gifts coins",
            "coins for live gifts disappeared",
        ]
    i = start
    for topic, texts in topics.items():
        for _ in range(n_per_topic):
            day = date(2026, 1, 1) + timedelta(days=int(rng.integers(0, 60)))
            text = texts[int(rng.integers(0, len(texts)))]
            rows.append(
                {
                    "case_id": f"P{i}",
                    "created_at": f"{day} 10:00:00",
                    "subject": topic,
                    "description": text,
                    "region": rng.choice(["APAC", "EMEA"]),
                    "queue": "High Risk",
                    "sla_breached": "true" if topic == "appeal" else "false",
                }
            )
            i += 1
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def store(con, tmp_path):
    import_file(con, _export(tmp_path / "a.csv", 40))
    return con


def _lsa():
    return painpoints.make_embedder("lsa")


def _topic_of(con) -> pd.Series:
    df = con.execute("SELECT case_id, subject FROM cases").df().set_index("case_id")["subject"]
    return df


def test_fit_finds_the_planted_topics_and_assigns_every_case(store):
    result = painpoints.fit(store, LOCAL_USER, embedder=_lsa())
    a = painpoints.assignments(store).set_index("case_id")
    assert len(a) == 120 and result.n_cases == 120
    topic = _topic_of(store).loc[a.index]
    # Automatic k may split a topic by phrasing, but a pain point never mixes topics.
    assigned = a["pain_point"] != -1
    assert assigned.mean() >= 0.95
    purity = (
        pd.crosstab(a.loc[assigned, "pain_point"], topic[assigned]).max(axis=1).sum()
        / assigned.sum()
    )
    assert purity >= 0.95
    names = painpoints.pain_points(store).set_index("pain_point")["name"]
    hacked = a.loc[topic == "hacked", "pain_point"].mode()[0]
    assert any(w in names[hacked] for w in ("hack", "password", "log"))


def test_refit_on_a_superset_keeps_ids_and_records_a_birth(store, tmp_path):
    painpoints.fit(store, LOCAL_USER, embedder=_lsa(), clusterer=None)
    before = painpoints.assignments(store).set_index("case_id")["pain_point"]
    import_file(store, _export(tmp_path / "b.csv", 40, start=1000, seed=1, extra_topic="gifts"))
    result = painpoints.fit(store, LOCAL_USER, embedder=_lsa())
    after = painpoints.assignments(store).set_index("case_id")["pain_point"]
    common = before.index
    assert (after.loc[common] == before.loc[common]).mean() >= 0.9  # same ids for the old cases
    assert result.born >= 1
    kinds = set(store.execute("SELECT kind FROM pp_lineage WHERE fit_id = 2").df()["kind"])
    assert "born" in kinds


def test_rename_and_merge_survive_a_refit(store):
    painpoints.fit(store, LOCAL_USER, embedder=_lsa(), clusterer=None)
    pps = painpoints.pain_points(store)
    a, b = int(pps.iloc[0]["pain_point"]), int(pps.iloc[1]["pain_point"])
    painpoints.rename(store, LOCAL_USER, a, "Hacked accounts")
    painpoints.merge(store, LOCAL_USER, [b], a)
    painpoints.fit(store, LOCAL_USER, embedder=_lsa(), clusterer=None)
    pps = painpoints.pain_points(store).set_index("pain_point")
    assert pps.loc[a, "name"] == "Hacked accounts"
    assert b not in pps.index and b in pps.loc[a, "merged_from"]
    assert set(painpoints.assignments(store)["pain_point"]) - {-1} == set(pps.index)
    assert painpoints.members(store, a) == sorted([a, b])
    with pytest.raises(PermissionDeniedError):
        painpoints.rename(store, User("v", "viewer"), a, "x")
    with pytest.raises(WorkflowError):
        painpoints.rename(store, LOCAL_USER, 999, "x")


def test_new_cases_are_assigned_without_refit(store, tmp_path):
    painpoints.fit(store, LOCAL_USER, embedder=_lsa())
    import_file(store, _export(tmp_path / "c.csv", 5, start=5000, seed=2))
    assert painpoints.assign_new_cases(store) == 15
    a = painpoints.assignments(store)
    assert len(a) == 135


def test_summary_metrics_and_drill(store):
    painpoints.fit(store, LOCAL_USER, embedder=_lsa(), clusterer=None)
    t = engine.cases_table(store)
    f = Filters(preset="custom", start=date(2026, 1, 1), end=date(2026, 3, 31))
    names = painpoints.pain_points(store)
    s = painpoint_metrics.summary(t, f, names, painpoints.curation_state(store)[1])
    assert s["cases"].sum() == 120
    assert s["growth"].dtype == "float64"  # no previous cases: NaN, not a nullable NA
    a = painpoints.assignments(store).set_index("case_id")
    appeal = a.loc[_topic_of(store).pipe(lambda x: x[x == "appeal"]).index, "pain_point"].mode()[0]
    row = s.set_index("pain_point").loc[appeal]
    assert row["sla_breach_rate"] > 0.85  # the appeal topic is the one breaching
    assert s.iloc[0]["impact"] >= s.iloc[-1]["impact"]
    ids = painpoints.members(store, int(appeal))
    drilled = f.with_drill(pain_point=",".join(map(str, ids)))
    assert cases.case_count(t, drilled) == int(row["cases"])


def test_no_fit_means_empty_assignments(con):
    assert painpoints.assignments(con).empty and painpoints.fitted(con) is None


def test_trend_scan_and_root_cause_read_the_fitted_pain_points(store):
    from analytics import trend_sources

    painpoints.fit(store, LOCAL_USER, embedder=_lsa())
    assigned = trend_sources.pain_point_assignments(store)
    assert assigned is not None and len(assigned) == 120
    named = painpoints.pain_points(store).set_index("pain_point")["name"]
    labels = set(trend_sources.pain_point_labels(assigned)["label"])
    assert set(named) <= labels  # trends are reported under the names people see
    counts = trend_sources.pain_point_counts(
        engine.cases_table(store), assigned, start=date(2026, 1, 1), end=date(2026, 3, 31)
    )
    assert counts["count"].sum() == 120 and set(counts["dimension"]) == {"pain_point"}


def test_a_refit_does_not_block_readers_and_runs_once_at_a_time(store):
    """While one session refits, others keep reading; a second refit is refused, not queued."""
    import threading

    from analytics import metrics
    from analytics.errors import ConflictError

    started, release = threading.Event(), threading.Event()
    reads: list[int] = []

    def slow_progress(stage, frac):
        if stage == "Clustering":
            started.set()
            assert release.wait(30)

    worker = threading.Thread(
        target=painpoints.fit,
        args=(store, LOCAL_USER),
        kwargs={"embedder": _lsa(), "progress": slow_progress},
    )
    worker.start()
    try:
        assert started.wait(30)
        f = Filters(preset="custom", start=date(2026, 1, 1), end=date(2026, 3, 31))
        k = metrics.kpis(engine.cases_table(store), f)  # another user's Overview, mid-refit
        reads.append(int(k.set_index("key").loc["volume", "value"]))
        with pytest.raises(ConflictError):
            painpoints.fit(store, LOCAL_USER, embedder=_lsa())
    finally:
        release.set()
        worker.join(60)
    assert reads == [120]
    assert painpoints.fitted(store) is not None


class SentenceEmbedder:  # the name marks a per-text (stateless) model, as the real one
    name = "fake sentence model"

    def __init__(self):
        self.calls = 0

    def transform(self, texts):
        self.calls += len(texts)
        rng = np.random.default_rng(len(texts))
        return rng.normal(size=(len(texts), 8)).astype(np.float32)


def test_texts_are_embedded_once_and_the_rate_is_measured(store, tmp_path):
    model = SentenceEmbedder()
    name = model.name
    default = painpoints.embedding_seconds(store, name, 600)
    assert default == pytest.approx(600 / painpoints.DEFAULT_EMBED_RATE)
    n = painpoints.embed_new_texts(store, model, batch_size=4)
    distinct = store.execute(
        f"SELECT count(DISTINCT {painpoints.TEXT_SQL}) FROM cases"  # noqa: S608
    ).fetchone()[0]
    assert n == model.calls == distinct  # identical texts are embedded once
    assert painpoints.pending_texts(store, name) == 0
    assert painpoints.embed_new_texts(store, model) == 0 and model.calls == n  # never again
    assert painpoints.embedding_seconds(store, name, 600) != default  # this store's own rate
    import_file(store, _export(tmp_path / "d.csv", 2, start=7000, seed=3, extra_topic="gifts"))
    assert painpoints.pending_texts(store, name) > 0  # only the new texts are pending


def test_granularity_is_a_choice_recorded_with_the_fit(store, monkeypatch):
    painpoints.fit(store, LOCAL_USER, embedder=_lsa(), granularity="specific")
    assert painpoints.fitted(store)["granularity"] == "specific"
    monkeypatch.setenv("ESC_PAINPOINT_GRANULARITY", "broad")
    painpoints.fit(store, LOCAL_USER, embedder=_lsa())
    assert painpoints.fitted(store)["granularity"] == "broad"  # the configured default
    with pytest.raises(WorkflowError, match="granularity"):
        painpoints.fit(store, LOCAL_USER, embedder=_lsa(), granularity="medium")
