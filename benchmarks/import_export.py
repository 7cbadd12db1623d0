"""Import/export benchmark (issue: foundation). Rerun with:

    .venv/bin/python benchmarks/import_export.py            # 1,000,000 records, SQLite + PostgreSQL
    .venv/bin/python benchmarks/import_export.py --records 100000 --no-postgres   # quick look

It generates JSON Lines records of about 200 characters with 3 meta fields, then measures, each
phase in a fresh process (peak RSS from the kernel's rusage of that process):

* bare: a plain ``sqlite3`` loop that parses, hashes and inserts the same file into an
  equivalent table with a unique index (the floor of the approach), in the same run;
* import: ``labelkitchen.import_files`` into a fresh project;
* reimport: the same file again (all duplicates);
* append: 10,000 new records into the 1,000,000-record project;
* export: JSON Lines of the whole project.

The same phases run on PostgreSQL (a database created for the run and dropped after), next to
a bare psycopg loop. Figures go to bench-out/import_export.json and, between markers, into
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- import_export:start -->", "<!-- import_export:end -->"
PG_ADMIN = os.environ.get(
    "LABELKITCHEN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WORDS = [
    "the",
    "a",
    "comment",
    "video",
    "song",
    "love",
    "great",
    "check",
    "out",
    "my",
    "channel",
    "subscribe",
    "free",
    "money",
    "click",
    "link",
    "best",
    "music",
    "ever",
    "watch",
    "this",
    "amazing",
    "new",
    "please",
    "like",
    "share",
    "follow",
    "win",
    "prize",
    "today",
    "really",
    "nice",
    "voice",
    "beat",
    "dance",
    "party",
    "year",
    "who",
    "is",
    "listening",
    "in",
    "2015",
    "lol",
    "omg",
    "wow",
    "good",
    "bad",
]


def generate(path: Path, n: int, *, seed: int, prefix: str = "") -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            words = []
            length = 0
            while length < 190:
                word = rng.choice(WORDS)
                words.append(word)
                length += len(word) + 1
            text = f"{prefix}{i} " + " ".join(words)
            record = {
                "text": text[:200],
                "author": f"user{rng.randrange(50_000)}",
                "score": round(rng.random(), 4),
                "lang": rng.choice(["en", "es", "pt", "de"]),
            }
            out.write(json.dumps(record) + "\n")


# --- phases, each run in its own process --------------------------------------------------


def phase_bare_sqlite(db: str, file: str) -> dict[str, Any]:
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE records (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, "
        "external_id TEXT, text TEXT NOT NULL, meta TEXT, content_hash BLOB NOT NULL, "
        "split TEXT)"
    )
    conn.execute("CREATE UNIQUE INDEX uq ON records (project_id, content_hash)")
    started = time.perf_counter()
    conn.execute("BEGIN")
    rows: list[tuple[Any, ...]] = []
    n = 0
    sql = "INSERT OR IGNORE INTO records VALUES (NULL, 1, NULL, ?, ?, ?, NULL)"
    with open(file, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            text = record.pop("text")
            digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
            rows.append((text, json.dumps(record), digest))
            n += 1
            if len(rows) == 5000:
                conn.executemany(sql, rows)
                rows.clear()
    conn.executemany(sql, rows)
    conn.execute("COMMIT")
    return {"records": n, "seconds": time.perf_counter() - started}


def phase_bare_postgres(db: str, file: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(
            "CREATE TABLE bare (id BIGSERIAL PRIMARY KEY, project_id BIGINT NOT NULL, "
            "external_id TEXT, text TEXT NOT NULL, meta JSONB, content_hash BYTEA NOT NULL, "
            "split TEXT)"
        )
        conn.execute("CREATE UNIQUE INDEX uq_bare ON bare (project_id, content_hash)")
        conn.commit()
        started = time.perf_counter()
        sql = (
            "INSERT INTO bare (project_id, text, meta, content_hash) VALUES (1, %s, %s::jsonb, %s)"
            " ON CONFLICT DO NOTHING"
        )
        rows: list[tuple[Any, ...]] = []
        n = 0
        with conn.cursor() as cur, open(file, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                text = record.pop("text")
                digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
                rows.append((text, json.dumps(record), digest))
                n += 1
                if len(rows) == 5000:
                    cur.executemany(sql, rows)
                    rows.clear()
            cur.executemany(sql, rows)
        conn.commit()
        return {"records": n, "seconds": time.perf_counter() - started}


def _store(db: str) -> Any:
    from labelkitchen import Settings, Store

    return Store.open(db, settings=Settings(database_url=db))


def phase_create(db: str, file: str) -> dict[str, Any]:
    from labelkitchen import create_project

    with _store(db) as store:
        create_project(store, spec={"slug": "bench", "task": "classify", "labels": ["a", "b"]})
    return {}


def phase_import(db: str, file: str) -> dict[str, Any]:
    import resource

    from labelkitchen import import_files

    with _store(db) as store:
        report = import_files(store, project="bench", paths=[Path(file)])
    reader_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "reader_rss_mb": reader_kb / 1024,
        "records": report.read,
        "imported": report.imported,
        "duplicates": report.duplicates,
        "seconds": report.seconds,
    }


def phase_export(db: str, file: str) -> dict[str, Any]:
    from labelkitchen import export_project

    with _store(db) as store:
        report = export_project(store, project="bench", format="jsonl", out=Path(file))
    return {"records": report.records, "seconds": report.seconds}


PHASES = {
    "bare_sqlite": phase_bare_sqlite,
    "bare_postgres": phase_bare_postgres,
    "create": phase_create,
    "import": phase_import,
    "export": phase_export,
}


def run_phase(name: str, db: str, file: Path) -> dict[str, Any]:
    """Run one phase in a child process; add its peak RSS (MB) from the kernel."""
    command = [sys.executable, __file__, "--phase", name, "--db", db, "--file", str(file)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=ROOT)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"phase {name} failed with status {status}")
    result: dict[str, Any] = json.loads(output)
    # The phase's own peak plus (for imports) its reader process's peak: an upper bound on the
    # memory the import held at any one time.
    result["peak_rss_mb"] = usage.ru_maxrss / 1024 + result.get("reader_rss_mb", 0)
    if result.get("seconds"):
        result["rate"] = result["records"] / result["seconds"]
    print(f"  {name:<14} {json.dumps(result)}", flush=True)
    return result


def run_backend(label: str, db: str, bare: str, bare_db: str, files: dict[str, Path]) -> dict:
    print(f"{label}:", flush=True)
    results = {"bare": run_phase(bare, bare_db, files["main"])}
    run_phase("create", db, files["main"])
    results["import"] = run_phase("import", db, files["main"])
    results["reimport"] = run_phase("import", db, files["main"])
    results["append"] = run_phase("import", db, files["append"])
    results["export"] = run_phase("export", db, OUT / f"export-{label}.jsonl")
    return results


def _pg_database() -> tuple[str, Any]:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin_url = make_url(PG_ADMIN)
    name = f"lk_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return admin_url.set(database=name).render_as_string(hide_password=False), (admin, name)


def _drop(admin: Any, name: str) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def render(results: dict[str, Any], command: str) -> str:
    n = results["records"]
    lines = [
        START,
        f"Command: `{command}` ({results['date']}, {results['machine']}).",
        "",
        f"{n:,} JSON Lines records of about 200 characters with 3 meta fields "
        f"({results['file_mb']:.0f} MB). Each phase ran in a fresh process; peak RSS is that "
        "process's peak plus, for imports, the peak of its reader process.",
        "",
        "| backend | phase | records | seconds | records/s | vs bare loop | peak RSS (MB) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for backend in ("sqlite", "postgresql"):
        if backend not in results:
            continue
        part = results[backend]
        bare_rate = part["bare"]["rate"]
        for phase in ("bare", "import", "reimport", "append", "export"):
            row = part[phase]
            ratio = row.get("rate", 0) / bare_rate
            lines.append(
                f"| {backend} | {phase} | {row['records']:,} | {row['seconds']:.2f} | "
                f"{row.get('rate', 0):,.0f} | {ratio:.2f}x | {row['peak_rss_mb']:.0f} |"
            )
    lines += ["", "Checks against the issue's targets:", ""]
    for backend in ("sqlite", "postgresql"):
        if backend not in results:
            continue
        part = results[backend]
        imp, bare = part["import"], part["bare"]
        lines += [
            f"- {backend}: import at {imp['rate'] / bare['rate']:.0%} of the bare loop "
            f"(target >= 80%), peak RSS {imp['peak_rss_mb']:.0f} MB (target <= 500 MB); "
            f"reimport {part['reimport']['rate'] / imp['rate']:.2f}x the import rate, adding "
            f"{part['reimport']['imported']} records (target >= 1x, 0); append of "
            f"{part['append']['records']:,} took {part['append']['seconds']:.2f} s "
            f"(target <= 2 s); export {part['export']['rate'] / imp['rate']:.1f}x the import "
            "rate (target >= 2x).",
        ]
    lines.append(END)
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    if START in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Import and export\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--append", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--phase", choices=sorted(PHASES))
    parser.add_argument("--db")
    parser.add_argument("--file")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args.db, args.file)))
        return
    OUT.mkdir(exist_ok=True)
    files = {"main": OUT / f"records-{args.records}.jsonl", "append": OUT / "append.jsonl"}
    if not files["main"].exists():
        print(f"generating {args.records:,} records ...", flush=True)
        generate(files["main"], args.records, seed=1)
    generate(files["append"], args.append, seed=2, prefix="appended ")
    results: dict[str, Any] = {
        "records": args.records,
        "file_mb": files["main"].stat().st_size / 1e6,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
    }
    for stale in OUT.glob("bench*.db*"):
        stale.unlink()
    results["sqlite"] = run_backend(
        "sqlite",
        f"sqlite:///{OUT / 'bench.db'}",
        "bare_sqlite",
        str(OUT / "bench-bare.db"),
        files,
    )
    if not args.no_postgres:
        url, (admin, name) = _pg_database()
        try:
            results["postgresql"] = run_backend("postgresql", url, "bare_postgres", url, files)
        finally:
            _drop(admin, name)
    (OUT / "import_export.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    command = "python benchmarks/import_export.py " + " ".join(sys.argv[1:])
    section = render(results, command.strip())
    print(section)
    if not args.no_doc:
        write_doc(section)


if __name__ == "__main__":
    main()
