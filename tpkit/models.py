"""Typed pydantic models of a muscle entry (content model version 1.1).

The JSON Schema in ``schemas/`` is the published contract; these models are
its typed mirror for code. ``tests/test_schema.py`` runs every
sample and test case through both so that they cannot drift apart.
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator

from tpkit.vocabulary import BODY_REGIONS, CATEGORIES, REGIONS, SEGMENTS, STATUSES

_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f"
TEXT_PATTERN = f"^[^\\s{_CONTROL}](?:[^{_CONTROL}]*[^\\s{_CONTROL}])?$"
SLUG_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
# BCP 47 in its conventional case; tools/make_schema.py says why this form.
LANGUAGE_PATTERN = (r"^[a-z]{2,3}(-[a-z]{3}){0,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?"
                    r"(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*(-[a-wyz0-9](-[a-z0-9]{2,8})+)*(-x(-[a-z0-9]{1,8})+)?$")
DEFAULT_LANGUAGE = "en"

Text = Annotated[str, StringConstraints(strict=True, min_length=1, pattern=TEXT_PATTERN)]
Slug = Annotated[str, StringConstraints(strict=True, max_length=64, pattern=SLUG_PATTERN)]
BodyRegion = Literal[BODY_REGIONS]  # type: ignore[valid-type]
Segment = Literal[SEGMENTS]  # type: ignore[valid-type]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Region = Literal[REGIONS]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]


def _integral(value: object) -> object:
    """JSON Schema counts 2.0 as the integer 2; so does the model (2.5 still fails as not an int)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_integral), Field(strict=True)]
PositiveInt = Annotated[WholeNumber, Field(ge=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class Author(_Strict):
    name: Text
    role: Text | None = None


class Action(_Strict):
    action: Text
    description: Text


class PerpetuatingFactor(_Strict):
    factor: Text
    description: Text | None = None


class TriggerPoint(_Strict):
    location: Text
    region: BodyRegion


class Zone(_Strict):
    region: BodyRegion
    extent: Literal["essential", "spillover"]
    note: Text | None = None


class ReferralPattern(_Strict):
    description: Text
    zones: list[Zone] = Field(min_length=1)


class Differential(_Strict):
    condition: Text
    distinguishing_features: Text


class AssociatedMuscle(_Strict):
    muscle: Slug
    note: Text


class Innervation(_Strict):
    nerve: Text
    roots: list[Segment] = Field(min_length=1)


class AnatomyRow(_Strict):
    muscle: Text
    origin: Text
    insertion: Text
    innervation: Innervation


class Examination(_Strict):
    name: Text
    description: Text


class Precaution(_Strict):
    kind: Literal["red-flag", "caution"]
    text: Text
    applies_to: Category | None = None


class CorrectiveItem(_Strict):
    name: Text
    instructions: Text


class CorrectiveGroup(_Strict):
    category: Category
    items: list[CorrectiveItem] = Field(min_length=1)


class CslName(_Strict):
    family: Text
    given: Text | None = None


class CslDate(_Strict):
    date_parts: list[Annotated[list[WholeNumber], Field(min_length=1, max_length=3)]] = Field(
        alias="date-parts", min_length=1, max_length=1
    )

    @field_validator("date_parts")
    @classmethod
    def _ranges(cls, value: list[list[int]]) -> list[list[int]]:
        for parts in value:
            for number, (low, high, what) in zip(parts, ((1000, 9999, "year"), (1, 12, "month"), (1, 31, "day"))):
                if not low <= number <= high:
                    raise ValueError(f"{what} {number} is out of range {low}–{high}")
        return value

    @property
    def year(self) -> int:
        return self.date_parts[0][0]


TextOrNumber = Union[Text, PositiveInt]


class Citation(_Strict):
    id: Slug
    type: Literal["book", "chapter", "article-journal", "webpage", "report"]
    title: Text
    issued: CslDate
    author: list[CslName] | None = Field(default=None, min_length=1)
    editor: list[CslName] | None = Field(default=None, min_length=1)
    publisher: Text | None = None
    publisher_place: Text | None = Field(default=None, alias="publisher-place")
    container_title: Text | None = Field(default=None, alias="container-title")
    URL: Annotated[str, StringConstraints(strict=True, pattern=r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$")] | None = None
    accessed: CslDate | None = None
    edition: TextOrNumber | None = None
    page: Text | None = None
    volume: TextOrNumber | None = None
    issue: TextOrNumber | None = None
    DOI: Annotated[str, StringConstraints(strict=True, pattern=r"^10\.[0-9]{4,9}/[^\s\x00-\x1f\x7f-\x9f]+$")] | None = None
    ISBN: Annotated[str, StringConstraints(strict=True, pattern=r"^(97[89][- ]?)?[0-9][0-9 -]{7,15}[0-9Xx]$")] | None = None

    @model_validator(mode="after")
    def _required_by_type(self) -> "Citation":
        missing = []
        if self.author is None and self.editor is None:
            missing.append("author or editor")
        if self.type in ("book", "chapter") and self.publisher is None:
            missing.append("publisher")
        if self.type in ("chapter", "article-journal") and self.container_title is None:
            missing.append("container-title")
        if self.type == "webpage":
            missing += [name for name, value in (("URL", self.URL), ("accessed", self.accessed)) if value is None]
        if missing:
            raise ValueError(f"a {self.type} citation needs {', '.join(missing)}")
        return self

    def to_csl(self) -> dict:
        """The item as CSL-JSON, as written in the entry."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Entry(_Strict):
    schema_: str | None = Field(default=None, alias="$schema")
    id: Slug
    schema_version: Annotated[str, StringConstraints(strict=True, pattern=r"^1\.[0-9]+$")]
    language: Annotated[str, StringConstraints(strict=True, pattern=LANGUAGE_PATTERN)] | None = None
    name: Text
    status: Status
    updated: _dt.date
    region: Region
    authors: list[Author] | None = None
    license: Annotated[
        str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9.+-]*( (AND|OR|WITH) [A-Za-z0-9][A-Za-z0-9.+-]*)*$")
    ] | None = None
    summary: Text
    area: Text
    indications: list[Text] = Field(min_length=1)
    actions: list[Action] = Field(min_length=1)
    symptoms: list[Text] = Field(min_length=1)
    perpetuating_factors: list[PerpetuatingFactor] = Field(min_length=1)
    trigger_points: list[TriggerPoint] | None = None
    referral_pattern: ReferralPattern
    differential_diagnosis: list[Differential] = Field(min_length=1)
    associated_trigger_points: list[AssociatedMuscle] = Field(min_length=1)
    anatomy: list[AnatomyRow] = Field(min_length=1)
    examination: list[Examination] = Field(min_length=1)
    precautions: list[Precaution] | None = Field(default=None, min_length=1)
    corrective_actions: list[CorrectiveGroup] = Field(min_length=1)
    conclusion: Text
    citations: list[Citation] = Field(min_length=1)

    @property
    def minor_version(self) -> int:
        """The x of "1.x": 0 for a 1.0 entry, which may not use the 1.1 properties."""
        return int(self.schema_version.split(".")[1])

    @property
    def document_language(self) -> str:
        """The BCP 47 tag exports declare: the entry's ``language``, else English."""
        return self.language or DEFAULT_LANGUAGE

    @field_validator("updated", mode="before")
    @classmethod
    def _iso_date_string(cls, value: object) -> object:
        # The schema takes only "YYYY-MM-DD" strings; pydantic alone would also take
        # datetimes or other spellings, which would let the two drift apart.
        if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError("updated must be a date written YYYY-MM-DD")
        try:
            return _dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a real calendar date") from exc
