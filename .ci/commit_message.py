"""The commit-message check (a pre-commit `commit-msg` hook; `make hooks` installs it).

    python .ci/commit_message.py MESSAGE_FILE [--changed-lines N]

A subject of at most 72 characters, in the imperative ("Trends: anchor the baseline"), with
no full stop; a blank line after it; and a body that says the mechanism (and any before ->
after figures) when the change is larger than a few lines. Without --changed-lines, the size
is read from the staged change."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

MAX_SUBJECT = 72
BODY_AFTER_LINES = 30
# First words that end like a past tense or a gerund but are imperatives.
IMPERATIVE_EXCEPTIONS = {"embed", "feed", "seed", "shed", "speed", "need", "bring", "string"}


def problems(message: str, changed_lines: int) -> list[str]:
    lines = [line for line in message.splitlines() if not line.startswith("#")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not lines[0].strip():
        return ["the subject line is empty"]
    subject, found = lines[0], []
    if len(subject) > MAX_SUBJECT:
        found.append(f"the subject has {len(subject)} characters (at most {MAX_SUBJECT})")
    if subject.rstrip().endswith("."):
        found.append("the subject ends with a full stop")
    words = re.sub(r"^[\w./ -]{1,30}: ", "", subject).split()
    first = words[0].lower() if words else ""
    if first not in IMPERATIVE_EXCEPTIONS and (
        first.endswith(("ed", "ing")) or re.fullmatch(r"(add|fix|make|use|remove)s", first)
    ):
        found.append(f"write the subject in the imperative ('{words[0]}')")
    if len(lines) > 1 and lines[1].strip():
        found.append("leave a blank line after the subject")
    body = [line for line in lines[2:] if line.strip()]
    if changed_lines > BODY_AFTER_LINES and not body:
        found.append(
            f"a change of {changed_lines} lines needs a body: the mechanism, and any "
            "before -> after figures"
        )
    return found


def staged_lines() -> int:
    out = subprocess.run(
        ["git", "diff", "--cached", "--numstat"],  # noqa: S607 - git from the PATH, as any hook
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    total = 0
    for row in out.splitlines():
        added, removed, _ = [*row.split("\t"), "", "", ""][:3]
        total += int(added) if added.isdigit() else 0
        total += int(removed) if removed.isdigit() else 0
    return total


def main(argv: list[str]) -> int:
    message = Path(argv[1]).read_text(encoding="utf-8")
    changed = int(argv[3]) if len(argv) > 3 and argv[2] == "--changed-lines" else staged_lines()
    found = problems(message, changed)
    for problem in found:
        print(f"commit message: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
