"""Sign-in and token exchange against the real development IdP, and what the tokens are good
for at the actions API."""

from __future__ import annotations

import httpx
import pytest
from conftest import PASSWORD, Scopegate, closed_port, totp_now

from scopegate_client import (
    IdpRefused,
    NotSignedIn,
    ScopegateConfig,
    ScopegateSession,
    ServiceUnavailable,
    SessionExpired,
)

pytestmark = pytest.mark.anyio

MCP_ONLY = "Token scope 'mcp:use' not valid for direct API access"


async def test_a_password_login_gives_a_one_hour_token_without_mfa(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        token = await session.login("EMP001", PASSWORD)

    assert token.subject == "EMP001"
    assert token.amr == ("pwd",)
    assert token.claims["acr"] == "urn:okta:loa:1fa:pwd"
    assert token.expires_in == 3600
    assert token.lifetime_seconds == 3600
    assert session.user_token is token


async def test_a_login_with_an_authenticator_code_records_mfa(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        token = await session.login("EMP010", PASSWORD, totp=totp_now("EMP010"))

    assert token.amr == ("mfa", "otp", "pwd")
    assert token.mfa
    assert token.claims["acr"] == "urn:okta:loa:2fa:any"


async def test_the_exchange_gives_a_five_minute_token_for_the_mcp_server_only(
    scopegate: Scopegate,
) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        user = await session.login("EMP001", PASSWORD)
        token = await session.mcp_token()

    assert token.expires_in == 300
    assert token.lifetime_seconds == 300
    assert token.scope == ("mcp:use",)
    assert token.claims["scope"] == ["mcp:use"]
    assert token.claims["aud"] == scopegate.mcp_url
    assert token.claims["acting_as"] == "mcp-server"
    assert token.claims["original_token_id"] == user.jti
    assert token.claims["auth_time"] == user.claims["auth_time"]
    assert token.jti != user.jti


async def test_the_mcp_token_is_refused_by_the_actions_api_directly(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP001", PASSWORD)
        token = await session.mcp_token()

    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{scopegate.api_url}/actions/workday.hcm/get_employee",
            headers={"Authorization": f"Bearer {token.value}"},
        )

    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert response.json()["error_description"] == MCP_ONLY
    assert response.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", error_description="{MCP_ONLY}"'
    )


async def test_the_mcp_token_is_reused_while_it_has_more_than_the_margin_left(
    scopegate: Scopegate,
) -> None:
    async with ScopegateSession(scopegate.config(refresh_margin_seconds=30)) as session:
        await session.login("EMP001", PASSWORD)
        first = await session.mcp_token()
        second = await session.mcp_token()

    assert second is first


async def test_the_mcp_token_is_exchanged_again_once_within_the_margin(
    scopegate: Scopegate,
) -> None:
    # A margin as long as the token's whole life puts every token within it at once.
    async with ScopegateSession(scopegate.config(refresh_margin_seconds=300)) as session:
        user = await session.login("EMP001", PASSWORD)
        first = await session.mcp_token()
        second = await session.mcp_token()

    assert second.jti != first.jti
    assert second.value != first.value
    assert second.claims["original_token_id"] == user.jti


async def test_a_new_login_drops_the_mcp_token_of_the_old_one(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        await session.login("EMP002", PASSWORD)
        before = await session.mcp_token()
        user = await session.login("EMP002", PASSWORD)
        after = await session.mcp_token()

    assert after.jti != before.jti
    assert after.claims["original_token_id"] == user.jti


async def test_a_wrong_password_is_refused_with_the_idps_reason(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        with pytest.raises(IdpRefused) as refused:
            await session.login("EMP001", "not-the-password")

    assert refused.value.error == "invalid_grant"
    assert refused.value.status == 400
    assert str(refused.value) == (
        "the identity provider refused the sign-in (`invalid_grant`): "
        "the username or password is wrong"
    )
    assert session.user_token is None


async def test_a_code_for_a_user_without_mfa_is_refused(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        with pytest.raises(IdpRefused) as refused:
            await session.login("EMP002", PASSWORD, totp="123456")

    assert str(refused.value) == (
        "the identity provider refused the sign-in (`invalid_grant`): "
        "user `EMP002` is not enrolled in multi-factor authentication"
    )


async def test_a_failed_login_keeps_the_earlier_sign_in(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        earlier = await session.login("EMP001", PASSWORD)
        with pytest.raises(IdpRefused):
            await session.login("EMP001", PASSWORD, totp="000000x")

    assert session.user_token is earlier


async def test_a_wrong_client_secret_is_refused_as_invalid_client(scopegate: Scopegate) -> None:
    config = scopegate.config(client_secret="not-the-secret")
    async with ScopegateSession(config) as session:
        with pytest.raises(IdpRefused) as refused:
            await session.login("EMP001", PASSWORD)

    assert refused.value.error == "invalid_client"
    assert refused.value.status == 401


async def test_nothing_is_exchanged_before_a_sign_in(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        with pytest.raises(NotSignedIn) as refused:
            await session.mcp_token()

    assert str(refused.value) == "nobody is signed in; sign in first"


async def test_a_revoked_sign_in_is_reported_as_an_expired_session(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        user = await session.login("EMP001", PASSWORD)
        async with httpx.AsyncClient() as http:
            revoked = await http.post(
                f"{scopegate.issuer}/oauth2/v1/revoke",
                data={"token": user.value},
                auth=("chainlit-app", "chainlit-dev-secret"),
            )
        assert revoked.status_code == 200

        with pytest.raises(SessionExpired) as expired:
            await session.mcp_token()

    assert str(expired.value) == (
        "your session is no longer valid (the subject token is revoked); sign in again"
    )


async def test_logout_revokes_the_sign_in_at_the_idp(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        user = await session.login("EMP001", PASSWORD)
        await session.logout()

        with pytest.raises(NotSignedIn):
            await session.mcp_token()

    async with httpx.AsyncClient() as http:
        introspected = await http.post(
            f"{scopegate.issuer}/oauth2/v1/introspect",
            data={"token": user.value},
            auth=("chainlit-app", "chainlit-dev-secret"),
        )
    assert introspected.json() == {"active": False}


async def test_an_exchange_for_an_unregistered_resource_is_refused(scopegate: Scopegate) -> None:
    config = scopegate.config(mcp_resource="http://127.0.0.1:1/elsewhere")
    async with ScopegateSession(config) as session:
        await session.login("EMP001", PASSWORD)
        with pytest.raises(IdpRefused) as refused:
            await session.mcp_token()

    assert refused.value.operation == "token exchange"
    assert refused.value.error == "invalid_target"


async def test_an_unreachable_idp_is_named_with_its_address() -> None:
    port = closed_port()
    config = ScopegateConfig(issuer=f"http://127.0.0.1:{port}", timeout_seconds=2)
    async with ScopegateSession(config) as session:
        with pytest.raises(ServiceUnavailable) as unavailable:
            await session.login("EMP001", PASSWORD)

    assert str(unavailable.value) == (
        f"the identity provider at `http://127.0.0.1:{port}` could not be reached"
    )


async def test_an_idp_that_never_answers_times_out(silent_server: str) -> None:
    config = ScopegateConfig(issuer=silent_server, timeout_seconds=0.5)
    async with ScopegateSession(config) as session:
        with pytest.raises(ServiceUnavailable) as unavailable:
            await session.login("EMP001", PASSWORD)

    assert str(unavailable.value) == (
        f"the identity provider at `{silent_server}` did not answer within 0.5 s"
    )


def test_the_configuration_is_read_from_the_environment() -> None:
    config = ScopegateConfig.from_env(
        {
            "SCOPEGATE_ISSUER": "http://idp.example:9000",
            "SCOPEGATE_MCP_URL": "http://mcp.example:8001/mcp",
            "SCOPEGATE_CLIENT_SECRET": "s3cret",
            "SCOPEGATE_REFRESH_MARGIN_SECONDS": "60",
        }
    )

    assert config.issuer == "http://idp.example:9000"
    assert config.resource == "http://mcp.example:8001/mcp"
    assert config.client_id == "chainlit-app"
    assert config.refresh_margin_seconds == 60
    assert "s3cret" not in repr(config)


def test_an_unusable_environment_value_names_its_variable() -> None:
    with pytest.raises(ValueError) as invalid:
        ScopegateConfig.from_env({"SCOPEGATE_TIMEOUT_SECONDS": "soon"})

    assert (
        str(invalid.value) == "`SCOPEGATE_TIMEOUT_SECONDS` must be a number of seconds, not `soon`"
    )


async def test_a_token_repr_shows_its_shape_but_never_the_token(scopegate: Scopegate) -> None:
    async with ScopegateSession(scopegate.config()) as session:
        token = await session.login("EMP001", PASSWORD)

    assert token.value not in repr(token)
    assert repr(token).startswith("AccessToken(sub='EMP001', scope=")
    assert repr(token).endswith(f"value=<{len(token.value)} chars>)")
