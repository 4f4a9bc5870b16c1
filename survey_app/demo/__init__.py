"""Deterministic demo data: realistic, pseudonymous clients and answers for trying the app."""
