"""Workflows of recently stepped cases, kept in memory so the next step need not deserialize them.

An entry is only used when its row version equals the case row's, so it is always exactly what the
database holds. A step takes the entry out (no two threads ever share one workflow object) and puts
it back only after its transaction committed; a failed step leaves nothing behind.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from SpiffWorkflow.bpmn import BpmnWorkflow


class LiveCases:
    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def take(self, case_id: int, row_version: int) -> BpmnWorkflow | None:
        with self._lock:
            found = self._items.pop(case_id, None)
            if found is not None and found[0] == row_version:
                self.hits += 1
                return found[1]
            self.misses += 1
            return None

    def put(self, case_id: int, row_version: int, workflow: BpmnWorkflow) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[case_id] = (row_version, workflow)
            self._items.move_to_end(case_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def drop(self, case_id: int) -> None:
        """Forget a case's workflow (a step of it failed: what it held may not be what the database holds)."""
        with self._lock:
            self._items.pop(case_id, None)

    def held(self, case_id: int) -> int | None:
        """The row version of the case's workflow held here, if one is (it stays held)."""
        with self._lock:
            found = self._items.get(case_id)
            return found[0] if found is not None else None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
