"""Wiring: settings, database, models, services and the composition root."""
