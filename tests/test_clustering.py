"""Tests for analytics.clustering, analytics.cluster_steps and analytics.cluster_naming.

Data is built in code: unit vectors scattered around planted centres (known truth) and
texts from a few templates whose words identify the planted cluster.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from analytics import embeddings
from analytics.cluster_naming import STOP_WORDS, CTfidfNamer, candidate_terms
from analytics.cluster_steps import (
    AgglomerativeClusterer,
    GraphMergeClusterer,
    KMeansClusterer,
    PCAReducer,
    SpectralGraphReducer,
    knn_cosine,
)
from analytics.clustering import LineageEvent, PainPointClusterer, lineage, match_clusters
from analytics.embeddings import LsaEmbedder
from analytics.errors import NotEnoughDataError

DIM = 48

# Planted pain points: the keyword that must reach the name, and text templates.
TOPICS = {
    "appeal": [
        "my appeal was not answered after {n} days",
        "appeal not answered, ticket {n} still open",
        "nobody answered my appeal {n}",
        "still waiting, appeal not answered since week {n}",
    ],
    "password": [
        "account hacked and password changed, case {n}",
        "someone changed my password, account hacked {n}",
        "hacked account {n}: password changed without me",
        "password changed by hacker, account {n} hacked",
    ],
    "refund": [
        "refund never arrived for order {n}",
        "where is my refund for order {n}",
        "refund for order {n} missing",
        "order {n} refund not received",
    ],
    "hackeada": [
        "mi cuenta fue hackeada y no puedo entrar {n}",
        "cuenta hackeada, cambiaron el correo {n}",
        "me hackearon la cuenta, cuenta hackeada {n}",
        "la cuenta {n} fue hackeada ayer",
    ],
    "verifikasi": [
        "kode verifikasi tidak masuk ke nomor {n}",
        "tidak menerima kode verifikasi {n}",
        "kode verifikasi gagal dikirim {n}",
        "verifikasi akun {n} gagal terus",
    ],
}


def planted(n_per: int = 40, seed: int = 0, noise: float = 0.35, n_topics: int = 5):
    """Texts, unit embeddings and true labels for ``n_topics`` planted clusters."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_topics, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    keys = list(TOPICS)[:n_topics]
    texts, rows, truth = [], [], []
    for c, key in enumerate(keys):
        for i in range(n_per):
            template = TOPICS[key][i % len(TOPICS[key])]
            texts.append(template.format(n=int(rng.integers(10, 999))))
            rows.append(centres[c] + noise * rng.standard_normal(DIM) / np.sqrt(DIM) * 3)
            truth.append(c)
    E = np.asarray(rows, dtype=np.float32)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    return texts, E, np.asarray(truth), centres, keys


def near(centre: np.ndarray, n: int, seed: int, noise: float = 0.35) -> np.ndarray:
    rng = np.random.default_rng(seed)
    E = centre + noise * rng.standard_normal((n, DIM)) / np.sqrt(DIM) * 3
    return (E / np.linalg.norm(E, axis=1, keepdims=True)).astype(np.float32)


def far_points(centres: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Unit vectors orthogonal to every centre: far from all clusters."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, DIM))
    Q, _ = np.linalg.qr(centres.T)
    X -= (X @ Q) @ Q.T
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def majority_map(pred: np.ndarray, truth: np.ndarray) -> dict[int, int]:
    return {int(t): int(np.bincount(pred[(truth == t) & (pred >= 0)]).argmax()) for t in set(truth)}


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def fitted(data):
    texts, E, *_ = data
    return PainPointClusterer(random_state=0).fit(texts, E)


def test_planted_clusters_are_recovered_with_automatic_k(data, fitted):
    _, _, truth, _, _ = data
    assert fitted.n_clusters_ == 5
    assert adjusted_rand_score(truth, fitted.labels_) > 0.97
    assert (fitted.labels_ == -1).mean() < 0.03


def test_given_number_of_clusters_is_respected(data):
    texts, E, truth, _, _ = data
    model = PainPointClusterer(n_clusters=5, outlier_threshold=None).fit(texts, E)
    assert model.n_clusters_ == 5
    assert adjusted_rand_score(truth, model.labels_) > 0.97


def test_fit_is_deterministic_under_random_state(data):
    texts, E, *_ = data
    a = PainPointClusterer(random_state=3).fit(texts, E)
    b = PainPointClusterer(random_state=3).fit(texts, E)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.centroids_, b.centroids_)
    assert a.cluster_names_ == b.cluster_names_
    assert a.representatives_ == b.representatives_


