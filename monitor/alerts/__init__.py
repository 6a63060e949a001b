"""Alerts: the outbox written with each transition, and the channels that deliver it."""
