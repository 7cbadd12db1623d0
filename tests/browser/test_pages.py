"""The other pages in a real browser: login, access, projects, overview, data, settings, users."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.browser.conftest import PASSWORD, SPAM_RECORDS, LiveServer, Session

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PAGES = [
    "/",
    "/projects/spam",
    "/projects/spam/annotate",
    "/projects/ner/annotate",
    "/projects/spam/data",
    "/projects/spam/records/1",
    "/projects/spam/settings",
    "/projects/spam/review",
    "/projects/ner/review",
    "/projects/spam/decisions",
    "/admin/users",
]


def test_log_in(session: Session) -> None:
    page = session.page
    session.goto("/projects/spam")
    assert "/login" in page.url  # not logged in: sent to the login page
    page.fill("#username", "annotator")
    page.fill("#password", "not the password")
    page.click("#login-form button[type=submit]")
    page.locator("#login-error").filter(has_text="wrong username or password").wait_for()
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{session.url}/projects/spam")
    assert page.inner_text(".topbar .who") == "annotator"
    page.click("#logout")
    page.wait_for_url(f"{session.url}/login")


def test_annotator_cannot_open_another_project(session: Session) -> None:
    session.login("annotator")
    page = session.page
    for path in ("/projects/other", "/projects/other/annotate", "/projects/other/data"):
        response = session.goto(path)
        assert response.status == 404
        assert "Project not found" in page.inner_text("main")
    assert session.goto("/projects/spam/settings").status == 403
    session.goto("/")
    page.locator(".project-card").first.wait_for()
    slugs = page.locator(".project-card").evaluate_all("cards => cards.map(c => c.dataset.slug)")
    assert "other" not in slugs and "spam" in slugs


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_cleanly(session: Session, path: str) -> None:
    """No JavaScript error, no CSP violation, no failed request on any page."""
    session.login("admin")
    failed: list[str] = []
    session.page.on("requestfailed", lambda request: failed.append(request.url))
    session.page.on(
        "response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    response = session.goto(path)
    assert response.status == 200
    session.page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")
    session.page.wait_for_timeout(100)  # let late requests (progress, splits) finish
    assert session.console == [] and failed == []
    shots = os.environ.get("LABELKITCHEN_SCREENSHOTS")
    if shots:
        name = path.strip("/").replace("/", "_") or "projects"
        session.page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def test_create_a_project(session: Session) -> None:
    session.login("annotator")
    page = session.page
    session.goto("/")
    page.click("#new-project-toggle")
    page.fill("#new-project [name=slug]", "made-in-browser")
    page.fill("#new-project [name=name]", "Made in the browser")
    page.select_option("#new-project [name=task]", "multilabel")
    page.fill("#new-project [name=labels]", "red, green, blue")
    page.click("#new-project button[type=submit]")
    page.wait_for_url(f"{session.url}/projects/made-in-browser")
    project = session.api("/api/projects/made-in-browser")
    assert project["role"] == "owner" and project["task"] == "multilabel"
    assert [label["name"] for label in project["labels"]] == ["red", "green", "blue"]
    page.locator("#label-chart").filter(has_text="No labels given yet").wait_for()


def test_overview_shows_counts_annotators_and_chart(session: Session) -> None:
    session.login("admin")
    page = session.page
    session.goto("/projects/spam")
    page.locator("#counts .stat").first.wait_for()
    assert page.locator("#counts .stat-value").first.inner_text() == str(SPAM_RECORDS)
    chart = page.locator("#label-chart svg")
    chart.wait_for()
    assert "ham" in chart.get_attribute("aria-label")  # the imported suggestions count
    assert page.locator("#annotators tbody tr").count() >= 1  # the annotator, even at zero


def test_data_browser_filters_pages_and_opens_records(session: Session) -> None:
    session.login("admin")
    page = session.page
    session.goto("/projects/spam/data")
    rows = page.locator("#rows tr.clickable")
    rows.first.wait_for()
    assert rows.count() == 50
    page.click("#next-page")
    page.wait_for_function("() => document.querySelectorAll('#rows tr.clickable').length === 10")
    assert "after=" in page.url
    assert page.is_disabled("#next-page")
    page.click("#prev-page")
    page.wait_for_function("() => document.querySelectorAll('#rows tr.clickable').length === 50")

    page.fill("[name=q]", "number 1")
    page.select_option("[name=source]", "import")
    page.click("#filters button[type=submit]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.record-link')]"
        ".every(a => a.textContent.includes('number 1'))"
    )
    texts = page.locator(".record-link").all_inner_texts()
    assert sorted(texts) == ["comment number 12", "comment number 16"]
    assert "q=number+1" in page.url and "source=import" in page.url

    page.locator(".record-link", has_text="comment number 16").click()
    page.wait_for_url("**/records/*")
    page.locator(".annotation-row").first.wait_for()
    assert page.inner_text("#record-text") == "comment number 16"
    assert "import" in page.inner_text("#annotations")
    page.click("#back-link")
    page.wait_for_url("**/data?*")
    assert page.input_value("[name=q]") == "number 1"


def test_settings_change_labels_queue_and_members(session: Session) -> None:
    session.login("admin")
    page = session.page
    session.goto("/projects/settings-demo/settings")
    page.locator("#label-rows tr").first.wait_for()
    page.fill("[name=new_name]", "unsure")
    page.fill("[name=new_description]", "Neither spam nor ham")
    page.click("#add-label")
    page.locator('#label-rows tr[data-name="ham"] [name=description]').fill("A real comment!")
    page.click("#labels-form button[type=submit]")
    page.locator("#labels-form .form-status").filter(has_text="Saved").wait_for()
    labels = {lb["name"]: lb for lb in session.api("/api/projects/settings-demo")["labels"]}
    assert labels["unsure"]["description"] == "Neither spam nor ham"
    assert labels["unsure"]["hotkey"] == "3"
    assert labels["ham"]["description"] == "A real comment!"

    page.fill("[name=overlap]", "2")
    page.select_option("[name=queue_strategy]", "random")
    page.click("#queue-form button[type=submit]")
    page.locator("#queue-form .form-status").filter(has_text="Saved").wait_for()
    settings = session.api("/api/projects/settings-demo")["settings"]
    assert settings["overlap"] == 2 and settings["queue_strategy"] == "random"

    page.fill("#member-form [name=username]", "viewer")
    page.select_option("#member-form [name=role]", "viewer")
    page.click("#member-form button[type=submit]")
    row = page.locator('#member-rows tr[data-user="viewer"]')
    row.wait_for()
    row.locator("select").select_option("reviewer")
    page.locator(".toast").filter(has_text="viewer is now a reviewer").wait_for()
    members = {m["username"]: m["role"] for m in session.api("/api/projects/settings-demo/members")}
    assert members["viewer"] == "reviewer"
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('#member-rows tr[data-user="viewer"] button').click()
    row.wait_for(state="detached")
    assert "viewer" not in {
        m["username"] for m in session.api("/api/projects/settings-demo/members")
    }


def test_admin_creates_and_toggles_users(session: Session, live_server: LiveServer) -> None:
    session.login("admin")
    page = session.page
    session.goto("/admin/users")
    page.fill("#user-form [name=username]", "newbie")
    page.fill("#user-form [name=password]", "long enough password")
    page.click("#user-form button[type=submit]")
    row = page.locator('#user-rows tr[data-user="newbie"]')
    row.wait_for()
    row.locator("[data-field=is_admin]").check()
    page.locator(".toast").filter(has_text="newbie: admin").wait_for()
    page.locator('#user-rows tr[data-user="newbie"] [data-field=is_active]').uncheck()
    page.locator('#user-rows tr[data-user="newbie"].inactive').wait_for()
    users = {u["username"]: u for u in session.api("/api/users")}
    assert users["newbie"]["is_admin"] is True and users["newbie"]["is_active"] is False
    assert page.locator('#user-rows tr[data-user="admin"] [data-field=is_admin]').is_disabled()


def test_non_admins_get_no_users_page(session: Session) -> None:
    session.login("annotator")
    assert session.goto("/admin/users").status == 403
    assert "Only instance admins" in session.page.inner_text("main")
    assert session.page.locator(".topnav a[href='/admin/users']").count() == 0
