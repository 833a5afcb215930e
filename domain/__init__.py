"""The innermost layer: what an incident is and the rules it follows.

Plain data (pydantic models, string enums), wording, durations, the playbook schema types and
the pure incident rules. Nothing here does I/O or imports another package of the project, so
the workflow sandbox passes it through and every rule is testable in microseconds.
"""
