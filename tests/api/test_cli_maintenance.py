"""``tocsin maintenance`` against the real API served on loopback: a window scheduled, listed,
moved and cancelled from the terminal, and a bad one refused with the reason."""

from __future__ import annotations

from tests.api.messaging import Messaging
from tests.api.test_cli_drills import tocsin


async def test_a_window_scheduled_listed_moved_and_cancelled_from_the_terminal(
    messaging: Messaging, served: str
) -> None:
    scheduled = await tocsin(
        served, "maintenance", "schedule",
        "--title", "Database upgrade", "--body", "Checkout may be slow.",
        "--component", "checkout", "--component", "support-chat",
        "--starts", "+2h", "--for", "90m", "--by", "Gil Ramos",
    )  # fmt: skip
    assert scheduled.exit_code == 0, scheduled.output
    window_id = scheduled.output.split()[1]
    assert window_id.startswith("mnt-")
    assert "(scheduled)" in scheduled.output
    assert "checkout, support-chat" in scheduled.output
    assert "(1h 30m)" in scheduled.output

    listed = await tocsin(served, "maintenance", "list", "--status", "scheduled")
    assert listed.exit_code == 0, listed.output
    header, row = listed.output.splitlines()
    assert header.split()[:3] == ["ID", "STATUS", "FROM"]
    assert row.split()[:2] == [window_id, "scheduled"]
    assert row.endswith("Database upgrade")
    none = await tocsin(served, "maintenance", "list", "--status", "completed")
    assert none.output.strip() == "no maintenance"

    moved = await tocsin(served, "maintenance", "move", window_id, "--ends", "+5h")
    assert moved.exit_code == 0, moved.output
    assert "(3h 0m)" in moved.output

    cancelled = await tocsin(served, "maintenance", "cancel", window_id, "--by", "Gil Ramos")
    assert cancelled.exit_code == 0, cancelled.output
    assert "(cancelled)" in cancelled.output
    again = await tocsin(served, "maintenance", "cancel", window_id)
    assert again.exit_code == 1
    assert f"maintenance {window_id} is cancelled" in again.output
    assert messaging.declared == []


async def test_a_bad_window_is_refused_with_the_reason(messaging: Messaging, served: str) -> None:
    unknown = await tocsin(
        served, "maintenance", "schedule", "--title", "x", "--body", "y",
        "--component", "mainframe", "--starts", "+1h", "--for", "1h",
    )  # fmt: skip
    backwards = await tocsin(
        served, "maintenance", "schedule", "--title", "x", "--body", "y",
        "--component", "checkout", "--starts", "+2h", "--ends", "+1h",
    )  # fmt: skip
    naive = await tocsin(
        served, "maintenance", "schedule", "--title", "x", "--body", "y",
        "--component", "checkout", "--starts", "2030-01-01T02:00", "--for", "1h",
    )  # fmt: skip

    assert unknown.exit_code == 1
    assert (
        "components: Value error, 'mainframe' is not a customer-visible service" in (unknown.output)
        or "'mainframe' is not a customer-visible service in the catalog" in unknown.output
    )
    assert backwards.exit_code == 1
    assert "ends_at must be after starts_at" in backwards.output
    assert naive.exit_code == 1
    assert "give its time zone" in naive.output
    assert (await messaging.api.get("/api/v1/maintenances")).json() == {"items": []}
