"""The ledger's two doors to the outside: messages to customers (催费短信, 余额告警) and switching commands to smart
meters through the head-end system (远程停电 / 远程复电).

Each is a small protocol with a default that only logs, chosen by a setting (``MESSAGE_SENDER``,
``REMOTE_SWITCH``: dotted paths), so a utility plugs in its SMS gateway or head-end client without touching the
actions. The actions record what they asked for in their own immutable records; what the defaults log is the
trace an operator reads when no gateway is configured.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from django.utils.module_loading import import_string

from gridcare.ledger.conf import conf

logger = logging.getLogger("gridcare.ledger.outbound")


@dataclass(frozen=True)
class Message:
    """One message to one customer: ``channel`` is sms / notice / phone / wechat, ``to`` the number or address."""

    account_number: str
    channel: str
    to: str
    text: str


@dataclass(frozen=True)
class SwitchCommand:
    """One command to one meter: ``action`` is ``disconnect`` or ``reconnect``; ``reference`` names the record that
    asked for it (a dunning step, a prepaid alert) so the head-end's answer can be matched."""

    meter_number: str
    action: str
    reference: str


@dataclass(frozen=True)
class Outcome:
    """What the gateway said: accepted or not, its own reference, and a message for people."""

    accepted: bool
    reference: str = ""
    detail: str = ""


class MessageSender(Protocol):
    def send(self, message: Message) -> Outcome: ...


class RemoteSwitch(Protocol):
    def send(self, command: SwitchCommand) -> Outcome: ...


class LoggingSender:
    """The default message sender: logs the message and reports it accepted (no gateway configured)."""

    def send(self, message: Message) -> Outcome:
        logger.info(
            "message to %s (%s %s): %s", message.account_number, message.channel, message.to, message.text
        )
        return Outcome(accepted=True, detail="logged")


class LoggingSwitch:
    """The default head-end client: logs the command and reports it accepted (no head-end configured)."""

    def send(self, command: SwitchCommand) -> Outcome:
        logger.info("%s meter %s (%s)", command.action, command.meter_number, command.reference)
        return Outcome(accepted=True, detail="logged")


def message_sender() -> MessageSender:
    sender: MessageSender = import_string(conf("MESSAGE_SENDER"))()
    return sender


def remote_switch() -> RemoteSwitch:
    switch: RemoteSwitch = import_string(conf("REMOTE_SWITCH"))()
    return switch
