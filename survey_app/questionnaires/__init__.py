"""Questionnaire files: safe loading, checking, versions and comparisons."""
