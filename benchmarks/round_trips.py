"""Round trips of a step on PostgreSQL, counted on the wire (libpq's protocol trace), per kind of step.

A round trip is the client sending and then waiting for the server's answer: in the trace, a run of the
client's messages (F) followed by the server's (B). Pipeline mode shows as many statements in one run.
The count covers everything the step does on its connection: the pool's checkout (a liveness ping, if
any), the transaction, and the connection's return to the pool (a reset, if any).

Runs the support chain (tests/fixtures/stodkedja: a start and three completions per case) on the
PostgreSQL at ELEVFLOW_BENCH_POSTGRES_URL (dropped and created), then prints, per kind of step, round
trips and client messages, and with --show the trace of one step of each kind.

Usage: python benchmarks/round_trips.py [--cases N] [--show]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bulk import ANSWERS, CHAIN, chain_people, fresh_postgres, ready_task  # noqa: E402
from psycopg import pq  # noqa: E402
from sqlalchemy import event  # noqa: E402

from elevflow.engine import deploy_path, start_case  # noqa: E402
from elevflow.engine.runtime.tasks import run_step  # noqa: E402


class Wire:
    """libpq's trace of every connection the engine's pool opens, one file each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[Path] = []
        self.traced: list[tuple[Any, Any]] = []  # (psycopg connection, its trace file)
        self.marks: dict[Path, int] = {}

    def install(self, engine) -> None:
        @event.listens_for(engine.db.engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            path = self.folder / f"conn{len(self.files)}.trace"
            handle = open(path, "a")  # noqa: SIM115 - open as long as the connection is
            self.traced.append((dbapi_connection, handle))
            self._trace(dbapi_connection, handle)
            self.files.append(path)

    @staticmethod
    def _trace(connection, handle) -> None:
        # libpq writes the trace through a buffered FILE of its own, closed by untrace: give it a copy
        connection.pgconn.trace(os.dup(handle.fileno()))
        connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def flush(self) -> None:
        """Have every open connection's trace written out (libpq buffers it until untraced)."""
        for connection, handle in self.traced:
            if not connection.closed:
                connection.pgconn.untrace()
                self._trace(connection, handle)

    def mark(self) -> None:
        self.flush()
        self.marks = {path: path.stat().st_size for path in self.files}

    def since(self) -> list[str]:
        """The trace lines written since `mark`, per connection, concatenated."""
        self.flush()
        lines: list[str] = []
        for path in self.files:
            with open(path) as handle:
                handle.seek(self.marks.get(path, 0))
                lines.extend(line.rstrip("\n") for line in handle if line.strip())
        return lines


def round_trips(lines: list[str]) -> int:
    trips, last = 0, None
    for line in lines:
        side = line.split("\t", 1)[0]
        if side == "B" and last == "F":
            trips += 1
        last = side
    return trips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="print one step's trace of each kind")
    args = parser.parse_args()
    os.environ.setdefault("ELEVFLOW_LIVE_CASES", "500")
    engine = fresh_postgres()
    if engine is None:
        sys.exit("no PostgreSQL at ELEVFLOW_BENCH_POSTGRES_URL")
    with tempfile.TemporaryDirectory() as tmp:
        wire = Wire(Path(tmp))
        wire.install(engine)
        user, pupil = chain_people(engine)
        deploy_path(engine, CHAIN, shared_dir=CHAIN / "none")
        counts: dict[str, list[int]] = defaultdict(list)
        messages: dict[str, list[int]] = defaultdict(list)
        shown: dict[str, list[str]] = {}
        for _ in range(args.cases + 1):  # the first case warms the pool and the prepared statements
            wire.mark()
            case = start_case(engine, "stodkedja", pupil_id=pupil, by=user)
            steps = [("start", wire.since())]
            for index, answer in enumerate(ANSWERS):
                task_id = ready_task(engine, case.id)
                wire.mark()
                run_step(engine, task_id, answer, by=user, expected_row_version=None, within=None,
                         signing=True)
                steps.append((f"completion {index + 1}", wire.since()))
            for kind, lines in steps:
                counts[kind].append(round_trips(lines))
                messages[kind].append(sum(1 for line in lines if line.startswith("F")))
                shown[kind] = lines
        engine.close()
        print(f"{'step':16}{'round trips':>12}{'client messages':>17}   (mean of {args.cases} cases)")
        for kind in counts:
            trips, sent = counts[kind][1:], messages[kind][1:]
            print(f"{kind:16}{sum(trips) / len(trips):>12.2f}{sum(sent) / len(sent):>17.1f}")
        if args.show:
            for kind, lines in shown.items():
                print(f"\n--- {kind}")
                print("\n".join(line[:200] for line in lines))


if __name__ == "__main__":
    main()
