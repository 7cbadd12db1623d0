"""The annotation screens in a real browser: keyboard-only classify, answers, undo, viewers, XSS."""

from __future__ import annotations

import pytest
from tests.browser.conftest import SPAM_RECORDS, XSS_TEXTS, LiveServer, Session

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# The next record is on screen and the page is ready for a key.
READY = """prev => {
  const card = document.getElementById('record');
  const page = document.getElementById('annotate-page');
  return card.dataset.recordId !== undefined && card.dataset.recordId !== prev
    && !page.classList.contains('busy');
}"""


def _wait_for_next(session: Session, previous: str | None) -> str:
    session.page.wait_for_function(READY, arg=previous or "")
    return session.page.get_attribute("#record", "data-record-id") or ""


def test_annotate_20_classify_records_with_the_keyboard(
    session: Session, live_server: LiveServer
) -> None:
    session.login("annotator")
    session.goto("/projects/spam/annotate")
    expected: dict[int, str] = {}
    shown = None
    for _ in range(20):
        shown = _wait_for_next(session, shown)
        number = int(session.page.inner_text("#record-text").split()[-1])
        if number % 4 == 0:  # imported suggestion "ham": Enter accepts it
            assert session.page.locator(".suggestion.first").inner_text().startswith("ham")
            session.page.keyboard.press("Enter")
            expected[int(shown)] = "ham"
        else:
            key, label = ("1", "spam") if number % 3 else ("2", "ham")
            session.page.keyboard.press(key)
            expected[int(shown)] = label
    _wait_for_next(session, shown)

    rows = live_server.annotations(project="spam", username="annotator")
    assert {row.record_id: row.value["label"] for row in rows} == expected
    assert all(row.answer == "accept" and row.duration_ms > 0 for row in rows)
    history = session.api("/api/projects/spam/history?limit=50")
    assert len(history) == 20
    assert session.api("/api/projects/spam/progress")["done"] == 20
    session.page.wait_for_function(
        "() => document.getElementById('progress-text').textContent.startsWith('20 done')"
    )
    open_slots = session.api("/api/projects/spam/progress")["open_slots"]
    assert open_slots == SPAM_RECORDS - 21  # the 21st record is on screen, reserved for me


def test_skip_flag_undo_and_nothing_left(session: Session, live_server: LiveServer) -> None:
    session.login("annotator")
    page = session.page
    session.goto("/projects/triage/annotate")
    first = _wait_for_next(session, None)
    page.keyboard.press(" ")  # skip
    second = _wait_for_next(session, first)
    page.keyboard.press("f")
    page.locator("#flag-reason").fill("two labels fit")
    page.locator("#flag-label").select_option("spam")
    page.keyboard.press("Enter")
    third = _wait_for_next(session, second)
    page.keyboard.press("2")
    page.locator("#nothing-left").wait_for()
    assert page.get_attribute("#record", "data-record-id") == ""

    page.keyboard.press("u")  # the last answer comes back, marked as mine
    assert _wait_for_next(session, "") == third
    assert "Your earlier answer" in page.inner_text("#editor-controls")
    page.keyboard.press("1")  # answering again replaces the old answer
    page.locator("#nothing-left").wait_for()
    page.keyboard.press("Control+z")
    assert _wait_for_next(session, "") == third
    page.keyboard.press("Enter")  # no suggestion: Enter repeats the earlier answer
    page.locator("#nothing-left").wait_for()

    rows = {r.record_id: r for r in live_server.annotations(project="triage", username="annotator")}
    assert len(rows) == 3
    assert rows[int(first)].answer == "skip"
    assert rows[int(second)].answer == "flag"
    assert rows[int(second)].flag_reason == "two labels fit"
    assert rows[int(second)].value == {"label": "spam"}
    assert rows[int(third)].answer == "accept" and rows[int(third)].value == {"label": "spam"}


def test_multilabel_toggles_help_and_flag_with_a_reason(
    session: Session, live_server: LiveServer
) -> None:
    session.login("annotator")
    page = session.page
    session.goto("/projects/topics/annotate")
    record = _wait_for_next(session, None)
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    assert "Keyboard shortcuts" in page.inner_text("#help")
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()
    page.keyboard.press("1")
    page.keyboard.press("3")
    assert page.locator(".label-button.on").count() == 2
    page.keyboard.press("f")
    page.locator("#flag-reason").fill("is praise a topic?")
    page.keyboard.press("Enter")
    page.locator("#nothing-left").wait_for()
    (row,) = live_server.annotations(project="topics", username="annotator")
    assert row.record_id == int(record)
    assert row.answer == "flag" and row.flag_reason == "is praise a topic?"
    assert row.value == {"labels": ["billing", "praise"]}


def test_viewer_cannot_annotate(session: Session, live_server: LiveServer) -> None:
    session.login("viewer")
    page = session.page
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    session.goto("/projects/spam/annotate")
    assert "can't annotate" in page.inner_text("#cannot-annotate")
    assert page.locator("#record").count() == 0
    assert page.locator(".label-button").count() == 0
    for key in ("1", "Enter", " ", "u"):
        page.keyboard.press(key)
    page.wait_for_timeout(200)
    assert posts == []
    assert live_server.annotations(project="spam", username="viewer") == []


def test_record_html_shows_as_text_and_runs_nothing(session: Session) -> None:
    session.login("annotator")
    page = session.page
    session.goto("/projects/xss/annotate")
    shown = None
    for text in XSS_TEXTS:
        shown = _wait_for_next(session, shown)
        assert page.inner_text("#record-text") == text
        assert page.locator("#record-text script, #record-text img").count() == 0
        assert page.evaluate("() => window.__pwned") is None
        page.keyboard.press("2")
    page.locator("#nothing-left").wait_for()

    session.goto("/projects/xss/data")
    page.locator("tr.clickable").first.wait_for()
    cells = page.locator(".record-link").all_inner_texts()
    assert sorted(cells) == sorted(XSS_TEXTS)
    page.locator(".record-link").first.click()
    page.locator("#record-text").wait_for()
    assert page.inner_text("#record-text") in XSS_TEXTS
    assert page.locator("main script, main img").count() == 0
    assert page.evaluate("() => window.__pwned") is None
