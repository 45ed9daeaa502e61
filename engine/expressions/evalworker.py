"""One evaluation worker: a process that runs routine authors' expressions and scripts under OS limits.

Started by `engine.expressions.evalpool` as ``python -m engine.expressions.evalworker MEMORY_MB
CPU_SECONDS``. Once its imports
are done it writes ``{"ready": true}``; then it reads requests from stdin and writes answers to stdout,
each a frame: 4 bytes of length (big-endian), then JSON.

A request is ``{"mode": "eval"|"exec", "source": ..., "context": {...}, "external": {...}, "now": iso}``;
the answer ``{"value": ...}`` (an expression's value, or a script's new task data) or
``{"error": class name, "message": ..., "line": n}``.

Limits, enforced by the kernel so that no Python-level loophole (one long C call such as
``round(1, -10**9)``) escapes them:
- RLIMIT_AS: the whole process's address space (MEMORY_MB); a bigger allocation fails with MemoryError,
  after which the worker answers and exits, to be replaced by a fresh one.
- RLIMIT_CPU: raised before each request to what the process has used so far plus CPU_SECONDS; past it
  the kernel sends SIGXCPU, which ends the process.
- The parent watches the wall clock (engine.expressions.evalpool) and kills a worker that does not answer in
time.
The sandbox (engine.expressions.sandbox) still applies inside: the worker is a second wall, not the only one.
"""
from __future__ import annotations

import json
import math
import os
import resource
import struct
import sys
import traceback
from datetime import datetime
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024  # far above MAX_DATA; a bigger frame means a broken peer


def read_frame(stream: BinaryIO) -> bytes | None:
    """One frame's payload, or None at end of input."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (length,) = HEADER.unpack(head)
    if length > MAX_FRAME:
        raise ValueError(f"frame of {length} bytes is too large")
    payload = stream.read(length)
    return payload if len(payload) == length else None


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()


def _error_line(exc: BaseException) -> int | None:
    from .sandbox import FILENAME
    line = getattr(exc, "line", None)
    if line is None:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == FILENAME]
        line = lines[-1] if lines else None
    return line


def _answer(request: dict[str, Any], environment: Any) -> dict[str, Any]:
    from . import helpers
    helpers.set_clock(datetime.fromisoformat(request["now"]) if request.get("now") else None)
    context, external = request["context"], request.get("external") or {}
    if request["mode"] == "eval":
        return {"value": environment.evaluate(request["source"], context, external)}
    environment.execute(request["source"], context, external)
    return {"value": context}


def serve(stdin: BinaryIO, stdout: BinaryIO, cpu_seconds: int) -> None:
    from .sandbox import SandboxEnvironment
    environment = SandboxEnvironment()
    while True:
        payload = read_frame(stdin)
        if payload is None:
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = math.ceil(used.ru_utime + used.ru_stime)
        resource.setrlimit(resource.RLIMIT_CPU, (spent + cpu_seconds, resource.RLIM_INFINITY))
        out_of_memory = False
        try:
            answer = _answer(json.loads(payload), environment)
            reply = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        except MemoryError:
            out_of_memory = True
            reply = json.dumps({"error": "MemoryError", "message": "", "line": None}).encode()
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller, named
            reply = json.dumps({"error": type(exc).__name__, "message": str(exc),
                                "line": _error_line(exc)}, ensure_ascii=False).encode("utf-8")
        write_frame(stdout, reply)
        if out_of_memory:  # the heap may be fragmented or half-built: a fresh worker takes over
            return


def main(argv: list[str]) -> None:
    memory_mb, cpu_seconds = int(argv[1]), int(argv[2])
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the parent through stdout
    from . import sandbox  # noqa: F401 - imported before the memory limit, which then bounds only work
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        write_frame(stdout, b'{"ready": true}')  # the parent's clock for a request starts after this
        serve(stdin, stdout, cpu_seconds)
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    os._exit(0)  # skip interpreter teardown: the parent has what it needs


if __name__ == "__main__":
    main(sys.argv)
