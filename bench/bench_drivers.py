"""Benchmark of root-cause localization: ours vs. published methods on the same generated cases.

Run from the project root::

    .venv/bin/python bench/bench_drivers.py            # full run, writes docs/benchmarks/drivers.md
    .venv/bin/python bench/bench_drivers.py --quick    # smaller run, prints the report only

Cases are generated as in the Squeeze / RiskLoc papers (see ``bench/drivers_data.py``); the
baselines are in ``bench/drivers_baselines.py``. Deterministic for a given ``--seed`` (only the
run times vary). A predicted element is a true positive only if it equals a true root-cause
element exactly (same dimensions, same values); F1 is pooled over the cases of a setting.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from drivers_baselines import adtributor, riskloc, squeeze  # noqa: E402
from drivers_data import make_case, score  # noqa: E402

from analytics.drivers import localize_root_causes  # noqa: E402

CARDS_10K = (10, 10, 10, 5, 2)  # 10,000 leaves, 5 dimensions
CARDS_48K = (10, 12, 10, 8, 5)  # 48,000 leaves: the shape of RiskLoc's S dataset
NOISE = {"low": 0.05, "medium": 0.10, "high": 0.20}
GRID = [(d, e) for d in (1, 2, 3) for e in (1, 2, 3)]
MAX_CAUSES = 10  # room for every true element plus mistakes; the default of 3 would cap recall


def _ours(case):
    kwargs = {}
    if case.kind == "rate":
        kwargs = {"actual_denominator": "actual_cases", "expected_denominator": "expected_cases"}
    causes = localize_root_causes(case.leaves, case.dimensions, max_causes=MAX_CAUSES, **kwargs)
    return [rc.slice for rc in causes]


def _baseline_input(case):
    """Baselines get counts; for rates the expected breaches re-based on this week's volume."""
    if case.kind != "rate":
        return case.leaves
    leaves = case.leaves.copy()
    rate = leaves["expected"] / leaves["expected_cases"].where(leaves["expected_cases"] > 0)
    leaves["expected"] = (leaves["actual_cases"] * rate).fillna(0.0)
    return leaves


METHODS = {
    "ours": _ours,
    "RiskLoc": lambda c: riskloc(_baseline_input(c), c.dimensions),
    "Squeeze (simpl.)": lambda c: squeeze(_baseline_input(c), c.dimensions),
    "Adtributor": lambda c: adtributor(_baseline_input(c), c.dimensions),
}


class Tally:
    """TP/FP/FN, empty answers and run times per (group, method)."""

    def __init__(self):
        self.counts = defaultdict(lambda: np.zeros(3))
        self.cases = defaultdict(int)
        self.empty = defaultdict(int)
        self.times = defaultdict(list)

    def add(self, group, method, predicted, truth, seconds):
        self.counts[group, method] += score(predicted, truth)
        self.cases[group, method] += 1
        self.empty[group, method] += int(len(predicted) == 0)
        self.times[method, group[0]].append(seconds)

    def f1(self, group, method):
        tp, fp, fn = self.counts[group, method]
        return 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan")


def run(tally, rng, block, kind, cards, noise, grid, n_cases, methods, pad=True):
    for n_dims, n_elements in grid:
        for _ in range(n_cases):
            case = make_case(rng, cards, n_dims, n_elements, noise, kind, pad_severity=pad)
            for name in methods:
                start = time.perf_counter()
                predicted = METHODS[name](case)
                seconds = time.perf_counter() - start
                tally.add((block, noise, n_dims, n_elements), name, predicted, case.truth, seconds)


def _fmt(x):
    return "-" if x != x else f"{x:.3f}"


def f1_table(tally, block, noises, methods, grid=GRID):
    lines = ["| noise | dims x elements | " + " | ".join(methods) + " |"]
    lines.append("|---|---|" + "---:|" * len(methods))
    means = defaultdict(list)
    for label, noise in noises.items():
        per = defaultdict(list)
        for n_dims, n_elements in grid:
            group = (block, noise, n_dims, n_elements)
            row = [tally.f1(group, m) for m in methods]
            for m, v in zip(methods, row, strict=True):
                per[m].append(v)
                means[m].append(v)
            cells = " | ".join(_fmt(v) for v in row)
            lines.append(f"| {label} ({noise:g}) | {n_dims} x {n_elements} | {cells} |")
        cells = " | ".join(f"**{_fmt(statistics.mean(per[m]))}**" for m in methods)
        lines.append(f"| {label} ({noise:g}) | **mean** | {cells} |")
    if len(noises) > 1:
        cells = " | ".join(f"**{_fmt(statistics.mean(means[m]))}**" for m in methods)
        lines.append(f"| all | **mean of settings** | {cells} |")
    return "\n".join(lines), {m: statistics.mean(means[m]) for m in methods}


