"""Notification rules as written in the roster and as the pager applies them: a bad step is
named by file, person and step; an Apprise URL never shows; steps fall due at their delay,
at once after a failure, and e-mail and push are bundled to one a minute per person."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from adapters.acklinks import AckClaim, AckLinks
from domain.models import (
    Channel,
    EventKind,
    Function,
    Incident,
    IncidentType,
    Level,
    NotificationKind,
    Person,
    Recipient,
    Role,
    Tier,
    TimelineEvent,
)
from domain.notify import Notification
from domain.rules import notify_rules
from domain.rules.notify_rules import StepPlan
from playbooks.base import DEFAULT_DIR, PlaybookError
from playbooks.loader import load_roster
from tocsin.cli import app
from tocsin.settings import Settings

SECRET = "tk_0d8a6c5b4f3e2d1c"
ADA_LINE = "      - {name: Ada Okafor, slack_user_id: U0TECH001, email: ada@example.com}"
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
runner = CliRunner()


def _roster_with(tmp_path: Path, rules: str) -> Path:
    directory = tmp_path / "playbooks"
    shutil.copytree(DEFAULT_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    roster = directory / "roster.yaml"
    line = ADA_LINE[:-1] + f", notify: {rules}}}"
    roster.write_text(roster.read_text(encoding="utf-8").replace(ADA_LINE, line), "utf-8")
    return directory


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ("[{channel: pager}]", "person 'Ada Okafor', notify step 1: channel: Input should be"),
        (
            "[{channel: slack}, {channel: apprise, after: 5m}]",
            "person 'Ada Okafor', notify step 2: url: an apprise step needs the service's URL",
        ),
        (
            f"[{{channel: slack}}, {{channel: apprise, url: 'nosuch://{SECRET}@x'}}]",
            "person 'Ada Okafor', notify step 2: url: Apprise cannot send to nosuch://<redacted>",
        ),
        (
            "[{channel: email, after: 5m}, {channel: slack, after: 1m}]",
            "person 'Ada Okafor', notify step 2: after: steps go in order",
        ),
        (
            f"[{{channel: email, url: 'ntfys://{SECRET}@ntfy.sh/t'}}]",
            "person 'Ada Okafor', notify step 1: url: only an apprise step takes one",
        ),
    ],
)
def test_a_bad_step_names_file_person_and_step_and_never_the_url(
    tmp_path: Path, rules: str, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    directory = _roster_with(tmp_path, rules)
    with caplog.at_level(logging.DEBUG), pytest.raises(PlaybookError) as raised:
        load_roster(directory)
    [message] = raised.value.problems
    assert message.startswith(f"{directory / 'roster.yaml'}: ")
    assert problem in message
    assert SECRET not in message
    assert SECRET not in caplog.text
    result = runner.invoke(app, ["playbooks", "validate", str(directory)])
    assert result.exit_code == 1
    assert problem in result.output
    assert SECRET not in result.output


def test_validate_shows_the_rules_with_the_apprise_url_redacted(tmp_path: Path) -> None:
    directory = _roster_with(
        tmp_path,
        f"[{{channel: slack}}, {{channel: email, after: 5m}}, "
        f"{{channel: apprise, after: 10m, url: 'ntfys://{SECRET}@ntfy.sh/ada-pages'}}]",
    )
    result = runner.invoke(app, ["playbooks", "validate", str(directory)])
    assert result.exit_code == 0, result.output
    assert (
        "  Ada Okafor is paged by: slack at once; email after 5m; "
        "apprise ntfys://<redacted> after 10m"
    ) in result.output
    assert SECRET not in result.output
    assert "ada-pages" not in result.output


def test_the_url_is_never_serialised() -> None:
    person = Person.model_validate(
        {"name": "Ada", "notify": [{"channel": "apprise", "url": f"ntfy://{SECRET}"}]}
    )
    assert SECRET not in person.model_dump_json()
    assert SECRET not in repr(person)
    assert person.rules()[0].url is not None


def test_the_default_rules_are_slack_or_email_without_a_slack_id() -> None:
    assert Person(name="Ada", slack_user_id="U0TECH001", email="a@x.io").rules()[0].channel == (
        Channel.SLACK
    )
    assert Person(name="Ada", email="a@x.io").rules()[0].channel is Channel.EMAIL


def _page(n: int, kind: NotificationKind = NotificationKind.PAGE) -> Notification:
    incident = Incident(
        id=f"inc-{n}",
        title=f"Incident {n}",
        level=Level.A,
        type=IncidentType.SERVICE_OUTAGE,
        declared_at=T0,
        declared_by="alertmanager",
        ack_deadline=T0 + timedelta(minutes=15),
        response_window_seconds=900,
    )
    event = TimelineEvent(incident_id=incident.id, seq=1, at=T0, kind=EventKind.PAGED, text="")
    recipient = Recipient(
        person=Person(name="Ada"),
        function=Function.TECHNICAL_SUPPORT,
        tier=Tier.PRIMARY,
        role=Role.LEAD,
    )
    return Notification(
        key=f"inc-{n}/1/page", kind=kind, incident=incident, event=event, recipient=recipient,
        text="page",
    )  # fmt: skip


STEPS = [
    StepPlan(number=1, channel=Channel.SLACK, after_seconds=0),
    StepPlan(number=2, channel=Channel.EMAIL, after_seconds=300),
    StepPlan(number=3, channel=Channel.APPRISE, after_seconds=600),
]


def test_a_failed_step_hands_the_page_to_the_next_at_once() -> None:
    state = notify_rules.receive(notify_rules.RulesState(), [(_page(1), STEPS)], T0, timedelta(0))
    state, [slack] = notify_rules.fire(state, T0)
    assert slack.channel is Channel.SLACK
    later = T0 + timedelta(seconds=3)
    state, stranded = notify_rules.sent(state, slack, later, failed=True)
    assert stranded == []
    assert notify_rules.next_due(state) == later
    state, [email] = notify_rules.fire(state, later)
    assert email.channel is Channel.EMAIL
    # Sent: the push waits for its own delay, counted from the page.
    state, _ = notify_rules.sent(state, email, later, failed=False)
    assert [w.due for w in state.waiting] == [T0 + timedelta(minutes=10)]


def test_an_acknowledged_page_goes_no_further() -> None:
    state = notify_rules.receive(notify_rules.RulesState(), [(_page(1), STEPS)], T0, timedelta(0))
    state, [slack] = notify_rules.fire(state, T0)
    state, _ = notify_rules.sent(state, slack, T0, failed=False, stopped=["inc-1/1/page"])
    assert state.waiting == []


def test_a_page_stopped_in_the_task_that_brought_it_still_goes_once_and_no_further() -> None:
    """The incident paged, then was acknowledged, and both reached the pager together."""
    state = notify_rules.receive(notify_rules.RulesState(), [(_page(1), STEPS)], T0, timedelta(0))
    state = notify_rules.stop(state, ["inc-1"])
    state, [slack] = notify_rules.fire(state, T0)
    assert [s.key for s in slack.steps] == ["inc-1/1/page"]
    state, _ = notify_rules.sent(state, slack, T0, failed=False, stopped=[])
    assert state.waiting == []
    # Before, the page vanished: the pager's histories of then replay that way.
    state = notify_rules.receive(notify_rules.RulesState(), [(_page(1), STEPS)], T0, timedelta(0))
    state = notify_rules.stop(state, ["inc-1"], first_steps_go=False)
    assert notify_rules.fire(state, T0)[1] == []


def test_e_mail_to_one_person_goes_at_most_once_a_minute_the_rest_bundled() -> None:
    email = [StepPlan(number=1, channel=Channel.EMAIL, after_seconds=0)]
    state = notify_rules.receive(notify_rules.RulesState(), [(_page(1), email)], T0, timedelta(0))
    state, [first] = notify_rules.fire(state, T0)
    assert len(first.steps) == 1
    storm = [(_page(n), email) for n in range(2, 6)]
    state = notify_rules.receive(state, storm, T0 + timedelta(seconds=5), timedelta(0))
    state, none = notify_rules.fire(state, T0 + timedelta(seconds=5))
    assert none == []
    assert notify_rules.next_due(state) == T0 + timedelta(minutes=1)
    state, [bundle] = notify_rules.fire(state, T0 + timedelta(minutes=1))
    assert [s.page.incident.id for s in bundle.steps] == [f"inc-{n}" for n in range(2, 6)]


def test_an_engagement_takes_only_the_steps_due_at_once() -> None:
    state = notify_rules.receive(
        notify_rules.RulesState(), [(_page(1, NotificationKind.ENGAGE), STEPS)], T0, timedelta(0)
    )
    state, [slack] = notify_rules.fire(state, T0)
    state, _ = notify_rules.sent(state, slack, T0, failed=False)
    assert notify_rules.idle(state, T0)


def test_the_worker_signs_ack_links_the_api_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TOCSIN_ACK_SECRET", raising=False)
    token = SecretStr("an-api-token-0123456789")
    settings = Settings(api_token=token)
    worker, api = settings.worker_config().ack_secret, settings.api_config().ack_secret
    assert worker is not None
    assert api is not None
    assert worker.get_secret_value() != token.get_secret_value()
    link = AckLinks(worker, "https://tocsin.example.com").link("20261205-abc123", "Ada Okafor")
    assert link.startswith("https://tocsin.example.com/ack/")
    claim = AckLinks(api, "https://tocsin.example.com").read(link.rsplit("/", 1)[1])
    assert claim == AckClaim(incident_id="20261205-abc123", person="Ada Okafor")
    own = Settings(api_token=token, ack_secret=SecretStr("own-ack-secret")).resolved_ack_secret()
    assert own is not None
    assert own.get_secret_value() == "own-ack-secret"
