"""After training, the annotation screen shows the model's suggestion and one key accepts it."""

from __future__ import annotations

import re

import pytest
from tests.browser.conftest import LiveServer, Session
from tests.browser.test_annotate import _wait_for_next

from labelkitchen.services import accounts
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.services.train import train_project

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _sms(n: int) -> list[tuple[str, str]]:
    from tests.conftest import shared_data

    seen: dict[str, str] = {}
    for line in shared_data("sms_spam", "SMSSpamCollection").read_text("utf-8").splitlines():
        label, text = line.split("\t", 1)
        seen.setdefault(text, label)
        if len(seen) == n:
            break
    return [(label, text) for text, label in seen.items()]


def test_enter_accepts_the_trained_models_suggestion(
    session: Session, live_server: LiveServer
) -> None:
    store = live_server.store
    create_project(
        store,
        spec={
            "slug": "model-loop",
            "task": "classify",
            "labels": ["ham", "spam"],
            "settings": {"queue_strategy": "least_confidence"},
        },
    )
    messages = _sms(215)
    rows = [{"text": t, "gold": {"label": lb}, "split": "train"} for lb, t in messages[:200]]
    rows += [{"text": t, "split": "train"} for _, t in messages[200:]]
    import_rows(store, project="model-loop", rows=rows)
    accounts.set_member(store, project="model-loop", username="annotator", role="annotator")
    report = train_project(store, project="model-loop")

    session.login("annotator")
    session.goto("/projects/model-loop/annotate")
    shown = _wait_for_next(session, None)
    expected = session.api("/api/projects/model-loop/queue/next")
    assert str(expected["id"]) == shown
    suggestion = expected["suggestions"][0]
    label = suggestion["value"]["label"]
    first = session.page.locator(".suggestion.first")
    badge = first.locator(".model-suggestion").inner_text()
    shown_as = re.fullmatch(rf"model v{report.version}, (\d+(?:\.\d)?)%", badge)
    assert shown_as is not None, badge
    assert abs(float(shown_as.group(1)) - 100 * suggestion["confidence"]) <= 0.5
    assert first.inner_text().startswith(label)
    assert session.page.locator(f'.label-button.suggested[data-label="{label}"]').count() == 1

    session.page.keyboard.press("Enter")
    _wait_for_next(session, shown)
    rows_now = live_server.annotations(project="model-loop", username="annotator")
    assert [(r.record_id, r.value, r.answer) for r in rows_now] == [
        (int(shown), {"label": label}, "accept")
    ]


def test_the_span_taggers_suggestion_is_pre_filled(
    session: Session, live_server: LiveServer
) -> None:
    from tests.conftest import shared_data
    from tests.learn.test_spans import read_conll

    from labelkitchen.learn import SpanConfig

    store = live_server.store
    labels = ["person", "location", "corporation", "product", "creative-work", "group"]
    create_project(
        store,
        spec={
            "slug": "model-spans",
            "task": "spans",
            "labels": labels,
            "settings": {"queue_strategy": "sequential"},
        },
    )
    sentences: dict[str, list] = {}
    for text, spans in read_conll(shared_data("wnut17", "wnut17train.conll")):
        sentences.setdefault(text, spans)
    items = [(text, spans) for text, spans in sentences.items() if spans][:80]
    rows = [
        {
            "text": text,
            "split": "train",
            "gold": {"spans": [{"start": s, "end": e, "label": lb} for s, e, lb in spans]},
        }
        for text, spans in items
    ]
    # the pool: one sentence the tagger has seen, with a little more at its end
    rows.append({"text": f"{items[0][0]} !", "split": "train"})
    import_rows(store, project="model-spans", rows=rows)
    accounts.set_member(store, project="model-spans", username="annotator", role="annotator")
    config = SpanConfig(n_iter=10, width=64, depth=2, embed_size=1000, beam_width=8)
    report = train_project(store, project="model-spans", config=config)

    session.login("annotator")
    session.goto("/projects/model-spans/annotate")
    shown = _wait_for_next(session, None)
    suggestion = session.api("/api/projects/model-spans/queue/next")["suggestions"][0]
    assert suggestion["source"]["name"] == "span_tagger.v1"
    predicted = suggestion["value"]["spans"]
    assert predicted, "the tagger should find spans in a sentence it was trained on"
    prefilled = session.page.locator(".prefilled").inner_text()
    count = f"{len(predicted)} span{'' if len(predicted) == 1 else 's'}"
    assert prefilled.startswith(f"Pre-filled with {count} from model v{report.version}, ")

    session.page.keyboard.press("Enter")
    _wait_for_next(session, shown)
    (row,) = live_server.annotations(project="model-spans", username="annotator")
    assert row.record_id == int(shown) and row.answer == "accept"
    assert [(s["start"], s["end"], s["label"]) for s in row.value["spans"]] == [
        (s["start"], s["end"], s["label"]) for s in predicted
    ]
