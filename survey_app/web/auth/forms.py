"""Forms of the sign-in pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _  # lazy: labels are read in the request's language
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    """Email and password; CSRF-protected like every form."""

    email = EmailField(_("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_("Password"), validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    """A six-digit code from the authenticator app, or a recovery code."""

    code = StringField(_("Code"), validators=[DataRequired(), Length(max=64)])


class SetPasswordForm(FlaskForm):
    """The password an invited staff member chooses, typed twice."""

    password = PasswordField(_("Password"), validators=[DataRequired(), Length(max=1024)])
    repeat = PasswordField(_("The same password again"), validators=[Length(max=1024)])


class SignOutForm(FlaskForm):
    """An empty form: only its CSRF token matters."""
