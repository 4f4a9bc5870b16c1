"""Forms of the report pages (CSRF-protected); choices and labels are set at request time, translated."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectChoice, SelectField
from wtforms.validators import Optional

from survey_app.models.reports import REPORT_KINDS
from survey_app.web.ids import parse_id


class BatchForm(FlaskForm):
    """Which reports to make: kind, language, and the filter (site, timepoint, date range)."""

    kind = SelectField("Report", choices=[SelectChoice(kind, kind) for kind in REPORT_KINDS])
    language = SelectField("Language", validate_choice=False)
    site = SelectField("Site", coerce=parse_id, validate_choice=False)
    timepoint = SelectField("Timepoint", validate_choice=False)
    start = DateField("Submitted from", validators=[Optional()])
    end = DateField("Submitted until", validators=[Optional()])


class NamesForm(FlaskForm):
    """Whether reports show clients' full names."""

    show_names = BooleanField("Show full names on reports")
