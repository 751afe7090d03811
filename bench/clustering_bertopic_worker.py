"""Fits BERTopic on precomputed embeddings in a fresh process (runs in bench/.venv-bertopic).

    bench/.venv-bertopic/bin/python bench/clustering_bertopic_worker.py \
        --set bench/out/clustering_set_10k --mode default --repeats 2

``--mode default``: BERTopic's defaults (UMAP 5-d + HDBSCAN, automatic number of topics).
``--mode kmeans``: UMAP + k-means with ``--n-clusters`` in place of HDBSCAN.
The first fit in a fresh process includes numba compilation (cold); later ones are warm.
Saves the last labels to ``<set>.bertopic-<mode>.labels.npy``; prints ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # embeddings are given: nothing may be downloaded
sys.path.insert(0, str(Path(__file__).resolve().parent))

from clustering_data import emit, limit_threads, peak_rss_mb  # noqa: E402

limit_threads()

import numpy as np  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", required=True)
    ap.add_argument("--mode", choices=["default", "kmeans"], default="default")
    ap.add_argument("--n-clusters", type=int, default=77)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    from bertopic import BERTopic

    texts = json.loads(Path(args.set + ".json").read_text())
    E = np.load(args.set + ".npy")
    rss_before = peak_rss_mb()
    times = []
    for _ in range(args.repeats):
        kwargs = {}
        if args.mode == "kmeans":
            from sklearn.cluster import KMeans

            kwargs["hdbscan_model"] = KMeans(args.n_clusters, n_init=10, random_state=0)
        start = time.perf_counter()
        model = BERTopic(**kwargs)
        topics, _ = model.fit_transform(texts, E)
        times.append(time.perf_counter() - start)
    labels = np.asarray(topics)
    np.save(f"{args.set}.bertopic-{args.mode}.labels.npy", labels)
    emit(
        {
            "times": times,
            "k": int(len(set(labels.tolist()) - {-1})),
            "rss_before_mb": rss_before,
            "rss_peak_mb": peak_rss_mb(),
        }
    )


if __name__ == "__main__":
    main()
