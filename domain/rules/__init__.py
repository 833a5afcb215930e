"""The incident's rules as pure functions: given the state, the pinned playbooks and an input
(an acknowledgement, a level change, an alert batch, a timer that fired at instant t), each
returns an ``Outcome``: the new state, the timeline events and the notifications to send.

Nothing here reads a clock, does I/O or touches Temporal: ``workflows.incident`` holds the
handlers, the timer loop and the plumbing of side effects, and calls these.

- ``state``      what an incident carries across continue-as-new
- ``effects``    the outcome of a transition and the notifications it decided
- ``deadlines``  when the next step, breach, re-page or reminder is due
- ``lifecycle``  declaration, acknowledgement, level changes, updates, mitigation, resolution,
                 and what fires when a deadline passes
- ``checks``     whether a person's action fits the incident as it stands (update validators)
- ``alert_group`` deliveries from Alertmanager: deduplication, raising, clearing, reopening
- ``statements`` customer statements: drafted, approved, rejected, corrected, published, and
                 what falls due (a breach, the holding statement, an escalation, an update)
- ``reviews``    when a review or an action item is due a reminder or an overdue notice
"""
