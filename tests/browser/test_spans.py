"""The span editor: token snapping, code-point offsets, undo, overlap rules, a 100k record."""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Any

import pytest
from tests.browser.conftest import EMOJI_TEXT, LiveServer, Session

from labelkitchen.schema import tokenize

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

IMPORT_TEXT = "const text = import('/static/text.js');"
TAGS = "() => document.querySelectorAll('#record-text .tag').length"


def _tokens(text: str, phrase: str) -> tuple[int, int]:
    """Indices of the first and last token of ``phrase`` in ``text``."""
    start = text.index(phrase)
    spans = tokenize(text)
    first = next(i for i, (s, _) in enumerate(spans) if s == start)
    last = next(i for i, (_, e) in enumerate(spans) if e == start + len(phrase))
    return first, last


def _span(text: str, phrase: str, label: str) -> dict[str, object]:
    start = text.index(phrase)  # Python str offsets: code points
    return {"start": start, "end": start + len(phrase), "label": label}


def _tag_count(session: Session, n: int) -> None:
    session.page.wait_for_function(f"() => ({TAGS})() === {n}")


def _open_spans(session: Session, project: str) -> None:
    session.login("annotator")
    session.goto(f"/projects/{project}/annotate")
    session.page.locator("#record-text .tok").first.wait_for()


def _token(session: Session, index: int) -> Any:  # a Playwright locator
    return session.page.locator(f'#record-text .tok[data-i="{index}"]')


def test_js_tokenizer_matches_the_server(session: Session) -> None:
    session.goto("/login")
    texts = [
        EMOJI_TEXT,
        "e\u0301t\u00e9 na\u00efve \u00bd\u00b2 x_y 3.14 \u4e2d\u6587\u5b57 \U0001d400\U0001d401!",
        "tab\tnew\nline\x1c\x1f\x85\u00a0\u2028\ufeff end",
        "\U0001f469\u200d\U0001f4bb and \U0001f1e9\U0001f1ea, \u0663\u0664 \u2167",
        "",
    ]
    got = session.page.evaluate(
        """async (texts) => {
          const { tokenize } = await import('/static/text.js');
          return texts.map((t) => { const k = tokenize(t);
            return Array.from(k.cpStart, (s, i) => [s, k.cpEnd[i]]); });
        }""",
        texts,
    )
    assert got == [[list(span) for span in tokenize(text)] for text in texts]


def test_js_character_classes_match_python_for_every_assigned_character(
    session: Session,
) -> None:
    session.goto("/login")
    js = session.page.evaluate(
        """async () => {
          const { WORD_CHAR, SPACE_CHAR } = await import('/static/text.js');
          const out = [];
          for (let c = 0; c <= 0x10ffff; c++) {
            if (c >= 0xd800 && c <= 0xdfff) { out.push('-'); continue; }
            const ch = String.fromCodePoint(c);
            out.push(WORD_CHAR.test(ch) ? 'w' : SPACE_CHAR.test(ch) ? 's' : 'p');
          }
          return out.join('');
        }"""
    )
    word = re.compile(r"\w")
    differ = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) in ("Cn", "Cs"):  # unassigned in Python's Unicode
            continue
        python = "w" if word.match(char) else "s" if char.isspace() else "p"
        if python != js[code]:
            differ.append(f"U+{code:04X} {unicodedata.name(char, '?')}: {python} vs {js[code]}")
    assert differ == []


