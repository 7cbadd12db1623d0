"""Active-learning benchmark (issue 5): learning curves on three real datasets.

    .venv/bin/python benchmarks/active_learning.py            # full run (5 seeds)
    .venv/bin/python benchmarks/active_learning.py --seeds 1  # a quick look

Replays active learning with ``labelkitchen.learn.simulate`` (the text baseline: TF-IDF word
and character n-grams, logistic regression) on

* ``sms_spam``: SMSSpamCollection, ``label<TAB>text`` (ham/spam);
* ``trec``: train_5500.label + TREC_10.label, the coarse class (the part of the first token
  before ``:``), read as latin-1 (train_5500.label holds one 0xF0 byte);
* ``sentiment``: the three sentiment_sentences files (Amazon, IMDb, Yelp), split on ``\\n``
  only (IMDb holds U+0085 inside sentences), ``sentence<TAB>label`` split at the last TAB, no
  quote handling (unbalanced ``"`` are plain characters).

Per dataset: one stratified test split (30 %, fixed), 5 seeds, a random seed set of 20 labels,
batches of 20, a budget of 500 labels; strategies random, least confidence, margin, entropy,
and margin with diversity-aware batches (k-means++ over the TF-IDF rows of the 10 x 20 most
uncertain records). Curves (macro F1 on the test split against the number of labels) go to
``bench-out/active_learning-<dataset>.json``, the plots to ``docs/img/active-learning-
<dataset>.png``, the summary to ``bench-out/active_learning.json`` and, with ``benchmarks/
learn.py``'s figures, between the ``learn`` markers of docs/benchmarks.md.

The issue's criterion: the best uncertainty strategy reaches the macro F1 that random sampling
reaches at its full budget (mean over seeds) with at most 70 % of the labels, on at least two of
the three datasets. "Reaches at n labels" means: the mean curve over seeds is at or above that
F1 at n.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from labelkitchen.learn.simulate import curves_to_json, plot_curves, simulate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench-out"
IMG = ROOT / "docs" / "img"
STRATEGIES = ["random.v1", "least_confidence.v1", "margin.v1", "entropy.v1"]
DIVERSE = "margin.v1+diversity"
UNCERTAIN = ["least_confidence.v1", "margin.v1", "entropy.v1", DIVERSE]
SHARE = 0.70


def load_sms() -> tuple[list[str], list[str]]:
    text = (DATA / "sms_spam" / "SMSSpamCollection").read_text(encoding="utf-8")
    rows = [line.split("\t", 1) for line in text.split("\n") if line.strip()]
    return [r[1] for r in rows], [r[0] for r in rows]


def load_trec() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for name in ("train_5500.label", "TREC_10.label"):
        for line in (DATA / "trec" / name).read_text(encoding="latin-1").split("\n"):
            if not line.strip():
                continue
            tag, question = line.split(" ", 1)
            texts.append(question.strip())
            labels.append(tag.split(":", 1)[0])
    return texts, labels


def load_sentiment() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"):
        raw = (DATA / "sentiment_sentences" / name).read_text(encoding="utf-8")
        for line in raw.split("\n"):  # not splitlines(): U+0085 sits inside sentences
            if not line.strip():
                continue
            sentence, label = line.rsplit("\t", 1)
            texts.append(sentence.strip())
            labels.append({"0": "negative", "1": "positive"}[label.strip()])
    return texts, labels


DATASETS = {"sms_spam": load_sms, "trec": load_trec, "sentiment": load_sentiment}
EXPECTED = {"sms_spam": 5574, "trec": 5952, "sentiment": 3000}


def labels_needed(mean: list[tuple[int, float]], target: float) -> int | None:
    """The fewest labels at which the mean curve reaches ``target`` (None: never)."""
    return next((n for n, f1 in mean if f1 >= target - 1e-12), None)


def mean_curve(by_seed: dict[str, list[list[float]]]) -> list[tuple[int, float]]:
    runs = list(by_seed.values())
    xs = [int(n) for n, _ in runs[0]]
    ys = np.array([[f for _, f in run] for run in runs])
    return list(zip(xs, ys.mean(axis=0).tolist(), strict=True))


def run_dataset(name: str, args: argparse.Namespace) -> dict[str, Any]:
    texts, labels = DATASETS[name]()
    if len(texts) != EXPECTED[name]:
        raise SystemExit(f"{name}: read {len(texts)} rows, expected {EXPECTED[name]}")
    settings = {
        "dataset": name,
        "records": len(texts),
        "labels": sorted(set(labels)),
        "seeds": args.seeds,
        "seed_size": args.seed_size,
        "batch": args.batch,
        "budget": args.budget,
        "test_size": 0.3,
    }
    options = {
        "seeds": args.seeds,
        "seed_size": args.seed_size,
        "batch": args.batch,
        "budget": args.budget,
        "test_size": 0.3,
    }
    started = time.perf_counter()
    plain = simulate(texts, labels, strategies=STRATEGIES, **options)
    diverse = simulate(texts, labels, strategies=["margin.v1"], diversity=True, **options)
    seconds = time.perf_counter() - started
    data = curves_to_json(plain, settings)
    data["curves"][DIVERSE] = curves_to_json(diverse, settings)["curves"]["margin.v1"]
    data["seconds"] = seconds
    (OUT / f"active_learning-{name}.json").write_text(json.dumps(data, indent=1))
    return summarise(name, data)


def summarise(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The criterion and the table figures from one dataset's curves; writes its plot."""
    settings = data["settings"]
    IMG.mkdir(parents=True, exist_ok=True)
    plot_curves(
        data, IMG / f"active-learning-{name}.png", title=f"{name}: {settings['records']:,} texts"
    )
    means = {strategy: mean_curve(by_seed) for strategy, by_seed in data["curves"].items()}
    target = means["random.v1"][-1][1]
    limit = SHARE * settings["budget"]
    needed = {s: labels_needed(means[s], target) for s in UNCERTAIN}
    reached = {s: n for s, n in needed.items() if n is not None}
    best = min(reached, key=lambda s: (reached[s], -means[s][-1][1])) if reached else None
    at_share = max(n for n, _ in means["random.v1"] if n <= limit)
    return {
        "dataset": name,
        "records": settings["records"],
        "classes": len(settings["labels"]),
        "seconds": data.get("seconds"),
        "random_final": target,
        "final": {s: means[s][-1][1] for s in means},
        "at_share_labels": at_share,
        "at_share": {s: dict(means[s])[at_share] for s in means},
        "needed": needed,
        "best": best,
        "best_needed": reached.get(best) if best else None,
        "met": best is not None and reached[best] <= limit,
        "plot": f"img/active-learning-{name}.png",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed-size", type=int, default=20)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--no-doc", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="re-summarise and re-plot the curves already in bench-out/ (no simulation)",
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    previous = OUT / "active_learning.json"
    if args.summary_only:
        summary = json.loads(previous.read_text())
        summary["results"] = [
            summarise(
                r["dataset"], json.loads((OUT / f"active_learning-{r['dataset']}.json").read_text())
            )
            for r in summary["results"]
        ]
        previous.write_text(json.dumps(summary, indent=1))
        if not args.no_doc:
            learn_bench().update_doc()
        return
    load = os.getloadavg()[0]
    results = []
    for name in args.datasets:
        print(f"{name} ...", flush=True)
        result = run_dataset(name, args)
        results.append(result)
        print(
            f"  random at {args.budget}: {result['random_final']:.3f}; best uncertainty "
            f"{result['best']} reaches it at {result['best_needed']} labels "
            f"({'met' if result['met'] else 'NOT met'}) in {result['seconds']:.0f} s",
            flush=True,
        )
    summary = {
        "command": shlex.join(
            ["python", "benchmarks/active_learning.py"]
            + [a for a in sys.argv[1:] if a != "--no-doc"]
        ),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, load average {load:.1f} at start",
        "settings": {
            "seeds": args.seeds,
            "seed_size": args.seed_size,
            "batch": args.batch,
            "budget": args.budget,
            "test_size": 0.3,
            "share": SHARE,
        },
        "results": results,
    }
    (OUT / "active_learning.json").write_text(json.dumps(summary, indent=1))
    if not args.no_doc:
        learn_bench().update_doc()
        print("docs/benchmarks.md updated (learn section)")


def learn_bench() -> ModuleType:
    """benchmarks/learn.py, which renders the shared ``learn`` section of the docs."""
    spec = importlib.util.spec_from_file_location(
        "learn_bench", Path(__file__).with_name("learn.py")
    )
    if spec is None or spec.loader is None:
        raise SystemExit("benchmarks/learn.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    main()
