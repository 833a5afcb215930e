"""Heartbeat monitors: one durable process per monitor (ADR 0025)."""
