"""The consent form: one decision per purpose, plus what the court may see beyond attendance."""

from __future__ import annotations

from flask_babel import lazy_gettext as _  # lazy: labels are read in the request's language
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

YES_NO = [SelectChoice("yes", _("Yes")), SelectChoice("no", _("No"))]


class ConsentForm(FlaskForm):
    """The client's decisions, confirmed by the counsellor who went through them with the client."""

    care = RadioField(
        _("Care: my counsellor records my answers to follow my progress"),
        choices=YES_NO,
        validators=[Optional()],
    )
    court = RadioField(
        _("Court: my progress report goes to the court (attendance and completed assessments)"),
        choices=YES_NO,
        validators=[Optional()],
    )
    court_scores = BooleanField(_("The court may also see my scores"))
    court_summary = BooleanField(_("The court may also see a summary (bands and whether I changed reliably)"))
    research = RadioField(
        _("Research: my answers may be used, without my name, for research"),
        choices=YES_NO,
        validators=[Optional()],
    )
    client_agreed = BooleanField(
        _("I went through this with the client just now; these are the client's own choices."),
        validators=[DataRequired(message=_("Confirm that these are the client's own choices."))],
    )
