"""Forms of the workspace (CSRF-protected); anchor dates are read by `anchor_dates_from`, one per anchor.

Labels and choice texts are given in the templates and views, translated at request time (the English
labels here are only defaults).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import DateField, Field, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from survey_app.domain.schedule import accepted_dates
from survey_app.i18n import today
from survey_app.models.workspace import NOTE_MAX_LENGTH
from survey_app.services.clients import NAME_MAX_LENGTH
from survey_app.web.fields import TypedTextAreaField
from survey_app.web.ids import parse_id

LANGUAGE_CHOICES = [
    SelectChoice("nl", "Nederlands"),
    SelectChoice("fr", "Français"),
    SelectChoice("en", "English"),
]


class ClientDetailsForm(FlaskForm):
    """Preferred language, counsellor (site leads choose) and optional names."""

    preferred_language = SelectField("Preferred language", choices=LANGUAGE_CHOICES)
    counsellor = SelectField("Counsellor", coerce=parse_id, validate_choice=False)
    given_name = StringField("Given name (optional)", validators=[Optional(), Length(max=NAME_MAX_LENGTH)])
    family_name = StringField("Family name (optional)", validators=[Optional(), Length(max=NAME_MAX_LENGTH)])


def date_out_of_range(day: dt.date) -> str | None:
    """The message for an intake or anchor date outside the accepted range; None when it is inside."""
    earliest, latest = accepted_dates(today())
    if earliest <= day <= latest:
        return None
    return _(
        "Enter a date from %(earliest)s onwards and no more than a year ahead (%(latest)s at the latest).",
        earliest=earliest.isoformat(),
        latest=latest.isoformat(),
    )


def _date_in_range(form: FlaskForm, field: Field) -> None:
    problem = None if field.data is None else date_out_of_range(field.data)
    if problem is not None:
        raise ValidationError(problem)


class RegisterForm(ClientDetailsForm):
    """A new client: site, programme and intake date besides the details."""

    site = SelectField("Site", coerce=parse_id, validators=[InputRequired()])
    programme = SelectField("Programme", coerce=parse_id, validators=[InputRequired()])
    intake_date = DateField("Intake date", validators=[InputRequired(), _date_in_range])


class MoveForm(FlaskForm):
    """The site a client moves to and their counsellor there (site leads choose; a counsellor stays)."""

    site = SelectField("New site", coerce=parse_id, validate_choice=False, validators=[InputRequired()])
    counsellor = SelectField("Counsellor at the new site", coerce=parse_id, validate_choice=False)


class StatusForm(FlaskForm):
    """A status change and its reason."""

    status = HiddenField(validators=[DataRequired()])
    reason = TypedTextAreaField("Reason (optional)", validators=[Optional(), Length(max=NOTE_MAX_LENGTH)])


class NoteForm(FlaskForm):
    """A note on a session."""

    body = TypedTextAreaField("Note", validators=[DataRequired(), Length(max=NOTE_MAX_LENGTH)])


class AcknowledgeForm(FlaskForm):
    """The note that acknowledges an alert: what was done or decided."""

    note = TypedTextAreaField(
        "What did you do or decide?", validators=[DataRequired(), Length(max=NOTE_MAX_LENGTH)]
    )
    next = HiddenField()


class SiteLeadAlertsForm(FlaskForm):
    """Which alerts site leads receive."""

    site_leads = SelectField(
        "Site leads of the client's site receive",
        choices=[
            SelectChoice("none", "no alerts (only those of clients without a counsellor)"),
            SelectChoice("urgent", "urgent alerts"),
            SelectChoice("all", "all alerts"),
        ],
    )


class RecipientForm(FlaskForm):
    """A named staff member who also receives alerts."""

    staff = SelectField("Staff member", coerce=parse_id, validate_choice=False)
    site = SelectField("Alerts of", coerce=parse_id, validate_choice=False)
    severities = SelectField(
        "Which alerts",
        choices=[SelectChoice("urgent", "urgent alerts"), SelectChoice("all", "all alerts")],
    )


def anchor_dates_from(
    form: Mapping[str, str], anchors: Iterable[str]
) -> tuple[dict[str, dt.date | None], dict[str, str]]:
    """Dates typed for each anchor (`anchor_<name>`; empty means none) and a message per unreadable one.

    A date outside the accepted range (see `accepted_dates`) is unreadable too.
    """
    dates: dict[str, dt.date | None] = {}
    errors: dict[str, str] = {}
    for anchor in anchors:
        raw = form.get(f"anchor_{anchor}", "").strip()
        if not raw:
            dates[anchor] = None
            continue
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            errors[anchor] = _("Enter the date as year-month-day, for example 2026-03-15.")
            continue
        problem = date_out_of_range(day)
        if problem is None:
            dates[anchor] = day
        else:
            errors[anchor] = problem
    return dates, errors
