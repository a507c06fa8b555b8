"""Tool calls through the real MCP server with the official MCP Python SDK: the tool list,
results, policy denials, step-up and the audit trail they leave."""

from __future__ import annotations

import httpx
import pytest
from conftest import PASSWORD, Scopegate, closed_port, totp_now

from scopegate_client import (
    McpRefused,
    ScopegateSession,
    ServiceUnavailable,
    SessionExpired,
    StepUpRequired,
)

pytestmark = pytest.mark.anyio

PAYROLL_STEP_UP = (
    "payroll needs a multi-factor sign-in within the last 5 minutes; "
    "sign in again with your authenticator code"
)
EMPLOYEE_TOOLS = {
    "workday_hcm_get_employee",
    "workday_hcm_update_contact_info",
    "workday_payroll_get_compensation",
}


async def test_an_employee_is_listed_only_the_tools_they_could_be_allowed(
    scopegate: Scopegate,
) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP001", PASSWORD)
        employee = await session.list_tools()
        await session.login("EMP010", PASSWORD)
        manager = await session.list_tools()

    assert {tool.name for tool in employee} == EMPLOYEE_TOOLS
    assert {tool.name for tool in manager} == EMPLOYEE_TOOLS | {"workday_hcm_list_direct_reports"}
    profile = next(tool for tool in employee if tool.name == "workday_hcm_get_employee")
    assert profile.read_only is True
    assert "employee_id" in profile.input_schema["properties"]


