"""A real server (uvicorn on 127.0.0.1, a free port, a tmp SQLite file) and Debian's Chromium.

The tests skip when /usr/bin/chromium is missing, unless LABELKITCHEN_REQUIRE_BROWSER=1 (CI),
in which case they fail. No browser is ever downloaded. One server and one browser serve the
whole session; each test gets a fresh browser context (its own cookies) and, where it changes
data, a project of its own.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from labelkitchen.schema import tokenize
from labelkitchen.server import create_app
from labelkitchen.services import accounts
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.settings import Settings
from labelkitchen.store import Store
from labelkitchen.store import tables as t

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("LABELKITCHEN_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
SPAM_RECORDS = 60

# A record with emoji (astral, skin tone, flag) and a combining accent before its spans.
EMOJI_TEXT = (
    "🎉👍🏽 Ça va? Cafe\u0301 crème… Marie Curie met Albert Einstein in Paris 🇫🇷 and Zürich."
)
XSS_TEXTS = (
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
)


def _big_record() -> tuple[str, list[dict[str, Any]]]:
    """About 100,000 characters in paragraphs, and 2,000 one-word spans on token boundaries."""
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
    words += ["kappa", "lambda", "mu"]
    sentences = []
    for i in range(1450):
        body = " ".join(words[(i + j) % len(words)] for j in range(9))
        sentences.append(f"Sentence {i} says {body}.")
    paragraphs = [" ".join(sentences[i : i + 24]) for i in range(0, len(sentences), 24)]
    text = "\n\n".join(paragraphs)
    tokens = [span for span in tokenize(text) if text[span[0]].isalpha()]
    step = len(tokens) // 2000
    spans = [
        {"start": s, "end": e, "label": "PER" if n % 2 else "LOC"}
        for n, (s, e) in enumerate(tokens[::step][:2000])
    ]
    return text, spans


def _build(store: Store) -> None:
    def project(slug: str, task: str, labels: list[Any], **settings: Any) -> None:
        create_project(
            store,
            spec={
                "slug": slug,
                "task": task,
                "labels": labels,
                "name": slug.replace("-", " ").capitalize(),
                "description": f"The {slug} project of the browser tests.",
                "settings": {"queue_strategy": "sequential", **settings},
            },
        )

    classify = [
        {"name": "spam", "description": "Sells something or links elsewhere."},
        {"name": "ham", "description": "A real comment."},
    ]
    for slug in ("spam", "triage", "xss", "other", "settings-demo"):
        project(slug, "classify", classify)
    project("topics", "multilabel", ["billing", "bug", "praise"])
    project("ner", "spans", ["PER", "LOC", "ORG"])
    project("overlap", "spans", ["PER", "LOC", "ORG"])
    project("big", "spans", ["PER", "LOC"])

    # Every fourth spam record comes with a suggestion from an import.
    import_rows(
        store,
        project="spam",
        rows=[
            {"text": f"comment number {i}", **({"label": "ham"} if i % 4 == 0 else {})}
            for i in range(SPAM_RECORDS)
        ],
    )
    import_rows(store, project="triage", rows=[{"text": f"triage item {i}"} for i in range(3)])
    import_rows(store, project="xss", rows=[{"text": text} for text in XSS_TEXTS])
    import_rows(store, project="other", rows=[{"text": "not yours"}])
    import_rows(store, project="settings-demo", rows=[{"text": "settings"}])
    import_rows(store, project="topics", rows=[{"text": "The invoice is wrong but I love the app"}])
    import_rows(
        store,
        project="ner",
        rows=[{"text": EMOJI_TEXT}, {"text": "Barack Obama visited New York."}],
    )
    import_rows(store, project="overlap", rows=[{"text": "Barack Obama visited New York."}])
    big_text, big_spans = _big_record()
    import_rows(store, project="big", rows=[{"text": big_text, "spans": big_spans}])

    accounts.create_user(store, username="admin", password=PASSWORD, is_admin=True)
    for name in ("annotator", "viewer"):
        accounts.create_user(store, username=name, password=PASSWORD)
    for slug in ("spam", "triage", "xss", "topics", "ner", "overlap", "big"):
        accounts.set_member(store, project=slug, username="annotator", role="annotator")
    accounts.set_member(store, project="spam", username="viewer", role="viewer")


@dataclass(frozen=True)
class LiveServer:
    url: str
    store: Store

    def annotations(self, *, project: str, username: str) -> list[Any]:
        """The current annotations of one annotator in one project, oldest first."""
        a, s, p = t.annotations, t.sources, t.projects
        query = (
            select(a.c.record_id, a.c.value, a.c.answer, a.c.flag_reason, a.c.duration_ms)
            .join(s, s.c.id == a.c.source_id)
            .join(p, p.c.id == a.c.project_id)
            .where(
                p.c.slug == project,
                s.c.kind == "human",
                s.c.name == username,
                a.c.superseded_by.is_(None),
            )
            .order_by(a.c.id)
        )
        with self.store.read() as conn:
            return list(conn.execute(query))


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(f"browser tests are required (LABELKITCHEN_REQUIRE_BROWSER=1): {message}")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, chromium_path: Path
) -> Iterator[LiveServer]:
    import uvicorn

    path = tmp_path_factory.mktemp("browser") / "browser.db"
    settings = Settings(database_url=f"sqlite:///{path}", secret_key="browser-tests")
    store = Store.open(settings=settings)
    _build(store)
    app = create_app(settings, store=store)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.02)
    yield LiveServer(url=f"http://127.0.0.1:{port}", store=store)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    store.close()


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dev dependency
        if REQUIRE_BROWSER:
            pytest.fail(f"playwright is required for the browser tests: {exc}")
        pytest.skip(f"playwright is not installed: {exc}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Session:
    """One browser context (its own cookies) with a page that records JavaScript failures."""

    context: Any
    page: Any
    url: str
    errors: list[str]
    console: list[str]
    logins: dict[str, list[Any]]  # session cookies per username, shared by the tests

    def login(self, username: str) -> None:
        """Log in through the API once per user (argon2 is slow on purpose), then reuse it."""
        if username not in self.logins:
            response = self.context.request.post(
                f"{self.url}/api/auth/login", data={"username": username, "password": PASSWORD}
            )
            assert response.ok, response.text()
            self.logins[username] = self.context.cookies()
        else:
            self.context.add_cookies(self.logins[username])

    def goto(self, path: str) -> Any:
        return self.page.goto(f"{self.url}{path}")

    def api(self, path: str) -> Any:
        response = self.context.request.get(f"{self.url}{path}")
        assert response.ok, response.text()
        return response.json()


@pytest.fixture(scope="session")
def logins() -> dict[str, list[Any]]:
    return {}


@pytest.fixture
def session(
    browser: Any, live_server: LiveServer, logins: dict[str, list[Any]]
) -> Iterator[Session]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(8_000)
    page = context.new_page()
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    yield Session(
        context=context,
        page=page,
        url=live_server.url,
        errors=errors,
        console=console,
        logins=logins,
    )
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
