"""A server killed with SIGKILL under load loses no answer it acknowledged (issue 4, item 8).

``labelkitchen serve`` runs as a subprocess on a SQLite file; annotator threads loop "next,
submit" over HTTP and write down every answer the server acknowledged with 201. The server is
killed with SIGKILL in the middle of that load, started again on the same file, and the
annotators carry on. Afterwards every acknowledged answer is stored exactly once, no record has
more answers than its overlap, and answers kept coming after the restart.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from labelkitchen.services import accounts
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.settings import Settings
from labelkitchen.store import Store

ANNOTATORS = 16
OVERLAP = 2
RECORDS = 5_000  # more than the annotators get through: the queue never runs dry
CLI = Path(sys.executable).with_name("labelkitchen")

pytestmark = pytest.mark.slow


def _build(path: Path) -> list[str]:
    """A classify project with overlap 2 and annotators with API tokens; returns the tokens."""
    with Store.open(settings=Settings(database_url=f"sqlite:///{path}")) as store:
        create_project(
            store,
            spec={
                "slug": "crash",
                "task": "classify",
                "labels": ["spam", "ham"],
                "settings": {"overlap": OVERLAP},
            },
        )
        import_rows(store, project="crash", rows=({"text": f"record {i}"} for i in range(RECORDS)))
        tokens = []
        for i in range(ANNOTATORS):
            name = f"a{i}"
            with store.write() as conn:  # no password: these accounts use tokens only
                conn.exec_driver_sql(
                    "INSERT INTO users (username, password_hash) VALUES (?, NULL)", (name,)
                )
            accounts.set_member(store, project="crash", username=name, role="annotator")
            tokens.append(accounts.create_token(store, username=name).token)
    return tokens


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--db", f"sqlite:///{db}"]
    with log.open("ab") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=sink)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    pytest.fail(f"the server did not start within 60 s:\n{log.read_text()}")


class Annotators:
    """Threads looping next + submit; every acknowledged answer is written down."""

    def __init__(self, base: str, tokens: list[str]) -> None:
        self.base = base
        self.tokens = tokens
        self.acknowledged: list[tuple[int, int, int]] = []  # (annotator, record, annotation id)
        self.unexpected: list[str] = []
        self.lock = threading.Lock()

    def run(
        self, *, answers: int, seconds: float, kill: subprocess.Popen[bytes] | None = None
    ) -> None:
        """Annotate until ``answers`` more are acknowledged (or ``seconds`` pass); with ``kill``,
        SIGKILL that server at that moment, while every annotator is mid-request."""
        stop = threading.Event()
        threads = [
            threading.Thread(target=self._loop, args=(who, token, stop))
            for who, token in enumerate(self.tokens)
        ]
        target = len(self.acknowledged) + answers
        deadline = time.monotonic() + seconds
        for thread in threads:
            thread.start()
        while len(self.acknowledged) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        if kill is not None:
            os.kill(kill.pid, signal.SIGKILL)  # no shutdown, no flush: the process is gone
            kill.wait()
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    def _loop(self, who: int, token: str, stop: threading.Event) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as client:
            while not stop.is_set():
                try:
                    got = client.get("/api/projects/crash/queue/next")
                    if got.status_code != 200:
                        self._note(f"next: {got.status_code} {got.text[:200]}")
                        continue
                    record = int(got.json()["id"])
                    sent = client.post(
                        f"/api/projects/crash/records/{record}/annotations",
                        json={"value": {"label": "spam"}, "answer": "accept"},
                    )
                except httpx.TransportError:  # the server is down (killed): try again shortly
                    stop.wait(0.05)
                    continue
                if sent.status_code == 201:
                    with self.lock:
                        self.acknowledged.append((who, record, int(sent.json()["id"])))
                elif sent.status_code != 200:  # 200: a retried answer, already stored
                    self._note(f"submit: {sent.status_code} {sent.text[:200]}")

    def _note(self, problem: str) -> None:
        with self.lock:
            self.unexpected.append(problem)


@pytest.mark.skipif(not CLI.exists(), reason=f"no {CLI} (install the package)")
def test_sigkill_under_load_loses_no_acknowledged_answer(tmp_path: Path) -> None:
    db, log = tmp_path / "crash.db", tmp_path / "server.log"
    tokens = _build(db)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    annotators = Annotators(base, tokens)

    server = _serve(db, port, log)
    annotators.run(answers=300, seconds=10, kill=server)
    before_kill = len(annotators.acknowledged)
    assert server.returncode == -signal.SIGKILL

    server = _serve(db, port, log)
    try:
        annotators.run(answers=100, seconds=10)
    finally:
        server.terminate()
        server.wait(timeout=30)

    acknowledged = annotators.acknowledged
    assert before_kill > 0 and len(acknowledged) > before_kill, "annotating did not continue"
    assert not annotators.unexpected, annotators.unexpected[:5]
    with Store.open(settings=Settings(database_url=f"sqlite:///{db}")) as store, store.read() as c:
        stored = c.exec_driver_sql(
            "SELECT a.id, a.record_id, s.name FROM annotations a "
            "JOIN sources s ON s.id = a.source_id WHERE a.superseded_by IS NULL"
        ).all()
    by_id = {row.id: (row.name, row.record_id) for row in stored}
    for who, record, annotation in acknowledged:
        assert by_id.get(annotation) == (f"a{who}", record), f"acknowledged answer {annotation}"
    per_answerer = Counter((row.name, row.record_id) for row in stored)
    assert max(per_answerer.values()) == 1  # nobody answered a record twice
    per_record = Counter(row.record_id for row in stored)
    assert max(per_record.values()) <= OVERLAP
    assert len({(who, record) for who, record, _ in acknowledged}) == len(acknowledged)
