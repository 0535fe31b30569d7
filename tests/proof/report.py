"""Figures of a Schemathesis run for docs/RELIABILITY.md, from its NDJSON report:
`python -m tests.proof.report schemathesis-report/ndjson-*.ndjson [openapi.json URL or file]`.
Counts generated test cases per documented operation and per phase, and answers by class."""

from __future__ import annotations

import collections
import json
import sys


def figures(ndjson_path: str) -> dict[str, object]:
    per_op: collections.Counter[str] = collections.Counter()
    per_phase: collections.Counter[str] = collections.Counter()
    answers: collections.Counter[str] = collections.Counter()
    with open(ndjson_path) as fh:
        for line in fh:
            event = json.loads(line)
            kind = next(iter(event))
            if kind != "ScenarioFinished":
                continue
            body = event[kind]
            recorder = body.get("recorder") or {}
            for case in recorder.get("cases", {}).values():
                value = case["value"]
                per_op[f"{value['method']} {value['path']}"] += 1
                per_phase[str(body.get("phase"))] += 1
            for interaction in recorder.get("interactions", {}).values():
                if interaction.get("response"):
                    answers[f"{interaction['response']['status_code'] // 100}xx"] += 1
    return {"per_operation": per_op, "per_phase": per_phase, "answers": answers}


def main() -> None:
    result = figures(sys.argv[1])
    documented = set(sys.argv[2:])  # "METHOD /path" labels to keep, if given
    per_op = result["per_operation"]
    assert isinstance(per_op, collections.Counter)
    rows = {k: v for k, v in per_op.items() if not documented or k in documented}
    print("cases:", sum(per_op.values()), "| per phase:", dict(result["per_phase"]),  # type: ignore[call-overload]
          "| answers:", dict(result["answers"]))  # type: ignore[call-overload]
    counts = sorted(rows.values())
    print(f"documented operations: {len(rows)}; cases per operation min {counts[0]}, "
          f"median {counts[len(counts) // 2]}, max {counts[-1]}")
    for label, n in sorted(rows.items(), key=lambda kv: kv[0].split(" ")[1]):
        print(f"{n:5d}  {label}")


if __name__ == "__main__":
    main()
