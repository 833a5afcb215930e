"""Playbook tests and what-if replay: scenarios run through the real ``IncidentWorkflow`` on
Temporal's time-skipping server, so hours of escalation take seconds."""
