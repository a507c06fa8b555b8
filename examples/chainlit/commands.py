"""What the person typed, read as one of the chat app's commands.

The example has no language model: it understands a few phrases ("my pay", "profile EMP002",
"reports") and the direct form `<tool name> key=value …` or `<tool name> {json}`. A real
assistant would hand the MCP tool list to a model and let it choose; everything after the
choice (token exchange, the call, step-up) stays the same.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

GET_EMPLOYEE = "workday_hcm_get_employee"
LIST_DIRECT_REPORTS = "workday_hcm_list_direct_reports"
GET_COMPENSATION = "workday_payroll_get_compensation"

EMPLOYEE_ID = re.compile(r"\bEMP[0-9]{3,6}\b", re.IGNORECASE)
TOOL_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")

# Checked in order: the first phrase a message contains decides the tool.
PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (GET_COMPENSATION, ("pay", "salary", "compensation", "bonus")),
    (LIST_DIRECT_REPORTS, ("reports", "team")),
    (GET_EMPLOYEE, ("profile", "employee", "who is", "manager", "me")),
)


@dataclass(frozen=True)
class ToolRequest:
    """Call `tool` with `arguments` (an employee id left out means the caller)."""

    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Keyword:
    """One of the app's own commands: `help`, `tools`, `session`, `sign in`, `sign out`."""

    name: str


@dataclass(frozen=True)
class NotUnderstood:
    """A message the app cannot map to a command; `reason` says why, for the person."""

    reason: str


Command = ToolRequest | Keyword | NotUnderstood

KEYWORDS = {
    "help": "help",
    "?": "help",
    "tools": "tools",
    "session": "session",
    "whoami": "session",
    "sign in": "sign in",
    "login": "sign in",
    "log in": "sign in",
    "sign out": "sign out",
    "logout": "sign out",
    "log out": "sign out",
}


def parse(text: str) -> Command:
    """Read one chat message as a command."""
    message = " ".join(text.split())
    lowered = message.lower()
    if not message:
        return NotUnderstood("the message is empty")
    if lowered in KEYWORDS:
        return Keyword(KEYWORDS[lowered])

    head, _, rest = message.partition(" ")
    if TOOL_NAME.fullmatch(head):
        return _direct(head, rest)
    return _phrase(message)


def _direct(tool: str, rest: str) -> Command:
    """`tool {json}` or `tool key=value …`; a bare employee id is taken as `employee_id`."""
    if rest.startswith(("{", "[")):
        return _json_arguments(tool, rest)

    try:
        words = shlex.split(rest)
    except ValueError as error:
        return NotUnderstood(f"the arguments cannot be read: {error}")
    arguments: dict[str, Any] = {}
    for word in words:
        key, equals, value = word.partition("=")
        if equals and key:
            arguments[key] = value
        elif EMPLOYEE_ID.fullmatch(word):
            arguments["employee_id"] = word.upper()
        else:
            return NotUnderstood(f"`{word}` is not `key=value`")
    return ToolRequest(tool, arguments)


def _json_arguments(tool: str, text: str) -> Command:
    try:
        arguments = json.loads(text)
    except json.JSONDecodeError as error:
        return NotUnderstood(f"the arguments are not valid JSON: {error.msg}")
    if not isinstance(arguments, dict):
        return NotUnderstood("the arguments must be a JSON object")
    return ToolRequest(tool, arguments)


def _phrase(message: str) -> Command:
    lowered = message.lower()
    for tool, phrases in PHRASES:
        if any(re.search(rf"\b{re.escape(p)}\b", lowered) for p in phrases):
            employee = EMPLOYEE_ID.search(message)
            arguments = {"employee_id": employee.group(0).upper()} if employee else {}
            return ToolRequest(tool, arguments)
    return NotUnderstood("try `my profile`, `my pay`, `profile EMP002`, `reports` or `help`")
