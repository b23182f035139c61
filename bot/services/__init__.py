"""Use cases: one per user action and per scheduler job, each one transaction."""
