"""Annotation server benchmark (issue 4). Rerun with:

    .venv/bin/python benchmarks/server.py            # 10,000 and 1,000,000 records, A = 1, 8, 32
    .venv/bin/python benchmarks/server.py --quick    # 10,000 records, short runs, no doc update

Simulated annotators, each looping "next record, submit answer" over HTTP on loopback, against
labelkitchen (SQLite) and, in the same run on the same machine, against the floor:
``../shared/peers/bare_annotation_server.py``, a bare FastAPI + SQLite app that does only the
atomic claim and the insert. Both run as separate uvicorn processes with the same settings (one
worker, the same loop and HTTP implementation, no access log); only one server runs at a time,
and the two alternate run by run so that the machine's noise falls on both alike.

Two loads per annotator count A:

* capacity: no pause between answers; annotations/s over the measured window;
* latency: each annotator pauses a random 0.25 to 0.75 s between answers; p50 and p99 of one
  next + submit cycle.

Each run starts from a fresh copy of a template database (overlap 1, random queue order), so
every run sees the same number of open records. Errors are any failed request or any status
other than 200/204 (next) and 201 (submit). Duplicates are records answered by two annotators,
counted from the answers the server acknowledged and again in the database after the run, where
the number of stored answers must also equal the number acknowledged.

Figures go to bench-out/server.json and, between markers, into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out"
DOC = ROOT / "docs" / "benchmarks.md"
PEER = ROOT.parent / "shared" / "peers" / "bare_annotation_server.py"
START, END = "<!-- server:start -->", "<!-- server:end -->"
HEADING = "## Annotation server"
SLUG = "bench"
BODY = {"value": {"label": "spam"}, "answer": "accept"}
PAUSE = (0.25, 0.75)
SERVERS = ("floor", "labelkitchen")


def record_text(i: int) -> str:
    """The floor's record text (bare_annotation_server.setup), so both serve the same bytes."""
    return f"record {i} " + "text " * 30


# --- databases -----------------------------------------------------------------------------


def build_floor(path: Path, n_records: int) -> None:
    subprocess.run(
        [sys.executable, str(PEER), "setup", str(path), str(n_records)], check=True, cwd=path.parent
    )
    _checkpoint(path)


def build_labelkitchen(path: Path, n_records: int, n_annotators: int) -> list[str]:
    """A classify project with ``n_records`` records and annotators; returns their tokens."""
    from labelkitchen import Settings, Store, create_project, import_files
    from labelkitchen.services import accounts

    rows = path.with_suffix(".jsonl")
    with rows.open("w", encoding="utf-8") as out:
        for i in range(n_records):
            out.write(json.dumps({"id": str(i), "text": record_text(i)}) + "\n")
    settings = Settings(database_url=f"sqlite:///{path}")
    tokens = []
    with Store.open(settings=settings) as store:
        create_project(
            store,
            spec={
                "slug": SLUG,
                "task": "classify",
                "labels": ["spam", "ham"],
                "settings": {"overlap": 1, "queue_strategy": "random"},
            },
        )
        import_files(store, project=SLUG, paths=[rows])
        for i in range(n_annotators):
            name = f"annotator{i}"
            accounts.create_user(store, username=name, password="bench-password")
            accounts.set_member(store, project=SLUG, username=name, role="annotator")
            tokens.append(accounts.create_token(store, username=name).token)
        queue_project(store)
    rows.unlink()
    _checkpoint(path)
    return tokens


def queue_project(store: Any) -> None:
    """Build the project's queue now, as the floor's setup does: a large import leaves that to
    the first claim, which every run (on a fresh copy of the template) would otherwise pay."""
    from labelkitchen.store.queries import queue
    from labelkitchen.store.queries.projects import get_project

    with store.write() as conn:
        project = get_project(conn, slug=SLUG)
        settings = project.spec.settings
        queue.catch_up(
            conn,
            project_id=project.id,
            slots=settings.overlap,
            strategy=settings.queue_strategy,
            skip_gold=settings.queue_skips_gold,
        )


