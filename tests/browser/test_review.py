"""The Review page in a real browser: three annotators disagree on 10 records, a reviewer resolves
them on the page (keyboard and mouse, by picking answers, by editing the label, with a note), and
the export carries the final labels, the gold versions and each annotator's agreement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.browser.conftest import PASSWORD, LiveServer, Session
from tests.conftest import shared_data

from labelkitchen.services import accounts
from labelkitchen.services.exporting import export_project
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.store import tables as t

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SLUG = "review-demo"
ANNOTATORS = ("alice", "bob", "carol")
LABELS = ("positive", "negative", "neutral", "mixed")  # hotkeys 1..4
XSS = '<img src=x onerror="window.__pwned=1"> and <b>bold</b> claims'
# external id -> (alice, bob, carol): every record disagrees; r2 and r9 three ways.
ANSWERS = {
    "r0": ("positive", "negative", "negative"),
    "r1": ("positive", "positive", "negative"),
    "r2": ("neutral", "positive", "negative"),
    "r3": ("mixed", "negative", "negative"),
    "r4": ("positive", "neutral", "neutral"),
    "r5": ("negative", "negative", "positive"),
    "r6": ("neutral", "neutral", "mixed"),
    "r7": ("positive", "negative", "positive"),
    "r8": ("negative", "mixed", "negative"),
    "r9": ("positive", "neutral", "negative"),
}
NOTE = "Both tones at once: neither annotator's label fits"
# What the reviewer decides, and then changes on r0 (so r0 has two gold versions).
FIRST = {
    "r0": "negative",  # key 2: bob's answer
    "r1": "positive",  # key 1: alice's
    "r2": "mixed",  # edited with the keyboard (e, 4), with a note
    "r3": "neutral",  # edited with the mouse (a label button)
    "r9": "negative",  # mouse: carol's Pick button, then Save
}
FIRST |= {rid: ANSWERS[rid][2] for rid in ("r4", "r5", "r6", "r7", "r8")}  # key 3: carol's
FINAL = FIRST | {"r0": "positive"}  # re-decided from "Show resolved": alice's answer


@pytest.fixture(scope="module")
def review_project(live_server: LiveServer, browser: Any) -> str:
    """The project, its people, and the three annotators' answers given through the HTTP API."""
    store = live_server.store
    create_project(
        store,
        spec={
            "slug": SLUG,
            "task": "classify",
            "labels": list(LABELS),
            "settings": {"queue_strategy": "sequential", "overlap": 3},
        },
    )
    rows = [
        {"id": rid, "text": XSS if rid == "r9" else f"Review record {rid}: the service was fine."}
        for rid in ANSWERS
    ]
    rows += [{"id": f"extra{i}", "text": f"An unanswered record {i}"} for i in range(2)]
    import_rows(store, project=SLUG, rows=rows)
    for name in (*ANNOTATORS, "rita"):
        accounts.create_user(store, username=name, password=PASSWORD)
        role = "reviewer" if name == "rita" else "annotator"
        accounts.set_member(store, project=SLUG, username=name, role=role)
    for j, name in enumerate(ANNOTATORS):
        context = browser.new_context()
        request = context.request
        login = request.post(
            f"{live_server.url}/api/auth/login", data={"username": name, "password": PASSWORD}
        )
        assert login.ok, login.text()
        headers = {"X-CSRF-Token": login.json()["csrf_token"]}
        for _ in ANSWERS:  # sequential queue: the ten annotated records come first
            record = request.get(f"{live_server.url}/api/projects/{SLUG}/queue/next").json()
            answer = ANSWERS[record["external_id"]][j]
            posted = request.post(
                f"{live_server.url}/api/projects/{SLUG}/records/{record['id']}/annotations",
                data={"answer": "accept", "value": {"label": answer}, "duration_ms": 1500 + j},
                headers=headers,
            )
            assert posted.ok, posted.text()
        context.close()
    return SLUG


def _current(session: Session) -> str:
    """The external id of the record the reviewer is on."""
    return session.page.locator(".queue-item.current .ext").inner_text()


def _wait_for_queue(session: Session, open_items: int) -> None:
    session.page.wait_for_function(
        """n => document.querySelectorAll('.queue-item:not(.resolved)').length === n
           && !document.getElementById('review-page').classList.contains('busy')""",
        arg=open_items,
    )


