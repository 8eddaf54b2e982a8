"""Peak memory of a process, as the benchmarks report it.

A process's own peak RSS is its ``VmHWM`` (``/proc/<pid>/status``). ``ru_maxrss`` is not:
Linux starts a spawned child's ``ru_maxrss`` at its parent's peak (it is carried over the
exec that follows ``vfork``), so a small child of a big parent would report the parent's.
"""
from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """``VmHWM`` of a running process in MB, or None if it is gone (or not on Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def own_peak_rss_mb() -> float:
    """This process's own peak RSS in MB (``ru_maxrss`` where there is no ``VmHWM``)."""
    peak = peak_rss_mb()
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
