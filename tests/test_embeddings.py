"""Tests for analytics.embeddings: the LSA fallback, the fallback decision, the real model."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from analytics import embeddings
from analytics.embeddings import (
    LsaEmbedder,
    SentenceEmbedder,
    embedding_stack_available,
    make_embedder,
)
from analytics.errors import EmbeddingUnavailableError

TEXTS = [
    "my appeal was not answered",
    "nobody answered my appeal",
    "appeal still not answered after a week",
    "account hacked and password changed",
    "someone hacked my account and changed the password",
    "password changed by a hacker",
    "refund never arrived for my order",
    "where is the refund for my order",
    "mi cuenta fue hackeada",
    "cambiaron la contraseña de mi cuenta",
]


@pytest.fixture
def no_sentence_stack(monkeypatch):
    """Make ``import sentence_transformers`` fail, as on an install without torch."""
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    monkeypatch.setattr(embeddings, "_MODEL_CACHE", {})


def test_lsa_embeddings_are_unit_float32_and_deterministic():
    a = LsaEmbedder(n_components=5).fit(TEXTS)
    X = a.transform(TEXTS)
    assert X.dtype == np.float32 and X.shape == (len(TEXTS), 5)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(LsaEmbedder(n_components=5).fit_transform(TEXTS), X, atol=1e-6)
    assert "LSA" in a.name


def test_lsa_puts_related_texts_closer_than_unrelated_ones():
    X = LsaEmbedder(n_components=8).fit_transform(TEXTS)
    S = X @ X.T
    assert S[0, 1] > S[0, 3] and S[0, 2] > S[0, 6]
    assert S[3, 5] > S[3, 7]


def test_lsa_copes_with_tiny_and_empty_inputs():
    X = LsaEmbedder().fit_transform(["only one", None, ""])
    assert X.shape[0] == 3 and np.isfinite(X).all()
    with pytest.raises(ValueError):
        LsaEmbedder().fit([])


def test_fallback_to_lsa_when_the_sentence_stack_is_missing(no_sentence_stack):
    assert embedding_stack_available() is False
    assert isinstance(make_embedder("auto"), LsaEmbedder)
    assert isinstance(make_embedder("lsa"), LsaEmbedder)
    with pytest.raises(EmbeddingUnavailableError, match="torch"):
        make_embedder("sentence")
    with pytest.raises(EmbeddingUnavailableError):
        SentenceEmbedder().fit()


def test_missing_model_is_a_named_error_and_auto_falls_back(monkeypatch):
    def fail(path):
        raise EmbeddingUnavailableError(f"cannot load {path}")

    monkeypatch.setattr(embeddings, "_load_model", fail)
    monkeypatch.setattr(embeddings, "embedding_stack_available", lambda: True)
    assert isinstance(make_embedder("auto", model="/no/such/model"), LsaEmbedder)
    with pytest.raises(EmbeddingUnavailableError):
        make_embedder("sentence", model="/no/such/model")
    with pytest.raises(ValueError, match="Unknown text representation"):
        make_embedder("word2vec")


def test_sentence_embedder_batches_and_reports_progress(monkeypatch):
    class FakeModel:
        def get_embedding_dimension(self):
            return 4

        def encode(self, texts, **kwargs):
            assert kwargs["normalize_embeddings"] is True
            return np.tile(np.array([1.0, 0, 0, 0], dtype=np.float32), (len(texts), 1))

    monkeypatch.setattr(embeddings, "_load_model", lambda path: FakeModel())
    calls = []
    emb = SentenceEmbedder(batch_size=4, progress_callback=lambda d, t: calls.append((d, t)))
    X = emb.fit().transform(TEXTS)
    assert X.shape == (10, 4) and X.dtype == np.float32
    assert calls == [(4, 10), (8, 10), (10, 10)]
    assert emb.name == "all-MiniLM-L6-v2 sentence embeddings"


@pytest.mark.embeddings
def test_bundled_model_embeds_a_few_texts():
    if not embedding_stack_available():
        pytest.skip("torch / sentence-transformers not installed")
    calls = []
    emb = SentenceEmbedder(progress_callback=lambda d, t: calls.append((d, t)))
    X = emb.fit().transform(TEXTS[:6])
    assert X.shape == (6, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-4)
    S = X @ X.T
    assert S[0, 1] > S[0, 3] + 0.2  # paraphrases of one pain point are closer
    assert S[3, 4] > S[3, 0] + 0.2
    assert calls[-1] == (6, 6)
    assert make_embedder("auto").name == "all-MiniLM-L6-v2 sentence embeddings"
