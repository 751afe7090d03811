"""Grey-area signals that are aggregations: counts per policy (x pain point) x month, via Ibis.

Everything here is a group-by on the cases table, so it runs on DuckDB today and on
another Ibis engine later. Per-case text work (similarity) lives in
:mod:`analytics.sop_similarity`; scoring in :mod:`analytics.sop`.

Two vocabularies live here because both the SQL side and the Python side need them:

- :data:`HESITANCY_LEXICON`: phrases agents write when a rule is unclear, in English,
  Spanish, Portuguese and Indonesian (plus a few French and German ones). Patterns are
  matched on *folded* text (lower case, common Latin accents removed, see :func:`fold`)
  so "No está claro", "NO ESTÁ CLARO" and "no esta claro" are the same phrase;
  the SQL side folds with ``translate`` (portable, no extension needed).
- :data:`CATCH_ALL_VALUES`: what "other / miscellaneous / no category" looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import duckdb
import ibis
import pandas as pd
from ibis import _

from analytics.filters import Filters, apply

#: Label of the bucket for cases filed under no policy or a catch-all policy ("Other").
CATCH_ALL_POLICY = "(no policy / other)"
#: Pain-point label of cases the assignments do not cover.
UNASSIGNED = "(unassigned)"

_ACCENTS = {
    "a": "áàâãäå",
    "e": "éèêë",
    "i": "íìîï",
    "o": "óòôõö",
    "u": "úùûü",
    "c": "ç",
    "n": "ñ",
}
FOLD_FROM = "".join(chars for chars in _ACCENTS.values())
FOLD_TO = "".join(base * len(chars) for base, chars in _ACCENTS.items())
_FOLD_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)


def fold(text: str | None) -> str:
    """Lower case with common Latin accents removed (the same folding the SQL side does)."""
    return (text or "").lower().translate(_FOLD_TABLE)


@dataclass(frozen=True)
class Phrase:
    """One hesitancy expression: shown as ``label``, matched by ``pattern`` on folded text."""

    language: str
    label: str
    pattern: str


HESITANCY_LEXICON: tuple[Phrase, ...] = (
    # English
    Phrase("en", "unclear", r"\bunclear\b"),
    Phrase("en", "not clear", r"\bnot (?:entirely |really |very |quite )?clear\b"),
    Phrase(
        "en",
        "not covered by the SOP",
        r"\bnot (?:covered|addressed|mentioned|in) (?:by |in )?(?:the )?(?:sop|policy|guidelines?)\b"
        r"|\bsop (?:is silent|does ?n[o']?t cover)\b|\bnothing in the (?:sop|policy|guidelines?)\b",
    ),
    Phrase("en", "ambiguous", r"\bambigu(?:ous|ity)\b"),
    Phrase("en", "borderline", r"\bborderline\b"),
    Phrase("en", "grey area", r"\bgr[ae]y (?:area|zone)\b"),
    Phrase("en", "second opinion", r"\bsecond opinion\b"),
    Phrase(
        "en",
        "consulted policy",
        r"\b(?:consult(?:ed|ing)?|asked) (?:with )?(?:the )?policy\b"
        r"|\bpolicy (?:lead|guidance|clarification)\b",
    ),
    Phrase("en", "hesitant", r"\bhesita(?:nt|ted|tion)\b"),
    Phrase("en", "not sure", r"\bnot sure\b|\bunsure\b|\buncertain\b"),
    Phrase("en", "judgement call", r"\bjudge?ment call\b|\bedge case\b|\bcase by case\b"),
    # Spanish
    Phrase("es", "no está claro", r"\bno (?:esta|queda|es) (?:muy |del todo )?clar[oa]\b"),
    Phrase("es", "poco claro", r"\bpoco clar[oa]\b"),
    Phrase("es", "ambiguo", r"\bambigu[oa]s?\b"),
    Phrase("es", "zona gris", r"\bzona gris\b"),
    Phrase("es", "no cubierto", r"\bno (?:esta )?(?:cubiert[oa]|contemplad[oa])\b"),
    Phrase("es", "consulté con política", r"\bconsulte (?:con|a)\b|\bconsultad[oa] con\b"),
    Phrase("es", "segunda opinión", r"\bsegunda opinion\b"),
    Phrase("es", "no estoy seguro", r"\bno estoy segur[oa]\b|\bdudos[oa]\b"),
    # Portuguese
    Phrase("pt", "não está claro", r"\bnao (?:esta|e|fica) (?:muito |tao )?clar[oa]\b"),
    Phrase("pt", "pouco claro", r"\bpouco clar[oa]\b"),
    Phrase("pt", "zona cinzenta", r"\b(?:zona|area) cinzenta\b"),
    Phrase("pt", "não coberto", r"\bnao (?:esta )?(?:coberto|previsto|contemplado)\b"),
    Phrase("pt", "consultei", r"\bconsultei\b"),
    Phrase("pt", "segunda opinião", r"\bsegunda opiniao\b"),
    Phrase("pt", "não tenho certeza", r"\bnao tenho certeza\b|\bduvida\b"),
    # Indonesian
    Phrase("id", "tidak jelas", r"\b(?:tidak|kurang|belum) jelas\b"),
    Phrase("id", "ambigu", r"\bambigu\b"),
    Phrase("id", "area abu-abu", r"\b(?:area|wilayah|zona) abu-abu\b"),
    Phrase("id", "tidak diatur SOP", r"\btidak (?:diatur|tercakup|tercantum)\b"),
    Phrase("id", "konsultasi dengan", r"\b(?:ber)?konsultasi dengan\b"),
    Phrase("id", "ragu", r"\bragu(?:-ragu)?\b|\btidak yakin\b"),
    Phrase("id", "pendapat kedua", r"\bpendapat kedua\b"),
    # French and German (a few, for EMEA desks)
    Phrase("fr", "pas clair", r"\bpas (?:tres )?clair\b|\bzone grise\b"),
    Phrase("de", "unklar", r"\bunklar\b|\bgrauzone\b|\bnicht abgedeckt\b"),
)

HESITANCY_PATTERN = "|".join(f"(?:{p.pattern})" for p in HESITANCY_LEXICON)
_COMPILED = tuple(re.compile(p.pattern) for p in HESITANCY_LEXICON)


def hesitancy_matches(text: str | None) -> list[str]:
    """Labels of the lexicon phrases found in ``text`` (accent- and case-insensitive)."""
    folded = fold(text)
    if not folded:
        return []
    return [
        p.label for p, rx in zip(HESITANCY_LEXICON, _COMPILED, strict=True) if rx.search(folded)
    ]


CATCH_ALL_VALUES: tuple[str, ...] = (
    "other",
    "others",
    "misc",
    "misc.",
    "miscellaneous",
    "general",
    "unknown",
    "unclassified",
    "uncategorised",
    "uncategorized",
    "n/a",
    "none",
    "not applicable",
    "-",
    "(none)",
    "otro",
    "otros",
    "otra",
    "otras",
    "outro",
    "outros",
    "outra",
    "lainnya",
    "lain-lain",
    "autre",
    "autres",
    "sonstiges",
    "andere",
)
# "Other - please specify", "Other (harassment)": a catch-all with a free-text tail.
_CATCH_ALL_PREFIX = r"^(?:other|others|otros?|outros?|misc)\b"


def is_catch_all(value: str | None) -> bool:
    """True for empty values and catch-all categories such as "Other" (Python side)."""
    text = (value or "").strip().lower()
    return not text or text in CATCH_ALL_VALUES or re.search(_CATCH_ALL_PREFIX, text) is not None


def _catch_all_expr(col: ibis.Expr, *, empty_counts: bool) -> ibis.Expr:
    text = col.strip().lower()
    hit = text.isin(list(CATCH_ALL_VALUES)) | text.re_search(_CATCH_ALL_PREFIX)
    if empty_counts:
        hit = col.isnull() | (text == "") | hit
    return hit.fill_null(False)


@dataclass(frozen=True)
class SignalOptions:
    """Definitions behind the aggregated signals."""

    #: A QA score below this counts as the decision failing review (0-100 scale).
    qa_fail_below: float = 70.0
    #: Handling time under this many hours is treated as this (log scale needs > 0).
    min_hours: float = 0.05


def scoped(t: ibis.Table, f: Filters) -> ibis.Table:
    """Cases in the filters *except the policy filter*, with ``policy_key`` added.

    Baselines compare a policy with the others, so they must see the others even when the
    user narrowed the view to one policy; the caller drops the other policies afterwards.
    """
    base = apply(t, replace(f, policy=()))
    pol = base.policy.strip()
    bucket = _catch_all_expr(base.policy, empty_counts=True)
    return base.mutate(policy_key=ibis.ifelse(bucket, ibis.literal(CATCH_ALL_POLICY), pol))


def with_pain_points(t: ibis.Table, assignments: pd.DataFrame | None) -> ibis.Table:
    """Add ``pain_point`` ('' when there are no assignments; unassigned cases get a label)."""
    if assignments is None:
        return t.mutate(pain_point=ibis.literal(""))
    frame = (
        assignments[["case_id", "pain_point"]].dropna(subset=["case_id"]).drop_duplicates("case_id")
    )
    frame = frame.assign(
        case_id=frame["case_id"].astype(str),
        # '' is the whole-policy level: a blank label is "unassigned", not the policy itself.
        pain_point=frame["pain_point"].astype(str).str.strip().replace("", UNASSIGNED),
    ).rename(columns={"pain_point": "_pp"})
    joined = t.left_join(ibis.memtable(frame), "case_id")
    joined = joined.drop(*[c for c in joined.columns if c.endswith("_right")])
    return joined.mutate(pain_point=joined["_pp"].fill_null(UNASSIGNED)).drop("_pp")


def case_flags(t: ibis.Table, opts: SignalOptions) -> ibis.Table:
    """Per-case indicators shared by the aggregations."""
    hours = (t.resolved_at.epoch_seconds() - t.created_at.epoch_seconds()) / 3600.0
    log_hours = ibis.ifelse(hours >= 0, ibis.greatest(hours, opts.min_hours).ln(), ibis.null())
    appeal = t.appeal_outcome.lower().strip()
    appeal_decided = appeal.isin(["overturned", "upheld"]).fill_null(False)
    overturned = t.overturned.fill_null(False) | (appeal == "overturned").fill_null(False)
    qa_scored = t.qa_score.notnull()
    qa_failed = (t.qa_score < opts.qa_fail_below).fill_null(False)
    notes = t.agent_notes.lower().translate(FOLD_FROM, FOLD_TO)
    has_notes = t.agent_notes.notnull() & (t.agent_notes.strip() != "")
    catch_all = (
        (t.policy_key == CATCH_ALL_POLICY)
        | _catch_all_expr(t.category, empty_counts=False)
        | _catch_all_expr(t.sub_policy, empty_counts=False)
    )
    return t.mutate(
        q_key=t.queue.fill_null("(none)"),
        p_key=t.priority.fill_null("(none)"),
        log_hours=log_hours,
        month=t.created_at.truncate("M"),
        reopened=(t.reopen_count.fill_null(0) > 0),
        reviewed=appeal_decided | qa_scored | overturned,
        overturn_event=overturned | qa_failed,
        appeal_decided=appeal_decided,
        appeal_overturned=appeal_decided & overturned,
        qa_scored=qa_scored,
        qa_failed=qa_failed,
        has_notes=has_notes,
        hesitant=has_notes & notes.re_search(HESITANCY_PATTERN).fill_null(False),
        notes_folded=notes,
        catch_all=catch_all,
    )


def _int_sum(expr: ibis.Expr) -> ibis.Expr:
    return expr.cast("int64").sum()


def signal_counts(
    t: ibis.Table,
    f: Filters,
    *,
    assignments: pd.DataFrame | None = None,
    by_month: bool = False,
    phrases: bool = False,
    opts: SignalOptions = SignalOptions(),
) -> pd.DataFrame:
    """Counts behind every aggregated signal, per ``policy_key`` x ``pain_point`` (x ``month``).

    Columns: policy, pain_point, [month], cases, reopened, reviewed, overturns,
    appeals_decided, appeal_overturns, qa_scored, qa_failed, with_notes, hesitant,
    catch_all, handled, excess_sum, excess_sq and, with ``phrases=True``, one ``ph_<i>``
    count per :data:`HESITANCY_LEXICON` entry (cases whose notes match it).

    Handling-time excess is the case's log handling hours minus the median log hours of
    its queue x priority over the same scope (so a policy is compared with its own
    queue's norm, not with a faster or slower queue).
    """
    base = case_flags(with_pain_points(scoped(t, f), assignments), opts)
    norms = base.group_by("q_key", "p_key").aggregate(norm=base.log_hours.median())
    joined = base.left_join(norms, ["q_key", "p_key"])
    joined = joined.drop(*[c for c in joined.columns if c.endswith("_right")])
    excess = joined.log_hours - joined.norm
    keys = [joined.policy_key.name("policy"), joined.pain_point]
    if by_month:
        keys.append(joined.month)
    aggs = {
        "cases": joined.count(),
        "reopened": _int_sum(joined.reopened),
        "reviewed": _int_sum(joined.reviewed),
        "overturns": _int_sum(joined.overturn_event & joined.reviewed),
        "appeals_decided": _int_sum(joined.appeal_decided),
        "appeal_overturns": _int_sum(joined.appeal_overturned),
        "qa_scored": _int_sum(joined.qa_scored),
        "qa_failed": _int_sum(joined.qa_failed),
        "with_notes": _int_sum(joined.has_notes),
        "hesitant": _int_sum(joined.hesitant),
        "catch_all": _int_sum(joined.catch_all),
        "handled": excess.count(),
        "excess_sum": excess.sum(),
        "excess_sq": (excess * excess).sum(),
    }
    if phrases:
        for i, p in enumerate(HESITANCY_LEXICON):
            aggs[f"ph_{i}"] = _int_sum(
                joined.has_notes & joined.notes_folded.re_search(p.pattern).fill_null(False)
            )
    df = joined.group_by(keys).aggregate(**aggs).execute()
    for col in ("excess_sum", "excess_sq"):
        df[col] = df[col].astype(float).fillna(0.0)
    if by_month:
        df["month"] = pd.to_datetime(df["month"])
    return df.sort_values(["policy", "pain_point", *(["month"] if by_month else [])]).reset_index(
        drop=True
    )


def phrase_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Long form of the ``ph_<i>`` columns: policy, pain_point, language, phrase, cases."""
    cols = [c for c in counts.columns if c.startswith("ph_")]
    if not cols:
        return pd.DataFrame(columns=["policy", "pain_point", "language", "phrase", "cases"])
    long = counts[["policy", "pain_point", *cols]].melt(
        id_vars=["policy", "pain_point"], value_vars=cols, var_name="ph", value_name="cases"
    )
    idx = long["ph"].str.slice(3).astype(int)
    long["language"] = [HESITANCY_LEXICON[i].language for i in idx]
    long["phrase"] = [HESITANCY_LEXICON[i].label for i in idx]
    long = long[long["cases"] > 0]
    return (
        long[["policy", "pain_point", "language", "phrase", "cases"]]
        .sort_values(["policy", "pain_point", "cases"], ascending=[True, True, False])
        .reset_index(drop=True)
    )


TEXT_COLUMNS_FOR_SIMILARITY = (
    "case_id",
    "policy",
    "created_at",
    "subject",
    "description",
    "outcome",
)


def case_texts(
    t: ibis.Table, f: Filters, *, cap_per_policy: int, assignments: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Decided cases' texts for the similarity step, at most ``cap_per_policy`` per policy.

    The sample is deterministic (ordered by a hash of the case id), so re-runs on the same
    data compare the same cases. Columns: case_id, policy, pain_point, created_at, subject,
    description, outcome.
    """
    base = with_pain_points(scoped(t, f), assignments)
    decided = base.filter(_.outcome.notnull(), _.outcome.strip() != "")
    ranked = decided.mutate(
        _rn=ibis.row_number().over(group_by=_.policy_key, order_by=_.case_id.hash())
    )
    sample = ranked.filter(_._rn < cap_per_policy).select(
        "case_id",
        policy=_.policy_key,
        pain_point=_.pain_point,
        created_at=_.created_at,
        subject=_.subject,
        description=_.description,
        outcome=_.outcome.strip(),
    )
    return sample.execute().sort_values(["policy", "case_id"]).reset_index(drop=True)


def fetch_cases(t: ibis.Table, case_ids: list[str]) -> pd.DataFrame:
    """The cases shown as evidence (text, decision, review) for a list of ids."""
    if not case_ids:
        return pd.DataFrame(columns=["case_id"])
    cols = [
        "case_id",
        "created_at",
        "policy",
        "queue",
        "language",
        "subject",
        "description",
        "agent_notes",
        "outcome",
        "appeal_outcome",
        "overturned",
        "qa_score",
        "reopen_count",
        "sensitive",
    ]
    return t.filter(_.case_id.isin(list(case_ids))).select(*cols).execute()


def hesitant_notes(
    t: ibis.Table,
    f: Filters,
    policy: str,
    pain_point: str = "",
    *,
    assignments: pd.DataFrame | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Recent cases of one policy (x pain point) whose agent notes match the lexicon."""
    base = with_pain_points(scoped(t, f), assignments if pain_point else None)
    notes = base.agent_notes.lower().translate(FOLD_FROM, FOLD_TO)
    hits = base.filter(
        base.policy_key == policy, notes.re_search(HESITANCY_PATTERN).fill_null(False)
    )
    if pain_point:
        hits = hits.filter(_.pain_point == pain_point)
    cols = [
        "case_id",
        "created_at",
        "language",
        "subject",
        "agent_notes",
        "outcome",
        "appeal_outcome",
        "sensitive",
    ]
    return hits.order_by(ibis.desc("created_at")).limit(limit).select(*cols).execute()


#: Where pain-point assignments are looked for (written by the pain-point clustering).
ASSIGNMENT_TABLE = "pain_point_assignments"
_ASSIGNMENT_LABELS = ("pain_point", "pain_point_name", "label", "name")


def stored_assignments(con) -> pd.DataFrame | None:
    """Pain-point assignments (case_id, pain_point label) from the store, or None without a fit.

    Labels are the pain points' names as people curated them (renames and merges applied,
    :func:`analytics.painpoints.assignments`); unassigned cases get ``""`` (shown as
    unassigned). Two pain points with the same name keep apart by their id.
    """
    from analytics import painpoints

    try:
        a = painpoints.assignments(con)
    except duckdb.Error:  # a store from before the pain-point tables
        return None
    if a is None or a.empty:
        return None
    name = a["name"].astype(str)
    ids = a["pain_point"].astype(int)
    clash = name.groupby(name).transform(lambda s: ids.loc[s.index].nunique() > 1)
    label = name.where(~clash, name + " (#" + ids.astype(str) + ")")
    return pd.DataFrame(
        {"case_id": a["case_id"].astype(str), "pain_point": label.where(ids != -1, "")}
    )
