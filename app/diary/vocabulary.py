"""The diary's vocabulary, written once: the API's literal types, the database's CHECK lists
(`get_args` of the same types) and the per-knee fields with their columns, from which the
schemas, the tables, the sync and the exports are generated."""

from __future__ import annotations

from typing import Literal, get_args

RomMethod = Literal["self_estimate", "goniometer", "inclinometer", "smartphone_app"]
Activity = Literal[
    "backward_walking",
    "forward_walking",
    "backward_treadmill",
    "cycling",
    "strengthening",
    "stretching",
    "balance",
    "aquatic",
    "other",
]
Setting = Literal["indoor", "outdoor", "treadmill", "pool"]
AnalgesicKind = Literal["paracetamol", "nsaid_oral", "nsaid_topical", "opioid", "other"]

ROM_METHODS: tuple[str, ...] = get_args(RomMethod)
ACTIVITIES: tuple[str, ...] = get_args(Activity)
SETTINGS: tuple[str, ...] = get_args(Setting)
ANALGESIC_KINDS: tuple[str, ...] = get_args(AnalgesicKind)

SIDES = ("left", "right")
# Per knee, in the API's order: the field and its column suffix (stored as `left_<suffix>` and
# `right_<suffix>` in `symptom_entries`).
KNEE_FIELDS = {
    "pain": "pain",
    "stiffness": "stiffness",
    "swelling": "swelling",
    "warmth": "warmth",
    "giving_way": "giving_way",
    "flexion_degrees": "flexion",
    "extension_degrees": "extension",
    "rom_method": "rom_method",
    "night_pain": "night_pain",
    "locking": "locking",
}
# The fields that carry a measurement (all but how range of motion was measured).
KNEE_MEASURES = tuple(f for f in KNEE_FIELDS if f != "rom_method")
KNEE_COLUMN_SUFFIXES = tuple(KNEE_FIELDS.values())
# Per side: (API field, column) pairs, e.g. ("flexion_degrees", "left_flexion").
SIDE_COLUMNS = {
    side: tuple((field, f"{side}_{suffix}") for field, suffix in KNEE_FIELDS.items())
    for side in SIDES
}
