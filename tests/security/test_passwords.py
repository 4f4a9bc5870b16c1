"""Staff passwords (ASVS 5.0 L2): length only, no composition rules; breached and context words refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask_sqlalchemy import SQLAlchemy

from survey_app.services import accounts
from survey_app.services.password_policy import common_password_count, is_common_password, password_problem

Builder = Callable[..., Any]


def test_the_shipped_breached_list_is_loaded() -> None:
    assert common_password_count() > 8000
    assert is_common_password("password1") and is_common_password("iloveyou")


@pytest.mark.parametrize(
    "password", ["Password1", "QWERTYUIOP", "iloveyou", "1q2w3e4r5t", "trustno1", "pass word1"]
)
def test_breached_passwords_are_refused_whatever_their_case_or_spaces(password: str) -> None:
    problem = password_problem(password)
    assert problem is not None and "breached" in problem


@pytest.mark.parametrize("password", ["a7Kq93xv", "only lower case letters here", "ééééééééé", "x" * 64])
def test_long_enough_unlisted_passwords_need_no_digits_capitals_or_symbols(password: str) -> None:
    assert password_problem(password) is None


def test_length_is_8_to_64_characters() -> None:
    assert password_problem("a7Kq93x") is not None
    assert password_problem("q" * 65) is not None


def test_a_password_built_on_the_email_or_the_service_name_is_refused(
    db: SQLAlchemy, make_staff: Builder
) -> None:
    assert password_problem("marieke-2026!", ["marieke"]) is not None
    assert password_problem("my DrugCourt pass", []) is not None
    user = make_staff(email="marieke@example.org")
    with pytest.raises(accounts.PasswordPolicyError, match="email"):
        accounts.set_password(db.session, user, "Marieke1234567")


def test_accounts_cannot_be_created_with_a_breached_password(
    db: SQLAlchemy, make_organisation: Builder
) -> None:
    with pytest.raises(accounts.PasswordPolicyError, match="breached"):
        accounts.create_staff_user(
            db.session,
            organisation=make_organisation(),
            email="new@example.org",
            password="password123",
            role="admin",
        )
