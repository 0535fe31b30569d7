from __future__ import annotations

import re

from tests.helpers import entry, request_count

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# The operator's token (tests/conftest.py): the in-process client is not on loopback.
SCRAPER = {"Authorization": "Bearer kneetrack-test-metrics-token"}



def test_requests_are_counted_by_route_template_never_by_path(client, make_patient):
    p = make_patient()
    route = "/v1/patients/{pid}/symptom-entries/{entry_date}"
    before = request_count(client.get("/metrics", headers=SCRAPER).text, "PUT", route, 201)
    r = client.put(f"/v1/patients/{p.id}/symptom-entries/2026-01-05", headers=p.headers,
                   json=entry())
    assert r.status_code == 201
    client.get(f"/v1/patients/{p.id}/symptom-entries/2026-01-05", headers=p.headers)
    client.get(f"/no/such/{p.id}")
    r = client.get("/metrics", headers=SCRAPER)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert request_count(text, "PUT", route, 201) == before + 1
    assert request_count(text, "GET", route, 200) >= 1
    assert request_count(text, "GET", "<unmatched>", 404) >= 1
    assert 'kneetrack_http_request_duration_seconds_bucket{le="0.005",method="GET",route=' \
        f'"{route}"}}' in text
    assert "kneetrack_http_requests_in_flight" in text
    # No patient id, no date, no raw path anywhere in the exposition.
    assert p.id not in text and "2026-01-05" not in text and "/no/such" not in text
    assert UUID.search(text) is None


def test_metrics_answer_only_the_operator(client, make_patient):
    """Hardening finding 12: /metrics was open to anyone."""
    from tests.helpers import assert_problem

    p = make_patient()
    for headers in ({}, {"Authorization": "Bearer wrong"}, p.headers,
                    {"Authorization": "Bearer kneetrack-test-metrics-token "}):
        assert_problem(client.get("/metrics", headers=headers), 404)
    assert client.get("/metrics", headers=SCRAPER).status_code == 200
