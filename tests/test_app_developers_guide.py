"""Every code sample in docs/app-developers.md, run in order against a live server: the guide
cannot drift from what the server does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "app-developers.md"

pytestmark = pytest.mark.live


def samples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)


def test_the_guide_has_samples_for_each_part():
    text = "\n".join(samples())
    for call in ("/v1/auth/register", "/v1/auth/token", "refresh_token", "If-Match",
                 "Retry-After", "/sync", "Idempotency-Key", "/changes", "/trends/",
                 "READ_ONLY"):
        assert call in text, call


def test_every_code_sample_in_the_app_developers_guide_runs(live_server):
    namespace: dict[str, object] = {"BASE": live_server}
    for n, code in enumerate(samples(), 1):
        try:
            exec(compile(code, f"{GUIDE.name} sample {n}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message names the sample
            raise AssertionError(f"sample {n} failed: {exc!r}\n{code}") from exc
    namespace["api"].close()  # type: ignore[attr-defined]
