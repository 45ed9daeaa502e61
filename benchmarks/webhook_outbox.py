"""What outgoing webhooks cost a step (time, and statements: the steady measure on a shared machine), and
how fast the scheduler delivers them.

The support chain (a start and three completions per case) runs in rounds that alternate between three
subscriptions wanting none of its events and the same three wanting every event (each step then writes
its outbox rows: about three events a step, a row per event and subscription), on SQLite and, when one
answers, PostgreSQL; the ratio of the two step times is measured in one run. Then the scheduler's
delivery posts the backlog to a local HTTP receiver.

    .venv/bin/python benchmarks/webhook_outbox.py [--cases 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bulk import ANSWERS, CHAIN, chain_people, fresh_postgres, ready_task  # noqa: E402

# benchmarks/http.py would shadow the standard library's http package (the receiver and the delivery need it)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

from sqlalchemy import update  # noqa: E402

from elevflow.engine import Engine, deploy_path, start_case  # noqa: E402
from elevflow.engine.runtime.tasks import run_step  # noqa: E402
from elevflow.engine.storage.models import WebhookSubscription  # noqa: E402
from elevflow.engine.work import webhooks  # noqa: E402


class Quiet(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def steps(engine: Engine, cases: int, user: int, pupil: int) -> tuple[float, float]:
    """Milliseconds and statements a step (start or completion) takes, on average over `cases` cases."""
    spent, statements = 0.0, engine.db.stats.statements
    for _ in range(cases):
        t0 = time.perf_counter()
        case = start_case(engine, "stodkedja", pupil_id=pupil, by=user)
        spent += time.perf_counter() - t0
        for answer in ANSWERS:
            task_id = ready_task(engine, case.id)
            t0 = time.perf_counter()
            run_step(engine, task_id, answer, by=user, expected_row_version=None, within=None, signing=True)
            spent += time.perf_counter() - t0
    count = cases * (1 + len(ANSWERS))
    return spent * 1000 / count, (engine.db.stats.statements - statements) / count


def measure(engine: Engine, name: str, cases: int, rounds: int) -> dict:
    user, pupil = chain_people(engine)
    deploy_path(engine, CHAIN, shared_dir=CHAIN / "none")
    steps(engine, 5, user, pupil)  # warm the caches
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    ids = [webhooks.subscribe(engine, f"bench {i}", url, by=None)[0].id for i in range(3)]
    without: list[tuple[float, float]] = []
    with_: list[tuple[float, float]] = []
    for _ in range(rounds):
        for active, times in ((False, without), (True, with_)):
            # three subscriptions wanting every event, or wanting none of this workload's (the step still
            # reads them, and writes no row)
            with engine.db.write() as s:
                s.execute(update(WebhookSubscription).values(events=[] if active else ["case_migrated"]))
            times.append(steps(engine, cases, user, pupil))
    pending = sum(s.pending for s in webhooks.subscriptions(engine))
    t0 = time.perf_counter()
    delivered = 0
    while done := webhooks.deliver_due(engine):
        delivered += done
    spent = time.perf_counter() - t0
    server.shutdown()
    assert delivered == pending and len(ids) == 3
    ms_without, ms_with = statistics.median(t for t, _ in without), statistics.median(t for t, _ in with_)
    return {
        "database": name,
        "step_ms_without": round(ms_without, 2),
        "step_ms_with_3_subscriptions": round(ms_with, 2),
        "ratio": round(ms_with / ms_without, 3),
        "statements_per_step_without": round(statistics.median(n for _, n in without), 2),
        "statements_per_step_with": round(statistics.median(n for _, n in with_), 2),
        "delivered": delivered,
        "deliveries_per_s": round(delivered / spent, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine.from_settings(database_url=f"sqlite:///{folder}/bench.db")
        rows.append(measure(engine, "sqlite", args.cases, args.rounds))
        engine.close()
    postgres = fresh_postgres()
    if postgres is not None:
        rows.append(measure(postgres, "postgresql", args.cases, args.rounds))
        postgres.close()
    print(
        f"{'database':<11} {'ms, no rows':>11} {'ms, 3 subs':>10} {'ratio':>6} {'stmts, no rows':>14} "
        f"{'stmts, 3 subs':>13} {'delivered':>10} {'per s':>7}"
    )
    for r in rows:
        print(
            f"{r['database']:<11} {r['step_ms_without']:>11} {r['step_ms_with_3_subscriptions']:>10} "
            f"{r['ratio']:>6} {r['statements_per_step_without']:>14} {r['statements_per_step_with']:>13} "
            f"{r['delivered']:>10} {r['deliveries_per_s']:>7}"
        )
    print(json.dumps({"webhook_outbox": rows}))


if __name__ == "__main__":
    main()