async def test_an_employee_reads_their_own_profile_through_mcp(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP001", PASSWORD)
        result = await session.call_tool("workday_hcm_get_employee", {})

    assert not result.is_error
    assert result.error is None
    assert result.data is not None
    assert result.data["employee_id"] == "EMP001"
    assert result.data["name"] == "Alex Chen"
    assert result.request_id


async def test_pay_after_a_password_only_login_asks_for_a_step_up(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP002", PASSWORD)
        with pytest.raises(StepUpRequired) as challenge:
            await session.call_tool("workday_payroll_get_compensation", {})

    assert str(challenge.value) == PAYROLL_STEP_UP
    assert challenge.value.tool == "workday_payroll_get_compensation"
    assert challenge.value.max_age == 300
    assert challenge.value.acr_values == ("urn:okta:loa:2fa:any",)
    assert challenge.value.needs_authenticator_code
    assert challenge.value.request_id


async def test_signing_in_again_with_a_code_after_a_step_up_gets_the_pay(
    scopegate: Scopegate,
) -> None:
    challenges: list[StepUpRequired] = []
    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP001", PASSWORD)
        password_only = await session.mcp_token()

        async def sign_in_with_code(challenge: StepUpRequired) -> bool:
            challenges.append(challenge)
            await session.login("EMP001", PASSWORD, totp=totp_now("EMP001"))
            return True

        result = await session.call_tool(
            "workday_payroll_get_compensation", {}, on_step_up=sign_in_with_code
        )
        retried_with = session.cached_mcp_token

    assert [str(c) for c in challenges] == [PAYROLL_STEP_UP]
    assert not result.is_error
    assert result.data is not None
    assert result.data["name"] == "Alex Chen"
    assert "base_salary" in result.data
    assert retried_with is not None
    assert retried_with.jti != password_only.jti
    assert retried_with.mfa


async def test_a_step_up_is_raised_when_the_handler_declines(scopegate: Scopegate) -> None:
    async def decline(_challenge: StepUpRequired) -> bool:
        return False

    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP002", PASSWORD)
        with pytest.raises(StepUpRequired):
            await session.call_tool("workday_payroll_get_compensation", {}, on_step_up=decline)


async def test_a_second_step_up_after_the_retry_is_raised(scopegate: Scopegate) -> None:
    calls = 0
    async with ScopegateSession(scopegate.config()) as session:

        async def sign_in_without_code(_challenge: StepUpRequired) -> bool:
            nonlocal calls
            calls += 1
            await session.login("EMP002", PASSWORD)
            return True

        await session.login("EMP002", PASSWORD)
        with pytest.raises(StepUpRequired) as challenge:
            await session.call_tool(
                "workday_payroll_get_compensation", {}, on_step_up=sign_in_without_code
            )

    assert calls == 1
    assert str(challenge.value) == PAYROLL_STEP_UP


async def test_a_policy_denial_is_a_tool_error_the_app_can_show(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP001", PASSWORD)
        result = await session.call_tool("workday_hcm_get_employee", {"employee_id": "EMP010"})

    assert result.is_error
    assert result.error == "access_denied"
    assert result.text
    assert result.data is not None
    assert result.data["reasons"]


async def test_arguments_the_schema_refuses_are_a_tool_error_naming_the_field(
    scopegate: Scopegate,
) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP001", PASSWORD)
        result = await session.call_tool("workday_hcm_get_employee", {"employee_id": "bad"})

    assert result.is_error
    assert result.error == "invalid_arguments"
    assert result.text == (
        'invalid arguments: argument `employee_id`: the value does not match "^EMP[0-9]{3,6}$"'
    )
    assert result.data is not None
    assert result.data["field"] == "employee_id"


async def test_an_unknown_tool_is_refused_by_the_mcp_server(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP001", PASSWORD)
        with pytest.raises(McpRefused) as refused:
            await session.call_tool("no_such_tool", {})

    assert str(refused.value) == (
        f"the MCP server at `{scopegate.mcp_url}` refused the request: unknown tool `no_such_tool`"
    )


async def test_a_token_the_mcp_server_refuses_ends_the_session_and_is_dropped(
    scopegate: Scopegate,
) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        user = await session.login("EMP001", PASSWORD)
        # Stand the one-hour user token in for the MCP token: the passthrough the design forbids.
        session._mcp_token = user
        with pytest.raises(SessionExpired) as expired:
            await session.list_tools()
        dropped = session.cached_mcp_token

    assert str(expired.value) == (
        "your session is no longer valid (the MCP server refused the token: token audience "
        f"`{scopegate.api_url}` includes none of `{scopegate.mcp_url}`); sign in again"
    )
    assert dropped is None


async def test_the_audit_log_shows_the_call_acting_through_the_mcp_server(
    scopegate: Scopegate,
) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP001", PASSWORD)
        token = await session.mcp_token()
        result = await session.call_tool("workday_hcm_get_employee", {})

    records = [r for r in scopegate.audit_records() if r.get("request_id") == result.request_id]
    decision = next(r for r in records if r["event_type"] == "capability.decision")
    assert decision["actor"] == "EMP001"
    assert decision["acting_through"] == "mcp-server"
    assert decision["token_type"] == "exchanged"
    assert decision["original_token_id"] == token.claims["original_token_id"]
    assert 0 < decision["token_ttl_seconds"] <= 300
    assert decision["capability"] == "workday.hcm.get_employee"
    assert decision["result"] == "success"
    assert any(r["event_type"] == "mcp.tool_call" for r in records)
    assert token.value not in (scopegate.workdir / "logs" / "audit.jsonl").read_text()


async def test_a_sign_in_revoked_while_its_mcp_token_lives_ends_the_session(
    scopegate: Scopegate,
) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        user = await session.login("EMP001", PASSWORD)
        await session.mcp_token()
        async with httpx.AsyncClient() as http:
            revoked = await http.post(
                f"{scopegate.issuer}/oauth2/v1/revoke",
                data={"token": user.value},
                auth=("chainlit-app", "chainlit-dev-secret"),
            )
        assert revoked.status_code == 200

        with pytest.raises(SessionExpired) as expired:
            await session.call_tool("workday_hcm_get_employee", {})

    assert str(expired.value) == (
        "your session is no longer valid (the subject token is revoked); sign in again"
    )


async def test_an_unreachable_mcp_server_is_named_with_its_address(scopegate: Scopegate) -> None:
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    config = scopegate.config(mcp_url=url, mcp_resource=scopegate.mcp_url, timeout_seconds=2)
    async with ScopegateSession(config) as session:
        await session.login("EMP001", PASSWORD)
        with pytest.raises(ServiceUnavailable) as unavailable:
            await session.call_tool("workday_hcm_get_employee", {})

    assert str(unavailable.value) == f"the MCP server at `{url}` could not be reached"


async def test_an_mcp_server_that_never_answers_times_out(
    scopegate: Scopegate, silent_server: str
) -> None:
    url = f"{silent_server}/mcp"
    config = scopegate.config(mcp_url=url, mcp_resource=scopegate.mcp_url, timeout_seconds=1)
    async with ScopegateSession(config) as session:
        await session.login("EMP001", PASSWORD)
        with pytest.raises(ServiceUnavailable) as unavailable:
            await session.call_tool("workday_hcm_get_employee", {})

    assert str(unavailable.value) == f"the MCP server at `{url}` did not answer within 1 s"
