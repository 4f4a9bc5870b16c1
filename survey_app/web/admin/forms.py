"""Forms of the admin pages (CSRF-protected); the services check every rule again and word the refusals.

Choices that depend on the organisation (sites, questionnaire versions) are set by the views.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _  # lazy: labels are read in the request's language
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
from survey_app.web.fields import TypedTextAreaField

WHOLE_DAYS = _("Type a whole number of days.")


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
            raise ValueError(_("Tick the boxes listed.")) from None

    def pre_validate(self, form: Any) -> None:
        """Every ticked value must be one of the boxes."""
        values = {choice[0] for choice in self.iter_choices()}
        if any(value not in values for value in self.data or []):
            raise ValidationError(_("Tick the boxes listed."))


class AccessForm(FlaskForm):
    """A staff member's role and sites."""

    role = SelectField(_("Role"), choices=list(ROLES), validate_choice=False)  # the service words a refusal
    sites = CheckboxesField(_("Sites"), coerce=_site_id)


class InviteForm(AccessForm):
    """A new staff member: email, name, role and sites."""

    email = EmailField(_("Email"), validators=[DataRequired(_("Type their email address.")), Length(max=254)])
    display_name = StringField(_("Name"), validators=[DataRequired(_("Type their name.")), Length(max=200)])


class SiteForm(FlaskForm):
    """A site's name and settings (the code only when the site is new)."""

    code = StringField(_("Site code"), validators=[Optional(), Length(max=32)])
    name = StringField(_("Name"), validators=[DataRequired(_("Give the site a name.")), Length(max=200)])
    languages = CheckboxesField(_("Languages offered on the tablets"), choices=list(LANGUAGES))
    default_language = SelectField(_("Default language"), choices=list(LANGUAGES))
    client_idle_minutes = IntegerField(
        _("Lock an unused tablet after (minutes)"),
        validators=[
            Optional(),
            NumberRange(1, IDLE_MINUTES_MAX, _("Choose from 1 to %(max)s minutes.", max=IDLE_MINUTES_MAX)),
        ],
    )


class RetentionForm(FlaskForm):
    """The organisation's retention period and research legal basis."""

    retention_months = IntegerField(
        _("Months after the programme ended"),
        validators=[Optional(), NumberRange(1, 1200, _("Choose from 1 to 1200 months, or leave it empty."))],
    )
    research_legal_basis = TypedTextAreaField(
        _("Legal basis for research data"), validators=[Length(max=500)]
    )


class ProgrammeForm(FlaskForm):
    """A programme's key (only when new), and its name and description in English, Dutch and French."""

    key = StringField(_("Key"), validators=[Optional(), Length(max=40)])
    name = StringField(_("Name"), validators=[DataRequired(_("Give the programme a name.")), Length(max=200)])
    description = TypedTextAreaField(_("Description"), validators=[Length(max=2000)])
    name_nl = StringField(_("Name in Dutch"), validators=[Length(max=200)])
    description_nl = TypedTextAreaField(_("Description in Dutch"), validators=[Length(max=2000)])
    name_fr = StringField(_("Name in French"), validators=[Length(max=200)])
    description_fr = TypedTextAreaField(_("Description in French"), validators=[Length(max=2000)])

    def translations(self) -> tuple[dict[str, str], dict[str, str]]:
        """The Dutch and French names and descriptions typed (empty ones fall back to English)."""
        names = {"nl": self.name_nl.data or "", "fr": self.name_fr.data or ""}
        return names, {"nl": self.description_nl.data or "", "fr": self.description_fr.data or ""}


class BatteryRowForm(Form):
    """One published questionnaire in a timepoint's battery form."""

    key = HiddenField()
    include = BooleanField(_("Give"))
    version = SelectField(_("Version"), validate_choice=False)
    core = BooleanField(_("Core"))
    order = IntegerField(
        _("Order"), validators=[Optional(), NumberRange(1, 999, _("Type a number from 1 to 999."))]
    )


class TimepointForm(FlaskForm):
    """A timepoint's schedule and battery."""

    key = StringField(_("Key"), validators=[Optional(), Length(max=40)])
    label = StringField(
        _("Name"), validators=[DataRequired(_("Give the timepoint a name.")), Length(max=200)]
    )
    label_nl = StringField(_("Name in Dutch"), validators=[Length(max=200)])
    label_fr = StringField(_("Name in French"), validators=[Length(max=200)])
    anchor = SelectField(_("Counts from"), choices=list(ANCHORS))
    offset_days = IntegerField(
        _("Offset (days after that date)"),
        validators=[InputRequired(WHOLE_DAYS), NumberRange(0, MAX_OFFSET_DAYS, WHOLE_DAYS)],
    )
    window_before_days = IntegerField(
        _("Window before (days)"),
        validators=[InputRequired(WHOLE_DAYS), NumberRange(0, MAX_WINDOW_DAYS, WHOLE_DAYS)],
    )
    window_after_days = IntegerField(
        _("Window after (days)"),
        validators=[InputRequired(WHOLE_DAYS), NumberRange(0, MAX_WINDOW_DAYS, WHOLE_DAYS)],
    )
    battery = FieldList(FormField(BatteryRowForm), min_entries=0, max_entries=200)
    fingerprint = HiddenField()


class UploadForm(FlaskForm):
    """A questionnaire file to check: uploaded, or pasted."""

    file = FileField(_("YAML file"))
    source = TextAreaField(_("Or paste the YAML text"))
