"""Fits PainPointClusterer in a fresh process, for timing and peak memory (main venv).

    .venv/bin/python bench/clustering_worker.py --set bench/out/clustering_set_10k --repeats 3

Reads ``<set>.json`` (texts) and ``<set>.npy`` (embeddings), fits ``repeats`` times, saves
the last labels to ``<set>.ours.labels.npy`` and prints a ``RESULT {json}`` line. With
``--predict <set2>`` it also times ``predict`` on another set's embeddings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from clustering_data import emit, limit_threads, peak_rss_mb  # noqa: E402

limit_threads()

import numpy as np  # noqa: E402

from analytics.clustering import PainPointClusterer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", required=True)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--n-clusters", type=int, default=None)
    ap.add_argument("--predict", default=None)
    args = ap.parse_args()
    texts = json.loads(Path(args.set + ".json").read_text())
    E = np.load(args.set + ".npy")
    rss_before = peak_rss_mb()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model = PainPointClusterer(n_clusters=args.n_clusters).fit(texts, E)
        times.append(time.perf_counter() - start)
    np.save(args.set + ".ours.labels.npy", model.labels_)
    result = {
        "times": times,
        "k": model.n_clusters_,
        "rss_before_mb": rss_before,
        "rss_peak_mb": peak_rss_mb(),
    }
    if args.predict:
        new_texts = json.loads(Path(args.predict + ".json").read_text())
        new_E = np.load(args.predict + ".npy")
        pred_times = []
        for _ in range(3):
            start = time.perf_counter()
            pred = model.predict(new_texts, new_E)
            pred_times.append(time.perf_counter() - start)
        np.save(args.predict + ".ours.pred.npy", pred)
        result["predict_times"] = pred_times
        result["predict_n"] = len(new_texts)
    emit(result)


if __name__ == "__main__":
    main()
