"""How the example app reads what a person types (no server needed)."""

from __future__ import annotations

import pytest

from commands import Keyword, NotUnderstood, ToolRequest, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my profile", ToolRequest("workday_hcm_get_employee")),
        ("Profile emp002", ToolRequest("workday_hcm_get_employee", {"employee_id": "EMP002"})),
        ("what is my pay?", ToolRequest("workday_payroll_get_compensation")),
        (
            "salary of EMP001 please",
            ToolRequest("workday_payroll_get_compensation", {"employee_id": "EMP001"}),
        ),
        ("show me my pay", ToolRequest("workday_payroll_get_compensation")),
        ("my team", ToolRequest("workday_hcm_list_direct_reports")),
        ("who manages me", ToolRequest("workday_hcm_get_employee")),
    ],
)
def test_phrases_choose_a_tool_and_an_employee(text: str, expected: ToolRequest) -> None:
    assert parse(text) == expected


def test_a_tool_name_with_key_values_calls_that_tool() -> None:
    command = parse("workday_hcm_update_contact_info work_phone='+1 555 0100' EMP001")

    assert command == ToolRequest(
        "workday_hcm_update_contact_info",
        {"work_phone": "+1 555 0100", "employee_id": "EMP001"},
    )


def test_a_tool_name_with_a_json_object_calls_that_tool() -> None:
    command = parse('workday_hcm_get_employee {"employee_id": "EMP010"}')

    assert command == ToolRequest("workday_hcm_get_employee", {"employee_id": "EMP010"})


def test_json_arguments_must_be_an_object() -> None:
    assert parse("workday_hcm_get_employee [1]") == NotUnderstood(
        "the arguments must be a JSON object"
    )
    assert parse("workday_hcm_get_employee {1}") == NotUnderstood(
        "the arguments are not valid JSON: Expecting property name enclosed in double quotes"
    )


def test_a_word_that_is_not_key_value_is_named() -> None:
    assert parse("workday_hcm_get_employee someone") == NotUnderstood(
        "`someone` is not `key=value`"
    )


@pytest.mark.parametrize(
    ("text", "name"),
    [("help", "help"), ("  TOOLS ", "tools"), ("Sign  out", "sign out"), ("login", "sign in")],
)
def test_keywords_are_the_apps_own_commands(text: str, name: str) -> None:
    assert parse(text) == Keyword(name)


def test_anything_else_gets_a_hint() -> None:
    assert parse("hello there") == NotUnderstood(
        "try `my profile`, `my pay`, `profile EMP002`, `reports` or `help`"
    )
    assert parse("   ") == NotUnderstood("the message is empty")
