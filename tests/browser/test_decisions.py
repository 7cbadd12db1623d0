"""The "My resolved disagreements" page in a real browser: an annotator sees how the records they
disagreed on were decided (their answer, the final label, the reviewer's note, how the answers
split) without learning who else answered; viewers and outsiders are turned away; the project
header shows the Review and My decisions tabs to the roles that may use them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tests.browser.conftest import PASSWORD, XSS_TEXTS, LiveServer, Session

from labelkitchen.services import accounts, review
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.store import tables as t

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SLUG = "decisions-demo"
ME, OTHERS, REVIEWER = "dana", ("zebedee", "quillon"), "rex"
NOTE = "Sarcasm: the praise is ironic, so the record is negative"
XSS = XSS_TEXTS[1]
# external id -> (dana, zebedee, quillon), and the final label the reviewer decides
ANSWERS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "d0": (("positive", "negative", "negative"), "negative"),  # dana overruled, with a note
    "d1": (("negative", "positive", "negative"), "negative"),  # dana's answer stands
    "d2": (("positive", "positive", "positive"), "positive"),  # no disagreement: not listed
    "d3": (("positive", "negative"), "positive"),  # markup in the text
    "d4": (("negative", "positive", "positive"), None),  # undecided: not listed
}


@pytest.fixture(scope="module")
def decisions_project(live_server: LiveServer) -> str:
    store = live_server.store
    create_project(
        store, spec={"slug": SLUG, "task": "classify", "labels": ["positive", "negative"]}
    )
    rows = [
        {
            "id": rid,
            "text": XSS if rid == "d3" else f"Decision record {rid}: what a lovely wait.",
            "annotations": [
                {"source": {"kind": "human", "name": name}, "value": label}
                for name, label in zip((ME, *OTHERS), answers, strict=False)
            ],
        }
        for rid, (answers, _) in ANSWERS.items()
    ]
    import_rows(store, project=SLUG, rows=rows)
    users = {}
    for name, role in (
        (ME, "annotator"),
        *((o, "annotator") for o in OTHERS),
        (REVIEWER, "reviewer"),
    ):
        users[name] = accounts.create_user(store, username=name, password=PASSWORD)
        accounts.set_member(store, project=SLUG, username=name, role=role)
    accounts.set_member(store, project=SLUG, username="viewer", role="viewer")
    access = review.local_access(store, project=SLUG)
    with store.read() as conn:
        ids = dict(
            conn.execute(
                select(t.records.c.external_id, t.records.c.id).where(
                    t.records.c.project_id == access.project.id
                )
            ).all()
        )
    for rid, (_, final) in ANSWERS.items():
        if final is not None:
            note = NOTE if rid == "d0" else None
            review.set_gold(
                store,
                access=access,
                user=users[REVIEWER],
                record_id=ids[rid],
                value=final,
                note=note,
            )
    return SLUG


def _card(session: Session, external_id: str) -> Any:
    return session.page.locator(f".decision:has(.ext:text-is('{external_id}'))")


def test_annotator_sees_the_final_label_and_the_note_but_no_names(
    session: Session, decisions_project: str
) -> None:
    session.login(ME)
    page = session.page
    session.goto(f"/projects/{decisions_project}")
    page.click("#decisions-link")
    page.wait_for_url(f"{session.url}/projects/{decisions_project}/decisions")
    page.locator(".decision").first.wait_for()
    assert sorted(page.locator(".decision .ext").all_inner_texts()) == ["d0", "d1", "d3"]

    overruled = _card(session, "d0")
    assert "overruled" in (overruled.get_attribute("class") or "")
    assert overruled.locator(".side.mine .chip").all_inner_texts() == ["positive"]
    assert overruled.locator(".side.final .chip").all_inner_texts() == ["negative"]
    assert overruled.locator(".note-text").inner_text() == NOTE
    assert "decided by a reviewer" in overruled.locator(".how").inner_text()
    assert REVIEWER in overruled.locator(".how").inner_text()
    split = overruled.locator(".answer-split li").all_inner_texts()
    assert [" ".join(s.split()) for s in split] == ["negative \u00d7 2", "positive \u00d7 1"]
    stands = _card(session, "d1")
    assert "agreed" in (stands.get_attribute("class") or "")
    assert stands.locator(".verdict").inner_text() == "your answer stands"

    # Record text is text: the markup shows as written and runs nothing.
    assert _card(session, "d3").locator(".review-text").inner_text() == XSS
    assert page.locator(".decision img").count() == 0
    assert page.evaluate("window.__pwned") is None
    # The other annotators stay anonymous, in the page and in what it fetched.
    html = page.content()
    data = str(session.api(f"/api/projects/{decisions_project}/review/mine"))
    for name in OTHERS:
        assert name not in html and name not in data

    page.check("#only-overruled")
    page.wait_for_function("() => document.querySelectorAll('.decision').length === 1")
    assert page.locator(".decision .ext").inner_text() == "d0"

    # The annotation screen links here too.
    session.goto(f"/projects/{decisions_project}/annotate")
    page.click("#decisions-link")
    page.wait_for_url(f"{session.url}/projects/{decisions_project}/decisions")


@pytest.mark.parametrize(("username", "status"), [("viewer", 403), ("annotator", 404)])
def test_viewers_and_outsiders_are_denied(
    session: Session, decisions_project: str, username: str, status: int
) -> None:
    session.login(username)
    response = session.goto(f"/projects/{decisions_project}/decisions")
    assert response.status == status
    expected = "Only annotators" if status == 403 else "Project not found"
    assert expected in session.page.inner_text("main")
    assert session.page.locator(".decision").count() == 0


def test_a_reviewer_without_answers_sees_an_empty_page(
    session: Session, decisions_project: str
) -> None:
    session.login(REVIEWER)
    session.goto(f"/projects/{decisions_project}/decisions")
    session.page.locator("#decisions-empty").filter(has_text="Nothing resolved yet").wait_for()


@pytest.mark.parametrize(
    ("username", "tabs"),
    [
        (ME, ["Overview", "Annotate", "Data", "My decisions"]),
        (REVIEWER, ["Overview", "Annotate", "Data", "Review", "My decisions"]),
        ("viewer", ["Overview", "Annotate", "Data"]),
        ("admin", ["Overview", "Annotate", "Data", "Review", "Settings"]),
    ],
)
def test_project_tabs_follow_the_role(
    session: Session, decisions_project: str, username: str, tabs: list[str]
) -> None:
    session.login(username)
    page = session.page
    for path in ("", "/data"):  # the header is the same on every project page
        session.goto(f"/projects/{decisions_project}{path}")
        assert page.locator(".project-head .tabs a").all_inner_texts() == tabs
    if "Review" in tabs:
        page.click(".project-head .tabs a[data-tab=review]")
        page.wait_for_url(f"{session.url}/projects/{decisions_project}/review")
        page.locator("#queue").wait_for()
        assert page.get_attribute(".tabs a[data-tab=review]", "aria-current") == "page"
