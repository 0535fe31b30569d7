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


class FhirRequest(BaseModel):
    method: Literal["PUT"]
    url: str = Field(description="A conditional update: `<type>?identifier=<system>|<value>`")


class FhirBundleEntry(BaseModel):
    fullUrl: str = Field(description="`urn:uuid:` and the resource's id")
    resource: FhirResource
    request: FhirRequest | None = Field(default=None, description="In a `transaction` only")


class FhirMeta(BaseModel):
    lastUpdated: dt.datetime


class FhirBundle(BaseModel):
    """A FHIR R4 Bundle of type `collection`, or `transaction` (docs/fhir-mapping.md)."""

    resourceType: Literal["Bundle"]
    id: str
    meta: FhirMeta
    type: Literal["collection", "transaction"]
    timestamp: dt.datetime
    entry: list[FhirBundleEntry]
