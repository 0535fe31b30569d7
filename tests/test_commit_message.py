"""The commit-message check of .ci/commit_message.py and the pre-commit configuration."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("commit_message", ROOT / ".ci/commit_message.py")
assert _spec and _spec.loader
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)

GOOD = "Trends: anchor the baseline to the plan\n\nThe baseline is the week before the plan.\n"


@pytest.mark.parametrize(
    ("message", "changed", "expected"),
    [
        (GOOD, 200, []),
        ("Fix a typo in the README\n", 2, []),
        ("Embed the stylesheet\n", 2, []),
        ("x" * 73 + "\n", 2, ["the subject has 73 characters (at most 72)"]),
        ("Fix the flags.\n", 2, ["the subject ends with a full stop"]),
        ("Trends: anchored the baseline\n", 2,
         ["write the subject in the imperative ('anchored')"]),
        ("Adding flags\n", 2, ["write the subject in the imperative ('Adding')"]),
        ("Adds flags\n", 2, ["write the subject in the imperative ('Adds')"]),
        ("Split the module\nthe body\n", 2, ["leave a blank line after the subject"]),
        ("Split the module\n", 31, ["a change of 31 lines needs a body: the mechanism, and "
                                    "any before -> after figures"]),
        ("\n", 0, ["the subject line is empty"]),
    ],
)
def test_commit_message_rules(message: str, changed: int, expected: list[str]) -> None:
    assert check.problems(message, changed) == expected


def test_the_hook_exits_non_zero_on_a_bad_message(tmp_path: Path) -> None:
    bad = tmp_path / "MSG"
    bad.write_text("Added things.\n", encoding="utf-8")
    run = subprocess.run([sys.executable, str(ROOT / ".ci/commit_message.py"), str(bad),
                          "--changed-lines", "1"], capture_output=True, text=True)
    assert run.returncode == 1 and "imperative" in run.stderr


def test_pre_commit_config_is_valid() -> None:
    run = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config",
                          str(ROOT / ".pre-commit-config.yaml")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
