"""The active-learning simulation on real data (a small, fast run)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import shared_data

from labelkitchen.learn.simulate import curves_to_json, plot_curves, simulate


def _sms(n: int = 1200) -> tuple[list[str], list[str]]:
    lines = shared_data("sms_spam", "SMSSpamCollection").read_text(encoding="utf-8").split("\n")
    rows = [line.split("\t", 1) for line in lines if line.strip()][:n]
    return [r[1] for r in rows], [r[0] for r in rows]


def test_curves_have_a_point_per_round(tmp_path: Path) -> None:
    texts, labels = _sms()
    curves = simulate(
        texts,
        labels,
        strategies=["random.v1", "margin.v1"],
        seeds=1,
        seed_size=10,
        batch=30,
        budget=70,
    )
    assert [c.strategy for c in curves] == ["random.v1", "margin.v1"]
    assert [n for n, _ in curves[0].points] == [10, 40, 70]
    assert all(0.0 <= f <= 1.0 for c in curves for _, f in c.points)
    data = curves_to_json(curves, {"dataset": "sms"})
    (tmp_path / "c.json").write_text(json.dumps(data))
    plot_curves(data, tmp_path / "c.png", title="SMS")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_margin_beats_random_on_spam() -> None:
    texts, labels = _sms(3000)
    curves = simulate(
        texts,
        labels,
        strategies=["random.v1", "margin.v1"],
        seeds=1,
        seed_size=20,
        batch=40,
        budget=180,
    )
    final = {c.strategy: c.points[-1][1] for c in curves}
    assert final["margin.v1"] > final["random.v1"]
