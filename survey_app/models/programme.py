"""Organisations, their sites, and programmes with their timepoints and questionnaire batteries."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.domain.questionnaire import localise
from survey_app.models.base import (
    LANGUAGES,
    Base,
    JSONValue,
    UTCDateTime,
    in_check,
    key_format_checks,
    utcnow,
)

if TYPE_CHECKING:
    from survey_app.models.people import StaffUser

__all__ = ["Organisation", "Programme", "Site", "Timepoint", "TimepointQuestionnaire", "in_language"]


def in_language(texts: dict[str, str] | None, language: str, fallback: str) -> str:
    """The text in ``language``, else in English, else ``fallback`` (the English text stored beside it)."""
    return localise(texts, language) or fallback


def _texts_column() -> Mapped[dict[str, str]]:
    """A text in every language, ``{"en": ..., "nl": ..., "fr": ...}`` (empty: only the English column)."""
    return mapped_column(JSONValue(), default=dict, server_default="{}")


class Organisation(Base):
    """A provider or court programme operator; owns sites, staff and programmes."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint("length(name) > 0", name="name_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="organisation", order_by="Site.name")
    programmes: Mapped[list[Programme]] = relationship(
        back_populates="organisation", order_by="Programme.key"
    )
    staff: Mapped[list[StaffUser]] = relationship(back_populates="organisation")


class Site(Base):
    """A place where clients are seen (a court, a treatment centre)."""

    __tablename__ = "sites"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        in_check("default_language", LANGUAGES, "default_language_known"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint("length(code) BETWEEN 1 AND 32", name="code_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    default_language: Mapped[str] = mapped_column(String(2), default="en", server_default="en")
    #: The languages a client can choose on this site's tablets, e.g. "nl,fr" (checked by the site service).
    languages: Mapped[str] = mapped_column(String(20), default="en,nl,fr", server_default="en,nl,fr")
    #: Minutes before an unused client-mode screen locks here; NULL: the app's CLIENT_IDLE_TIMEOUT_MINUTES.
    client_idle_minutes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="sites")

    @property
    def offered_languages(self) -> tuple[str, ...]:
        """The languages offered on this site's tablets, in the order they are shown."""
        return tuple(code for code in LANGUAGES if code in self.languages.split(","))


class Programme(Base):
    """A treatment-court programme: its schedule of timepoints."""

    __tablename__ = "programmes"
    __table_args__ = (
        UniqueConstraint("organisation_id", "key"),
        *key_format_checks("key", "key_format"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    #: The name and description in English; ``name_texts`` and ``description_texts`` hold every language.
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    name_texts: Mapped[dict[str, str]] = _texts_column()
    description_texts: Mapped[dict[str, str]] = _texts_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="programmes")
    timepoints: Mapped[list[Timepoint]] = relationship(
        back_populates="programme", order_by="Timepoint.position", cascade="all, delete-orphan"
    )

    def name_in(self, language: str) -> str:
        """The programme's name in ``language``, else in English."""
        return in_language(self.name_texts, language, self.name)

    def description_in(self, language: str) -> str:
        """The programme's description in ``language``, else in English."""
        return in_language(self.description_texts, language, self.description)


class Timepoint(Base):
    """A measurement occasion: ``offset_days`` after an anchor date, with a window around it."""

    __tablename__ = "timepoints"
    __table_args__ = (
        UniqueConstraint("programme_id", "key"),
        UniqueConstraint("programme_id", "position"),
        *key_format_checks("key", "key_format"),
        *key_format_checks("anchor", "anchor_format"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        CheckConstraint("offset_days >= 0", name="offset_not_negative"),
        CheckConstraint("window_before_days >= 0", name="window_before_not_negative"),
        CheckConstraint("window_after_days >= 0", name="window_after_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    #: The label in English; ``label_texts`` holds it in every language.
    label: Mapped[str] = mapped_column(String(200))
    label_texts: Mapped[dict[str, str]] = _texts_column()
    position: Mapped[int] = mapped_column(Integer)
    anchor: Mapped[str] = mapped_column(String(40), default="intake", server_default="intake")
    offset_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_before_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_after_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    programme: Mapped[Programme] = relationship(back_populates="timepoints")
    battery: Mapped[list[TimepointQuestionnaire]] = relationship(
        back_populates="timepoint",
        order_by="TimepointQuestionnaire.position",
        cascade="all, delete-orphan",
    )

    def label_in(self, language: str) -> str:
        """The timepoint's label in ``language``, else in English."""
        return in_language(self.label_texts, language, self.label)


class TimepointQuestionnaire(Base):
    """One questionnaire of a timepoint's battery; ``questionnaire_version`` NULL means latest published."""

    __tablename__ = "timepoint_questionnaires"
    __table_args__ = (
        UniqueConstraint("timepoint_id", "questionnaire_key"),
        UniqueConstraint("timepoint_id", "position"),
        *key_format_checks("questionnaire_key", "questionnaire_key_format"),
        CheckConstraint(
            "questionnaire_version IS NULL OR questionnaire_version >= 1",
            name="questionnaire_version_positive",
        ),
        CheckConstraint("position >= 0", name="position_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timepoint_id: Mapped[int] = mapped_column(ForeignKey("timepoints.id", ondelete="CASCADE"), index=True)
    questionnaire_key: Mapped[str] = mapped_column(String(40))
    questionnaire_version: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    is_core: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    timepoint: Mapped[Timepoint] = relationship(back_populates="battery")
