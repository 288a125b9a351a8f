from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from gridcare.ledger.outbound import LoggingSender, Message, SwitchCommand, message_sender, remote_switch


class Recorder:
    sent: list[object] = []

    def send(self, item: object) -> object:
        Recorder.sent.append(item)
        from gridcare.ledger.outbound import Outcome

        return Outcome(accepted=False, detail="gateway down")


def test_defaults_log_and_accept(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gridcare.ledger.outbound"):
        outcome = message_sender().send(Message("0100000001", "sms", "13800000000", "您的电费已逾期"))
        switched = remote_switch().send(SwitchCommand("M001", "disconnect", "DN1"))
    assert outcome.accepted and switched.accepted
    assert "您的电费已逾期" in caplog.text
    assert "disconnect meter M001 (DN1)" in caplog.text


@override_settings(
    GRIDCARE_LEDGER={
        "MESSAGE_SENDER": "tests.ledger.test_outbound.Recorder",
        "REMOTE_SWITCH": "tests.ledger.test_outbound.Recorder",
    }
)
def test_the_setting_chooses_the_gateway() -> None:
    Recorder.sent = []
    assert not isinstance(message_sender(), LoggingSender)
    outcome = remote_switch().send(SwitchCommand("M002", "reconnect", "RC1"))
    assert outcome.accepted is False and outcome.detail == "gateway down"
    assert Recorder.sent == [SwitchCommand("M002", "reconnect", "RC1")]
