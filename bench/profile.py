"""`python -m bench --profile DIR`: py-spy samples a server worker during a scenario's first
timed run (only the thread holding the GIL, i.e. where Python spends CPU), keeps the collapsed
stacks, and summarises which functions dominate."""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
from pathlib import Path

TOP = 15


def py_spy() -> str | None:
    return shutil.which("py-spy") or (
        str(Path(sys.executable).with_name("py-spy"))
        if Path(sys.executable).with_name("py-spy").exists()
        else None
    )


def start(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    exe = py_spy()
    if exe is None:
        return None
    cmd = [exe, "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", "250",
           "--gil", "--nonblocking", "-f", "raw", "-o", str(out)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _frame(frame: str) -> tuple[str, str]:
    """(function, file) of a py-spy raw frame `func (path/file.py:line)`."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    return name, path


def summarise(stacks: Path, root: Path) -> list[str]:
    """The product's own functions by inclusive share of the samples, and the functions where
    the samples end (self time), as lines of text."""
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";") if f]
        seen = set()
        for name, path in frames:
            # py-spy shortens paths to the importable module path: `app/…` is the product
            own_code = path.startswith("app/") or str(root / "app") in path
            if own_code and not path.endswith("cli.py") and (name, path) not in seen:
                seen.add((name, path))
                inclusive[f"{name} ({path.removeprefix(str(root) + '/')})"] += n
        if frames:
            name, path = frames[-1]
            own[f"{name} ({Path(path).name})"] += n
    if not total:
        return ["no samples"]
    out = [f"{total} samples; product functions by inclusive share:"]
    out += [f"  {100 * v / total:5.1f} %  {k}" for k, v in inclusive.most_common(TOP)]
    out.append("where the samples end (self):")
    out += [f"  {100 * v / total:5.1f} %  {k}" for k, v in own.most_common(TOP)]
    return out
