"""Outbound adapters: the records database, the console, Slack, e-mail and webhooks.

Each imports only ``domain``; only activities (and the API's reads) call them.
"""
