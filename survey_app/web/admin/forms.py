"""Forms of the admin pages (CSRF-protected); the services check every rule again and word the refusals.

Choices that depend on the organisation (sites, questionnaire versions) are set by the views.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from survey_app.models.base import LANGUAGES
from survey_app.models.people import ROLES
from survey_app.services.programme_admin import ANCHORS, MAX_OFFSET_DAYS, MAX_WINDOW_DAYS
from survey_app.services.site_admin import IDLE_MINUTES_MAX

WHOLE_DAYS = _l("Type a whole number of days.")


def _site_id(value: Any) -> int:
    return int(value)


class CheckboxesField(SelectMultipleField):
    """A group of checkboxes (one per choice); a value that is none of them is refused in plain words."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the ticked boxes."""
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Tick the boxes listed.")) from None

    def pre_validate(self, form: Any) -> None:
        """Every ticked value must be one of the boxes."""
        values = {choice[0] for choice in self.iter_choices()}
        if any(value not in values for value in self.data or []):
            raise ValidationError(_l("Tick the boxes listed."))


class AccessForm(FlaskForm):
    """A staff member's role and sites."""

    role = SelectField(_l("Role"), choices=list(ROLES), validate_choice=False)  # the service words a refusal
    sites = CheckboxesField(_l("Sites"), coerce=_site_id)


class InviteForm(AccessForm):
    """A new staff member: email, name, role and sites."""

    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Type their email address.")), Length(max=254)]
    )
    display_name = StringField(_l("Name"), validators=[DataRequired(_l("Type their name.")), Length(max=200)])


class SiteForm(FlaskForm):
    """A site's name and settings (the code only when the site is new)."""

    code = StringField(_l("Site code"), validators=[Optional(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the site a name.")), Length(max=200)])
    languages = CheckboxesField(_l("Languages offered on the tablets"), choices=list(LANGUAGES))
    default_language = SelectField(_l("Default language"), choices=list(LANGUAGES))
    client_idle_minutes = IntegerField(
        _l("Lock an unused tablet after (minutes)"),
        validators=[
            Optional(),
            NumberRange(1, IDLE_MINUTES_MAX, _l("Choose from 1 to %(max)s minutes.", max=IDLE_MINUTES_MAX)),
        ],
    )


class RetentionForm(FlaskForm):
    """The organisation's retention period and research legal basis."""

    retention_months = IntegerField(
        _l("Months after the programme ended"),
        validators=[Optional(), NumberRange(1, 1200, _l("Choose from 1 to 1200 months, or leave it empty."))],
    )
    research_legal_basis = TextAreaField(_l("Legal basis for research data"), validators=[Length(max=500)])


class ProgrammeForm(FlaskForm):
    """A programme's key (only when new), name and description."""

    key = StringField(_l("Key"), validators=[Optional(), Length(max=40)])
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the programme a name.")), Length(max=200)]
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])


class BatteryRowForm(Form):
    """One published questionnaire in a timepoint's battery form."""

    key = HiddenField()
    include = BooleanField(_l("Give"))
    version = SelectField(_l("Version"), validate_choice=False)
    core = BooleanField(_l("Core"))
    order = IntegerField(
        _l("Order"), validators=[Optional(), NumberRange(1, 999, _l("Type a number from 1 to 999."))]
    )


class TimepointForm(FlaskForm):
    """A timepoint's schedule and battery."""

    key = StringField(_l("Key"), validators=[Optional(), Length(max=40)])
    label = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the timepoint a name.")), Length(max=200)]
    )
    anchor = SelectField(_l("Counts from"), choices=list(ANCHORS))
    offset_days = IntegerField(
        _l("Offset (days after that date)"),
        validators=[InputRequired(WHOLE_DAYS), NumberRange(0, MAX_OFFSET_DAYS, WHOLE_DAYS)],
    )
    window_before_days = IntegerField(
        _l("Window before (days)"),
        validators=[InputRequired(WHOLE_DAYS), NumberRange(0, MAX_WINDOW_DAYS, WHOLE_DAYS)],
    )
    window_after_days = IntegerField(
        _l("Window after (days)"),
        validators=[InputRequired(WHOLE_DAYS), NumberRange(0, MAX_WINDOW_DAYS, WHOLE_DAYS)],
    )
    battery = FieldList(FormField(BatteryRowForm), min_entries=0, max_entries=200)
    fingerprint = HiddenField()


class UploadForm(FlaskForm):
    """A questionnaire file to check: uploaded, or pasted."""

    file = FileField(_l("YAML file"))
    source = TextAreaField(_l("Or paste the YAML text"))
