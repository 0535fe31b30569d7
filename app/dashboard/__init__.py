"""The clinician dashboard: server-rendered pages under /dashboard (installed by app.main)."""
