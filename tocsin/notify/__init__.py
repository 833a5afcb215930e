"""Outbound notification adapters. Only activities call them."""

from tocsin.notify.base import Notification, Notifier
from tocsin.notify.console import ConsoleNotifier

__all__ = ["ConsoleNotifier", "Notification", "Notifier"]
