"""Every threshold with a clinical meaning, in one table, each with its source.

Trends and flags read them through `threshold(key)`; a deployment may override any value with
`KNEETRACK_THRESHOLDS` (JSON, e.g. `{"pain_mcid": 1.5}`). Do not add a number here without a
source; where the product specification sets a value that no published source was found for,
the source says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import get_settings


@dataclass(frozen=True)
class Threshold:
    key: str
    value: float
    unit: str
    meaning: str
    source: str
    population: str = "none: a product rule or parameter, not derived in patients"

    @property
    def cited(self) -> str:
        """The source and the population the value was derived in, as the API states them."""
        return f"{self.source} [population: {self.population}]"


SPEC = "KneeTrack SPEC §4"
_FARRAR = (
    "Farrar JT et al. Clinical importance of changes in chronic pain intensity measured on an "
    "11-point numerical pain rating scale. Pain 2001;94(2):149-158; in knee OA: Salaffi F et "
    "al. Eur J Pain 2004;8(4):283-291 (2 points / 33 % = 'much better', their recommended "
    "cut-off; 1 point = the smallest change)"
)
_ALGHADIR = (
    "Alghadir AH, Anwer S, Iqbal A, Iqbal ZA. Test-retest reliability, validity, and minimum "
    "detectable change of visual analog, numerical rating, and verbal rating scales for "
    "measurement of osteoarthritic knee pain. J Pain Res 2018;11:851-856"
)
_HANCOCK = (
    "Hancock GE, Hepworth T, Wembridge K. Accuracy and reliability of knee goniometry methods. "
    "J Exp Orthop 2018;5(1):46 (minimum significant difference)"
)
_MOSTAFAEE = (
    "Mostafaee N, Nourollahi F, Mostamand J, Negahban H. Responsiveness and the minimal "
    "important change of the Knee injury and Osteoarthritis Outcome Score in patients with knee "
    "osteoarthritis following physiotherapy. Physiother Theory Pract 2021 (anchor-based MIC)"
)
_FARRAR_PERCENT = (
    "Farrar JT et al. Pain 2001;94(2):149-158: a 30 % reduction on the pain NRS matched "
    "'much improved'; adopted as the relative threshold for pain by OMERACT-OARSI (Pham T et "
    "al. Osteoarthritis Cartilage 2004;12(5):389-399)"
)
_TUBACH = (
    "Tubach F, Ravaud P, Baron G, Falissard B, Logeart I, Bellamy N, et al. Evaluation of "
    "clinically relevant states in patient reported outcomes in knee and hip osteoarthritis: "
    "the patient acceptable symptom state. Ann Rheum Dis 2005;64(1):34-37 (knee OA, pain PASS "
    "32.3 mm on a 0-100 mm VAS, 1362 outpatients starting an NSAID; read here as 3.23 on the "
    "0-10 NRS, assuming the two scales agree once rescaled)"
)
_THOMEE = (
    "Thomeé R. A comprehensive treatment approach for patellofemoral pain syndrome in young "
    "women. Phys Ther 1997;77(12):1690-1703 (the pain-monitoring model: pain up to 5 on a "
    "0-10 scale during and after exercise is acceptable, and pain the next morning should not "
    "exceed the level before; used for knee-OA exercise programmes since)"
)
_LYMAN_2018 = (
    "Lyman S, Lee YY, McLawhorn AS, Islam W, MacLean CH. What are the minimal and substantial "
    "improvements in the HOOS and KOOS and JR versions after total joint replacement? Clin "
    "Orthop Relat Res 2018;476(12):2432-2441 (anchor-based, after knee replacement)"
)

# The populations the values were derived in.
_FARRAR_POP = (
    "adults with chronic pain in pregabalin trials (Farrar); knee/hip OA outpatients (Salaffi)"
)
_HANCOCK_POP = "knees measured repeatedly by several raters (Hancock 2018); not a knee-OA cohort"
_LYMAN_POP = "patients after total knee replacement (Lyman 2018), not exercise for knee OA"
_GILL_2022 = (
    "Gill S, Hely R, Page RS, Hely A, Harrison B, Landers S. Thirty second chair stand test: "
    "test-retest reliability, agreement and minimum detectable change in people with "
    "early-stage knee osteoarthritis (published 19 May 2022): MDC for an individual about 2.5 "
    "stands; 93 people with mild radiographic knee OA"
)
_ALGHADIR_2015 = (
    "Alghadir A, Anwer S, Brismee JM. The reliability and minimal detectable change of Timed "
    "Up and Go test in individuals with grade 1-3 knee osteoarthritis. BMC Musculoskelet "
    "Disord 2015;16:174 (MDC 1.10 s for one rater, 1.14 s between raters; 65 people aged "
    "45-70 with Kellgren-Lawrence grade 1-3 knee OA)"
)

THRESHOLDS: dict[str, Threshold] = {
    t.key: t
    for t in [
        Threshold(
            "pain_mcid",
            2,
            "NRS points",
            "minimal clinically important change in pain",
            _FARRAR,
            population=_FARRAR_POP,
        ),
        Threshold(
            "pain_mdc",
            1.33,
            "NRS points",
            "minimum detectable change, knee OA pain",
            _ALGHADIR,
            population="adults with knee OA (Alghadir 2018)",
        ),
        Threshold(
            "pain_mcid_percent",
            30,
            "% of baseline",
            "relative important change in pain",
            _FARRAR_PERCENT,
            population="chronic pain trials (Farrar); hip/knee OA trials (OMERACT-OARSI)",
        ),
        Threshold(
            "pain_pass",
            3.23,
            "NRS points",
            "patient-acceptable symptom state (PASS), knee-OA pain: at or below it",
            _TUBACH,
            population="knee OA outpatients starting an NSAID, n = 1362 (Tubach 2005)",
        ),
        Threshold(
            "session_pain_limit",
            5,
            "NRS points",
            "pain-monitoring model: pain after exercise above this is over the limit",
            _THOMEE,
            population="young women with patellofemoral pain (Thomee 1997); not knee OA",
        ),
        Threshold(
            "stiffness_mcid_percent",
            30,
            "% of baseline",
            "relative important change in stiffness",
            f"{SPEC}; carried over from pain ({_FARRAR_PERCENT})",
            population="none: borrowed from pain",
        ),
        Threshold(
            "stiffness_mcid",
            2,
            "NRS points",
            "important change in stiffness",
            f"{SPEC}; no published MCID for a stiffness NRS was found (carried over from "
            "the pain NRS)",
            population="none: borrowed from pain",
        ),
        Threshold(
            "swelling_mdc",
            1,
            "grade",
            "smallest change taken as real in swelling (one grade of 0–3); not an MCID",
            f"{SPEC}; no published MCID found. Scale reliability: Sturgill LP et al. "
            "J Orthop Sports Phys Ther 2009;39(12):845-849",
            population="none published: the scale's smallest step",
        ),
        Threshold(
            "morning_stiffness_mdc",
            15,
            "minutes",
            "smallest change taken as real in morning stiffness duration; not an MCID",
            f"{SPEC}; no published MCID for knee OA was found",
            population="none published",
        ),
        Threshold(
            "rom_error_inclinometer",
            6,
            "degrees",
            "ROM measurement error, inclinometer",
            _HANCOCK,
            population=_HANCOCK_POP,
        ),
        Threshold(
            "rom_error_goniometer",
            10,
            "degrees",
            "ROM measurement error, goniometer",
            _HANCOCK + " (long-arm goniometer)",
            population=_HANCOCK_POP,
        ),
        Threshold(
            "rom_error_smartphone_app",
            12,
            "degrees",
            "ROM measurement error, smartphone app",
            _HANCOCK,
            population=_HANCOCK_POP,
        ),
        Threshold(
            "rom_error_self_estimate",
            14,
            "degrees",
            "ROM measurement error, estimate",
            _HANCOCK + " (visual estimation by a clinician; a patient's own estimate "
            "is likely less precise: Borgbjerg J et al. J Knee Surg 2017;30(8):829-834)",
            population=_HANCOCK_POP,
        ),
        Threshold(
            "koos_pain_mic",
            15,
            "KOOS points",
            "KOOS pain subscale MIC",
            _MOSTAFAEE,
            population="knee OA patients after physiotherapy (Mostafaee 2021)",
        ),
        Threshold(
            "koos_symptoms_mic",
            12.5,
            "KOOS points",
            "KOOS symptoms subscale MIC",
            _MOSTAFAEE,
            population="knee OA patients after physiotherapy (Mostafaee 2021)",
        ),
        Threshold(
            "koos_adl_mic",
            15.5,
            "KOOS points",
            "KOOS ADL subscale MIC",
            _MOSTAFAEE,
            population="knee OA patients after physiotherapy (Mostafaee 2021)",
        ),
        Threshold(
            "koos_sport_rec_mic",
            17.5,
            "KOOS points",
            "KOOS sport/recreation MIC",
            _MOSTAFAEE,
            population="knee OA patients after physiotherapy (Mostafaee 2021)",
        ),
        Threshold(
            "koos_qol_mic",
            12.5,
            "KOOS points",
            "KOOS quality-of-life MIC",
            _MOSTAFAEE,
            population="knee OA patients after physiotherapy (Mostafaee 2021)",
        ),
        Threshold(
            "koos_jr_mcid",
            14,
            "KOOS-JR points",
            "KOOS-JR minimal clinically important improvement",
            _LYMAN_2018 + "; the figure 14 is as cited by later registry "
            "work and was not checked against the full text here",
            population=_LYMAN_POP,
        ),
        Threshold(
            "chair_stand_30s_mdc",
            2.5,
            "stands",
            "minimum detectable change, 30-s chair stand test (individual)",
            _GILL_2022,
            population="93 people with early-stage (mild radiographic) knee OA (Gill 2022)",
        ),
        Threshold(
            "tug_mdc",
            1.10,
            "seconds",
            "minimum detectable change, Timed Up and Go",
            _ALGHADIR_2015,
            population="65 people aged 45-70 with grade 1-3 knee OA (Alghadir 2015)",
        ),
    ]
}

# Metrics that deliberately carry no threshold, and why (the trend says `mcid: null`,
# `mdc: null` and no status): never fill one of these in without a source.
NO_THRESHOLD: dict[str, str] = {
    "night_pain": "No published MCID or MDC for a night-pain NRS in knee OA was found; the "
    "day-pain figures are not borrowed.",
    "analgesic_doses": "A count of doses, shown beside pain; no published threshold exists.",
    "fast_walk_40m": "No minimum detectable change of the 40 m fast-paced walk test in knee OA "
    "was found (reviewed: Master H et al. A narrative review on measurement properties of "
    "fixed-distance walk tests up to 40 meters for adults with knee osteoarthritis. "
    "J Rheumatol 2020, no. 5, pp. 638-647, doi:10.3899/jrheum.200771; it reports good "
    "reliability across protocols but gives no single MDC to apply).",
    "stair_climb": "Published MDCs depend on the protocol (number of steps, ascent only or up "
    "and down; e.g. 0.10 s for a stopwatch-timed 11-step climb in pre-radiographic to mild "
    "knee OA, Gait & Posture); KneeTrack does not record the protocol, so none is applied.",
    "pgic": "A transition rating (1 = very much improved, 7 = very much worse); it is read as "
    "it stands, with no threshold.",
    "pass": "The patient's own yes/no judgement of an acceptable state; no threshold.",
}


# Parameters of the flag rules (SPEC §5). They are the product's rule definitions rather than
# published cut-offs; each can be overridden through KNEETRACK_THRESHOLDS like any value above.
_RULE = "KneeTrack SPEC §5 flag rule definition (no published source)"
_PARAM = "KneeTrack flag engine parameter, a product decision documented in docs/api.md"
FLAG_PARAMETERS = [
    Threshold(
        "flag_active_days",
        14,
        "days",
        "a non-urgent episode is open while it has a day within this look-back",
        _PARAM,
    ),
    Threshold("flag_flare_rise", 2, "NRS points", "pain episode: above the usual median", _RULE),
    Threshold(
        "flag_flare_median_days", 7, "days", "pain episode: days before, for the median", _RULE
    ),
    Threshold("flag_flare_min_days", 2, "days", "pain episode: consecutive days above it", _RULE),
    Threshold("flag_flare_median_min_n", 3, "entries", "pain episode: values for a median", _PARAM),
    Threshold("flag_severe_pain", 7, "NRS points", "pain episode: severe pain at least", _RULE),
    Threshold("flag_severe_pain_days", 3, "days", "pain episode: consecutive severe days", _RULE),
    Threshold("flag_rapid_rise", 3, "NRS points", "pain episode: rise from one day", _RULE),
    Threshold("flag_swelling_level", 2, "grade", "swelling rules: swelling at least", _RULE),
    Threshold("flag_swelling_rise", 1, "grade", "swelling rise: up at least", _RULE),
    Threshold("flag_swelling_days", 2, "days", "swelling rise: sustained after the rise", _RULE),
    Threshold(
        "flag_swelling_persist_days", 3, "days", "swelling rise: at the level, any start", _RULE
    ),
    Threshold("flag_swelling_before_days", 7, "days", "swelling rise: level read before", _PARAM),
    Threshold("flag_near_falls_days", 14, "days", "near falls: window for repeated ones", _RULE),
    Threshold("flag_near_falls_warning", 2, "near falls", "near falls: warning at", _RULE),
    Threshold("flag_giving_way_count", 2, "days", "giving way: days with it", _RULE),
    Threshold("flag_giving_way_days", 7, "days", "giving way: within", _RULE),
    Threshold("flag_unsupervised_days", 14, "days", "backward walking plan: early days", _RULE),
    Threshold("flag_exercise_pain_sessions", 5, "sessions", "exercise pain: of the last", _RULE),
    Threshold("flag_exercise_pain_count", 2, "sessions", "exercise pain: over the limits", _RULE),
    Threshold("flag_exercise_pain_within_days", 28, "days", "exercise pain: sessions read", _PARAM),
    Threshold("flag_morning_stiffness_minutes", 30, "minutes", "morning stiffness over", _RULE),
    Threshold("flag_morning_stiffness_count", 3, "entries", "entries over the limit", _RULE),
    Threshold("flag_morning_stiffness_entries", 7, "entries", "of the last entries", _RULE),
    Threshold("flag_morning_stiffness_within_days", 30, "days", "entries read", _PARAM),
    Threshold("flag_rom_current_days", 14, "days", "ROM loss: current period (§4)", _RULE),
    Threshold("flag_rom_baseline_days", 28, "days", "ROM loss: the period before it", _PARAM),
    Threshold("flag_not_improving_weeks", 6, "ISO weeks", "not improving: weeks on plan", _RULE),
    Threshold("flag_not_improving_adherence", 0.8, "fraction", "plan rules: adherence", _RULE),
    Threshold("flag_not_improving_pain", 4, "NRS points", "plan rules: pain at least", _RULE),
    Threshold("flag_escalation_weeks", 12, "ISO weeks", "escalation review: weeks", _RULE),
    Threshold("flag_disengaged_days", 7, "days", "disengaged: days without an entry", _RULE),
    Threshold(
        "adherence_session_fraction",
        0.8,
        "fraction",
        "a session counts toward adherence if it lasts this share of the prescribed minutes",
        "KneeTrack SPEC §2 (exercise plans)",
        population="none: a product rule",
    ),
]
THRESHOLDS.update({t.key: t for t in FLAG_PARAMETERS})


def threshold(key: str) -> float:
    """The value in force: the configured override, else the table's."""
    overrides = get_settings().thresholds
    if key in overrides:
        return float(overrides[key])
    return THRESHOLDS[key].value
