"""A pool of evaluation workers (engine.expressions.evalworker): routine authors' code runs there, never in
the server.

Each Engine (engine.core) has its own pool, made on its first evaluation and stopped by `Engine.close`
(or at exit); a process forked from one that had a pool (gunicorn after loading the app) starts afresh.
A worker is a separate program started with fork+exec, so it inherits no locks, threads or connections
from its parent, and is ready (imports done) before it is needed.

A request takes an idle worker (or waits for one), sends it the source and the task data, and waits
for the answer at most `wall_seconds`. A worker that overruns (the parent's watchdog, the kernel's
RLIMIT_CPU, or RLIMIT_AS) is killed, reaped, and replaced; the request fails with a SandboxError that
says which limit it met. Workers are stopped, and reaped, when the pool is closed.

Limits come from the settings ELEVFLOW_EVAL_WORKERS, _CPU_SECONDS, _WALL_SECONDS and _MEMORY_MB, through
the engine's configuration (`Limits.of`). A worker is given its memory and CPU limits on its command
line, by the parent; it reads no settings and keeps no state beyond its own process.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .. import settings
from ..errors import DataNotJSONError, RemoteError, RoutineRefusal, SandboxError
from .bounds import STEP_DEADLINE
from .evalworker import HEADER, MAX_FRAME

STARTUP_SECONDS = 60.0  # a worker's imports, on a busy machine

@dataclass(frozen=True)
class Limits:
    workers: int
    cpu_seconds: int
    wall_seconds: float
    memory_mb: int

    @classmethod
    def of(cls, config: settings.Config) -> Limits:
        return cls(config.eval_workers, config.eval_cpu_seconds, config.eval_wall_seconds,
                   config.eval_memory_mb)


class _Died(SandboxError):
    """A worker ended without answering: at its CPU limit (`cpu`), or for another reason."""

    def __init__(self, message: str, *, cpu: bool):
        super().__init__(message)
        self.cpu = cpu


#: Where the worker's `python -m` finds this package: anywhere once installed as elevflow (editable or
#: not); the checkout's root for the bare top-level `engine` of an uninstalled tree.
_IMPORT_ROOT = None if (__package__ or "").startswith("elevflow.") else \
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _Worker:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", f"{__package__}.evalworker", str(limits.memory_mb),
                str(limits.cpu_seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True, start_new_session=True,
            cwd=_IMPORT_ROOT)
        self.served = 0
        self.ready = False

    def ask(self, request: bytes) -> dict[str, Any]:
        """Send one request and wait for its answer; raise SandboxError (the worker is then dead)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        if not self.ready:  # started but not yet heard from: its imports do not count against the limit
            try:
                self._read(self.process.stdout.fileno(), STARTUP_SECONDS)
            except SandboxError:
                raise SandboxError("the evaluation worker did not start") from None
            self.ready = True
        try:
            self.process.stdin.write(HEADER.pack(len(request)) + request)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died() from None
        wait = self.limits.wall_seconds
        step_deadline = STEP_DEADLINE.get()
        if step_deadline is not None:  # the step's own time bound comes first (engine.expressions.bounds)
            wait = max(0.05, min(wait, step_deadline - _monotonic()))
        answer = self._read(self.process.stdout.fileno(), wait)
        self.served += 1
        return answer

    def _read(self, fd: int, seconds: float) -> dict[str, Any]:
        deadline = _monotonic() + seconds
        buffer = b""
        need = HEADER.size
        while len(buffer) < need:
            left = deadline - _monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.kill()
                raise SandboxError(f"the expression or script took too long (over {seconds:g} s of waiting) "
                                   "and was stopped")
            chunk = os.read(fd, max(need - len(buffer), 65536))
            if not chunk:
                raise self._died()
            buffer += chunk
            if need == HEADER.size and len(buffer) >= HEADER.size:
                (length,) = HEADER.unpack(buffer[:HEADER.size])
                if length > MAX_FRAME:
                    self.kill()
                    raise SandboxError("the evaluation worker sent an answer that is too large")
                need = HEADER.size + length
        return json.loads(buffer[HEADER.size:])

    def _died(self) -> _Died:
        code = self.kill()
        if code == -signal.SIGXCPU:
            return _Died(f"the expression or script took too long (over {self.limits.cpu_seconds} s of CPU "
                         "time) and was stopped", cpu=True)
        return _Died(f"the expression or script was stopped (exit status {code}); it may have needed more "
                     f"than {self.limits.memory_mb} MB of memory", cpu=False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> int:
        """End the worker (if it still runs), reap it and close its pipes; return its exit status."""
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        self._close_pipes()
        return code

    def stop(self) -> None:
        """Ask the worker to finish (end of its input), then reap it; kill it if it lingers."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def forget(self) -> None:
        """In a forked child: drop the parent's worker without touching it (it is not our child)."""
        self._close_pipes()
        self.process.returncode = 0  # not ours to wait for; keeps Popen from warning about it

    def _close_pipes(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def _monotonic() -> float:
    return time.monotonic()


class Pool:
    """Evaluation workers of one OS process (thread-safe)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._idle: list[_Worker] = []
        self._count = 0
        self._lock = threading.Condition()
        self._closed = False
        self.replaced = 0  # workers killed for overrunning (tests and benchmarks read it)
        with self._lock:
            self._idle.append(_Worker(limits))  # pre-started: its imports run while the caller works
            self._count = 1

    def _take(self) -> _Worker:
        with self._lock:
            while True:
                if self._closed:
                    raise SandboxError("the evaluation workers have been stopped")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    worker.kill()
                    self._count -= 1
                if self._count < self.limits.workers:
                    self._count += 1
                    break
                self._lock.wait()
        try:
            return _Worker(self.limits)
        except BaseException:
            with self._lock:
                self._count -= 1
                self._lock.notify()
            raise

    def _give_back(self, worker: _Worker | None) -> None:
        with self._lock:
            if worker is not None and worker.alive() and not self._closed:
                self._idle.append(worker)
            else:
                if worker is not None:
                    worker.kill()
                self._count -= 1
            self._lock.notify()

    def call(self, mode: str, source: str, context: dict[str, Any], external: dict[str, Any]) -> Any:
        """Evaluate (mode "eval") or run ("exec") `source` over `context` in a worker; return the value, or
        for a script the new task data. Errors come back as the exception the sandbox raised."""
        request = _encode({"mode": mode, "source": source, "context": context, "external": external,
                           "now": datetime.now(timezone.utc).isoformat()})
        for attempt in (1, 2):
            worker = self._take()
            try:
                answer = worker.ask(request)
                break
            except _Died as died:  # gone without an answer (killed from outside?): once more, on a fresh one
                self.replaced += 1
                self._replace(worker)
                if attempt == 2 or died.cpu:
                    raise
            except SandboxError:  # it overran and is dead: a fresh one takes its place at once
                self.replaced += 1
                self._replace(worker)
                raise
            except BaseException:
                worker.kill()
                self._give_back(None)
                raise
        if answer.get("error") == "MemoryError":  # it exits after answering: replace it now
            self.replaced += 1
            self._replace(worker)
        else:
            self._give_back(worker)
        if "error" in answer:
            raise _rebuild(answer, self.limits)
        return answer["value"]

    def _replace(self, dead: _Worker) -> None:
        dead.kill()
        try:
            fresh = _Worker(self.limits)
        except BaseException:
            self._give_back(None)
            raise
        self._give_back(fresh)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._lock.notify_all()
        for worker in idle:
            worker.stop()

    def forget(self) -> None:
        for worker in self._idle:
            worker.forget()
        self._idle = []


def _encode(request: dict[str, Any]) -> bytes:
    try:
        return json.dumps(request, ensure_ascii=False, allow_nan=True).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise DataNotJSONError(f"task data cannot be handed to the sandbox: {exc}") from None


def _rebuild(answer: dict[str, Any], limits: Limits) -> Exception:
    kind, message, line = answer["error"], answer.get("message", ""), answer.get("line")
    if kind == "SandboxError":
        return SandboxError(message, line)
    if kind == "DataNotJSONError":
        return DataNotJSONError(message)
    if kind == "AssertionError":  # the routine's own check refused the step (sandbox: "use assert")
        return RoutineRefusal(message)
    if kind == "MemoryError":
        return SandboxError(f"the expression or script needed more than {limits.memory_mb} MB of memory "
                            "and was stopped", line)
    return RemoteError(kind, message, line)
