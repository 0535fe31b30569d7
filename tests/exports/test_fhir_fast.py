"""The FHIR export's fast paths against their references: `stable_id` against `uuid.uuid5`."""

from __future__ import annotations

import random
import uuid

from app.exports.fhir_build import IdSpace, stable_id
from app.exports.fhir_codes import _NS


def _uuid5(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


def test_stable_id_is_the_uuid5_of_the_parts():
    rng = random.Random(5)
    words = ["left", "right", "pain", "night_pain", "morning-stiffness", "", "é", "😀", "a/b"]
    for _ in range(5000):
        parts = [uuid.UUID(int=rng.getrandbits(128))]
        parts += rng.choices(words, k=rng.randint(0, 3))
        parts += ["x" * rng.randint(0, 80)] if rng.random() < 0.2 else []
        expected = _uuid5(*parts)
        assert stable_id(*parts) == expected
        # An id space primed with the start of the name gives the same id.
        name = "/".join(str(p) for p in parts)
        cut = rng.randint(0, len(name))
        assert IdSpace(name[:cut]).id(name[cut:].encode()) == expected
        assert uuid.UUID(expected).version == 5 and uuid.UUID(expected).variant == uuid.RFC_4122
