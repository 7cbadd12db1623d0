"""Suspected label errors benchmark (issue 6): flip 5% of the labels, look for them.

    .venv/bin/python benchmarks/label_errors.py                  # every dataset, 3 seeds
    .venv/bin/python benchmarks/label_errors.py --seeds 1        # quicker
    .venv/bin/python benchmarks/label_errors.py --doc-only       # re-render the docs only

On each labelled dataset (``../shared/data``: the SMS Spam Collection, TREC coarse classes),
per seed: flip 5% of the labels at random (each flipped record gets one of the *other* classes,
uniformly), run :func:`labelkitchen.learn.label_errors.find_label_errors` (the core the product
runs: 5-fold out-of-sample probabilities of the text baseline, cleanlab, near-duplicates), and
measure:

* the share of flipped records in the top 10% of the ranking (the target: at least half, on
  two datasets);
* precision and recall of cleanlab's issue set, and of every flagged record (issue set or a
  near-duplicate contradiction);
* the same top-10% share for the other rankings cleanlab offers, computed from the same
  out-of-sample probabilities (why the product ranks by self-confidence);
* the time taken;
* and, apart (``--parts scale``), near-duplicate detection on 100,000 texts: seconds, and how
  many of 1,000 planted near-duplicate pairs it finds.

Figures go to ``bench-out/label_errors.json`` and, between the ``label_errors`` markers, to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from docsection import replace_section
from labelkitchen.learn.label_errors import (
    find_label_errors,
    find_near_duplicates,
    normalise_text,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench-out"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- label_errors:start -->", "<!-- label_errors:end -->"
HEADING = "## Suspected label errors"
FLIP_SHARE = 0.05
TOP_SHARE = 0.10
TARGET = 0.5
PARTS = ("flips", "scale")
ALTERNATIVES = (
    ("self_confidence", False),
    ("normalized_margin", False),
    ("confidence_weighted_entropy", False),
    ("self_confidence", True),
    ("normalized_margin", True),
)

Dataset = tuple[list[str], list[int], list[str]]


def load_sms() -> Dataset:
    """SMS Spam Collection: ``label<TAB>text`` per line, UTF-8, no header (see SOURCE.md)."""
    texts, labels = [], []
    path = DATA / "sms_spam" / "SMSSpamCollection"
    for line in path.read_text(encoding="utf-8").splitlines():
        label, text = line.split("\t", 1)
        texts.append(text)
        labels.append(label)
    names = ["ham", "spam"]
    return texts, [names.index(label) for label in labels], names


def load_trec() -> Dataset:
    """TREC train_5500, coarse class: ``COARSE:fine text``; latin-1 (one byte 0xF0)."""
    texts, labels = [], []
    path = DATA / "trec" / "train_5500.label"
    for line in path.read_text(encoding="latin-1").splitlines():
        label, text = line.split(" ", 1)
        texts.append(text)
        labels.append(label.split(":", 1)[0])
    names = sorted(set(labels))
    return texts, [names.index(label) for label in labels], names


DATASETS: dict[str, Callable[[], Dataset]] = {"sms_spam": load_sms, "trec_coarse": load_trec}


def flip(labels: list[int], n_classes: int, seed: int) -> tuple[list[int], np.ndarray]:
    """Flip ``FLIP_SHARE`` of the labels to another class, uniformly; returns the flipped ids."""
    rng = np.random.default_rng(seed)
    y = np.asarray(labels, dtype=np.int64)
    chosen = rng.choice(len(y), size=round(FLIP_SHARE * len(y)), replace=False)
    noisy = y.copy()
    noisy[chosen] = (y[chosen] + rng.integers(1, n_classes, size=len(chosen))) % n_classes
    return noisy.tolist(), chosen


def _precision_recall(mask: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    hits = float(np.sum(mask & truth))
    return {
        "n": int(mask.sum()),
        "precision": hits / max(int(mask.sum()), 1),
        "recall": hits / max(int(truth.sum()), 1),
    }


def run_one(name: str, seed: int, folds: int) -> dict[str, Any]:
    from cleanlab.rank import get_label_quality_scores

    texts, labels, names = DATASETS[name]()
    noisy, chosen = flip(labels, len(names), seed)
    truth = np.zeros(len(texts), dtype=bool)
    truth[chosen] = True
    started = time.perf_counter()
    result = find_label_errors(texts, noisy, class_names=names, folds=folds, random_state=seed)
    seconds = time.perf_counter() - started
    top = int(np.ceil(TOP_SHARE * len(texts)))
    alternatives = {}
    y = np.asarray(noisy)
    for method, adjust in ALTERNATIVES:
        scores = get_label_quality_scores(y, result.probs, method=method, adjust_pred_probs=adjust)
        order = np.argsort(scores, kind="stable")
        key = method + (" (adjusted)" if adjust else "")
        alternatives[key] = float(truth[order[:top]].mean() * top / len(chosen))
    near = np.zeros(len(texts), dtype=bool)
    near[list(result.neighbours)] = True
    return {
        "dataset": name,
        "seed": seed,
        "n_records": len(texts),
        "n_classes": len(names),
        "n_flipped": len(chosen),
        "folds": result.folds,
        "accuracy_vs_clean": float(np.mean(np.argmax(result.probs, axis=1) == labels)),
        "flipped_in_top": float(truth[result.order[:top]].sum() / len(chosen)),
        "top": top,
        "issues": _precision_recall(result.is_issue, truth),
        "flagged": _precision_recall(result.flagged(), truth),
        "near_duplicate_flags": int(near.sum()),
        "near_duplicate_flipped": int(np.sum(near & truth)),
        "alternatives": alternatives,
        "seconds": seconds,
    }


def run_scale(n: int = 100_000, planted: int = 1_000, seed: int = 0) -> dict[str, Any]:
    """Near-duplicates on ``n`` texts: random 8-20 word sequences over the SMS vocabulary, with
    ``planted`` pairs where the second text is the first with one word appended."""
    texts, _, _ = load_sms()
    vocabulary = sorted({word for text in texts for word in text.split()})
    rng = np.random.default_rng(seed)
    sizes = rng.integers(8, 21, size=n)
    words = rng.choice(len(vocabulary), size=int(sizes.sum()))
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    pool = [" ".join(vocabulary[w] for w in words[a:b]) for a, b in itertools.pairwise(bounds)]
    firsts = rng.choice(np.arange(0, n, 2), size=planted, replace=False)
    expected = set()
    for i in firsts.tolist():
        pool[i + 1] = pool[i] + " " + vocabulary[int(rng.integers(len(vocabulary)))]
        expected.add((i, i + 1))
    started = time.perf_counter()
    near = find_near_duplicates(pool)
    seconds = time.perf_counter() - started
    found = {(a, b) for a, b, _ in near.pairs}
    above = {(i, j) for i, j in expected if _jaccard(pool[i], pool[j]) >= 0.8}
    return {
        "n_records": n,
        "planted": planted,
        "planted_above_threshold": len(above),
        "found_above_threshold": len(found & above),
        "found_planted": len(found & expected),
        "other_pairs": len(found - expected),
        "seconds": seconds,
    }


def _jaccard(a: str, b: str) -> float:
    """Jaccard similarity of the character 5-gram sets of two normalised texts."""

    def shingles(text: str) -> set[str]:
        text = normalise_text(text)
        return {text[i : i + 5] for i in range(len(text) - 4)} or {text}

    first, second = shingles(a), shingles(b)
    return len(first & second) / len(first | second)


def _mean_sd(values: list[float], fmt: str = "{:.1%}") -> str:
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.mean(values))} ± {fmt.format(statistics.stdev(values))}"


def render(results: dict[str, Any] | None) -> str:
    lines = [START, ""]
    if not results:
        lines += ["Not run yet: `python benchmarks/label_errors.py`.", "", END]
        return "\n".join(lines)
    runs = results["runs"]
    lines += [
        f"Written by `{results['command']}` on {results['date']} ({results['machine']}; the "
        "machine is shared, so timings are pessimistic).",
        "",
        f"Per dataset and seed, {FLIP_SHARE:.0%} of the labels are flipped at random to another "
        "class; `find_label_errors` (the core behind `labelkitchen review errors`: "
        f"{runs[0]['folds']}-fold out-of-sample probabilities of the text baseline, cleanlab, "
        "near-duplicates) ranks every record. *Flipped in top 10%*: the share of the flipped "
        "records among the lowest-scoring 10% of records. *Issues*: cleanlab's issue set "
        "(`find_label_issues`); *flagged*: issue set or a near-duplicate contradiction. Mean ± "
        "standard deviation over seeds.",
        "",
        "| dataset | records | classes | seeds | flipped | flipped in top 10% | issues: "
        "precision / recall | flagged: precision / recall | baseline accuracy (clean labels) "
        "| seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_dataset.setdefault(run["dataset"], []).append(run)
    for name, group in by_dataset.items():
        lines.append(
            f"| {name} | {group[0]['n_records']:,} | {group[0]['n_classes']} | {len(group)} | "
            f"{group[0]['n_flipped']} | {_mean_sd([r['flipped_in_top'] for r in group])} | "
            f"{_mean_sd([r['issues']['precision'] for r in group])} / "
            f"{_mean_sd([r['issues']['recall'] for r in group])} | "
            f"{_mean_sd([r['flagged']['precision'] for r in group])} / "
            f"{_mean_sd([r['flagged']['recall'] for r in group])} | "
            f"{_mean_sd([r['accuracy_vs_clean'] for r in group])} | "
            f"{_mean_sd([r['seconds'] for r in group], '{:.0f}')} |"
        )
    methods = list(runs[0]["alternatives"])
    lines += [
        "",
        "Flipped records in the top 10% by each of cleanlab's label quality scores, from the "
        "same out-of-sample probabilities (the product ranks by `self_confidence`):",
        "",
        "| dataset | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for name, group in by_dataset.items():
        cells = [_mean_sd([r["alternatives"][m] for r in group]) for m in methods]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    scale = results.get("scale")
    near = [(r["dataset"], r["near_duplicate_flags"], r["near_duplicate_flipped"]) for r in runs]
    lines += [
        "",
        "Near-duplicate contradictions flagged (records; of them flipped), per run: "
        + ", ".join(f"{d} {n} ({f})" for d, n, f in near)
        + ".",
        "",
    ]
    if scale:
        lines += [
            f"Near-duplicate detection at scale (`--parts scale`, written by "
            f"`{scale['command']}`): {scale['n_records']:,} texts (random word sequences) in "
            f"{scale['seconds']:.1f} s; of {scale['planted']:,} planted near-duplicate pairs "
            f"(a text and the same text with one word appended) {scale['found_planted']:,} "
            f"found, and {scale['found_above_threshold']:,} of the "
            f"{scale['planted_above_threshold']:,} whose Jaccard similarity reaches the 0.8 "
            f"threshold; {scale['other_pairs']:,} other pairs reported.",
            "",
        ]
    lines += [
        "### Targets",
        "",
    ]
    met = [
        name
        for name, group in by_dataset.items()
        if min(r["flipped_in_top"] for r in group) >= TARGET
    ]
    figures = "; ".join(
        f"{name}: lowest {min(r['flipped_in_top'] for r in group):.1%} over {len(group)} seeds"
        for name, group in by_dataset.items()
    )
    verdict = "met" if len(met) >= 2 else "NOT met"
    lines += [
        f"- at least half of the flipped records in the top 10% of the suspected-errors queue, "
        f"on two datasets: {verdict} ({figures})",
        "",
        END,
    ]
    return "\n".join(lines)


def update_doc(results: dict[str, Any] | None) -> None:
    """Replace only the ``label_errors`` section of docs/benchmarks.md."""
    section = render(results)
    replace_section(DOC, start=START, end=END, heading=HEADING, section=section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--parts", nargs="*", choices=PARTS, default=list(PARTS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--doc-only", action="store_true", help="only re-render the docs")
    parser.add_argument("--no-doc", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / "label_errors.json"
    results: dict[str, Any] | None = json.loads(path.read_text()) if path.exists() else None
    command = shlex.join(["python", "benchmarks/label_errors.py", *sys.argv[1:]])
    if not args.doc_only and "flips" in args.parts:
        runs = []
        for name in args.datasets:
            for seed in range(args.seeds):
                run = run_one(name, seed, args.folds)
                print(json.dumps(run), flush=True)
                runs.append(run)
        results = {
            **(results or {}),
            "command": command,
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, Python {platform.python_version()}",
            "runs": runs,
        }
    if not args.doc_only and "scale" in args.parts:
        scale = {**run_scale(), "command": command}
        print(json.dumps(scale), flush=True)
        results = {**(results or {}), "scale": scale}
    if not args.doc_only:
        path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if not args.no_doc:
        update_doc(results)


if __name__ == "__main__":
    main()