def test_learned_attributes_are_consistent(data, fitted):
    texts, E, *_ = data
    k = fitted.n_clusters_
    assert fitted.centroids_.shape == (k, DIM)
    np.testing.assert_allclose(np.linalg.norm(fitted.centroids_, axis=1), 1.0, atol=1e-5)
    assert sum(fitted.sizes_.values()) == int((fitted.labels_ >= 0).sum())
    assert list(fitted.sizes_.values()) == sorted(fitted.sizes_.values(), reverse=True)
    for c, idx in fitted.representatives_.items():
        assert 3 <= len(idx) <= 5
        assert all(fitted.labels_[i] == c for i in idx)
    assert set(fitted.top_terms_) == set(range(k))


def test_names_contain_the_planted_keywords(data, fitted):
    _, _, truth, _, keys = data
    mapping = majority_map(fitted.labels_, truth)
    for t, key in enumerate(keys):
        name = fitted.cluster_names_[mapping[t]]
        assert key in name, (key, name)
    names = list(fitted.cluster_names_.values())
    assert len(set(names)) == len(names)
    for name in names:  # labels neither start nor end on a stop word of any language
        for part in name.split(", "):
            words = part.split()
            for w in (words[0], words[-1]):
                assert not any(w in stop for stop in STOP_WORDS.values()), name


def test_negation_phrases_survive_and_stop_words_do_not():
    stop = frozenset().union(*STOP_WORDS.values())
    terms = candidate_terms("My appeal was not answered", stop)
    assert "not answered" in terms and "appeal" in terms
    assert "was not" not in terms and "not" not in terms and "my" not in terms
    assert "top up" in candidate_terms("I cannot top up my card", stop)
    es = candidate_terms("mi cuenta fue hackeada", stop)
    assert "cuenta fue hackeada" in es and "mi" not in es and "fue" not in es
    assert "yang" not in candidate_terms("kode yang tidak masuk", stop)


def test_namer_labels_with_two_short_phrases():
    texts = ["account hacked, password changed"] * 6 + ["refund missing for order"] * 6
    labels = np.array([0] * 6 + [1] * 6)
    namer = CTfidfNamer().fit(texts, labels)
    assert "hacked" in namer.names_[0] and "password" in namer.names_[0]
    assert "refund" in namer.names_[1]
    assert len(namer.names_[0].split()) <= 6


def test_far_texts_are_outliers_not_forced_into_a_cluster(data):
    texts, E, truth, centres, _ = data
    odd = far_points(centres, 6, seed=5)
    model = PainPointClusterer().fit(texts + ["lorem ipsum"] * 6, np.vstack([E, odd]))
    assert (model.labels_[-6:] == -1).all()
    assert (model.labels_[:-6] >= 0).mean() > 0.97
    assert model.n_clusters_ == 5


def test_predict_assigns_new_texts_to_the_right_existing_cluster(data, fitted):
    _, _, truth, centres, _ = data
    mapping = majority_map(fitted.labels_, truth)
    for t in range(len(centres)):
        pred = fitted.predict(["new"] * 20, near(centres[t], 20, seed=100 + t))
        assert (pred == mapping[t]).mean() >= 0.95
    odd = fitted.predict(["odd"] * 5, far_points(centres, 5, seed=9))
    assert (odd == -1).all()


