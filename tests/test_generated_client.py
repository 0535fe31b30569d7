"""An integrator's view: a typed client generated from the committed openapi.json with
openapi-python-client (offline), used against a live server on loopback: sign up, sign in,
write diary entries, read them back and read a trend."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from app.openapi import DOCUMENT
from tests.helpers import request_count

PACKAGE = "kneetrack_client"


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory):
    out = tmp_path_factory.mktemp("client")
    config = out / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\nproject_name_override: kneetrack-client"
                      "\npost_hooks: []\n")
    generator = Path(sys.executable).parent / "openapi-python-client"
    proc = subprocess.run(
        [str(generator), "generate", "--path", str(DOCUMENT), "--config", str(config),
         "--meta", "none", "--output-path", str(out / PACKAGE)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Warning" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture()
def server(live_server):
    return live_server


def _api(name: str):
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def test_generated_client_signs_up_writes_and_reads_back(generated_client, server):
    models = importlib.import_module(f"{PACKAGE}.models")
    anon = generated_client.Client(base_url=server, raise_on_unexpected_status=True)
    email = f"gen-{uuid.uuid4().hex[:10]}@example.org"
    created = _api("auth.auth_register").sync_detailed(client=anon, body=models.RegisterIn(
        email=email, password="a-long-client-password", display_name="Gen",
        timezone=models.TimeZone.EUROPE_BERLIN, index_knee=models.RegisterInIndexKneeType0.LEFT))
    # Zones that differ only by sign are distinct members (`x-enum-varnames`).
    assert models.TimeZone.ETC_GMT_PLUS_5.value == "Etc/GMT+5"
    assert models.TimeZone.ETC_GMT_MINUS_5.value == "Etc/GMT-5"
    assert created.status_code == 201 and isinstance(created.parsed, models.PatientOut)
    tokens = _api("auth.auth_token").sync(client=anon, body=models.BodyAuthToken(
        username=email, password="a-long-client-password"))
    assert isinstance(tokens, models.TokenOut)
    authed = generated_client.AuthenticatedClient(base_url=server, token=tokens.access_token,
                                                  raise_on_unexpected_status=True)
    day = dt.date(2026, 1, 5)
    body = models.SymptomEntryIn(
        knees=models.Knees(left=models.Knee(pain=4, extension_degrees=-3,
                                            rom_method=models.KneeRomMethodType0.GONIOMETER)),
        notes="from a generated client")
    put = _api("diary.diary_put_symptom_entry").sync_detailed(
        "me", day, client=authed, body=body)
    assert put.status_code == 201 and isinstance(put.parsed, models.SymptomEntryOut)
    assert put.headers["etag"] == '"1"'
    got = _api("diary.diary_get_symptom_entry").sync("me", day, client=authed)
    assert isinstance(got, models.SymptomEntryOut)
    assert got.entry_date == day and got.knees.left.pain == 4
    assert got.knees.left.extension_degrees == -3 and got.notes == "from a generated client"
    page = _api("diary.diary_list_symptom_entries").sync("me", client=authed)
    assert [i.entry_date for i in page.items] == [day]
    # A second day, then the pain trend over both.
    next_day = day + dt.timedelta(days=1)
    _api("diary.diary_put_symptom_entry").sync(
        "me", next_day, client=authed,
        body=models.SymptomEntryIn(knees=models.Knees(left=models.Knee(pain=6))))
    trend = _api("trends.trends_metric_trend").sync(
        "me", models.TrendsMetricTrendMetric.PAIN, client=authed, from_=day,
        to=day + dt.timedelta(days=9), knee=models.TrendsMetricTrendKnee.LEFT)
    assert isinstance(trend, models.TrendOut)
    assert trend.metric == "pain" and trend.n == 2
    by_day = {p.period_start: p.mean for p in trend.points if p.n}
    assert by_day == {day: 4, next_day: 6}
    # Errors parse as the declared problem+json model.
    missing = _api("diary.diary_get_symptom_entry").sync(
        str(uuid.uuid4()), day, client=authed)
    assert isinstance(missing, models.Problem) and missing.status == 404


def test_metrics_add_up_across_workers(server):
    def count() -> float:
        # From loopback without a forwarding header: the host's operator.
        return request_count(httpx.get(f"{server}/metrics").text, "GET", "/healthz", 200)

    before = count()
    # Fresh connections, so that both workers take some of them.
    for _ in range(20):
        assert httpx.get(f"{server}/healthz").status_code == 200
    assert count() == before + 20
