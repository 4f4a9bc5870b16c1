"""Plain words for the client's own report: what each questionnaire asks about, without clinical terms.

One short name and one or two sentences per questionnaire of the bank, translated like every interface text
(looked up inside `force_locale(language)`). A questionnaire added later without its own words here gets a
neutral sentence and its stored short title.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from survey_app.domain.questionnaire import Questionnaire, localise
from survey_app.services.user_messages import N_

#: Questionnaire key -> plain name and explanation (English message ids, translated when shown).
MEASURES: dict[str, tuple[str, str]] = {
    "who5": (
        N_("How you have been feeling"),
        N_(
            "Five questions about the last two weeks: feeling cheerful, calm, active, rested and "
            "interested in things. A higher score means you felt better."
        ),
    ),
    "phq9": (
        N_("Your mood"),
        N_(
            "Nine questions about the last two weeks, for example feeling down, sleeping badly or "
            "having little energy. A lower score means these things bothered you less."
        ),
    ),
    "gad7": (
        N_("Worry and nerves"),
        N_(
            "Seven questions about feeling nervous, worried or tense in the last two weeks. A lower "
            "score means you were bothered less."
        ),
    ),
    "k10": (
        N_("Stress and strain"),
        N_(
            "Ten questions about how often you felt nervous, restless, hopeless or worn out in the "
            "last 30 days. A lower score means you felt less strain."
        ),
    ),
    "rses": (
        N_("How you see yourself"),
        N_("Ten sentences about how you value yourself. A higher score means you think better of yourself."),
    ),
    "mastery": (
        N_("Control over your life"),
        N_(
            "Seven sentences about how much you feel you can steer your own life. A higher score "
            "means you feel more in control."
        ),
    ),
    "fisi": (
        N_("Seeing yourself in recovery"),
        N_(
            "Four sentences about how much you see yourself as someone who is building a life "
            "without problems with alcohol or drugs. A higher score means you see yourself more "
            "that way."
        ),
    ),
    "mspss": (
        N_("Support from the people around you"),
        N_(
            "Twelve sentences about the support you get from family, friends and someone special. A "
            "higher score means you feel more supported."
        ),
    ),
    "barc10": (
        N_("Your strengths for recovery"),
        N_(
            "Ten sentences about things in your life that help you recover: people, a home, "
            "activities, energy and meaning. A higher score means more strengths."
        ),
    ),
    "arq": (
        N_("Your recovery"),
        N_(
            "Twelve sentences about the last 30 days: daily life, staying away from alcohol or "
            "drugs, and hope for the future. A higher score means more recovery."
        ),
    ),
    "psas": (
        N_("What people think"),
        N_(
            "Eight sentences about what you think most people believe about someone who had "
            "treatment for alcohol or drug use. A lower score means you expect less judgement."
        ),
    ),
    "promis_gh10": (
        N_("Your health"),
        N_("Ten questions about your physical and mental health. A higher score means better health."),
    ),
    "top": (
        N_("The last four weeks"),
        N_(
            "Questions about the last four weeks: alcohol and drugs, health, housing and work. Your "
            "counsellor can go through your answers with you."
        ),
    ),
    "functioning": (
        N_("Daily life"),
        N_(
            "Questions about work, school, housing and money in the last four weeks. Your "
            "counsellor can go through your answers with you."
        ),
    ),
}
#: Plain names of the scales that speak for a questionnaire with more than one headline scale.
SCALES: dict[tuple[str, str], str] = {
    ("promis_gh10", "physical_t"): N_("your physical health"),
    ("promis_gh10", "mental_t"): N_("your mental health"),
}


@dataclass(frozen=True)
class PlainMeasure:
    """A questionnaire in plain words: a short name and what it asks about."""

    name: str
    explanation: str


def plain_scale_name(questionnaire_key: str, scale_id: str) -> str | None:
    """The plain name of a headline scale, in the current (forced) language, where the bank gives one."""
    name = SCALES.get((questionnaire_key, scale_id))
    return _(name) if name else None


def plain_measure(questionnaire: Questionnaire, language: str) -> PlainMeasure:
    """The plain name and explanation of a questionnaire, in the current (forced) language."""
    known = MEASURES.get(questionnaire.key)
    if known is not None:
        return PlainMeasure(_(known[0]), _(known[1]))
    name = localise(questionnaire.short_title, language) or questionnaire.key
    return PlainMeasure(name, _("A questionnaire you filled in. Your counsellor can explain it."))
