"""Emerging terms in case texts: hashtags, phrases and names that are new or accelerating.

:func:`emerging_terms` compares the last ``recent`` days with the ``baseline`` days
before them. Terms come in three kinds:

* ``hashtag``: ``#something`` (Unicode letters, lower-cased);
* ``name``: runs of two or three capitalised words ("Free Fire", "Mobile Legends"),
  CamelCase words ("FreeFire", "iPhone") and app versions ("v35.1", "versión 35.1");
* ``ngram``: word 1-3-grams after removing English, Spanish, Portuguese and Indonesian
  stop words (n-grams may bridge a removed stop word: "report of scam" -> "report scam").

Counts are documents (a case that repeats a word ten times counts once). A term is tested
when at least ``min_df`` recent cases contain it (one-off typos never qualify): its rate
per case in the recent window against the baseline window with an exact conditional
binomial test (the Poisson rate-ratio test, conditioned on the term having been selected
by ``min_df``), with Benjamini–Hochberg across all tested terms. ``new`` terms were not
seen at all in the baseline window; ``accelerating`` terms were, but are now at least
``min_ratio`` times as frequent per case *and* per day: per case, so a day with twice the
cases does not make every word "accelerate"; per day too, so the end of a big surge of
other cases (which diluted everything else in the baseline) does not either.

Speed: the vocabulary is learnt from the recent window only (candidates need ``min_df``
recent cases), and baseline texts are only looked up against it, which bounds memory.
Text analysis is Python per text (as in scikit-learn's own vectorisers); see
``docs/benchmarks/trends_synthetic.md`` for measured throughput.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import sparse, special
from sklearn.feature_extraction.text import CountVectorizer

from analytics.trends_multi import benjamini_hochberg


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "a about above after again against all also am an and any are as at be because been "
        "before being below between both but by can cant could did didnt do does doesnt doing "
        "dont down during each even few for from further get got had has have having he hello "
        "her here hers herself hi him himself his how i if im in into is isnt it its itself ive "
        "just me more most my myself no nor not now of off on once one only or other our ours "
        "ourselves out over own please same she should so some still such than thank thanks "
        "that the their theirs them themselves then there these they this those through to too "
        "under until up very was wasnt we were what when where which while who whom why will "
        "with would you your yours yourself yourselves"
    ),
    "es": _words(
        "más también está están él sí qué cómo cuándo dónde mí tú "
        "a al algo algunas algunos ante antes como con contra cual cuando de del desde donde "
        "durante e el ella ellas ellos en entre era eran es esa esas ese eso esos esta estaba "
        "estado estan estar este esto estos favor fue fueron gracias ha han hasta hay hola la "
        "las le les lo los mas me mi mis mucho muy nada ni no nos nosotros o os otra otro para "
        "pero poco por porque que quien se sea ser si sin sobre son su sus tambien te tengo ti "
        "tiene todo todos tu tus un una uno unos y ya yo"
    ),
    "pt": _words(
        "é à às está estão também você "
        "a ao aos as até com como da das de dela dele deles depois do dos e ela elas ele eles "
        "em entre era essa esse esta este eu foi foram há isso isto já lhe mais mas me mesmo "
        "meu minha muito na nas nem no nos nossa nosso num numa não o obrigada obrigado olá os "
        "ou para pela pelo por qual quando que quem se sem ser seu seus sua suas são também te "
        "tem tenho tu um uma umas uns você vocês"
    ),
    "id": _words(
        "ada adalah agar akan aku anda apa atau bagi bahwa banyak belum bisa dalam dan dari "
        "dengan di dia gak halo ini itu jadi juga kalau kami kamu karena kasih ke kita lagi "
        "lebih mereka nggak nya oleh pada saat saya sebagai sedang sudah tapi telah terima "
        "tersebut tidak tolong untuk ya yang"
    ),
}

ALL_STOP_WORDS: frozenset[str] = frozenset().union(*STOP_WORDS.values())
RESULT_COLUMNS: tuple[str, ...] = (
    "term",
    "kind",
    "status",
    "first_seen",
    "recent_count",
    "baseline_count",
    "baseline_rate",
    "recent_rate",
    "ratio",
    "p_value",
    "q_value",
    "score",
    "regions",
    "n_regions",
    "top_region_share",
    "examples",
)

# Uppercase letters of the Basic Multilingual Plane (re has no \p{Lu}); built at import.
_UPPER = "".join(re.escape(c) for c in map(chr, range(0x10000)) if c.isupper() and c.isalpha())
_CAP_WORD = rf"[{_UPPER}][^\W_]*(?:['’][^\W_]+)?"
_HASHTAG = re.compile(r"(?<![\w#])#(\w*[^\W\d_]\w*)")
_URL = re.compile(r"https?://\S+|www\.\S+|@\w+")
_WORD = re.compile(r"\b[^\W\d_]{2,}\b")
_CAP_RUN = re.compile(rf"(?<![\w#@]){_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{1,3}}\b")
_CAMEL = re.compile(rf"(?<![\w#@])(?:[^\W\d_]*[a-z][{_UPPER}]|[{_UPPER}][a-z]+[{_UPPER}])\w*")
_VERSION = re.compile(
    r"(?i)(?<![\w.])(?:v|ver\.?\s?|version\s|versión\s|versão\s|versi\s)(\d+(?:\.\d+){0,3})\b"
)
# Cheap searches that let most texts skip the slower name patterns.
_HAS_CAMEL = re.compile(rf"[a-z][{_UPPER}]|[{_UPPER}][a-z]+[{_UPPER}]")
_HAS_DIGIT = re.compile(r"\d")
_NAME_PREFIX = "\x01"  # marks name tokens inside one shared vocabulary


def _analyzer(ngram_range: tuple[int, int]) -> tuple[Callable[[str], list[str]], dict[str, str]]:
    """One pass over a text: hashtags, names and n-grams, as vocabulary tokens.

    Also returns the dict it fills with a display form for each name key (first seen).
    """
    lo, hi = ngram_range
    display: dict[str, str] = {}

    def analyse(text: str) -> list[str]:
        out = ["#" + t.casefold() for t in _HASHTAG.findall(text)]
        clean = _URL.sub(" ", _HASHTAG.sub(" ", text))
        for run in _CAP_RUN.findall(clean):
            words = run.split()
            while words and words[0].casefold() in ALL_STOP_WORDS:
                words = words[1:]
            if len(words) < 2 or all(w.isupper() for w in words):
                continue  # a sentence start, or shouting
            for n in (2, 3):
                for i in range(len(words) - n + 1):
                    name = " ".join(words[i : i + n])
                    key = name.casefold()
                    display.setdefault(key, name)
                    out.append(_NAME_PREFIX + key)
        for word in _CAMEL.findall(clean) if _HAS_CAMEL.search(clean) else ():
            key = word.casefold()
            display.setdefault(key, word)
            out.append(_NAME_PREFIX + key)
        for number in _VERSION.findall(clean) if _HAS_DIGIT.search(clean) else ():
            key = "v" + number
            display.setdefault(key, key)
            out.append(_NAME_PREFIX + key)
        tokens = [t for t in _WORD.findall(clean.casefold()) if t not in ALL_STOP_WORDS]
        for n in range(lo, hi + 1):
            if n == 1:
                out.extend(tokens)
            else:
                out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return out

    return analyse, display


#: Tokens of recently analysed texts (a daily scan re-reads ~95 % of yesterday's texts),
#: keyed by (n-gram range, text). Stored as one joined string per text: strings are not
#: tracked by the garbage collector, millions of small tuples would be.
_TOKENS: dict[tuple[tuple[int, int], str], tuple[str, str]] = {}
_DISPLAY: dict[str, str] = {}
_TOKENS_MAX = 200_000
_SEP = "\x00"


def _cached_analyzer(
    ngram_range: tuple[int, int],
) -> tuple[Callable[[str], list[str]], dict[str, str]]:
    """:func:`_analyzer` with a process-wide cache of each text's tokens (and its names)."""
    analyse, display = _analyzer(ngram_range)

    def cached(text: str) -> list[str]:
        key = (ngram_range, text)
        hit = _TOKENS.get(key)
        if hit is None:
            tokens = analyse(text)
            names = [t[1:] for t in tokens if t[0] == _NAME_PREFIX]
            if len(_TOKENS) >= _TOKENS_MAX:
                _TOKENS.clear()
            _TOKENS[key] = (_SEP.join(tokens), _SEP.join(names))
            for k in names:
                _DISPLAY.setdefault(k, display.get(k, k))
            return tokens
        if hit[1]:
            for k in hit[1].split(_SEP):
                if k not in display:
                    display[k] = _DISPLAY.get(k, k)
        return hit[0].split(_SEP) if hit[0] else []

    return cached, display


