"""Answers read from a posted questionnaire form (the path without JavaScript), with their problems."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import request

from survey_app.domain.questionnaire import Item
from survey_app.services.client_forms import FormValueError, parse_form_value
from survey_app.web.client.messages import answer_problem, form_value_problem, required_problem


def read_posted_answers(items: Iterable[Item]) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The posted answers to ``items``, their problems in the client's words, and what was typed."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    typed: dict[str, str] = {}
    for item in items:
        raw = request.form.getlist(item.id)
        declined = request.form.getlist(f"{item.id}:declined")
        try:
            value = parse_form_value(item, raw, declined)
        except FormValueError as error:
            problems[item.id] = form_value_problem(item, str(error))
            typed[item.id] = raw[-1] if raw else ""
            continue
        problem = answer_problem(item, value)
        if problem is not None:
            problems[item.id] = problem
            typed[item.id] = raw[-1] if raw else ""
        values[item.id] = value
    return values, problems, typed


def missing_required(
    items: Iterable[Item], values: dict[str, Any], problems: dict[str, str]
) -> dict[str, str]:
    """The required questions among ``items`` left unanswered (with no other problem), with the message."""
    return {
        item.id: required_problem()
        for item in items
        if item.required and values.get(item.id) is None and item.id not in problems
    }
