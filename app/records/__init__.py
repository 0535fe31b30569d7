"""Versioned records: conditional writes with kept revisions, the changes feed and the
patient lock, shared by every kind a patient or app writes (diary entries, sessions, plans,
treatments, function tests). See docs/architecture.md, "Adding a versioned kind"."""