def test_reviewer_resolves_ten_disagreements_and_the_export_carries_them(
    session: Session, live_server: LiveServer, review_project: str, tmp_path: Path
) -> None:
    session.login("rita")
    page = session.page
    session.goto(f"/projects/{review_project}")
    page.click("#review-link")
    page.wait_for_url(f"{session.url}/projects/{review_project}/review")
    _wait_for_queue(session, 10)
    assert page.inner_text("#queue-count") == "10"
    # Three-way disagreements come first; every answer is shown with who gave it.
    assert _current(session) in ("r2", "r9")
    first = page.locator(".queue-item.current .answers-table tbody tr")
    assert first.count() == 3
    assert [first.nth(i).locator("td").nth(1).inner_text() for i in range(3)] == list(ANNOTATORS)

    for remaining in range(10, 0, -1):
        _wait_for_queue(session, remaining)
        rid = _current(session)
        card = page.locator(".queue-item.current")
        if rid == "r2":  # edit with the keyboard: e, the label key, a note, Ctrl+Enter
            page.keyboard.press("e")
            page.keyboard.press("4")
            assert "your edit" in card.locator(".choice-status").inner_text()
            page.keyboard.press("n")
            page.keyboard.type(NOTE)
            page.keyboard.press("Control+Enter")
        elif rid == "r3":  # edit with the mouse
            card.locator(".edit-label button[data-label=neutral]").click()
            card.locator(".save-gold").click()
        elif rid == "r9":  # pick carol's answer with the mouse
            card.locator("button[data-pick='3']").click()
            assert card.locator("button[data-pick='3']").get_attribute("aria-pressed") == "true"
            card.locator(".save-gold").click()
        else:  # pick with a number key, save with Enter
            key = str(ANSWERS[rid].index(FIRST[rid]) + 1)
            page.keyboard.press(key)
            assert card.locator("tr.picked td").nth(1).inner_text() == ANNOTATORS[int(key) - 1]
            page.keyboard.press("Enter")
    page.locator("#queue-empty").wait_for()
    assert page.inner_text("#queue-count") == "0"

    # Re-decide r0 among the resolved records: a second gold version; both are listed.
    page.check("#show-resolved")
    _wait_for_queue(session, 0)
    page.wait_for_function("() => document.querySelectorAll('.queue-item.resolved').length === 10")
    while _current(session) != "r0":
        page.keyboard.press("j")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    versions = page.locator(".queue-item:has(.ext:text-is('r0')) details.versions")
    versions.filter(has_text="Gold versions (2)").wait_for()
    assert versions.locator("li").count() == 2

    # After a reload the full history is still there: it comes from the server, not the visit.
    session.goto(f"/projects/{review_project}/review")
    page.locator("#queue-empty").wait_for()
    page.check("#show-resolved")
    page.wait_for_function("() => document.querySelectorAll('.queue-item.resolved').length === 10")
    history = page.locator(".queue-item:has(.ext:text-is('r0')) details.versions")
    assert "Gold versions (2), oldest first" in history.locator("summary").inner_text()
    entries = history.locator("li")
    assert entries.count() == 2
    older, newer = entries.nth(0).inner_text(), entries.nth(1).inner_text()
    assert "negative" in older and "by rita" in older and "current" not in older
    assert "positive" in newer and "current" in newer
    assert history.locator("li.current").count() == 1
    assert "positive" in history.locator("li.current").inner_text()
    r2 = page.locator(".queue-item:has(.ext:text-is('r2')) details.versions li")
    assert r2.count() == 1 and NOTE in r2.inner_text()

    # The agreement and annotator tabs render what the API reports.
    page.click("#tab-agreement")
    page.locator("#agreement-pairs .heatmap").wait_for()
    assert page.locator("#agreement-pairs td.heat").count() == 6  # 3 x 3 without the diagonal
    assert page.locator("#agreement-overall tbody tr").count() == 4
    page.click("#tab-annotators")
    page.locator("#annotator-stats tbody tr").first.wait_for()
    rows = page.locator("#annotator-stats tbody tr")
    assert rows.count() == 3
    carol = page.locator("#annotator-stats tr[data-annotator=carol] td").nth(6).inner_text()
    assert carol.startswith("60%") and "6/10" in carol  # agreement with gold
    assert page.evaluate("window.__pwned") is None

    # The export: final labels, every gold version with method and reviewer, every answer,
    # and each annotator's agreement with the final labels.
    out = tmp_path / "review.jsonl"
    report = export_project(live_server.store, project=review_project, format="jsonl", out=out)
    records = {
        r["id"]: r for r in (json.loads(line) for line in out.read_text("utf-8").splitlines())
    }
    assert {rid: records[rid]["gold"]["label"] for rid in ANSWERS} == FINAL
    for rid in ANSWERS:
        info = records[rid]["gold_info"]
        assert (info["method"], info["reviewer"]) == ("adjudicated", "rita")
        given = {a["source"]["name"]: a["value"]["label"] for a in records[rid]["annotations"]}
        assert given == dict(zip(ANNOTATORS, ANSWERS[rid], strict=True))
        assert {
            a["source"]["name"]: a["agrees_with_gold"] for a in records[rid]["annotations"]
        } == {name: label == FINAL[rid] for name, label in given.items()}
    assert records["r2"]["gold_info"]["note"] == NOTE
    assert [(v["value"]["label"], v["reviewer"]) for v in records["r0"]["gold_versions"]] == [
        ("negative", "rita"),
        ("positive", "rita"),
    ]
    assert records["r0"]["gold_info"]["versions"] == 2
    assert records["extra0"]["gold"] is None and records["extra0"]["annotations"] == []
    summary = json.loads(Path(f"{out}.annotators.json").read_text("utf-8"))
    agreement = {a["name"]: (a["compared"], a["agreed"]) for a in summary["annotators"]}
    expected = {
        name: (10, sum(ANSWERS[rid][j] == FINAL[rid] for rid in ANSWERS))
        for j, name in enumerate(ANNOTATORS)
    }
    assert agreement == expected == {"alice": (10, 4), "bob": (10, 2), "carol": (10, 6)}
    assert report.gold_records == 10


