"""Do the planted pain points of the demo history come out as their own clusters?

    .venv/bin/python bench/bench_painpoints_demo.py                   # 50k demo, both representations
    .venv/bin/python bench/bench_painpoints_demo.py --rows 8000 --representations lsa
    .venv/bin/python bench/bench_painpoints_demo.py --db bench/out/pp_demo_50k.duckdb  # reuse a
        # demo store (copied first) whose texts are already embedded: skips ~10 min of embedding

Loads the demo history into a temporary store, fits the pain points the way the app does
(``analytics.painpoints.fit``), and compares the clusters with the generator's truth
(``demo_truth``: the topic of every case). For each planted topic of the manifest, its *home*
cluster is the pain point holding most of its cases; the topic has **its own cluster** when
that cluster holds at least half of the topic's cases (recall) and at least 70% of the
cluster is that topic (precision), and no other topic is bigger in it. Also: NMI between
pain points and all 23 topics, and how the non-English cases of each planted topic fare
(share landing in the topic's home cluster). Writes docs/benchmarks/painpoints_demo.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import normalized_mutual_info_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics import demo, painpoints, store  # noqa: E402
from analytics.access import LOCAL_USER  # noqa: E402

DOC = ROOT / "docs" / "benchmarks" / "painpoints_demo.md"
MIN_RECALL, MIN_PRECISION = 0.5, 0.7


def evaluate(con, manifest: dict) -> tuple[pd.DataFrame, float]:
    frame = con.execute(
        """SELECT t.case_id, t.topic, c.language, coalesce(a.pain_point, -1) AS pain_point
           FROM demo_truth t JOIN cases c USING (case_id)
           LEFT JOIN pain_point_assignments a USING (case_id)"""
    ).df()
    names = painpoints.pain_points(con).set_index("pain_point")["name"].to_dict()
    nmi = normalized_mutual_info_score(frame["topic"], frame["pain_point"])
    table = pd.crosstab(frame["pain_point"], frame["topic"])
    rows = []
    planted = {
        spec["topic"]: key for key, spec in manifest["scenarios"].items() if spec.get("topic")
    }
    for topic, scenario in planted.items():
        mine = frame[frame["topic"] == topic]
        counts = mine.loc[mine["pain_point"] != -1, "pain_point"].value_counts()
        if counts.empty:
            rows.append({"scenario": scenario, "topic": topic, "cases": len(mine), "own": False})
            continue
        home = int(counts.index[0])
        recall = counts.iloc[0] / len(mine)
        precision = table.loc[home, topic] / table.loc[home].sum()
        biggest = table.loc[home].idxmax()
        foreign = mine[~mine["language"].fillna("en").str.startswith("en")]
        rows.append(
            {
                "scenario": scenario,
                "topic": topic,
                "cases": len(mine),
                "home": home,
                "name": names.get(home, ""),
                "recall": recall,
                "precision": precision,
                "own": bool(
                    recall >= MIN_RECALL and precision >= MIN_PRECISION and biggest == topic
                ),
                "unassigned": float((mine["pain_point"] == -1).mean()),
                "non_english": len(foreign),
                "non_english_home": float((foreign["pain_point"] == home).mean())
                if len(foreign)
                else float("nan"),
            }
        )
    return pd.DataFrame(rows), nmi


def run(rows: int, representation: str, granularity: str, db: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="pp_demo_") as tmp:
        path = Path(tmp) / "demo.duckdb"
        if db:
            shutil.copy(db, path)
            con = store.connect(path)
            manifest = json.loads(store.get_meta(con, "demo_manifest"))
        else:
            con = store.connect(path)
            _result, manifest = demo.load_demo(con, rows=rows, seed=7)
        t0 = time.perf_counter()
        fit = painpoints.fit(
            con,
            LOCAL_USER,
            embedder=painpoints.make_embedder(representation),
            granularity=granularity,
            progress=lambda stage, frac: print(f"  {frac:4.0%} {stage}", end="\r", flush=True),
        )
        seconds = time.perf_counter() - t0
        print()
        table, nmi = evaluate(con, manifest)
        con.close()
    return {
        "representation": fit.representation,
        "granularity": granularity,
        "clusters": fit.n_clusters,
        "unassigned": fit.unassigned,
        "cases": fit.n_cases,
        "seconds": seconds,
        "nmi": nmi,
        "table": table,
    }


def report(rows: int, results: list[dict]) -> str:
    lines = [
        "# Pain points on the demo history",
        "",
        f"Command: `.venv/bin/python bench/bench_painpoints_demo.py --rows {rows}` "
        "(or `--db` with a store of that demo history, to reuse its stored embeddings)",
        "",
        f"Demo history of {rows:,} cases (seed 7), fitted as the app does "
        f"(`analytics.painpoints.fit`, automatic number of clusters), on {platform.machine()} with "
        "2 shared cores. A planted topic has **its own cluster** when its home cluster (the "
        f"pain point holding most of its cases) holds at least {MIN_RECALL:.0%} of them and is "
        f"at least {MIN_PRECISION:.0%} that topic. Fit time includes embedding every distinct "
        "case text once with the sentence model (about 10 minutes for the 38,068 distinct texts "
        "of 50,000 cases) unless the store had them already. *Broad* granularity joins clusters "
        "whose centroids are within cosine distance 0.4 (the app's default; 0.3 for TF-IDF/LSA "
        "vectors); *specific* keeps "
        "the graph step's clusters (the estimator's default, the one measured on BANKING77).",
        "",
    ]
    for r in results:
        t = r["table"]
        own = int(t["own"].sum())
        lines += [
            f"## {r['representation']}, granularity {r['granularity']}",
            "",
            f"{r['clusters']} pain points, {r['unassigned']:,} of {r['cases']:,} cases unassigned, "
            f"NMI against the 23 generator topics {100 * r['nmi']:.1f}, fit {r['seconds']:.0f} s. "
            f"Planted topics with their own cluster: **{own} of {len(t)}**.",
            "",
            "| Scenario | topic | cases | home cluster (name) | recall | precision | own cluster | unassigned | non-English cases in home |",
            "|---|---|---:|---|---:|---:|---|---:|---:|",
        ]
        for _, x in t.iterrows():
            if "home" not in x or pd.isna(x.get("home")):
                lines.append(
                    f"| {x['scenario']} | {x['topic']} | {x['cases']} | none | | | no | | |"
                )
                continue
            lines.append(
                f"| {x['scenario']} | {x['topic']} | {x['cases']:,} | {int(x['home'])} ({x['name']}) "
                f"| {x['recall']:.0%} | {x['precision']:.0%} | {'yes' if x['own'] else '**no**'} "
                f"| {x['unassigned']:.1%} | "
                + (
                    f"{x['non_english_home']:.0%} of {int(x['non_english'])}"
                    if x["non_english"]
                    else "–"
                )
                + " |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--representations", default="sentence,lsa")
    parser.add_argument("--granularities", default="broad,specific")
    parser.add_argument("--db", type=Path, help="reuse this demo store (it is copied first)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    results = []
    if args.db:
        con = store.connect(args.db)
        args.rows = store.case_count(con)
        con.close()
    for rep in args.representations.split(","):
        for granularity in args.granularities.split(","):
            print(f"fitting with {rep} ({granularity}) on {args.rows:,} demo cases")
            results.append(run(args.rows, rep, granularity, args.db))
    text = report(args.rows, results)
    print(text)
    if not args.no_write:
        DOC.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
