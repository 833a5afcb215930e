"""The incident workflow's patches (``workflow.patched``), named once: each is a change of its
logic that incidents begun before it must not see, and each has recorded histories on both
sides of it in ``tests/workflows/histories``."""

EFFECTS_IN_ONE_ACTIVITY = "effects-in-one-activity"
# Steps that fell due while nothing ran fire late, marked, before the breach (issue 14).
LATE_STEPS_FIRED = "late-steps-fired"
CONFIRM_CLEARED = "confirm-cleared"
# External partners engaged by playbook steps, judged against their own target (ADR 0027).
PARTNERS_ENGAGED = "partners-engaged"
# ADR 0022: direct messages leave in an activity of their own on the paging queue.
PAGES_FIRST = "pages-first"
# ADR 0037: that activity runs on the incident's own task queue, started eagerly by the
# worker whose workflow task decided the pages.
PAGES_EAGER = "pages-eager"
