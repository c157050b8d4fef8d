"""The benchmark suite behind ``bench/run.py``: processes, the stack, scenarios, reports."""