def test_label_5_spans_undo_one_and_offsets_are_code_points(
    session: Session, live_server: LiveServer
) -> None:
    _open_spans(session, "ner")
    page = session.page
    record = int(page.get_attribute("#record", "data-record-id") or 0)
    text = EMOJI_TEXT
    assert page.inner_text("#record-text") == text

    # 1. Mouse: drag over "Cafe\u0301 crème" (a combining accent inside), ORG.
    first, last = _tokens(text, "Cafe\u0301 crème")
    _token(session, first).hover()
    page.mouse.down()
    _token(session, last).hover()
    page.mouse.up()
    page.keyboard.press("3")
    _tag_count(session, 1)
    # 2. Click, then Shift+arrows extend: "Marie Curie", PER.
    first, last = _tokens(text, "Marie Curie")
    _token(session, first).click()
    for _ in range(last - first):
        page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("1")
    _tag_count(session, 2)
    # 3. Keyboard alone from the end of the last span: "Albert Einstein", PER.
    first, last = _tokens(text, "Albert Einstein")
    curie_end = _tokens(text, "Marie Curie")[1]
    for _ in range(first - curie_end):
        page.keyboard.press("ArrowRight")
    for _ in range(last - first):
        page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("1")
    _tag_count(session, 3)
    # 4 and 5. Click a word, press a label: "Paris" and "Zürich", LOC.
    for phrase in ("Paris", "Zürich"):
        _token(session, _tokens(text, phrase)[0]).click()
        page.keyboard.press("2")
    _tag_count(session, 5)
    page.keyboard.press("Control+z")  # undo the last span
    _tag_count(session, 4)
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => document.getElementById('record').dataset.recordId !== '{record}'"
    )

    expected = [
        _span(text, "Cafe\u0301 crème", "ORG"),
        _span(text, "Marie Curie", "PER"),
        _span(text, "Albert Einstein", "PER"),
        _span(text, "Paris", "LOC"),
    ]
    rows = live_server.annotations(project="ner", username="annotator")
    assert [(r.record_id, r.value) for r in rows] == [(record, {"spans": expected})]
    assert expected[1]["start"] == len("🎉👍🏽 Ça va? Cafe\u0301 crème… ")  # 2 code points per 👍🏽
    assert [text[s["start"] : s["end"]] for s in expected][-1] == "Paris"
    via_api = session.api(f"/api/projects/ner/records/{record}")["annotations"]
    assert via_api[-1]["value"] == {"spans": expected}

    # Undo the answer: the record comes back with its spans; pick one, delete it, relabel one.
    page.keyboard.press("u")
    page.wait_for_function(
        f"() => document.getElementById('record').dataset.recordId === '{record}'"
    )
    _tag_count(session, 4)
    _token(session, _tokens(text, "Paris")[0]).click()  # a click on a span picks it
    page.keyboard.press("Delete")
    _tag_count(session, 3)
    _token(session, _tokens(text, "Albert Einstein")[0]).click()
    page.keyboard.press("3")  # relabel the picked span
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => document.getElementById('record').dataset.recordId !== '{record}'"
    )
    rows = live_server.annotations(project="ner", username="annotator")
    assert [r.value for r in rows if r.record_id == record] == [
        {"spans": [expected[0], expected[1], {**expected[2], "label": "ORG"}]}
    ]


def test_overlapping_spans_are_refused_where_the_project_forbids_them(
    session: Session, live_server: LiveServer
) -> None:
    _open_spans(session, "overlap")
    page = session.page
    text = "Barack Obama visited New York."
    _token(session, _tokens(text, "Barack Obama")[0]).click()
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("1")
    _tag_count(session, 1)
    obama, visited = _tokens(text, "Obama visited")
    _token(session, visited).hover()
    page.mouse.down()
    _token(session, obama).hover()  # drag backwards, over the existing span
    page.mouse.up()
    page.keyboard.press("2")
    page.locator(".toast-error").wait_for()
    assert "overlap" in page.inner_text(".toast-error")
    _tag_count(session, 1)
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")  # pick the first span by keyboard, and delete it
    page.keyboard.press("Delete")
    _tag_count(session, 0)
    page.keyboard.press("Control+z")  # the deletion is undone
    _tag_count(session, 1)
    page.keyboard.press("Enter")
    page.locator("#nothing-left").wait_for()
    (row,) = live_server.annotations(project="overlap", username="annotator")
    assert row.value == {"spans": [_span(text, "Barack Obama", "PER")]}


def test_a_100k_record_with_2000_spans_stays_responsive(
    session: Session, live_server: LiveServer
) -> None:
    _open_spans(session, "big")
    page = session.page
    stats = page.evaluate("() => window.labelkitchen.editorStats()")
    assert stats["spans"] == 2000 and stats["tokens"] > 15_000
    assert stats["live"] < stats["blocks"] / 4  # only the visible part is in the DOM
    assert page.locator("#record-text .tok").count() < 3_000
    timing = page.evaluate(
        """() => {
          const t0 = performance.now();
          for (let i = 0; i < 40; i++) {
            document.dispatchEvent(new KeyboardEvent(
              'keydown', {key: 'ArrowRight', shiftKey: i > 0, bubbles: true}));
          }
          return (performance.now() - t0) / 40;
        }"""
    )
    assert timing < 25, f"{timing:.1f} ms per key"
    page.keyboard.press("Escape")
    page.evaluate(
        "() => { const p = document.getElementById('record-text'); p.scrollTop = p.scrollHeight; }"
    )
    last = stats["tokens"] - 1
    _token(session, last).wait_for()  # the end of the text renders when scrolled to
    assert page.locator("#record-text .tok").count() < 3_000
    _token(session, last).click()  # the final full stop
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.locator("#nothing-left").wait_for(timeout=15_000)
    (row,) = live_server.annotations(project="big", username="annotator")
    text = session.api(f"/api/projects/big/records/{row.record_id}")["text"]
    assert len(row.value["spans"]) == 2001
    assert row.value["spans"][-1] == {"start": len(text) - 1, "end": len(text), "label": "LOC"}
