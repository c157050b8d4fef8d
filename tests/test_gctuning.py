"""The collector settings of a serving process (``smsrelay.gctuning``).

Run in a child interpreter: freezing is process-wide and would change this test process's
collector for every later test.
"""

from __future__ import annotations

import json
import subprocess
import sys

from smsrelay.gctuning import THRESHOLDS

PROBE = """
import gc, json
from smsrelay.gctuning import tune_for_service

class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the collector frees it

kept = [Node() for _ in range(100)]  # alive at start-up: frozen
tune_for_service()
frozen = gc.get_freeze_count()
garbage = [Node() for _ in range(1000)]
del garbage
freed = gc.collect()  # cycles made after start-up are still collected
print(json.dumps({"threshold": gc.get_threshold(), "frozen": frozen, "freed": freed,
                  "kept": len(kept)}))
"""


def test_startup_objects_are_frozen_and_later_cycles_still_collected() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(done.stdout)
    assert tuple(result["threshold"]) == THRESHOLDS
    assert result["frozen"] >= 100  # the kept nodes at least
    assert result["freed"] >= 1000  # each garbage node is one cycle of one object
    assert result["kept"] == 100
