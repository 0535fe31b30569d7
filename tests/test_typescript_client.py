"""A TypeScript client generated from the committed openapi.json by openapi-typescript, used
through openapi-fetch, compiled by strict tsc and run against a live server: the app scenario
(sign-up → token → diary → sync → changes → trend → FHIR), as an app developer would.

The npm packages are pinned in clients/typescript/package-lock.json and installed by
`make ts-client` (CI does it before the tests): nothing is downloaded here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[1] / "clients" / "typescript"
DOCUMENT = Path(__file__).resolve().parents[1] / "openapi.json"

pytestmark = pytest.mark.live


def _require_packages() -> None:
    if shutil.which("node") and (CLIENT / "node_modules" / ".bin" / "tsc").exists():
        return
    reason = "the TypeScript client's packages are not installed (make ts-client)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run this test")
    pytest.skip(reason)


def _run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_generated_typescript_client_runs_the_app_scenario(live_server, tmp_path):
    _require_packages()
    # A copy per run (the suite runs in parallel processes), with the installed packages.
    work = tmp_path / "client"
    shutil.copytree(CLIENT, work, ignore=shutil.ignore_patterns("node_modules", "dist"))
    (work / "node_modules").symlink_to(CLIENT / "node_modules")
    bin_ = CLIENT / "node_modules" / ".bin"
    schema = work / "src" / "schema.d.ts"
    _run([str(bin_ / "openapi-typescript"), str(DOCUMENT), "--output", str(schema)], work)
    types = schema.read_text(encoding="utf-8")
    # The offline and FHIR paths are typed all the way down: no `unknown`, no `any`.
    for name in ("SyncIn", "SyncEntryItem", "SyncSessionItem", "SyncDeletion", "FhirBundle",
                 "FhirBundleEntry"):
        block = re.search(rf"\n        {name}: \{{\n(.*?)\n        \}};", types, re.S)
        assert block, name
        assert not re.search(r"\b(unknown|any)\b", block.group(1)), (name, block.group(1))
    _run([str(bin_ / "tsc"), "-p", "."], work)  # strict (tsconfig.json)
    out = _run(["node", "dist/scenario.js", live_server], work).splitlines()
    steps = dict(line.split(" ", 1) for line in out)
    assert list(steps) == ["sign-up", "token", "diary", "sync", "changes", "trend", "fhir"]
    assert steps["token"].startswith("200 bearer")
    assert steps["sync"] == (
        "200 symptom_entry:created symptom_entry:created exercise_session:created")
    assert steps["changes"].startswith("200 4 exercise_session,symptom_entry")
    assert steps["fhir"].startswith("200 Bundle collection")