def test_predict_matches_fit_labels_on_the_fitted_texts(data, fitted):
    texts, E, *_ = data
    pred = fitted.predict(texts, E)
    assert (pred == fitted.labels_).mean() > 0.97


def test_large_inputs_are_sampled_and_every_text_gets_a_label():
    texts, E, truth, _, _ = planted(n_per=300, seed=4)
    model = PainPointClusterer(max_graph_points=400).fit(texts, E)
    assert model.labels_.shape == (1500,)
    assert model.n_clusters_ == 5
    assert adjusted_rand_score(truth, model.labels_) > 0.95


def test_steps_are_swappable(data):
    texts, E, truth, _, _ = data
    model = PainPointClusterer(
        n_clusters=5, reducer=PCAReducer(n_components=10), clusterer=KMeansClusterer()
    ).fit(texts, E)
    assert adjusted_rand_score(truth, model.labels_) > 0.95
    assert isinstance(model.reducer_, PCAReducer)
    ward = PainPointClusterer(clusterer=AgglomerativeClusterer()).fit(texts, E)
    assert ward.n_clusters_ == 5  # k chosen as by the default clusterer, then Ward
    assert adjusted_rand_score(truth, ward.labels_) > 0.95


def test_spectral_reducer_and_merge_clusterer_alone(data):
    _, E, truth, _, _ = data
    reducer = SpectralGraphReducer(n_components=20)
    Z = reducer.fit_transform(E)
    assert Z.shape == (len(E), 20)
    labels = GraphMergeClusterer().fit_predict(Z, graph=reducer.graph_)
    assert adjusted_rand_score(truth, labels) > 0.97
    idx, sims = knn_cosine(E, 5)
    assert (idx != np.arange(len(E))[:, None]).all()
    assert (np.diff(sims, axis=1) <= 1e-6).all()


def test_bad_inputs_raise_named_errors(data):
    texts, E, *_ = data
    with pytest.raises(NotEnoughDataError):
        PainPointClusterer().fit(["one"], E[:1])
    with pytest.raises(ValueError, match="embedding rows"):
        PainPointClusterer().fit(texts, E[:-1])
    model = PainPointClusterer().fit(texts, E)
    with pytest.raises(ValueError, match="pass embeddings"):
        model.predict(["no embedding"])


KEYWORDS = {
    "appeal": "appeal answered review decision reply reviewer",
    "password": "password hacked changed login email hacker",
    "refund": "refund order money returned payment cancelled",
    "cuenta": "cuenta hackeada correo contraseña entrar acceso",
}
FILLER = ["please", "today", "again", "still", "urgent", "since", "monday", "help", "week"]