def test_annotators_cannot_open_the_review_page(session: Session, review_project: str) -> None:
    session.login("alice")
    response = session.goto(f"/projects/{review_project}/review")
    assert response.status == 403
    assert "Only reviewers can review" in session.page.inner_text("main")
    session.goto(f"/projects/{review_project}")
    session.page.locator("#counts .stat").first.wait_for()
    assert session.page.locator("#review-link").count() == 0


def test_record_markup_in_the_review_queue_stays_text(
    session: Session, live_server: LiveServer
) -> None:
    store = live_server.store
    create_project(store, spec={"slug": "review-xss", "task": "multilabel", "labels": ["a", "b"]})
    answers = [
        {"source": {"kind": "human", "name": name}, "value": labels}
        for name, labels in (("alice", ["a"]), ("bob", ["a", "b"]))
    ]
    import_rows(store, project="review-xss", rows=[{"text": XSS, "annotations": answers}])
    session.login("admin")
    page = session.page
    session.goto("/projects/review-xss/review")
    text = page.locator(".queue-item .review-text")
    text.wait_for()
    assert text.inner_text() == XSS
    assert page.locator(".queue-item img, .queue-item b:text('bold')").count() == 0
    assert page.evaluate("window.__pwned") is None
    # multilabel: the reviewer edits with checkboxes
    page.locator(".label-checks input[data-label=b]").check()
    assert "your edit" in page.locator(".choice-status").inner_text()
    page.keyboard.press("Enter")
    page.locator("#queue-empty").wait_for()


def test_spot_checks_from_the_review_page(session: Session, review_project: str) -> None:
    session.login("rita")
    page = session.page
    session.goto(f"/projects/{review_project}/review#spot-checks")
    page.fill("#sample-form input[name=share]", "0.1")  # one of each annotator's ten answers
    page.click("#sample-form button[type=submit]")
    checks = page.locator("#spot-open .spot-check")
    page.wait_for_function("() => document.querySelectorAll('#spot-open .spot-check').length === 3")
    first = checks.first
    annotator = first.locator("b").inner_text()
    first.locator("input").fill("misread the tone")
    first.locator(".wrong-button").click()
    page.wait_for_function("() => document.querySelectorAll('#spot-open .spot-check').length === 2")
    row = page.locator(f"#spot-summary tr[data-annotator={annotator}] td")
    assert [row.nth(i).inner_text() for i in (1, 2, 3, 4)] == ["0", "1", "1", "100%"]
    assert row.nth(5).inner_text().endswith("100%")  # Wilson interval of 1 wrong in 1
    assert "misread the tone" in page.inner_text("#spot-done")
    data = session.api(f"/api/projects/{review_project}/review/spot-checks")
    decided = [c for c in data["checks"] if c["correct"] is not None]
    assert [(c["annotator"], c["correct"], c["note"]) for c in decided] == [
        (annotator, False, "misread the tone")
    ]