def zero_table(tally, block, noises, methods):
    lines = [
        "| noise | cases | "
        + " | ".join(f"{m}: empty / false el. per case" for m in methods)
        + " |"
    ]
    lines.append("|---|---:|" + "---:|" * len(methods))
    for label, noise in noises.items():
        group = (block, noise, 0, 0)
        n = tally.cases[group, methods[0]]
        cells = []
        for m in methods:
            fp = tally.counts[group, m][1]
            cells.append(f"{tally.empty[group, m]}/{n} / {fp / max(n, 1):.2f}")
        lines.append(f"| {label} ({noise:g}) | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def time_table(tally, blocks, methods):
    lines = ["| cases | leaves | method | median s | p95 s | max s | median vs RiskLoc |"]
    lines.append("|---|---:|---|---:|---:|---:|---:|")
    for block, leaves in blocks:
        ref = (
            statistics.median(tally.times["RiskLoc", block])
            if tally.times["RiskLoc", block]
            else None
        )
        for m in methods:
            t = sorted(tally.times[m, block])
            if not t:
                continue
            med, p95 = statistics.median(t), t[min(len(t) - 1, int(0.95 * len(t)))]
            ratio = f"{med / ref:.2f}x" if ref else "-"
            lines.append(
                f"| {block} | {leaves:,} | {m} | {med:.3f} | {p95:.3f} | {t[-1]:.3f} | {ratio} |"
            )
    return "\n".join(lines)


def misses(tally, methods_f1, threshold=0.9):
    out = []
    for (group, method), _ in sorted(tally.counts.items(), key=lambda kv: str(kv[0])):
        block, noise, n_dims, n_elements = group
        if method != "ours" or n_elements == 0:
            continue
        f1 = tally.f1(group, method)
        if f1 < threshold:
            tp, fp, fn = tally.counts[group, method]
            out.append(
                f"- {block}, noise {noise:g}, {n_dims} dims x {n_elements} elements: "
                f"F1 {f1:.3f} (TP {tp:.0f}, FP {fp:.0f}, FN {fn:.0f})"
            )
    return "\n".join(out) or "- none below 0.9"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases (about a minute)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--out", type=Path, default=None, help="Markdown output path")
    args = parser.parse_args(argv)
    out = args.out or (None if args.quick else ROOT / "docs" / "benchmarks" / "drivers.md")

    n_main, n_zero, n_other, n_scale = (3, 3, 2, 1) if args.quick else (10, 10, 6, 2)
    rng = np.random.default_rng(args.seed)
    tally = Tally()
    names = list(METHODS)
    started = time.perf_counter()
    for noise in NOISE.values():
        run(tally, rng, "relative", "relative", CARDS_10K, noise, GRID, n_main, names)
        run(tally, rng, "relative", "relative", CARDS_10K, noise, [(0, 0)], n_zero, names)
    run(tally, rng, "hard", "relative", CARDS_10K, 0.30, GRID, n_other, names, pad=False)
    run(tally, rng, "hard", "relative", CARDS_10K, 0.30, [(0, 0)], n_zero, names, pad=False)
    run(tally, rng, "counts", "counts", CARDS_10K, 0.10, GRID, n_other, names)
    run(tally, rng, "counts", "counts", CARDS_10K, 0.10, [(0, 0)], n_zero, names)
    run(tally, rng, "rate", "rate", CARDS_10K, 0.10, GRID, n_other, names)
    run(tally, rng, "rate", "rate", CARDS_10K, 0.10, [(0, 0)], n_zero, names)
    run(tally, rng, "relative-48k", "relative", CARDS_48K, 0.10, GRID, n_scale, names)
    elapsed = time.perf_counter() - started

    main_table, main_means = f1_table(tally, "relative", NOISE, names)
    hard_table, _ = f1_table(tally, "hard", {"very high": 0.30}, names)
    counts_table, _ = f1_table(tally, "counts", {"counts": 0.10}, names)
    rate_table, _ = f1_table(tally, "rate", {"rate": 0.10}, names)
    scale_table, _ = f1_table(tally, "relative-48k", {"medium": 0.10}, names)
    command = ".venv/bin/python bench/bench_drivers.py" + (" --quick" if args.quick else "")
    if args.seed != 20261125:
        command += f" --seed {args.seed}"
    report = REPORT.format(
        command=command,
        python=platform.python_version(),
        numpy=np.__version__,
        machine=f"{platform.machine()}, {__import__('os').cpu_count()} cores (shared)",
        elapsed=elapsed,
        n_main=n_main,
        n_zero=n_zero,
        n_other=n_other,
        n_scale=n_scale,
        max_causes=MAX_CAUSES,
        main_table=main_table,
        ours_mean=main_means["ours"],
        riskloc_mean=main_means["RiskLoc"],
        zero_table=zero_table(tally, "relative", NOISE, names),
        hard_table=hard_table,
        hard_zero=zero_table(tally, "hard", {"very high": 0.30}, names),
        counts_table=counts_table,
        counts_zero=zero_table(tally, "counts", {"counts": 0.10}, names),
        rate_table=rate_table,
        rate_zero=zero_table(tally, "rate", {"rate": 0.10}, names),
        scale_table=scale_table,
        time_table=time_table(tally, [("relative", 10_000), ("relative-48k", 48_000)], names),
        misses=misses(tally, main_means),
    )
    if out:
        out.write_text(report)
        print(f"wrote {out} in {elapsed:.0f} s")
    print(report)


REPORT = """\
# Benchmark: root-cause localization (`analytics/drivers.py`)

Reproduce with:

```
{command}
```

Python {python}, numpy {numpy}, {machine}. Whole run: {elapsed:.0f} s. Seeded: F1 figures are
identical on every run; run times vary with the load of the (shared) machine.

## What is measured

Cases are generated the way the Squeeze (ISSRE 2019) and RiskLoc (2022) papers generate theirs
(`bench/drivers_data.py`): a full cube of leaves, expected values from a heavy-tailed Weibull
distribution (0-25 % of leaves zero), actual = expected with relative Gaussian noise (applied
to either side, as RiskLoc's generator does), and one root-cause set injected with the papers'
settings: a cuboid of 1-3 dimensions and 1-3 elements in it. Severity is U(0.2, 1.0) plus the
noise level, with a per-leaf spread U(0, 0.1); half the cases are drops, half spikes. Truth
sets whose elements together cover every child of a parent are redrawn (they *are* that
parent, and no method can tell them apart). These are not the papers' published data sets
(Squeeze's are built on production data and are not available offline): the comparison that
counts is the same-run one against the re-implemented baselines below.

A predicted element is a true positive only if it equals a true element exactly (same
dimensions, same values); F1 = 2TP / (2TP + FP + FN) pooled over the cases of a setting, and
"mean" is the unweighted mean over settings. All methods search cuboids of at most 3
dimensions and may return up to {max_causes} elements.

Methods, all run on the same cases in the same process (`bench/drivers_baselines.py`):

* **ours** - `localize_root_causes` with default tuning (only `max_causes` raised). In short:
  standardized leaf residuals under a noise model fitted per case (Poisson-like plus relative
  forecast error), clipped; every slice of 1-3 dimensions scored in one vectorised pass by the
  chi-square evidence of a common shift of its leaves; greedy acceptance of the strongest
  slice that passes a Bonferroni threshold, moved by at least 10 %, and is homogeneous (no
  split along another dimension shows moved and unmoved children, which is what rejects
  parents); its leaves are then removed (which removes its children). A second pass
  re-estimates the noise on the unexplained leaves. Details in the module docstring of
  `analytics/drivers_localize.py`.
* **RiskLoc** (Kalander 2022) - re-implemented from the paper (risk = weighted abnormal share
  minus ripple-effect "low risk"; thresholds 0.5 and 2 %), without the element-pruning
  speed-up. The RiskLoc paper reports F1 around 0.9 and above on the Squeeze-style data
  sets (as cited in our brief; the paper's tables could not be re-checked offline).
* **Squeeze (simpl.)** (Li et al. 2019) - a *simplified* re-implementation (density clusters
  of deviation scores, per-cluster search ranked by the generalized potential score). Not
  the authors' code: treat its figures as a lower bound for Squeeze.
* **Adtributor** (Bhagwan et al. 2014) - explanatory power + surprise, one dimension, the
  best set. It cannot represent multi-dimensional causes, so it scores 0 on them by design.

HotSpot (MCTS over element sets) is not included: Squeeze and RiskLoc were built to replace
its slow search, and both papers report it below them.

## Main grid: 10,000 leaves (10 x 10 x 10 x 5 x 2), {n_main} cases per setting

{main_table}

Mean F1 over the 27 settings: **ours {ours_mean:.3f}**, RiskLoc {riskloc_mean:.3f}.

## No anomaly injected ({n_zero} cases per noise level): the right answer is "nothing"

"empty" counts cases where the method returned nothing; "false el. per case" the mean number
of elements it returned anyway.

{zero_table}

## Harder than the papers: noise 0.3 and no severity padding

Severity U(0.2, 1.0) with relative noise of 0.3: the weakest anomalies (a 20 % move) are
smaller than the noise of a single leaf. {n_other} cases per setting.

{hard_table}

No anomaly ({n_zero} cases):

{hard_zero}

## Escalation-like counts: integer cases, Poisson noise + 10 % forecast error

Small counts per leaf (most leaves expect fewer than 10 cases), anomalies milder than above:
spikes of +50..150 % (70 % of cases) or drops of -25..-75 %. {n_other} cases per setting.

{counts_table}

No anomaly ({n_zero} cases):

{counts_zero}

RiskLoc finds nothing here (and the simplified Squeeze almost nothing), and this is a
property of the methods rather than of the data: RiskLoc places its cutoff at the sixth most extreme deviation score
on the quieter side, but with a few cases per leaf hundreds of leaves have 0 actual cases
(deviation score exactly 2) and others have a case where almost none was expected (close to
-2), so the "abnormal" partition is a handful of such leaves and no slice reaches a risk of 0.5.
Their deviation scores assume continuous values without sampling noise. Ours models that noise
(Poisson plus relative forecast error, fitted per case), which is the point of this block.

## Rate metric: SLA breach rate = breaches / cases

Each leaf has expected and actual cases and breaches; in the root cause the breach *rate*
rises by 50-150 % while its volume does not move, and a decoy one-dimension slice doubles its
volume at an unchanged rate. Ours gets the four columns (`actual_denominator`,
`expected_denominator`); the baselines get the same re-basing done for them (expected
breaches = actual cases x expected rate) since none of them handles denominators in this
form. {n_other} cases per setting.

{rate_table}

No rate change, volume decoy only ({n_zero} cases):

{rate_zero}

## Scale: 48,000 leaves (10 x 12 x 10 x 8 x 5), medium noise, {n_scale} cases per setting

{scale_table}

## Run time per case (seconds, single process)

{time_table}

## Where ours misses (settings with F1 below 0.9)

{misses}

What limits it, from inspecting the misses:

* **Small elements at the Poisson limit.** A 3-dimension element of a 10,000-leaf cube holds
  about 10 leaves; with a handful of cases per leaf a 25-75 % drop (or a breach-rate rise on
  a few dozen cases) is within the noise, and the Bonferroni threshold over ~8,000 candidate
  slices (chosen so that pure noise returns nothing) does not let it through. Such misses are
  false negatives, not wrong answers.
* **Weak anomalies at high noise** behave the same way: the evidence of a slice grows with its
  number of leaves, so the smallest slices go first.
* **Ambiguous truth.** When the injected elements cover almost all children of a parent, the
  parent is an equally good (more succinct) explanation; the generator redraws exact covers
  only.

Not measured here: an overall move of every leaf (growth, a forecast that is off everywhere).
Ours reports it as one item with the empty slice `{{}}` and keeps searching relative to it
(`tests/test_drivers.py::test_overall_growth_is_one_item_and_local_cause_still_found`); the
papers' generators never produce one. The default `max_causes=3` of the API would cap recall
in settings with more true elements, hence `max_causes={max_causes}` here.
"""


if __name__ == "__main__":
    main()
