from __future__ import annotations

from app.clinical import THRESHOLDS, threshold
from tests.helpers import reset_caches


def test_every_threshold_has_a_source_and_matches_the_spec():
    spec = {"pain_mcid": 2, "pain_mdc": 1.33, "stiffness_mcid": 2, "swelling_mcid": 1,
            "morning_stiffness_mcid": 15, "rom_error_inclinometer": 6,
            "rom_error_goniometer": 10, "rom_error_smartphone_app": 12,
            "rom_error_self_estimate": 14, "koos_pain_mic": 15, "koos_symptoms_mic": 12.5,
            "koos_adl_mic": 15.5, "koos_sport_rec_mic": 17.5, "koos_qol_mic": 12.5}
    for key, value in spec.items():
        assert THRESHOLDS[key].value == value, key
    for t in THRESHOLDS.values():
        assert len(t.source) > 20 and t.unit


def test_thresholds_can_be_overridden_by_configuration(monkeypatch):
    monkeypatch.setenv("KNEETRACK_THRESHOLDS", '{"pain_mcid": 1.5}')
    reset_caches()
    try:
        assert threshold("pain_mcid") == 1.5
        assert threshold("stiffness_mcid") == 2
    finally:
        monkeypatch.delenv("KNEETRACK_THRESHOLDS")
        reset_caches()
