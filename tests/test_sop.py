"""SOP grey areas: signals on hand-built cases, ranking guards, workflow, before/after, exports."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analytics import (
    engine,
    sop,
    sop_evidence,
    sop_signals,
    sop_similarity,
    sop_verify,
    sop_workflow,
)
from analytics.access import User
from analytics.errors import ConflictError, PermissionDeniedError, WorkflowError
from analytics.filters import Filters

ANALYST = User(name="ana", role="analyst")
VIEWER = User(name="vic", role="viewer")
START = datetime(2026, 1, 5)

TEMPLATES = (
    "Parody video edits the mayor's face onto a clown costume",
    "Account selling followers in the comments of every video",
    "Someone copied my profile photo and asks my fans for money",
    "Livestream shows a dangerous stunt on a rooftop at night",
)
FILLERS = ("please help", "urgent", "thanks", "this is the second time", "look into it", "")


def _case(
    i: int,
    policy: str,
    outcome: str,
    *,
    template: int = 0,
    day: int = 0,
    hours: float = 10.0,
    notes: str = "Standard case, followed SOP step 3.",
    appeal: str | None = None,
    qa: float | None = None,
    reopen: int = 0,
    category: str = "Harassment",
    queue: str = "Content",
    sub_policy: str | None = None,
    sensitive: bool = False,
    description: str | None = None,
) -> dict:
    created = START + timedelta(days=day, minutes=i)
    text = (
        description or f"{TEMPLATES[template % len(TEMPLATES)]} {FILLERS[i % len(FILLERS)]} ref {i}"
    )
    return {
        "case_id": f"C{i:06d}",
        "created_at": created,
        "resolved_at": created + timedelta(hours=hours),
        "status": "closed",
        "policy": policy,
        "queue": queue,
        "priority": "normal",
        "category": category,
        "sub_policy": sub_policy,
        "subject": TEMPLATES[template % len(TEMPLATES)][:30],
        "description": text,
        "agent_notes": notes,
        "outcome": outcome,
        "appeal_outcome": appeal,
        "overturned": appeal == "overturned" if appeal else None,
        "qa_score": qa,
        "reopen_count": reopen,
        "sensitive": sensitive,
        "language": "en",
    }


def _load(con, rows: list[dict]) -> None:
    con.register("_rows", pd.DataFrame(rows))
    con.execute("INSERT INTO cases BY NAME SELECT * FROM _rows")
    con.unregister("_rows")


def _all(con) -> Filters:
    first, last = con.execute(
        "SELECT min(created_at)::DATE, max(created_at)::DATE FROM cases"
    ).fetchone()
    return Filters(preset="all").resolve(last, first)


def _consistent(start: int, policy: str, n: int, **kw) -> list[dict]:
    """Outcome decided by the text template: similar cases, same outcome."""
    return [
        _case(
            start + i,
            policy,
            "removed" if (i % 4) < 2 else "no violation",
            template=i % 4,
            day=i % 120,
            **kw,
        )
        for i in range(n)
    ]


def _coin_flip(start: int, policy: str, n: int, seed: int = 1, **kw) -> list[dict]:
    """Same texts, outcome at random: similar cases, different outcomes."""
    rng = np.random.default_rng(seed)
    return [
        _case(
            start + i,
            policy,
            rng.choice(["removed", "no violation"]),
            template=i % 4,
            day=i % 120,
            **kw,
        )
        for i in range(n)
    ]


def _grey_rows() -> list[dict]:
    """Four policies: three consistent, one planted grey area with every signal."""
    rows = (
        _consistent(0, "Spam", 160)
        + _consistent(1000, "Hate", 160)
        + _consistent(2000, "Fraud", 160)
    )
    rng = np.random.default_rng(3)
    for i in range(160):
        hesitant = (
            "Unclear whether the satire exception applies, consulted policy."
            if i % 2
            else "Standard case, followed SOP step 3."
        )
        rows.append(
            _case(
                5000 + i,
                "Satire",
                rng.choice(["removed", "no violation"]),
                template=i % 4,
                day=i % 120,
                hours=25.0,
                notes=hesitant,
                reopen=int(i % 5 == 0),
                appeal=("overturned" if i % 3 == 0 else "upheld") if i % 2 == 0 else None,
            )
        )
    return rows


@pytest.fixture
def grey_store(con):
    """A store with :func:`_grey_rows` (for tests that change it)."""
    _load(con, _grey_rows())
    return con


@pytest.fixture(scope="module")
def grey_report():
    """The report on :func:`_grey_rows`, computed once for the read-only tests."""
    from analytics.store import connect

    c = connect(":memory:")
    _load(c, _grey_rows())
    yield sop.detect_grey_areas(engine.cases_table(c), _all(c))
    c.close()


# --- lexicon and catch-all ------------------------------------------------------------------


@pytest.mark.parametrize(
    "note, phrase",
    [
        ("Unclear whether the satire exception applies here.", "unclear"),
        ("Not covered by the SOP, discussed with team lead.", "not covered by the SOP"),
        ("Borderline case; second opinion requested", "second opinion"),
        ("No está claro si aplica la excepción de sátira, consulté con política.", "no está claro"),
        ("NO ESTÁ CLARO si aplica", "no está claro"),
        ("no esta claro si aplica (sin acentos)", "no está claro"),
        ("Não está claro se é paródia permitida, consultei a equipe.", "não está claro"),
        ("NÃO ESTÁ CLARO", "não está claro"),
        ("nao esta claro, consultei", "consultei"),
        ("Tidak jelas apakah ini satire, konsultasi dengan tim kebijakan.", "tidak jelas"),
        ("Saya ragu-ragu, konsultasi dengan tim", "ragu"),
        ("Zona cinzenta, área cinzenta", "zona cinzenta"),
    ],
)
def test_hesitancy_matches_four_languages_and_accents(note, phrase):
    assert phrase in sop_signals.hesitancy_matches(note)


@pytest.mark.parametrize(
    "note",
    [
        "Checked against policy, clear violation, actioned.",
        "Standard case, followed SOP step 3.",
        "Nuclear plant video, removed.",
        "Verified account ownership, restored access.",
        "",
        None,
        "Clearly a violation; policy applied.",
    ],
)
def test_hesitancy_ignores_confident_notes(note):
    assert sop_signals.hesitancy_matches(note) == []


def test_hesitancy_sql_and_python_agree(con):
    notes = ["No está claro", "NÃO ESTÁ CLARO", "clear violation", "Tidak jelas", "grey area", "ok"]
    _load(con, [_case(i, "P", "x", notes=n) for i, n in enumerate(notes)])
    counts = sop_signals.signal_counts(engine.cases_table(con), _all(con))
    assert (
        int(counts["hesitant"].sum())
        == sum(bool(sop_signals.hesitancy_matches(n)) for n in notes)
        == 4
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Other", True),
        (" other ", True),
        ("Other - please specify", True),
        ("Misc", True),
        ("", True),
        (None, True),
        ("Otros", True),
        ("Lainnya", True),
        ("Harassment", False),
        ("Brotherhood", False),
    ],
)
def test_is_catch_all(value, expected):
    assert sop_signals.is_catch_all(value) is expected


def test_catch_all_signal_counts_other_category_and_no_policy(con):
    rows = [_case(i, "Spam", "removed", category="Other" if i < 10 else "Spam") for i in range(40)]
    rows += [_case(100 + i, None if i % 2 else "Other", "removed") for i in range(20)]
    _load(con, rows)
    counts = sop_signals.signal_counts(engine.cases_table(con), _all(con)).set_index("policy")
    assert counts.loc["Spam", "catch_all"] == 10
    assert counts.loc[sop.CATCH_ALL_POLICY, "cases"] == 20  # empty and "Other" policies, one bucket
    assert counts.loc[sop.CATCH_ALL_POLICY, "catch_all"] == 20


# --- statistics -----------------------------------------------------------------------------


def test_wilson_interval_known_values():
    lo, hi = sop.wilson([5, 0], [10, 10])
    assert lo[0] == pytest.approx(0.2366, abs=1e-3) and hi[0] == pytest.approx(0.7634, abs=1e-3)
    assert lo[1] == 0 and hi[1] == pytest.approx(0.2775, abs=1e-3)
    lo, _hi = sop.wilson([0], [0])
    assert np.isnan(lo[0])


def test_case_inconsistency_disagreement_and_entropy():
    nb = sop_similarity.Neighbours(
        np.array([[1, 2], [0, 2], [0, 1], [-1, -1]]), np.ones((4, 2), dtype=np.float32)
    )
    out = sop_similarity.case_inconsistency(nb, np.array(["a", "a", "b", "b"], dtype=object))
    assert out["disagreement"].tolist()[:3] == pytest.approx([0.5, 0.5, 1.0])
    assert np.isnan(out["disagreement"].iloc[3])  # no similar case: not counted
    # {a, a, b}: H = -(2/3 log2 2/3 + 1/3 log2 1/3) = 0.918 bits
    assert out["entropy"].iloc[0] == pytest.approx(0.9183, abs=1e-3)


def test_similar_texts_are_neighbours_within_a_policy():
    texts = pd.DataFrame([_case(i, "P" if i < 40 else "Q", "x", template=i % 2) for i in range(60)])
    nb = sop_similarity.find_neighbours(texts)
    tpl = np.array([i % 2 for i in range(60)])
    pol = texts["policy"].to_numpy()
    valid = nb.valid
    assert valid[:, 0].all()
    rows, slots = np.nonzero(valid)
    assert (tpl[rows] == tpl[nb.index[rows, slots]]).all()  # neighbours share the template
    assert (pol[rows] == pol[nb.index[rows, slots]]).all()  # and never cross policies


def test_inconsistency_separates_coin_flip_from_consistent(grey_report):
    report = grey_report
    f = report.findings.set_index("policy")
    assert f.loc["Satire", "value_inconsistency"] > 0.35
    assert f.loc[["Spam", "Hate", "Fraud"], "value_inconsistency"].max() < 0.05
    assert f.loc["Satire", "contrib_inconsistency"] > 0
    assert (f.loc[["Spam", "Hate", "Fraud"], "contrib_inconsistency"] == 0).all()
    assert f.loc["Satire", "entropy_bits"] > f.loc["Spam", "entropy_bits"]


def test_overturn_handling_hesitancy_reopen_signals(grey_report):
    report = grey_report
    f = report.findings.set_index("policy")
    # 80 appealed, 27 overturned (i % 6 == 0 among even i)
    assert f.loc["Satire", "value_overturn"] == pytest.approx(27 / 80)
    assert f.loc["Satire", "value_hesitancy"] == pytest.approx(0.5)
    assert f.loc["Satire", "value_reopen"] == pytest.approx(32 / 160)
    # Every case of the queue takes 10 h except Satire's 25 h: the queue median is 10 h.
    assert f.loc["Satire", "handling_ratio"] == pytest.approx(2.5, rel=1e-3)
    assert f.loc["Spam", "handling_ratio"] == pytest.approx(1.0, rel=1e-3)
    sig = report.signals.set_index(["policy", "signal"])
    lo, hi = sig.loc[("Satire", "overturn"), ["low", "high"]]
    assert lo < 27 / 80 < hi and lo > 0.2  # Wilson interval around the rate
    phrases = report.phrases[report.phrases["policy"] == "Satire"]
    assert {"unclear", "consulted policy"} <= set(phrases["phrase"])


def test_planted_policy_ranks_first_and_consistent_policies_are_not_flagged(grey_report):
    report = grey_report
    top = report.findings.iloc[0]
    assert top["policy"] == "Satire" and top["flagged"] and top["rank"] == 1
    assert set(report.flagged["policy"]) == {"Satire"}
    contributions = report.signals[report.signals["policy"] == "Satire"].set_index("signal")[
        "contribution"
    ]
    assert contributions.sum() == pytest.approx(top["score"])  # the score is its contributions
    assert not report.pairs[report.pairs["policy"] == "Satire"].empty
    pair = report.pairs[report.pairs["policy"] == "Satire"].iloc[0]
    assert pair["outcome_a"] != pair["outcome_b"]


def test_tiny_policy_with_two_weird_cases_is_not_ranked_first(grey_store):
    weird = [
        _case(
            9000 + i,
            "Tiny",
            "removed" if i else "kept",
            hours=200,
            reopen=2,
            appeal="overturned",
            notes="Unclear, grey area, not covered by the SOP",
            template=0,
            category="Other",
        )
        for i in range(2)
    ]
    _load(grey_store, weird)
    report = sop.detect_grey_areas(engine.cases_table(grey_store), _all(grey_store))
    tiny = report.findings.set_index("policy").loc["Tiny"]
    assert not tiny["ranked"] and not tiny["flagged"] and pd.isna(tiny["rank"])
    assert report.findings.iloc[0]["policy"] == "Satire"
    # Shrinkage alone (volume guard off) keeps it below the real grey area, too.
    unguarded = sop.detect_grey_areas(
        engine.cases_table(grey_store), _all(grey_store), params=sop.GreyAreaParams(min_cases=1)
    )
    assert unguarded.findings.iloc[0]["policy"] == "Satire"
    assert (
        unguarded.findings.set_index("policy").loc["Tiny", "score"]
        < unguarded.findings.iloc[0]["score"]
    )


def test_monthly_trend_has_signal_values_and_score(grey_report):
    report = grey_report
    tr = report.trend[report.trend["policy"] == "Satire"]
    assert set(tr["signal"]) >= {"inconsistency", "overturn", "hesitancy", "score"}
    assert tr["month"].nunique() >= 4
    assert (tr[tr["signal"] == "score"]["value"] > 0).all()


def test_policy_filter_keeps_baselines(grey_store):
    f = _all(grey_store)
    from dataclasses import replace

    narrowed = sop.detect_grey_areas(engine.cases_table(grey_store), replace(f, policy=("Satire",)))
    assert narrowed.findings["policy"].tolist() == ["Satire"]
    assert bool(narrowed.findings.iloc[0]["flagged"])  # still compared with the other policies


def test_pain_point_split_with_synthetic_assignments(con):
    # One policy mixing a clear pain point and a grey one: the split shows which one.
    rows = _consistent(0, "Spam", 150) + _consistent(1000, "Hate", 150)
    rows += _consistent(2000, "Mixed", 150)
    rows += _coin_flip(3000, "Mixed", 150, notes="Not covered by the SOP, consulted policy.")
    _load(con, rows)
    assignments = pd.DataFrame(
        {
            "case_id": [r["case_id"] for r in rows],
            "pain_point": ["satire" if r["case_id"] >= "C003000" else "routine" for r in rows],
        }
    )
    report = sop.detect_grey_areas(engine.cases_table(con), _all(con), assignments=assignments)
    pp = report.findings[report.findings["pain_point"] != ""]
    assert {"routine", "satire"} <= set(pp["pain_point"])
    top = pp.iloc[0]
    assert (top["policy"], top["pain_point"], top["rank"]) == ("Mixed", "satire", 1)
    assert bool(top["flagged"])
    routine = pp[(pp["policy"] == "Mixed") & (pp["pain_point"] == "routine")].iloc[0]
    assert not routine["flagged"]
    assert routine["value_inconsistency"] < 0.05  # similar cases restricted to the same pain point
    assert report.split and not report.pairs[report.pairs["pain_point"] == "satire"].empty


def test_precomputed_clusters_replace_tfidf(con):
    rows = (
        _consistent(0, "Spam", 100)
        + _coin_flip(1000, "Satire", 100)
        + _consistent(2000, "Hate", 100)
    )
    _load(con, rows)
    clusters = pd.DataFrame(
        {
            "case_id": [r["case_id"] for r in rows],
            "cluster": [r["description"].split(" ")[0] for r in rows],
        }
    )
    report = sop.detect_grey_areas(engine.cases_table(con), _all(con), clusters=clusters)
    f = report.findings.set_index("policy")
    assert f.loc["Satire", "value_inconsistency"] > 0.3 > f.loc["Spam", "value_inconsistency"]


def test_precomputed_embeddings_replace_tfidf(con):
    rows = (
        _consistent(0, "Spam", 100)
        + _coin_flip(1000, "Satire", 100)
        + _consistent(2000, "Hate", 100)
    )
    _load(con, rows)
    rng = np.random.default_rng(0)
    tpl = np.array(
        [
            TEMPLATES.index(next(t for t in TEMPLATES if r["description"].startswith(t)))
            for r in rows
        ]
    )
    vectors = np.eye(4)[tpl] + rng.normal(0, 0.05, (len(rows), 4))  # one direction per template
    embeddings = pd.DataFrame(vectors, columns=[f"e{i}" for i in range(4)]).assign(
        case_id=[r["case_id"] for r in rows]
    )
    report = sop.detect_grey_areas(engine.cases_table(con), _all(con), embeddings=embeddings)
    f = report.findings.set_index("policy")
    assert f.loc["Satire", "value_inconsistency"] > 0.3 > f.loc["Spam", "value_inconsistency"]
    assert f.loc["Satire", "similar_cases"] == 100


def test_planted_policy_ranks_first_on_demo_history(demo_db):
    from analytics.store import connect

    con = connect(demo_db, read_only=True)
    try:
        report = sop.detect_grey_areas(engine.cases_table(con), _all(con))
    finally:
        con.close()
    assert report.findings.iloc[0]["policy"] == "Public-figure satire"
    assert report.flagged["policy"].tolist() == ["Public-figure satire"]


# --- workflow ----------------------------------------------------------------------------------


def _report(con) -> sop.GreyAreaReport:
    return sop.detect_grey_areas(engine.cases_table(con), _all(con))


def test_workflow_persists_across_reconnect_and_never_duplicates(tmp_path):
    from analytics.store import connect

    path = tmp_path / "wf.duckdb"
    con = connect(path)
    _load(
        con,
        _consistent(0, "Spam", 120)
        + _consistent(1000, "Hate", 120)
        + _coin_flip(2000, "Satire", 120)
        + _consistent(3000, "Fraud", 120),
    )
    report = _report(con)
    assert sop_workflow.record_findings(con, report, ANALYST) == {"inserted": 1, "updated": 0}
    assert sop_workflow.record_findings(con, report, ANALYST) == {"inserted": 0, "updated": 1}
    finding = sop_workflow.find_finding(con, "Satire")
    finding = sop_workflow.transition(
        con, finding.finding_id, "sent_to_policy", ANALYST, note="see pairs 1-3"
    )
    finding = sop_workflow.transition(
        con,
        finding.finding_id,
        "sop_updated",
        ANALYST,
        sop_updated_on=date(2026, 3, 1),
        sop_link="https://wiki/sop/satire#4.2",
    )
    con.close()

    con = connect(path)
    again = sop_workflow.find_finding(con, "Satire")
    assert again.status == "sop_updated" and again.sop_updated_on == date(2026, 3, 1)
    assert again.sop_link == "https://wiki/sop/satire#4.2" and "see pairs 1-3" in again.notes
    assert sop_workflow.record_findings(con, _report(con), ANALYST)["inserted"] == 0
    assert (
        len(sop_workflow.list_findings(con)) == 1
        and sop_workflow.find_finding(con, "Satire").status == "sop_updated"
    )
    hist = sop_workflow.history(con, again.finding_id)
    assert hist["to_status"].tolist() == ["sent_to_policy", "sop_updated"]
    actions = [
        a for (a,) in con.execute("SELECT action FROM audit_log ORDER BY audit_id").fetchall()
    ]
    assert actions.count("sop_finding_status") == 2 and actions.count("sop_detect") == 3
    con.close()


def test_illegal_transitions_and_missing_fields_are_rejected(grey_store, grey_report):
    sop_workflow.record_findings(grey_store, grey_report, ANALYST)
    fid = sop_workflow.find_finding(grey_store, "Satire").finding_id
    with pytest.raises(WorkflowError, match="cannot become 'Verified'"):
        sop_workflow.transition(grey_store, fid, "verified", ANALYST)
    with pytest.raises(WorkflowError, match="Unknown status"):
        sop_workflow.transition(grey_store, fid, "done", ANALYST)
    sop_workflow.transition(grey_store, fid, "sent_to_policy", ANALYST)
    with pytest.raises(WorkflowError, match="date"):
        sop_workflow.transition(grey_store, fid, "sop_updated", ANALYST, sop_link="https://x")
    with pytest.raises(WorkflowError, match="link"):
        sop_workflow.transition(
            grey_store,
            fid,
            "sop_updated",
            ANALYST,
            sop_updated_on=date(2026, 3, 1),
            sop_link="wiki page 4",
        )
    with pytest.raises(WorkflowError, match="future"):
        sop_workflow.transition(
            grey_store,
            fid,
            "sop_updated",
            ANALYST,
            sop_updated_on=date.today() + timedelta(days=3),
            sop_link="https://x",
        )
    assert (
        sop_workflow.get_finding(grey_store, fid).status == "sent_to_policy"
    )  # nothing half-applied
    with pytest.raises(WorkflowError, match="does not exist"):
        sop_workflow.transition(grey_store, 999, "sent_to_policy", ANALYST)


def test_viewer_cannot_change_findings(grey_store, grey_report):
    report = grey_report
    with pytest.raises(PermissionDeniedError):
        sop_workflow.record_findings(grey_store, report, VIEWER)
    sop_workflow.record_findings(grey_store, report, ANALYST)
    fid = sop_workflow.find_finding(grey_store, "Satire").finding_id
    with pytest.raises(PermissionDeniedError):
        sop_workflow.transition(grey_store, fid, "sent_to_policy", VIEWER)
    with pytest.raises(PermissionDeniedError):
        sop_workflow.add_note(grey_store, fid, VIEWER, "hi")
    assert sop_workflow.get_finding(grey_store, fid).status == "new"


def test_stale_version_is_a_conflict(grey_store, grey_report):
    sop_workflow.record_findings(grey_store, grey_report, ANALYST)
    seen = sop_workflow.find_finding(grey_store, "Satire")
    sop_workflow.add_note(grey_store, seen.finding_id, ANALYST, "first")
    with pytest.raises(ConflictError):
        sop_workflow.transition(
            grey_store, seen.finding_id, "sent_to_policy", ANALYST, expected_version=seen.version
        )


# --- before / after ----------------------------------------------------------------------------


def _fix_history(con, *, fixed: bool, after_days: int = 80) -> date:
    """Satire is a coin flip with 40% overturns until 1 Apr; afterwards fixed or not."""
    fix = date(2026, 4, 1)
    rng = np.random.default_rng(5)
    rows = []
    for i in range(400):
        day = (i * 170) // 400  # ~90 days before, ~80 after the fix
        created_day = START.date() + timedelta(days=day)
        after = created_day >= fix
        if after and (created_day - fix).days >= after_days:
            continue
        good = fixed and after
        tpl = i % 4
        outcome = (
            ("removed" if tpl < 2 else "no violation")
            if good
            else rng.choice(["removed", "no violation"])
        )
        appeal = None
        if i % 2 == 0:
            appeal = "overturned" if rng.random() < (0.05 if good else 0.4) else "upheld"
        rows.append(_case(i, "Satire", outcome, template=tpl, day=day, appeal=appeal))
    rows += _consistent(5000, "Spam", 100)
    _load(con, rows)
    return fix


def test_verification_when_the_fix_worked(con):
    fix = _fix_history(con, fixed=True)
    v = sop_verify.verify_fix(engine.cases_table(con), "Satire", fix, n_permutations=199)
    assert v.status == "improved", v.message
    m = {x.metric: x for x in v.metrics}
    assert m["overturn"].verdict == "dropped" and m["overturn"].after < m["overturn"].before
    assert m["entropy"].verdict == "dropped" and m["entropy"].after < m["entropy"].before
    assert "worked" in v.message


def test_verified_needs_a_check_that_shows_an_improvement(con):
    fix = _fix_history(con, fixed=True)
    t = engine.cases_table(con)
    sop_workflow.record_findings(
        con, sop.detect_grey_areas(t, _all(con)), ANALYST, keys=[("Satire", "")]
    )
    fid = sop_workflow.find_finding(con, "Satire").finding_id
    sop_workflow.transition(con, fid, "sent_to_policy", ANALYST)
    sop_workflow.transition(
        con, fid, "sop_updated", ANALYST, sop_updated_on=fix, sop_link="https://wiki/sop#2"
    )
    early = sop_verify.verify_fix(t, "Satire", fix + timedelta(days=75), n_permutations=99)
    assert early.status == sop_verify.NOT_MEASURABLE
    with pytest.raises(WorkflowError, match="improvement"):
        sop_workflow.transition(con, fid, "verified", ANALYST, verification=early.as_dict())
    with pytest.raises(WorkflowError, match="improvement"):
        sop_workflow.transition(con, fid, "verified", ANALYST)
    check = sop_verify.verify_fix(t, "Satire", fix, n_permutations=199)
    done = sop_workflow.transition(con, fid, "verified", ANALYST, verification=check.as_dict())
    assert done.status == "verified" and done.verification["status"] == "improved"
    assert {m["metric"] for m in done.verification["metrics"]} == {"overturn", "entropy"}


def test_verification_when_the_fix_did_not_work(con):
    fix = _fix_history(con, fixed=False)
    v = sop_verify.verify_fix(engine.cases_table(con), "Satire", fix, n_permutations=199)
    assert v.status == "no significant change", v.message
    assert all(m.verdict == "no significant change" for m in v.metrics)


def test_verification_not_yet_measurable_right_after_the_update(con):
    fix = _fix_history(con, fixed=True, after_days=6)
    v = sop_verify.verify_fix(engine.cases_table(con), "Satire", fix, n_permutations=99)
    assert v.status == sop_verify.NOT_MEASURABLE
    assert v.message.startswith("Not yet measurable")


def test_two_proportion_test():
    p_drop, p_rise = sop_verify.two_proportion_test(40, 100, 10, 100)
    assert p_drop < 0.001 and p_rise > 0.99
    p_drop, _ = sop_verify.two_proportion_test(10, 100, 10, 100)
    assert p_drop == pytest.approx(0.5)


# --- evidence and exports ---------------------------------------------------------------------


@pytest.fixture
def evidence_store(grey_store):
    extra = [
        _case(
            8000,
            "Satire",
            "removed",
            template=0,
            description="Parody video edits the mayor's face onto a "
            "clown costume mail me at jane.doe@example.com",
            notes="Grey area: no está claro",
        ),
        _case(
            8001,
            "Satire",
            "no violation",
            template=0,
            day=125,
            notes='=HYPERLINK("http://evil") unclear, grey area',
        ),
        _case(
            8002,
            "Satire",
            "no violation",
            template=0,
            notes="Hesitant, consulted policy",
            sensitive=True,
        ),
    ]
    _load(grey_store, extra)
    return grey_store


def test_evidence_is_redacted_and_sensitive_text_hidden(evidence_store):
    t = engine.cases_table(evidence_store)
    report = sop.detect_grey_areas(t, _all(evidence_store))
    ev = sop_evidence.evidence(t, report, "Satire", n_pairs=10)
    assert len(ev.pairs) >= 3
    assert (ev.pairs["a_outcome"] != ev.pairs["b_outcome"]).all()
    shown = " ".join(ev.pairs[["a_text", "b_text"]].astype(str).to_numpy().ravel())
    assert "@example.com" not in shown
    assert not ev.notes.empty and ev.notes["matched"].str.len().gt(0).all()
    sensitive_sides = pd.concat(
        [
            ev.pairs.loc[ev.pairs["a_sensitive"], "a_text"],
            ev.pairs.loc[ev.pairs["b_sensitive"], "b_text"],
        ]
    )
    assert (sensitive_sides == "[sensitive content hidden]").all()
    with pytest.raises(PermissionDeniedError):
        sop_evidence.evidence(t, report, "Satire", reveal=True, user=VIEWER)


def test_markdown_and_excel_exports(evidence_store):
    t = engine.cases_table(evidence_store)
    report = sop.detect_grey_areas(t, _all(evidence_store))
    sop_workflow.record_findings(evidence_store, report, ANALYST)
    states = sop_workflow.list_findings(evidence_store)
    ev = {("Satire", ""): sop_evidence.evidence(t, report, "Satire", n_pairs=10)}
    md = sop_evidence.findings_markdown(report, states=states, evidence_by_key=ev)
    assert (
        "## 1. Satire" in md and "status: New" in md and "Similar cases, different outcomes" in md
    )
    assert "@example.com" not in md and "Spam" not in md  # only flagged findings
    wb = openpyxl.load_workbook(
        io.BytesIO(sop_evidence.findings_workbook(report, states=states, evidence_by_key=ev))
    )
    assert {"Findings", "Signals", "Monthly trend", "Evidence pairs", "Hesitant notes"} <= set(
        wb.sheetnames
    )
    cells = [
        c.value
        for name in ("Evidence pairs", "Hesitant notes")
        for row in wb[name].iter_rows()
        for c in row
        if isinstance(c.value, str)
    ]
    assert not any(v.startswith("=") for v in cells)
    assert any(v.startswith("'=HYPERLINK") for v in cells)  # the formula note is there, neutralised
    header = [c.value for c in wb["Findings"][1]]
    assert "policy" in header and "status" in header
