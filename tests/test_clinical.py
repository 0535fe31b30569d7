from __future__ import annotations

from app.clinical import THRESHOLDS, threshold
from tests.helpers import reset_caches


def test_every_threshold_has_a_source_and_matches_the_spec():
    spec = {"pain_mcid": 2, "pain_mcid_percent": 30, "pain_mdc": 1.33, "pain_pass": 3.23,
            "stiffness_mcid": 2, "stiffness_mcid_percent": 30, "swelling_mdc": 1,
            "morning_stiffness_mdc": 15, "session_pain_limit": 5, "rom_error_inclinometer": 6,
            "rom_error_goniometer": 10, "rom_error_smartphone_app": 12,
            "rom_error_self_estimate": 14, "koos_pain_mic": 15, "koos_symptoms_mic": 12.5,
            "koos_adl_mic": 15.5, "koos_sport_rec_mic": 17.5, "koos_qol_mic": 12.5}
    for key, value in spec.items():
        assert THRESHOLDS[key].value == value, key
    for t in THRESHOLDS.values():
        assert len(t.source) > 20 and t.unit
    # The PASS is Tubach 2005's 32.3 mm (0-100 VAS) on the 0-10 scale.
    assert "Tubach" in THRESHOLDS["pain_pass"].source and "32.3" in THRESHOLDS["pain_pass"].source


def test_thresholds_can_be_overridden_by_configuration(monkeypatch):
    monkeypatch.setenv("KNEETRACK_THRESHOLDS", '{"pain_mcid": 1.5}')
    reset_caches()
    try:
        assert threshold("pain_mcid") == 1.5
        assert threshold("stiffness_mcid") == 2
    finally:
        monkeypatch.delenv("KNEETRACK_THRESHOLDS")
        reset_caches()
