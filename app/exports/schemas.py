"""The shape of the FHIR export, for the OpenAPI document (typed clients): the Bundle, its
entries and each resource's common members. The export itself is streamed as built
(`fhir.bundle_chunks`); the tests validate it with fhir.resources."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FhirResource(BaseModel):
    """A FHIR R4 resource: `resourceType` names it (Patient, Observation,
    QuestionnaireResponse, Procedure …); its other members are those of that type."""

    model_config = ConfigDict(extra="allow")

    resourceType: str
    id: str


class FhirBundleEntry(BaseModel):
    fullUrl: str = Field(description="`urn:uuid:` and the resource's id")
    resource: FhirResource


class FhirBundle(BaseModel):
    """A FHIR R4 Bundle of type `collection` (docs/fhir-mapping.md)."""

    resourceType: Literal["Bundle"]
    id: str
    type: Literal["collection"]
    timestamp: dt.datetime
    entry: list[FhirBundleEntry]
