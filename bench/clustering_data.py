"""Data and metrics for bench/bench_clustering.py (BANKING77, cached embeddings, 100k set).

Kept free of analytics imports at module level so the BERTopic worker (another venv) can
import the metrics and loaders too.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BANKING = ROOT.parent / "shared" / "datasets" / "banking77"


def load_split(split: str) -> tuple[list[str], np.ndarray]:
    """Texts and integer gold labels of a BANKING77 split (DuckDB-free csv read)."""
    import csv

    with open(BANKING / f"{split}.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    cats = sorted({r["category"] for r in rows})
    index = {c: i for i, c in enumerate(cats)}
    return [r["text"] for r in rows], np.array([index[r["category"]] for r in rows])


def cached_embeddings(split: str, texts: list[str]) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings of ``texts``, computed once and kept under bench/out/."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = OUT / f"clustering_emb_{split}_{digest}.npy"
    if path.exists():
        return np.load(path)
    from analytics.embeddings import SentenceEmbedder

    OUT.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    emb = SentenceEmbedder(
        progress_callback=lambda d, t: print(f"\r  embedding {split}: {d}/{t}", end="", flush=True)
    )
    E = emb.fit().transform(texts)
    print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)
    np.save(path, E)
    return E


def perturb_texts(texts: list[str], rng: np.random.Generator) -> list[str]:
    """Light augmentation: drop one word or swap two neighbours (texts of 4+ words)."""
    out = []
    for t in texts:
        words = t.split()
        if len(words) >= 4:
            i = int(rng.integers(0, len(words) - 1))
            if rng.random() < 0.5:
                del words[i]
            else:
                words[i], words[i + 1] = words[i + 1], words[i]
        out.append(" ".join(words))
    return out


def perturbed_set(
    texts: list[str], E: np.ndarray, y: np.ndarray, n: int, seed: int, noise: float = 0.33
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``n`` items drawn from real ones: embedding + Gaussian noise (cosine ~0.95 to the
    original), text lightly augmented. Keeps the topic structure of BANKING77 at any size."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, len(texts), size=n)
    X = E[base] + noise * rng.standard_normal((n, E.shape[1])).astype(np.float32) / np.sqrt(
        E.shape[1]
    )
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return perturb_texts([texts[i] for i in base], rng), X.astype(np.float32), y[base]


def hungarian_accuracy(y: np.ndarray, p: np.ndarray) -> float:
    from scipy.optimize import linear_sum_assignment

    _, yi = np.unique(y, return_inverse=True)
    _, pi = np.unique(p, return_inverse=True)
    C = np.zeros((pi.max() + 1, yi.max() + 1))
    np.add.at(C, (pi, yi), 1)
    r, c = linear_sum_assignment(-C)
    return float(C[r, c].sum() / len(y))


def scores(y: np.ndarray, p: np.ndarray) -> dict:
    """NMI, ARI, Hungarian accuracy in %; label -1 (outliers) counts as one more group."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    p = np.asarray(p)
    return {
        "nmi": 100 * normalized_mutual_info_score(y, p),
        "ari": 100 * adjusted_rand_score(y, p),
        "acc": 100 * hungarian_accuracy(y, p),
        "k": int(len(set(p.tolist()) - {-1})),
        "outliers": int((p == -1).sum()),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB.

    Reads VmHWM: ``ru_maxrss`` survives ``exec`` on Linux, so a worker started by a big
    parent would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result: dict) -> None:
    """Workers print one JSON line last; the driver parses it."""
    print("RESULT " + json.dumps(result), flush=True)


def limit_threads() -> None:
    # Same BLAS threading for every contender: the machine has 2 cores.
    os.environ.setdefault("OMP_NUM_THREADS", "2")
