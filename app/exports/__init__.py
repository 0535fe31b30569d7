"""Exports of a patient's record: CSV for spreadsheets, FHIR R4 for clinical systems."""
