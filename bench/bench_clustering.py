"""Pain-point clustering benchmark: quality on BANKING77, speed and memory vs BERTopic.

    .venv/bin/python bench/bench_clustering.py                # everything (~20-30 min)
    .venv/bin/python bench/bench_clustering.py --quick        # no BERTopic at 100k
    .venv/bin/python bench/bench_clustering.py --skip-bertopic --skip-tuning

Quality: the 3,080 BANKING77 test texts (77 intents), all-MiniLM-L6-v2 embeddings, NMI /
ARI / Hungarian accuracy in %, with k given (77) and with automatic k. Outliers (label -1)
count as one more group, as in the README's BERTopic figures. Hyperparameters were tuned
on the *training* split only (``--skip-tuning`` skips re-running that sweep); the test
split is used for the final figures only.

Speed: fit time on the same embeddings, each contender in a fresh process (BERTopic's first
fit includes numba compilation, so its second fit in the same process is reported too),
at 10k texts (BANKING77 train) and 100k texts (BANKING77 train+test embeddings with
Gaussian noise, cosine ~0.95 to the original, texts lightly augmented). Also ``predict``
on 10,000 new texts and peak memory. BERTopic runs from bench/.venv-bertopic (gitignored):

    python3 -m venv bench/.venv-bertopic
    bench/.venv-bertopic/bin/pip install torch==2.13.0 bertopic==0.17.4

Embeddings are cached under bench/out/. Writes docs/benchmarks/clustering.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from clustering_data import (  # noqa: E402
    OUT,
    cached_embeddings,
    load_split,
    perturbed_set,
    scores,
)

from analytics.cluster_steps import GraphMergeClusterer  # noqa: E402
from analytics.clustering import PainPointClusterer  # noqa: E402

BERTOPIC_PY = ROOT / "bench" / ".venv-bertopic" / "bin" / "python"
DOC = ROOT / "docs" / "benchmarks" / "clustering.md"
TARGET_NMI, TARGET_ARI = 84.0, 55.0


def write_set(name: str, texts: list[str], E: np.ndarray) -> str:
    base = OUT / f"clustering_set_{name}"
    base.with_suffix(".json").write_text(json.dumps(texts))
    np.save(str(base) + ".npy", E)
    return str(base)


def run_worker(python: Path, script: str, *args: str) -> dict:
    cmd = [str(python), str(ROOT / "bench" / script), *args]
    print("  $", " ".join(cmd[1:]), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def fmt(s: dict) -> str:
    return f"{s['nmi']:.1f} | {s['ari']:.1f} | {s['acc']:.1f} | {s['k']} | {s['outliers']}"


def stratified_subsets(y: np.ndarray, n_sets: int, per_class: int = 40) -> list[np.ndarray]:
    """Training-split subsets shaped like the test split (40 texts per intent)."""
    out = []
    for seed in range(n_sets):
        rng = np.random.default_rng(seed)
        keep = [
            rng.choice(np.flatnonzero(y == c), min(per_class, int((y == c).sum())), replace=False)
            for c in np.unique(y)
        ]
        out.append(np.sort(np.concatenate(keep)))
    return out


def tuning_sweep(texts: list[str], E: np.ndarray, y: np.ndarray) -> list[str]:
    """Re-run the hyperparameter sweep on training subsets (never on test)."""
    subsets = stratified_subsets(y, 6)
    rows = [
        "| fragment size | merge threshold | NMI | ARI | k (mean) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size in (10, 12, 15):
        for threshold in (0.08, 0.10, 0.12, 0.14, 0.16, 0.20):
            res = []
            for keep in subsets:
                model = PainPointClusterer(
                    clusterer=GraphMergeClusterer(fragment_size=size, merge_threshold=threshold),
                    outlier_threshold=None,
                ).fit([texts[i] for i in keep], E[keep])
                res.append(scores(y[keep], model.labels_))
            nmi = statistics.mean(r["nmi"] for r in res)
            ari = statistics.mean(r["ari"] for r in res)
            k = statistics.mean(r["k"] for r in res)
            rows.append(f"| {size} | {threshold:.2f} | {nmi:.2f} | {ari:.2f} | {k:.0f} |")
            print("  tuning", rows[-1], flush=True)
    return rows


def quality(texts: list[str], E: np.ndarray, y: np.ndarray, bertopic: bool) -> dict:
    from sklearn.cluster import KMeans

    res: dict = {}
    res["kmeans77"] = scores(y, KMeans(77, n_init=10, random_state=0).fit_predict(E))
    start = time.perf_counter()
    model = PainPointClusterer(random_state=0).fit(texts, E)
    res["ours_auto_time"] = time.perf_counter() - start
    res["ours_auto"] = scores(y, model.labels_)
    res["ours_auto_names"] = [
        (model.sizes_[c], model.cluster_names_[c]) for c in range(0, model.n_clusters_, 10)
    ]
    res["ours_auto_seeds"] = [
        scores(y, PainPointClusterer(random_state=s).fit(texts, E).labels_) for s in range(5)
    ]
    res["ours_auto_no_outliers"] = scores(
        y, PainPointClusterer(outlier_threshold=None).fit(texts, E).labels_
    )
    res["ours_k77"] = scores(y, PainPointClusterer(n_clusters=77).fit(texts, E).labels_)
    res["ours_k77_no_outliers"] = scores(
        y, PainPointClusterer(n_clusters=77, outlier_threshold=None).fit(texts, E).labels_
    )
    if bertopic:
        base = write_set("test", texts, E)
        for mode in ("default", "kmeans"):
            out = run_worker(
                BERTOPIC_PY, "clustering_bertopic_worker.py", "--set", base, "--mode", mode
            )
            labels = np.load(f"{base}.bertopic-{mode}.labels.npy")
            res[f"bertopic_{mode}"] = scores(y, labels)
            res[f"bertopic_{mode}_time"] = out["times"][0]
    return res


def speed(sets: dict, bertopic: bool, quick: bool) -> dict:
    res: dict = {}
    res["ours_10k"] = run_worker(
        Path(sys.executable), "clustering_worker.py", "--set", sets["10k"], "--repeats", "3"
    )
    res["ours_100k"] = run_worker(
        Path(sys.executable),
        "clustering_worker.py",
        "--set",
        sets["100k"],
        "--repeats",
        "2",
        "--predict",
        sets["new10k"],
    )
    if bertopic:
        res["bertopic_10k"] = run_worker(
            BERTOPIC_PY, "clustering_bertopic_worker.py", "--set", sets["10k"], "--repeats", "2"
        )
        if not quick:
            res["bertopic_100k"] = run_worker(
                BERTOPIC_PY,
                "clustering_bertopic_worker.py",
                "--set",
                sets["100k"],
                "--repeats",
                "2",
            )
    return res


def versions() -> str:
    import sklearn

    out = f"Python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}"
    if BERTOPIC_PY.exists():
        probe = subprocess.run(
            [
                str(BERTOPIC_PY),
                "-c",
                "import bertopic, umap, hdbscan; print(bertopic.__version__, umap.__version__, hdbscan.__version__)",
            ],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0:
            b, u, h = probe.stdout.split()
            out += f"; BERTopic {b} (umap-learn {u}, hdbscan {h}) in bench/.venv-bertopic"
    return out + f"; {os.cpu_count()} CPU cores (shared)"


def render(args, q: dict, s: dict, tuning: list[str] | None, labels: dict) -> str:
    seeds = q["ours_auto_seeds"]
    mean = {m: statistics.mean(r[m] for r in seeds) for m in ("nmi", "ari", "acc", "k")}
    sd = {m: statistics.pstdev(r[m] for r in seeds) for m in ("nmi", "ari")}
    auto = q["ours_auto"]
    lines = [
        "# Pain-point clustering benchmark",
        "",
        "Reproduce (embeddings are cached under `bench/out/`, so reruns skip the ~1 min of embedding):",
        "",
        "```",
        "python3 -m venv bench/.venv-bertopic && bench/.venv-bertopic/bin/pip install torch==2.13.0 bertopic==0.17.4",
        f".venv/bin/python bench/bench_clustering.py{' --quick' if args.quick else ''}",
        "```",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')} UTC. {versions()}.",
        "Embeddings: all-MiniLM-L6-v2 (bundled), L2-normalised, computed once and given to every method.",
        "",
        "## Quality on BANKING77 test (3,080 texts, 77 intents)",
        "",
        "NMI / ARI / Hungarian accuracy in %. Outliers (label -1) are scored as one more group,",
        "the convention of the README's BERTopic figures. Hyperparameters were tuned on the",
        "training split only (below); the test split was used for these figures alone.",
        "",
        "| method | k | NMI | ARI | ACC | clusters | outliers |",
        "|---|---|---:|---:|---:|---:|---:|",
        f"| k-means on the embeddings (reference, this run) | 77 | {fmt(q['kmeans77'])} |",
    ]
    if "bertopic_default" in q:
        lines += [
            f"| BERTopic defaults (UMAP + HDBSCAN), this run | auto | {fmt(q['bertopic_default'])} |",
            f"| BERTopic UMAP + k-means, this run | 77 | {fmt(q['bertopic_kmeans'])} |",
        ]
    lines += [
        "| BERTopic defaults, README | auto | 79.6 | 37.8 | 60.9 | 106 | - |",
        "| BERTopic UMAP + k-means, README | 77 | 83.1 | 57.9 | 68.9 | 77 | - |",
        f"| **ours, defaults** | **auto** | **{auto['nmi']:.1f}** | **{auto['ari']:.1f}** | **{auto['acc']:.1f}** | **{auto['k']}** | **{auto['outliers']}** |",
        f"| ours, outlier rule off | auto | {fmt(q['ours_auto_no_outliers'])} |",
        f"| ours, n_clusters=77 | 77 | {fmt(q['ours_k77'])} |",
        f"| ours, n_clusters=77, outlier rule off | 77 | {fmt(q['ours_k77_no_outliers'])} |",
        "",
        f"Ours over random_state 0-4 (auto k): NMI {mean['nmi']:.1f} ± {sd['nmi']:.2f}, "
        f"ARI {mean['ari']:.1f} ± {sd['ari']:.2f}, ACC {mean['acc']:.1f}, {mean['k']:.0f} clusters. "
        f"Fit time on the 3,080 texts: {q['ours_auto_time']:.1f} s (in process).",
        "",
    ]
    gap_nmi, gap_ari = TARGET_NMI - auto["nmi"], TARGET_ARI - auto["ari"]
    nmi_verdict = "met" if gap_nmi <= 0 else f"missed by {gap_nmi:.1f} points"
    ari_verdict = "met" if gap_ari <= 0 else f"missed by {gap_ari:.1f} points"
    lines += [
        f"**Target (auto k): NMI >= {TARGET_NMI:.0f} and ARI >= {TARGET_ARI:.0f}.** "
        f"NMI {nmi_verdict}; ARI {ari_verdict}.",
        "",
        "Sample of cluster names (size, name), every 10th cluster by size:",
        "",
    ]
    lines += [f"- {n}: {name}" for n, name in q["ours_auto_names"]]
    lines += ["", "## Speed and memory (fit on precomputed embeddings)", ""]
    lines += speed_table(s, labels)
    if tuning:
        lines += [
            "",
            "## Tuning on the training split",
            "",
            "Six subsets of BANKING77 *train* shaped like the test split (40 texts per intent,",
            "seeds 0-5), outlier rule off, mean over subsets. Defaults: fragment size 12, merge",
            "threshold 0.14, fixed during development on these subsets (lower thresholds merge",
            "real intents; higher ones add clusters for little NMI). In this final sweep fragment",
            "size 15 ties with 12 at 0.14 with fewer clusters; the default was left at 12 because",
            "the test figures had been seen by then, and changing it afterwards would be tuning",
            "on test.",
            "",
            *tuning,
        ]
    lines += ["", "## Method and conventions", "", *METHOD_NOTES]
    return "\n".join(lines) + "\n"


def speed_table(s: dict, labels: dict) -> list[str]:
    def t(r: dict, i: int) -> str:
        return f"{r['times'][i]:.1f} s" if len(r["times"]) > i else "-"

    def warm(r: dict) -> float:
        return statistics.median(r["times"][1:]) if len(r["times"]) > 1 else r["times"][0]

    rows = [
        'Each contender in a fresh process; "first" is the first fit in that process, "warm" the',
        "median of the later ones (BERTopic's first fit includes numba compilation).",
        "",
        "| texts | method | first fit | warm fit | clusters | peak RSS | RSS before fit |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size in ("10k", "100k"):
        for who in ("ours", "bertopic"):
            r = s.get(f"{who}_{size}")
            if r is None:
                continue
            name = "ours (defaults)" if who == "ours" else "BERTopic defaults"
            rows.append(
                f"| {size} | {name} | {t(r, 0)} | {warm(r):.1f} s | {r['k']} | "
                f"{r['rss_peak_mb']:.0f} MB | {r['rss_before_mb']:.0f} MB |"
            )
    rows.append("")
    for size in ("10k", "100k"):
        ours, bt = s.get(f"ours_{size}"), s.get(f"bertopic_{size}")
        if ours and bt:
            cold = ours["times"][0] / bt["times"][0]
            hot = warm(ours) / warm(bt)
            rows.append(
                f"- {size}: ours / BERTopic = {cold:.3f} (first fits), {hot:.3f} (warm fits); "
                f"target <= 0.2: {'met' if max(cold, hot) <= 0.2 else 'NOT met'}."
            )
        elif ours:
            rows.append(
                f"- {size}: BERTopic not run; STACK_NOTES figure for BERTopic (10k, embeddings "
                f"given) is 33 s, of which ~25 s numba compilation."
            )
    p = s["ours_100k"]
    rows += [
        f"- predict (nearest centroid + outlier rule) on {p['predict_n']:,} new texts, model fitted "
        f"on 100k: {statistics.median(p['predict_times']) * 1000:.0f} ms (median of 3).",
    ]
    for size, (ours, bt) in labels.items():
        rows.append(
            f"- quality at {size} (gold intents of the base texts): ours NMI {ours['nmi']:.1f} / "
            f"ARI {ours['ari']:.1f} ({ours['k']} clusters)"
            + (
                f"; BERTopic NMI {bt['nmi']:.1f} / ARI {bt['ari']:.1f} ({bt['k']} topics)"
                if bt
                else ""
            )
            + "."
        )
    rows += [
        "",
        "The 10k set is BANKING77 train (10,003 real texts). The 100k set draws 100,000 items from",
        "BANKING77 train+test (13,083 texts): each is a real embedding plus Gaussian noise (cosine",
        "~0.95 to the original), renormalised, with its text lightly augmented (one word dropped or",
        "two neighbours swapped); the 10,000 new texts for `predict` are drawn the same way with",
        "another seed. Above `max_graph_points` (4,000) texts, ours builds the graph on a seeded",
        "sample and assigns the rest to the nearest fragment centroid.",
    ]
    return rows


METHOD_NOTES = [
    "Default pipeline (`analytics/clustering.py`, steps in `analytics/cluster_steps.py`):",
    "",
    "1. UMAP-style fuzzy 15-nearest-neighbour graph on cosine distance (exact k-NN, numpy).",
    "2. Spectral embedding of the graph: top 50 eigenvectors of the normalised adjacency,",
    "   scaled by eigenvalue^4 (diffusion-map coordinates), rows normalised.",
    "3. Ward clustering into fragments of ~12 texts, then greedy merging of the two groups",
    "   whose shared edge weight is the largest share of the smaller group's edge weight, while",
    "   that share exceeds 0.14. The number of clusters falls out of this threshold, which is a",
    "   share of a neighbourhood and does not depend on how many clusters there are. With",
    "   `n_clusters` given, k-means on the spectral coordinates is used instead.",
    "4. Clusters under 5 texts are dissolved; a text whose cosine similarity to its cluster",
    "   centroid is below the cluster's lower Tukey fence (Q1 - 3 IQR) is reassigned to the",
    "   nearest other centroid if it passes that one's fence, else labelled -1.",
    "5. Names from class-based TF-IDF over word 1-3-grams that start and end on a content word",
    "   (stop words for English, Spanish, Portuguese and Indonesian in code; negations kept).",
    "",
    "Measured on the training split and rejected (no gain, or slower): whitening / removing",
    "top principal components, TF-IDF features added to the embeddings, shared-nearest-",
    "neighbour weights, neighbour-averaged embeddings, LDA or logistic-regression self-training,",
    "consensus of k-means runs (+0.3 NMI for 5-10x the time), a numpy UMAP-style layout",
    "(+0.3 NMI, 2-4 s), eigengap, silhouette, seed stability and modularity for choosing k",
    "(flat or biased towards a fixed number of clusters on BANKING77).",
]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="skip BERTopic at 100k")
    ap.add_argument("--skip-bertopic", action="store_true")
    ap.add_argument("--skip-tuning", action="store_true")
    ap.add_argument("--out", type=Path, default=DOC)
    args = ap.parse_args()
    bertopic = BERTOPIC_PY.exists() and not args.skip_bertopic
    if not bertopic:
        print("BERTopic venv missing or skipped: comparing to STACK_NOTES figures only")

    test_texts, y_test = load_split("test")
    train_texts, y_train = load_split("train")
    E_test = cached_embeddings("test", test_texts)
    E_train = cached_embeddings("train", train_texts)

    tuning = None if args.skip_tuning else tuning_sweep(train_texts, E_train, y_train)
    print("quality on test", flush=True)
    q = quality(test_texts, E_test, y_test, bertopic)
    print(json.dumps({k: v for k, v in q.items() if k.endswith(("auto", "k77"))}), flush=True)

    all_texts = train_texts + test_texts
    all_E = np.vstack([E_train, E_test])
    all_y = np.concatenate([y_train, y_test])  # same sorted category order in both splits
    t100, E100, y100 = perturbed_set(all_texts, all_E, all_y, 100_000, seed=1)
    tnew, Enew, _ = perturbed_set(all_texts, all_E, all_y, 10_000, seed=2)
    sets = {
        "10k": write_set("10k", train_texts, E_train),
        "100k": write_set("100k", t100, E100),
        "new10k": write_set("new10k", tnew, Enew),
    }
    print("speed", flush=True)
    s = speed(sets, bertopic, args.quick)
    labels = {}
    for size, y in (("10k", y_train), ("100k", y100)):
        ours = scores(y, np.load(sets[size] + ".ours.labels.npy"))
        bt_path = Path(sets[size] + ".bertopic-default.labels.npy")
        bt = scores(y, np.load(bt_path)) if f"bertopic_{size}" in s and bt_path.exists() else None
        labels[size] = (ours, bt)
    raw = {"quality": q, "speed": s, "tuning": tuning, "labels": labels}
    (OUT / "clustering_results.json").write_text(json.dumps(raw, indent=1, default=float))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(args, q, s, tuning, labels))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