def clear_token_cache() -> None:
    """Forget the cached tokens (benchmarks measure cold scans)."""
    _TOKENS.clear()
    _DISPLAY.clear()


def extract_terms(text: str, ngram_range: tuple[int, int] = (1, 3)) -> list[tuple[str, str]]:
    """The ``(term, kind)`` pairs :func:`emerging_terms` counts in one text, in order."""
    analyse, display = _analyzer(ngram_range)
    return [(_display(t, display), _kind(t)) for t in analyse(text)]


def _kind(token: str) -> str:
    if token.startswith("#"):
        return "hashtag"
    return "name" if token.startswith(_NAME_PREFIX) else "ngram"


def emerging_terms(
    cases: pd.DataFrame,
    *,
    text_col: str = "text",
    time_col: str = "created_at",
    region_col: str | None = "region",
    as_of: str | pd.Timestamp | None = None,
    recent: str | pd.Timedelta = "7D",
    baseline: str | pd.Timedelta = "56D",
    min_df: int = 5,
    min_ratio: float = 3.0,
    fdr: float = 0.01,
    ngram_range: tuple[int, int] = (1, 3),
    max_examples: int = 5,
    emerging_only: bool = True,
    baseline_cases: int | None = None,
) -> pd.DataFrame:
    """New and accelerating terms of the ``recent`` window against the ``baseline`` before it.

    Args:
        cases: one row per case with ``time_col`` (timestamps) and ``text_col``; the
            optional ``region_col`` gives each term's regional spread.
        as_of: end of the recent window (default: the latest timestamp).
        recent, baseline: lengths of the two windows; the baseline ends where recent begins.
        min_df: cases in the recent window a term needs to be considered at all.
        min_ratio: an accelerating term's rate per case must grow at least this much.
        fdr: Benjamini–Hochberg false discovery rate across tested terms.
        emerging_only: False returns every tested term (with ``status`` "stable").
        baseline_cases: cases in the baseline window before it was thinned (if it was):
            the per-day rate needs the true count.

    Returns:
        :data:`RESULT_COLUMNS`: ``term`` (display form), ``kind`` (hashtag / name / ngram),
        ``status`` (new / accelerating / stable), ``first_seen`` (first case in the analysed
        span), recent and baseline case counts, ``baseline_rate`` and ``recent_rate``
        (cases per day), ``ratio`` of rates per case (baseline count + 0.5, so "new" terms
        get a finite ratio), ``p_value``, ``q_value``, ``score`` (-log10 p), ``regions``
        (dict region -> recent cases, largest first), ``n_regions``, ``top_region_share``
        and ``examples`` (index labels of up to ``max_examples`` latest recent cases).
        Sorted by score.
    """
    times = pd.to_datetime(cases[time_col])
    end = pd.Timestamp(as_of) if as_of is not None else times.max()
    if pd.isna(end):
        return _empty()
    recent_start = end - pd.Timedelta(recent)
    base_start = recent_start - pd.Timedelta(baseline)
    in_recent = ((times > recent_start) & (times <= end)).to_numpy()
    in_base = ((times > base_start) & (times <= recent_start)).to_numpy()
    n_recent, n_base = int(in_recent.sum()), int(in_base.sum())
    if n_recent == 0:
        return _empty()
    texts = cases[text_col].astype("str").fillna("")

    # the token cache pays off for the daily scan's window, not for one-off huge inputs
    cached = len(texts) <= _TOKENS_MAX
    analyse, display = _cached_analyzer(ngram_range) if cached else _analyzer(ngram_range)
    vec = CountVectorizer(analyzer=analyse, binary=True, min_df=min_df, dtype=np.int32)
    try:
        x_recent = vec.fit_transform(texts[in_recent]).tocsc()
    except ValueError:  # no term reaches min_df
        return _empty()
    vocab = vec.get_feature_names_out()
    x_base = (
        vec.transform(texts[in_base]).tocsc()
        if n_base
        else sparse.csc_matrix((0, len(vocab)), dtype=np.int32)
    )
    k_recent = np.asarray(x_recent.sum(axis=0)).ravel().astype(float)
    k_base = np.asarray(x_base.sum(axis=0)).ravel().astype(float)

    # Conditional binomial test: given k_r + k_b cases with the term, the share in the
    # recent window is binomial with p0 = its share of all cases under equal rates.
    # Terms are only looked at when k_r >= min_df, which favours rare terms that happened
    # to cluster recently, so the p-value is conditioned on that selection too:
    # P(K >= k_r | K >= min_df). Without it, random rare trigrams pass BH.
    p0 = n_recent / (n_recent + n_base)
    total = k_recent + k_base
    if n_base:
        tail = special.betainc(k_recent, total - k_recent + 1, p0)
        selected = special.betainc(float(min_df), total - min_df + 1, p0)
        p_value = np.minimum(1.0, tail / np.maximum(selected, 1e-300))
    else:
        p_value = np.ones(len(vocab))
    rate_ratio = (k_recent / n_recent) / ((k_base + 0.5) / max(n_base, 1))
    _, q_value = benjamini_hochberg(p_value, fdr)
    status = np.where(k_base == 0, "new", "accelerating")
    # Per case *and* per day: the end of a big surge elsewhere (which filled the baseline
    # with other cases) must not make every other term look accelerating, nor a busy week.
    base_days = pd.Timedelta(baseline) / pd.Timedelta(days=1)
    recent_days = pd.Timedelta(recent) / pd.Timedelta(days=1)
    volume = (n_recent / recent_days) / max((baseline_cases or n_base) / base_days, 1e-9)
    day_ratio = rate_ratio * volume
    emerging = (q_value <= fdr) & (rate_ratio >= min_ratio) & (day_ratio >= min_ratio)
    status = np.where(emerging, status, "stable")
    keep = _drop_satellites(np.flatnonzero(emerging), vocab, k_recent, x_recent)
    if not emerging_only:
        keep = np.concatenate([keep, np.flatnonzero(~emerging)])
    if len(keep) == 0:
        return _empty()

    t_recent = times[in_recent].to_numpy()
    t_base = times[in_base].to_numpy()
    first_recent = _column_min(x_recent, t_recent, keep)
    first_base = (
        _column_min(x_base, t_base, keep) if n_base else np.full(len(keep), np.datetime64("NaT"))
    )
    first_seen = np.where(pd.isna(first_base), first_recent, first_base)
    recent_labels = cases.index[in_recent]
    regions = (
        cases.loc[in_recent, region_col].astype("str").fillna("(missing)").to_numpy()
        if region_col is not None and region_col in cases
        else None
    )
    rows = []
    for pos, j in enumerate(keep):
        token = vocab[j]
        rows_j = x_recent.indices[x_recent.indptr[j] : x_recent.indptr[j + 1]]
        latest = rows_j[np.argsort(t_recent[rows_j])[::-1][:max_examples]]
        spread: dict[str, int] = {}
        if regions is not None:
            counts = pd.Series(regions[rows_j]).value_counts()
            spread = {str(k): int(v) for k, v in counts.items()}
        rows.append(
            {
                "term": _display(token, display),
                "kind": _kind(token),
                "status": status[j],
                "first_seen": first_seen[pos],
                "recent_count": int(k_recent[j]),
                "baseline_count": int(k_base[j]),
                "baseline_rate": k_base[j] / base_days,
                "recent_rate": k_recent[j] / recent_days,
                "ratio": rate_ratio[j],
                "p_value": p_value[j],
                "q_value": q_value[j],
                "score": -np.log10(max(p_value[j], 1e-300)),
                "regions": spread,
                "n_regions": len(spread),
                "top_region_share": (max(spread.values()) / k_recent[j]) if spread else np.nan,
                "examples": tuple(recent_labels[latest]),
            }
        )
    out = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    out["first_seen"] = pd.to_datetime(out["first_seen"])
    return out.sort_values(["score", "recent_count"], ascending=False, ignore_index=True)


