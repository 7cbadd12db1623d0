"""Crowd labels through the review desk: Dawid-Skene consensus vs majority vote against gold.

Each dataset is imported into a fresh SQLite project exactly as a team would load crowd work:
one record per item, one human source per worker, the expert labels as gold. The figures come
from the product's own ``annotator_report`` (the Dawid-Skene the weak supervision engine fits on
labelling functions, here fitted on the records x workers matrix) and ``agreement_report``.

    .venv/bin/python benchmarks/crowd.py            # runs both and rewrites the crowd section
    .venv/bin/python benchmarks/crowd.py --no-doc   # prints only

Data (../shared/data, see each SOURCE.md): Snow et al. (2008) RTE, 800 items x 164 workers
(10 labels per item); Welinder et al. (2010) bluebirds, 108 items x 39 workers (dense).
Majority-vote ties go to the first label in sorted order, as SOURCE.md counts them.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from docsection import replace_section
from labelkitchen.services import quality, review
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.settings import Settings
from labelkitchen.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- crowd:start -->", "<!-- crowd:end -->"
HEADING = "## Crowd labels (review desk)"
COMMAND = ".venv/bin/python benchmarks/crowd.py"
# Figures SOURCE.md / the issue give for majority vote against gold.
PUBLISHED_MV = {"rte": 0.919, "bluebirds": 0.759}


def rte_rows() -> tuple[list[str], list[dict[str, Any]]]:
    folder = DATA / "crowd_rte_snow2008"
    with (folder / "rte1.tsv").open(encoding="utf-8") as handle:
        texts = {
            r["id"]: f"{r['text']}\n{r['hypothesis']}"
            for r in csv.DictReader(handle, delimiter="\t")
        }
    items: dict[str, dict[str, Any]] = {}
    with (folder / "rte.standardized.tsv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle, delimiter="\t"):
            item = items.setdefault(
                r["orig_id"],
                {"id": r["orig_id"], "text": texts[r["orig_id"]], "gold": None, "annotations": []},
            )
            item["gold"] = ("no", "yes")[int(r["gold"])]
            item["annotations"].append(
                {
                    "source": {"kind": "human", "name": f"w{r['!amt_worker_ids']}"},
                    "value": ("no", "yes")[int(r["response"])],
                }
            )
    return ["no", "yes"], list(items.values())


def bluebirds_rows() -> tuple[list[str], list[dict[str, Any]]]:
    folder = DATA / "crowd_bluebirds"
    labels = yaml.safe_load((folder / "labels.yaml").read_text(encoding="utf-8"))
    gold = yaml.safe_load((folder / "gt.yaml").read_text(encoding="utf-8"))
    name = {False: "false", True: "true"}
    items: dict[str, dict[str, Any]] = {
        str(image): {
            "id": str(image),
            "text": f"bluebirds image {image}",
            "gold": name[bool(truth)],
            "annotations": [],
        }
        for image, truth in gold.items()
    }
    for worker, answers in labels.items():
        for image, answer in answers.items():
            items[str(image)]["annotations"].append(
                {"source": {"kind": "human", "name": f"w{worker}"}, "value": name[bool(answer)]}
            )
    return ["false", "true"], list(items.values())


DATASETS: dict[str, Callable[[], tuple[list[str], list[dict[str, Any]]]]] = {
    "rte": rte_rows,
    "bluebirds": bluebirds_rows,
}


def run_one(name: str, folder: Path) -> dict[str, Any]:
    labels, rows = DATASETS[name]()
    store = Store.open(settings=Settings(database_url=f"sqlite:///{folder / name}.db"))
    try:
        create_project(store, spec={"slug": name, "task": "classify", "labels": labels})
        started = time.perf_counter()
        import_rows(store, project=name, rows=rows)
        imported = time.perf_counter() - started
        started = time.perf_counter()
        report = quality.annotator_report(store, project=name)
        reported = time.perf_counter() - started
        agreement = review.agreement_report(store, project=name, n_resamples=200)
    finally:
        store.close()
    majority, model = report.majority_vs_gold, report.model_vs_gold
    if majority is None or model is None:
        raise SystemExit(f"{name}: no gold comparison ({report.model_note})")
    alpha = next(c for c in agreement.overall if c.name == "krippendorff_alpha")
    accuracy = sorted(a.gold.value for a in report.annotators if a.gold.value is not None)
    return {
        "items": len(rows),
        "workers": len(report.annotators),
        "labels_total": sum(len(r["annotations"]) for r in rows),
        "majority": majority.value,
        "dawid_skene": model.value,
        "n_gold": majority.n,
        "alpha": alpha.value,
        "alpha_low": alpha.ci_low,
        "alpha_high": alpha.ci_high,
        "worker_accuracy_min": accuracy[0],
        "worker_accuracy_median": accuracy[len(accuracy) // 2],
        "worker_accuracy_max": accuracy[-1],
        "import_s": imported,
        "report_s": reported,
    }


def _pct(value: float | None) -> str:
    return "undefined" if value is None else f"{100 * value:.1f}%"


def render(results: dict[str, dict[str, Any]]) -> str:
    today = datetime.date.today().isoformat()
    lines = [
        START,
        f"Command: `{COMMAND}` ({today}, Python {platform.python_version()}).",
        "",
        "Each dataset is imported into a fresh SQLite project with one human source per worker and "
        "the expert labels as gold; the figures are the product's own `annotator_report` "
        "(`labelkitchen annotators PROJECT`): majority vote of the workers and the Dawid-Skene "
        "consensus (the weak supervision engine's `DawidSkene`, fitted on the records x workers "
        "matrix without gold), each against gold. Majority-vote ties go to the first label.",
        "",
        "| dataset | items | workers | labels | majority vote | Dawid-Skene | gain | "
        "Krippendorff's alpha (95% CI) | worker accuracy min / median / max | report time |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    checks = []
    for name, r in results.items():
        gain = 100 * (r["dawid_skene"] - r["majority"])
        lines.append(
            f"| {name} | {r['items']:,} | {r['workers']:,} | {r['labels_total']:,} | "
            f"{_pct(r['majority'])} | {_pct(r['dawid_skene'])} | {gain:+.1f} pts | "
            f"{r['alpha']:.3f} ({r['alpha_low']:.3f} to {r['alpha_high']:.3f}) | "
            f"{_pct(r['worker_accuracy_min'])} / {_pct(r['worker_accuracy_median'])} / "
            f"{_pct(r['worker_accuracy_max'])} | {r['report_s']:.2f} s |"
        )
        published = PUBLISHED_MV[name]
        checks.append(
            f"- {name}: Dawid-Skene beats majority vote against gold: "
            f"{'met' if r['dawid_skene'] > r['majority'] else 'NOT met'} "
            f"({_pct(r['dawid_skene'])} vs {_pct(r['majority'])}; the issue's majority vote: "
            f"{_pct(published)})"
        )
    lines += ["", "Checks against the issue's targets:", "", *checks, "", END]
    return "\n".join(lines)


def update_doc(section: str) -> None:
    replace_section(DOC, start=START, end=END, heading=HEADING, section=section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-doc", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args()
    missing = [p for p in ("crowd_rte_snow2008", "crowd_bluebirds") if not (DATA / p).exists()]
    if missing:
        sys.exit(f"shared data missing under {DATA}: {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="lk-crowd-") as tmp:
        results = {name: run_one(name, Path(tmp)) for name in DATASETS}
    section = render(results)
    print(section)
    if not args.no_doc:
        update_doc(section)
        print("docs/benchmarks.md updated (crowd section)")


if __name__ == "__main__":
    main()