def test_settings_page_sets_the_review_rules_and_lists_every_strategy(
    session: Session, live_server: LiveServer
) -> None:
    from typing import get_args

    from labelkitchen.schema import ProjectSettings

    create_project(
        live_server.store,
        spec={"slug": "review-settings", "task": "classify", "labels": ["a", "b"]},
    )
    session.login("admin")
    page = session.page
    session.goto("/projects/review-settings/settings")
    options = page.locator("select[name=queue_strategy] option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert options == list(get_args(ProjectSettings.model_fields["queue_strategy"].annotation))
    form = page.locator("#review-form")
    assert form.locator("[name=spot_check_share]").input_value() == "0.05"
    form.locator("[name=consensus_rule]").select_option("unanimous")
    form.locator("[name=consensus_min_answers]").fill("3")
    form.locator("[name=spot_check_share]").fill("0.2")
    form.locator("button[type=submit]").click()
    form.locator(".form-status").filter(has_text="Saved").wait_for()
    settings = session.api("/api/projects/review-settings")["settings"]
    assert (
        settings["consensus_rule"],
        settings["consensus_min_answers"],
        settings["spot_check_share"],
        settings["consensus_threshold"],
    ) == ("unanimous", 3, 0.2, 0.66)
    session.goto("/projects/review-settings/review#spot-checks")
    assert page.locator("#sample-form input[name=share]").input_value() == "0.2"


def test_reviewer_edits_spans_with_the_span_editor(
    session: Session, live_server: LiveServer
) -> None:
    text = "Barack Obama visited New York."
    person, place = {"start": 0, "end": 12, "label": "PER"}, {"start": 21, "end": 29}
    create_project(
        live_server.store,
        spec={"slug": "review-spans", "task": "spans", "labels": ["PER", "LOC", "ORG"]},
    )
    answers = [
        {
            "source": {"kind": "human", "name": name},
            "value": {"spans": [person, place | {"label": label}]},
        }
        for name, label in (("alice", "LOC"), ("bob", "ORG"))
    ]
    import_rows(
        live_server.store, project="review-spans", rows=[{"text": text, "annotations": answers}]
    )
    session.login("admin")
    page = session.page
    session.goto("/projects/review-spans/review")
    card = page.locator(".queue-item.current")
    card.wait_for()
    assert "“New York”" in card.locator(".answers-table").inner_text()
    page.keyboard.press("1")  # alice's answer, then edit it: drop the person
    page.keyboard.press("e")
    page.locator("#span-dialog .span-pane").wait_for()
    assert "Pre-filled with 2 spans" in page.inner_text("#span-controls")
    page.keyboard.press("Tab")  # picks the first span
    page.keyboard.press("Delete")
    page.keyboard.press("Enter")  # keep these spans: the dialog closes
    page.locator("#span-dialog").wait_for(state="hidden")
    status = card.locator(".choice-status").inner_text()
    assert "your edit" in status and "Barack" not in status
    page.keyboard.press("Enter")
    page.locator("#queue-empty").wait_for()
    with live_server.store.read() as conn:
        gold = conn.execute(
            select(t.gold.c.value, t.gold.c.method)
            .where(t.gold.c.superseded_by.is_(None))
            .join(t.projects, t.projects.c.id == t.gold.c.project_id)
            .where(t.projects.c.slug == "review-spans")
        ).one()
    assert (gold.value, gold.method) == ({"spans": [place | {"label": "LOC"}]}, "adjudicated")


def test_suspected_label_errors_tab_shows_the_queue_and_takes_a_suggestion(
    session: Session, live_server: LiveServer
) -> None:
    from labelkitchen.services.label_errors import compute_suspected_errors

    lines = shared_data("sms_spam", "SMSSpamCollection").read_text("utf-8").splitlines()[:200]
    flipped = {3, 17, 42, 88, 150}
    rows = []
    for i, line in enumerate(lines):
        label, text = line.split("\t", 1)
        if i in flipped:
            label = "spam" if label == "ham" else "ham"
        rows.append({"id": f"sms{i}", "text": text, "gold": label})
    store = live_server.store
    create_project(
        store, spec={"slug": "review-suspects", "task": "classify", "labels": ["ham", "spam"]}
    )
    import_rows(store, project="review-suspects", rows=rows)
    compute_suspected_errors(store, project="review-suspects")
    session.login("admin")
    page = session.page
    session.goto("/projects/review-suspects/review#suspected")
    table = page.locator("#suspected .suspected-table tbody tr")
    table.first.wait_for()
    assert "Computed" in page.inner_text("#suspected [role=status]")
    shown = table.locator(".ext").all_inner_texts()
    assert {f"sms{i}" for i in flipped} & set(shown[:20])  # flipped labels near the top
    first = table.first
    record_id = int(first.get_attribute("data-record-id") or 0)
    suggested = first.locator("td").nth(4).inner_text().strip()
    first.locator("button", has_text="Take suggested").click()
    page.locator(f"#suspected tr.inactive[data-record-id='{record_id}']").wait_for()
    with store.read() as conn:
        gold = conn.execute(
            select(t.gold.c.value, t.gold.c.method, t.gold.c.note).where(
                t.gold.c.record_id == record_id, t.gold.c.superseded_by.is_(None)
            )
        ).one()
    assert (gold.value, gold.method) == ({"label": suggested}, "reviewed")
    assert "suspected label error" in gold.note