def _display(token: str, display: dict[str, str]) -> str:
    if token.startswith(_NAME_PREFIX):
        key = token[len(_NAME_PREFIX) :]
        return display.get(key, key)
    return token


def _column_min(x: sparse.csc_matrix, times: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Earliest timestamp among the rows holding each of ``cols`` (NaT if none)."""
    out = np.full(len(cols), np.datetime64("NaT"), dtype="datetime64[ns]")
    for i, j in enumerate(cols):
        rows = x.indices[x.indptr[j] : x.indptr[j + 1]]
        if len(rows):
            out[i] = times[rows].min()
    return out


_KIND_RANK = {"name": 2, "hashtag": 1, "ngram": 0}


def _drop_satellites(
    keep: np.ndarray, vocab: np.ndarray, k_recent: np.ndarray, x_recent: sparse.csc_matrix
) -> np.ndarray:
    """Drop a term that mostly travels with a stronger term sharing a word.

    "free fire" and "bot garena free" next to "Garena Free Fire" add nothing: a term is
    dropped when at least 80 % of its recent cases also hold a term that shares one of
    its words and ranks higher (more cases, then name > hashtag > n-gram, then longer).
    """
    if len(keep) < 2 or len(keep) > 2000:  # thousands of emerging terms: show them all
        return keep
    words = [set(vocab[j].lstrip(_NAME_PREFIX + "#").split()) for j in keep]
    rank = [(k_recent[j], _KIND_RANK[_kind(vocab[j])], len(vocab[j])) for j in keep]
    sub = (x_recent[:, keep] > 0).astype(np.int32)
    together = (sub.T @ sub).toarray()
    out = []
    for a, j in enumerate(keep):
        satellite = any(
            b != a
            and rank[b] > rank[a]
            and together[a, b] >= 0.8 * k_recent[j]
            and words[a] & words[b]
            for b in range(len(keep))
        )
        if not satellite:
            out.append(j)
    return np.asarray(out, dtype=np.int64)


def term_counts_by_day(
    cases: pd.DataFrame,
    terms: list[str],
    *,
    text_col: str = "text",
    time_col: str = "created_at",
    freq: str = "D",
) -> pd.DataFrame:
    """Cases per day (rows) mentioning each of ``terms`` (columns, as displayed by
    :func:`emerging_terms`), e.g. for a sparkline next to an emerging term."""
    analyse, display = _analyzer((1, 3))
    wanted = {}
    for term in terms:
        if term.startswith("#"):
            wanted[term.casefold()] = term
        else:
            wanted[_NAME_PREFIX + term.casefold()] = term
            wanted[term.casefold()] = term
    vec = CountVectorizer(analyzer=analyse, binary=True, vocabulary=list(wanted), dtype=np.int32)
    x = vec.transform(cases[text_col].astype("str").fillna(""))
    per_token = pd.DataFrame.sparse.from_spmatrix(x, columns=list(wanted)).sparse.to_dense()
    merged = per_token.T.groupby([wanted[c] for c in per_token.columns]).max().T
    day = pd.to_datetime(cases[time_col]).dt.floor(freq).to_numpy()
    return merged.groupby(day).sum().reindex(columns=terms, fill_value=0)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS})