def keyword_texts(n_per: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Texts mixing 3 topic keywords with 2 shared filler words (a lexical signal only)."""
    rng = np.random.default_rng(seed)
    texts, truth = [], []
    for c, words in enumerate(KEYWORDS.values()):
        vocab = words.split()
        for _ in range(n_per):
            picked = list(rng.choice(vocab, 3, replace=False)) + list(rng.choice(FILLER, 2))
            texts.append(" ".join(rng.permutation(picked)) + f" {rng.integers(10, 999)}")
            truth.append(c)
    return texts, np.asarray(truth)


def test_lsa_fallback_clusters_texts_when_the_sentence_stack_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    monkeypatch.setattr(embeddings, "_MODEL_CACHE", {})
    texts, truth = keyword_texts(n_per=50, seed=2)
    model = PainPointClusterer().fit(texts)
    assert isinstance(model.embedder_, LsaEmbedder)
    assert adjusted_rand_score(truth, model.labels_) > 0.9
    pred = model.predict(["refund for the cancelled order please"])
    assert pred[0] == majority_map(model.labels_, truth)[list(KEYWORDS).index("refund")]


def test_match_clusters_keeps_ids_on_a_superset_refit(data, fitted):
    texts, E, truth, centres, _ = data
    rng = np.random.default_rng(1)
    extra_centre = rng.standard_normal(DIM)
    extra = near(extra_centre / np.linalg.norm(extra_centre), 40, seed=11)
    more = np.vstack([near(c, 15, seed=20 + i) for i, c in enumerate(centres)])
    E2 = np.vstack([more, E, extra])  # a different order on purpose: ids come out different
    texts2 = ["more"] * len(more) + texts + ["extra"] * 40
    refit = PainPointClusterer().fit(texts2, E2)
    mapping = match_clusters(fitted.centroids_, refit.centroids_, threshold=0.8)
    common_new = refit.labels_[len(more) : len(more) + len(E)]
    for old_id in range(fitted.n_clusters_):
        new_id = int(np.bincount(common_new[fitted.labels_ == old_id]).argmax())
        assert mapping[new_id] == old_id
    extra_id = int(np.bincount(refit.labels_[-40:]).argmax())
    assert extra_id not in mapping
    assert len(mapping) == fitted.n_clusters_


def test_match_clusters_accepts_mappings_and_applies_the_threshold():
    old = {10: [1.0, 0.0, 0.0], 11: [0.0, 1.0, 0.0]}
    new = np.array([[0.0, 0.9, 0.1], [0.0, 0.0, 1.0], [1.0, 0.05, 0.0]])
    assert match_clusters(old, new, threshold=0.8) == {0: 11, 2: 10}
    assert match_clusters(old, np.zeros((0, 3))) == {}


def test_lineage_detects_split_merge_birth_death_and_growth():
    old = np.array([0] * 20 + [1] * 20 + [2] * 10 + [3] * 10 + [4] * 8 + [-1] * 15)
    new = np.array([0] * 10 + [1] * 10 + [5] * 20 + [2] * 20 + [-1] * 8 + [6] * 12 + [5] * 3)
    events = lineage(old, new)
    kinds = {(e.kind, e.old_ids, e.new_ids) for e in events}
    assert ("split", (0,), (0, 1)) in kinds
    assert ("merged", (2, 3), (2,)) in kinds
    assert ("gone", (4,), ()) in kinds
    assert ("born", (), (6,)) in kinds
    assert ("stable", (1,), (5,)) in kinds or ("grown", (1,), (5,)) in kinds
    assert all(isinstance(e, LineageEvent) for e in events)
    grown = lineage(np.array([0] * 10 + [-1] * 5), np.array([0] * 15))
    assert [(e.kind, e.n_items) for e in grown] == [("grown", 15)]
    with pytest.raises(ValueError):
        lineage(np.zeros(3), np.zeros(4))


def test_merge_distance_joins_the_phrasings_of_one_topic():
    """Two topics, each written three ways: specific finds the six, broad the two topics."""
    rng = np.random.default_rng(0)
    d = 32
    topics = rng.normal(size=(2, d))
    X, truth = [], []
    for t in range(2):
        for _variant in range(3):
            # A phrasing: near its topic (centroid cosine ~0.8), tight around its own centre.
            centre = topics[t] + 0.55 * rng.normal(size=d) * np.linalg.norm(topics[t]) / np.sqrt(d)
            X.append(centre + 0.08 * rng.normal(size=(60, d)) * np.linalg.norm(centre) / np.sqrt(d))
            truth += [t] * 60
    X, truth = np.vstack(X), np.array(truth)
    texts = [f"text {i}" for i in range(len(X))]
    specific = PainPointClusterer(random_state=0).fit(texts, X)
    broad = PainPointClusterer(random_state=0, merge_distance=0.4).fit(texts, X)
    assert specific.n_clusters_ >= 5
    assert broad.n_clusters_ == 2
    pairs = pd.crosstab(broad.labels_, truth)
    assert (pairs.max(axis=1) == pairs.sum(axis=1)).all()  # no merged cluster mixes the topics
    fixed = PainPointClusterer(random_state=0, n_clusters=6, merge_distance=0.4).fit(texts, X)
    assert fixed.n_clusters_ == 6  # a given k wins over the merge
