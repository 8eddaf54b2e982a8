"""Summarise py-spy's raw (folded) stacks: inclusive and self share of samples per function.

    python -m scripts.bench.stacks FILE [FILE ...] [--top 30] [--under FUNCTION]

Each line of a ``py-spy record --format raw`` file is ``frame;frame;…;leaf COUNT`` with
frames like ``function (path:line)``. Inclusive = share of samples with the function
anywhere on the stack (counted once per stack); self = share where it is the leaf.
``--under`` keeps only stacks passing through a function (e.g. ``_apply_batch``) and gives
shares of those.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^():]+)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """``Class.method (path/file.py:12)`` -> ``Class.method (file.py)``, lines merged."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    short = "/".join(path.split("/")[-2:])
    return f"{m.group('func')} ({short})"


def load(paths: list[Path], under: str | None = None) -> tuple[Counter, Counter, int]:
    inclusive: Counter = Counter()
    leaf: Counter = Counter()
    total = 0
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [frame_name(f) for f in stack.split(";")]
            if under is not None:
                hits = [i for i, f in enumerate(frames) if f.split(" (")[0].endswith(under)]
                if not hits:
                    continue
                frames = frames[hits[0]:]
            n = int(count)
            total += n
            for name in set(frames):
                inclusive[name] += n
            leaf[frames[-1]] += n
    return inclusive, leaf, total


def summary(paths: list[Path], top: int = 30, under: str | None = None) -> str:
    inclusive, leaf, total = load(paths, under)
    if not total:
        return "no samples"
    lines = [f"{total} samples" + (f" under {under}" if under else ""), "",
             "inclusive %  function"]
    lines += [f"{100 * n / total:10.1f}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self %      function"]
    lines += [f"{100 * n / total:10.1f}  {name}" for name, n in leaf.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--under", help="only stacks through this function")
    a = p.parse_args()
    print(summary(a.files, a.top, a.under))


if __name__ == "__main__":
    main()