def _checkpoint(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def fresh_copy(template: Path, run_dir: Path) -> Path:
    for old in run_dir.glob("run.db*"):
        old.unlink()
    target = run_dir / "run.db"
    shutil.copyfile(template, target)
    return target


def stored_check(server: str, db: Path) -> tuple[int, int]:
    """(answers stored, records answered more than once) in the database after a run."""
    con = sqlite3.connect(db)
    if server == "floor":
        stored = "SELECT count(*) FROM annotations"
        doubled = (
            "SELECT count(*) FROM (SELECT record_id FROM annotations "
            "GROUP BY record_id HAVING count(*) > 1)"
        )
    else:
        stored = "SELECT count(*) FROM annotations WHERE superseded_by IS NULL"
        doubled = (
            "SELECT count(*) FROM (SELECT record_id FROM annotations "
            "WHERE superseded_by IS NULL GROUP BY record_id HAVING count(*) > 1)"
        )
    result = (con.execute(stored).fetchone()[0], con.execute(doubled).fetchone()[0])
    con.close()
    return result


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


UVICORN_FLAGS = [
    "--host",
    "127.0.0.1",
    "--workers",
    "1",
    "--log-level",
    "warning",
    "--no-access-log",
]


def start_server(server: str, db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if server == "floor":
        env["BARE_DB"] = str(db)
        app = ["bare_annotation_server:app", "--app-dir", str(PEER.parent)]
    else:
        env["LABELKITCHEN_DATABASE_URL"] = f"sqlite:///{db}"
        env["LABELKITCHEN_SECRET_KEY"] = "benchmark"
        app = ["--factory", "labelkitchen.server:create_app"]
    command = [sys.executable, "-m", "uvicorn", *app, "--port", str(port), *UVICORN_FLAGS]
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=sink, cwd=db.parent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{server} server exited at start; see {log}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{server} server did not start in 60 s; see {log}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- load ----------------------------------------------------------------------------------


@dataclass
class Tally:
    cycles: list[tuple[float, float]] = field(default_factory=list)  # (start, end) per answer
    answered: list[tuple[int, int]] = field(default_factory=list)  # (annotator, record)
    errors: list[str] = field(default_factory=list)
    ran_out: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def annotate_loop(
    base: str,
    token: str,
    who: int,
    *,
    paced: bool,
    start: threading.Barrier,
    stop: threading.Event,
    tally: Tally,
) -> None:
    """One annotator: next, submit, (pause), until told to stop or the queue runs dry."""
    rng = random.Random(who)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        start.wait()
        if paced and stop.wait(rng.uniform(0, PAUSE[1])):  # spread the first requests
            return
        while not stop.is_set():
            began = time.perf_counter()
            try:
                got = client.get(f"/api/projects/{SLUG}/queue/next")
                if got.status_code == 204:
                    with tally.lock:
                        tally.ran_out += 1
                    return
                if got.status_code != 200:
                    raise RuntimeError(f"next: {got.status_code} {got.text[:200]}")
                record = int(got.json()["id"])
                sent = client.post(f"/api/projects/{SLUG}/records/{record}/annotations", json=BODY)
                if sent.status_code != 201:
                    raise RuntimeError(f"submit: {sent.status_code} {sent.text[:200]}")
            except Exception as exc:  # every failure is counted; none stops the run
                with tally.lock:
                    tally.errors.append(f"{type(exc).__name__}: {exc}")
                stop.wait(0.05)
                continue
            ended = time.perf_counter()
            with tally.lock:
                tally.cycles.append((began, ended))
                tally.answered.append((who, record))
            if paced:
                stop.wait(rng.uniform(*PAUSE))


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run_load(
    base: str, tokens: list[str], *, paced: bool, seconds: float, warmup: float, pid: int
) -> dict[str, Any]:
    """Run ``len(tokens)`` annotators for ``warmup + seconds``; measure the last ``seconds``."""
    tally = Tally()
    barrier = threading.Barrier(len(tokens) + 1)
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=annotate_loop,
            args=(base, token, who),
            kwargs={"paced": paced, "start": barrier, "stop": stop, "tally": tally},
            daemon=True,
        )
        for who, token in enumerate(tokens)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    window = (began + warmup, began + warmup + seconds)
    time.sleep(warmup)
    cpu = (cpu_seconds(pid), time.process_time())
    time.sleep(seconds)
    cpu = (cpu_seconds(pid) - cpu[0], time.process_time() - cpu[1])
    stop.set()  # annotators finish the cycle they are in (checked below, not timed)
    for thread in threads:
        thread.join(timeout=120)
    with tally.lock:
        inside = [end - start for start, end in tally.cycles if window[0] <= end <= window[1]]
        owners: dict[int, set[int]] = {}
        for who, record in tally.answered:
            owners.setdefault(record, set()).add(who)
        return {
            "answers_in_window": len(inside),
            "annotations_per_s": len(inside) / seconds,
            "p50_ms": percentile(inside, 50) * 1000,
            "p99_ms": percentile(inside, 99) * 1000,
            "server_cpu_ms_per_answer": cpu[0] * 1000 / max(len(inside), 1),
            "client_cpu_ms_per_answer": cpu[1] * 1000 / max(len(inside), 1),
            "acknowledged": len(tally.answered),
            "duplicates": sum(1 for who in owners.values() if len(who) > 1),
            "errors": len(tally.errors),
            "error_samples": sorted(set(tally.errors))[:5],
            "ran_out": tally.ran_out,
        }


# --- the run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    annotators: tuple[int, ...]
    capacity_seconds: float
    latency_seconds: float
    warmup: float


# Latency windows of 60 s: at A = 32 that is about 3,800 cycles, so a p99 rests on ~38 of them.
# With 20 s (~1,300 cycles) the p99 of the same code moved by 2x between runs on this machine.
FULL = Plan((10_000, 1_000_000), (1, 8, 32), 10.0, 60.0, 2.0)
QUICK = Plan((10_000,), (1, 8, 32), 3.0, 5.0, 1.0)


def run_all(plan: Plan, work: Path) -> list[dict[str, Any]]:
    most = max(plan.annotators)
    results: list[dict[str, Any]] = []
    log = work / "servers.log"
    turn = 0
    for size in plan.sizes:
        templates = {"floor": work / f"floor-{size}.db", "labelkitchen": work / f"lk-{size}.db"}
        tokens_file = work / f"lk-{size}.tokens.json"
        if not templates["floor"].exists():
            _say(f"building the floor's {size:,}-record database")
            build_floor(templates["floor"], size)
        if not templates["labelkitchen"].exists() or not tokens_file.exists():
            _say(f"building labelkitchen's {size:,}-record project")
            tokens_file.write_text(
                json.dumps(build_labelkitchen(templates["labelkitchen"], size, most))
            )
        tokens = {
            "floor": [f"annotator{i}" for i in range(most)],
            "labelkitchen": json.loads(tokens_file.read_text()),
        }
        for load in ("capacity", "latency"):
            seconds = plan.capacity_seconds if load == "capacity" else plan.latency_seconds
            for count in plan.annotators:
                order = SERVERS if turn % 2 == 0 else SERVERS[::-1]
                turn += 1
                for server in order:
                    run_dir = work / "run"
                    run_dir.mkdir(exist_ok=True)
                    db = fresh_copy(templates[server], run_dir)
                    port = free_port()
                    process = start_server(server, db, port, log)
                    try:
                        measured = run_load(
                            f"http://127.0.0.1:{port}",
                            tokens[server][:count],
                            paced=load == "latency",
                            seconds=seconds,
                            warmup=plan.warmup,
                            pid=process.pid,
                        )
                    finally:
                        stop_server(process)
                    stored, doubled = stored_check(server, db)
                    measured.update(
                        server=server,
                        records=size,
                        annotators=count,
                        load=load,
                        seconds=seconds,
                        stored=stored,
                        lost=max(measured["acknowledged"] - stored, 0),
                        stored_duplicates=doubled,
                    )
                    results.append(measured)
                    _say(
                        f"{server:12} {size:>9,} records  A={count:<2} {load:8}  "
                        f"{measured['annotations_per_s']:7.1f}/s  "
                        f"p50 {measured['p50_ms']:6.1f} ms  "
                        f"p99 {measured['p99_ms']:7.1f} ms  "
                        f"cpu/answer {measured['server_cpu_ms_per_answer']:.2f} ms  "
                        f"errors {measured['errors']}  "
                        f"duplicates {measured['duplicates']}/{doubled}  lost {measured['lost']}"
                    )
    return results


def _say(message: str) -> None:
    print(message, flush=True)


# --- report --------------------------------------------------------------------------------


def _pick(results: list[dict[str, Any]], **where: Any) -> dict[str, Any] | None:
    for row in results:
        if all(row[k] == v for k, v in where.items()):
            return row
    return None


def checks(results: list[dict[str, Any]], plan: Plan) -> list[dict[str, Any]]:
    """The issue's targets, each with its measured value and whether it is met."""
    out: list[dict[str, Any]] = []
    top = max(plan.annotators)
    for size in plan.sizes:
        lk = _pick(results, server="labelkitchen", records=size, annotators=top, load="capacity")
        floor = _pick(results, server="floor", records=size, annotators=top, load="capacity")
        if lk and floor:
            ratio = lk["annotations_per_s"] / floor["annotations_per_s"]
            out.append(
                {
                    "target": f"capacity, {size:,} records, A={top}: >= 0.5x the floor",
                    "value": f"{ratio:.2f}x ({lk['annotations_per_s']:.0f} vs "
                    f"{floor['annotations_per_s']:.0f} annotations/s)",
                    "met": ratio >= 0.5,
                }
            )
        lk = _pick(results, server="labelkitchen", records=size, annotators=top, load="latency")
        floor = _pick(results, server="floor", records=size, annotators=top, load="latency")
        if lk and floor:
            for q in ("p50", "p99"):
                ratio = lk[f"{q}_ms"] / floor[f"{q}_ms"]
                out.append(
                    {
                        "target": f"latency {q}, {size:,} records, A={top} pausing: "
                        "<= 2x the floor",
                        "value": f"{ratio:.2f}x ({lk[f'{q}_ms']:.1f} vs {floor[f'{q}_ms']:.1f} ms)",
                        "met": ratio <= 2.0,
                    }
                )
    if len(plan.sizes) > 1:
        small, large = min(plan.sizes), max(plan.sizes)
        for load, key, label in (
            ("capacity", "annotations_per_s", "capacity"),
            ("latency", "p50_ms", "latency p50"),
            ("latency", "p99_ms", "latency p99"),
        ):
            a = _pick(results, server="labelkitchen", records=small, annotators=top, load=load)
            b = _pick(results, server="labelkitchen", records=large, annotators=top, load=load)
            if a and b:
                slower = a[key] / b[key] if key == "annotations_per_s" else b[key] / a[key]
                out.append(
                    {
                        "target": f"{label}, A={top}: {large:,} records within 1.5x of {small:,}",
                        "value": f"{slower:.2f}x",
                        "met": slower <= 1.5,
                    }
                )
    mine = [r for r in results if r["server"] == "labelkitchen"]
    for name, key in (
        ("errors", "errors"),
        ("duplicates (acknowledged)", "duplicates"),
        ("duplicates (stored)", "stored_duplicates"),
        ("acknowledged answers not stored", "lost"),
    ):
        total = sum(r[key] for r in mine)
        out.append({"target": f"labelkitchen {name}: 0", "value": str(total), "met": total == 0})
    return out


def render(results: list[dict[str, Any]], found: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"Command: `{meta['command']}` ({meta['date']}, {meta['cores']} cores, "
        f"Python {meta['python']}).",
        "",
        "labelkitchen (`uvicorn --factory labelkitchen.server:create_app`) and the floor "
        "(`../shared/peers/bare_annotation_server.py`) each ran as one uvicorn process with one "
        "worker (`--log-level warning --no-access-log`), one at a time, alternating, on a fresh "
        "copy of a project with overlap 1 and a random queue order. Annotators are threads of "
        f"the benchmark process on the same {meta['cores']} cores, each with its own keep-alive "
        "connection. "
        f"Capacity: no pause, measured over {meta['capacity_seconds']:g} s after "
        f"{meta['warmup']:g} s of warm-up; latency: a random 0.25-0.75 s pause between answers, "
        f"over {meta['latency_seconds']:g} s; p50/p99 are of one next + submit cycle.",
        "",
        "| records | load | A | floor ann/s | labelkitchen ann/s | lk / floor | floor p50 ms "
        "| labelkitchen p50 ms | floor p99 ms | labelkitchen p99 ms "
        "| server CPU ms/answer | errors | duplicates |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    keys = sorted(
        {(r["records"], r["load"], r["annotators"]) for r in results},
        key=lambda k: (k[0], k[1] != "capacity", k[2]),
    )
    for size, load, count in keys:
        floor = _pick(results, server="floor", records=size, load=load, annotators=count)
        lk = _pick(results, server="labelkitchen", records=size, load=load, annotators=count)
        if floor is None or lk is None:
            continue
        ratio = lk["annotations_per_s"] / floor["annotations_per_s"]
        lines.append(
            f"| {size:,} | {'no pause' if load == 'capacity' else 'pausing'} | {count} "
            f"| {floor['annotations_per_s']:.1f} | {lk['annotations_per_s']:.1f} | {ratio:.2f}x "
            f"| {floor['p50_ms']:.1f} | {lk['p50_ms']:.1f} | {floor['p99_ms']:.1f} "
            f"| {lk['p99_ms']:.1f} "
            f"| {floor['server_cpu_ms_per_answer']:.2f} / {lk['server_cpu_ms_per_answer']:.2f} "
            f"| {floor['errors']} / {lk['errors']} "
            f"| {floor['stored_duplicates']} / {lk['stored_duplicates']} |"
        )
    lines += [
        "",
        "Server CPU, errors and duplicates are floor / labelkitchen. Server CPU is the server "
        "process's user + system time over the measured window per answer (from /proc). "
        "Duplicates are records stored with answers from two annotators (overlap 1); every "
        "run also checks that each acknowledged answer is stored.",
        "",
        "Checks against the issue's targets:",
        "",
    ]
    lines += [f"- {c['target']}: {c['value']} ({'met' if c['met'] else 'NOT met'})" for c in found]
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 records, short runs")
    parser.add_argument("--sizes", type=int, nargs="+", help="record counts (default by mode)")
    parser.add_argument("--annotators", type=int, nargs="+", help="annotator counts A")
    parser.add_argument("--work", type=Path, help="keep databases here (reused when present)")
    parser.add_argument("--no-doc", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.sizes:
        plan = replace(plan, sizes=tuple(args.sizes))
    if args.annotators:
        plan = replace(plan, annotators=tuple(args.annotators))
    if not PEER.exists():
        parser.error(f"the floor is missing: {PEER}")
    work = args.work or Path(tempfile.mkdtemp(prefix="lk-server-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        results = run_all(plan, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    found = checks(results, plan)
    meta = {
        "command": " ".join(["python", "benchmarks/server.py", *(argv or sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        **asdict(plan),
    }
    OUT.mkdir(exist_ok=True)
    name = "server-quick.json" if args.quick else "server.json"
    (OUT / name).write_text(
        json.dumps({"meta": meta, "results": results, "checks": found}, indent=2) + "\n"
    )
    section = render(results, found, meta)
    _say("\n" + section)
    if not args.quick and not args.no_doc:
        write_doc(section)
    return 0 if all(c["met"] for c in found) else 1


if __name__ == "__main__":
    sys.exit(main())
