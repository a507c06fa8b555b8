"""Sign a person in at scopegate's identity provider and call the MCP server on their behalf.

This is the chat app's token logic, kept free of Chainlit so that it can be tested on its own
against a real `scopegate up`:

1. `ScopegateSession.login` signs the person in with the password grant (plus a TOTP code for
   a multi-factor login) and keeps the one-hour user token in server memory;
2. `ScopegateSession.mcp_token` exchanges it (RFC 8693) for a five-minute token whose only
   audience is the MCP server and whose only scope is `mcp:use`, and exchanges again when that
   token comes within a margin of its expiry;
3. `ScopegateSession.call_tool` opens a Streamable HTTP session with the official MCP SDK,
   calls one tool and reads the result. A step-up answer (RFC 9470, carried as a tool error) is
   raised as `StepUpRequired`; with an `on_step_up` callback that signs the person in again
   with their authenticator code, the call is retried once.

Nothing here writes a token, password or one-time code to a log, and the repr of every object
that holds one shows only its shape.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote_plus, urlsplit

import anyio
import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import McpError
from mcp.types import CallToolResult, Implementation, TextContent, Tool

__all__ = [
    "AccessToken",
    "IdpRefused",
    "McpRefused",
    "NotSignedIn",
    "ScopegateConfig",
    "ScopegateError",
    "ScopegateSession",
    "ServiceUnavailable",
    "SessionExpired",
    "StepUpRequired",
    "ToolInfo",
    "ToolResult",
    "UnexpectedResponse",
    "decode_claims_unverified",
]

DEFAULT_ISSUER = "http://127.0.0.1:9000"
"""The development IdP that `scopegate up` runs."""

DEFAULT_MCP_URL = "http://127.0.0.1:8001/mcp"
"""The MCP server's Streamable HTTP endpoint under `scopegate up`."""

DEFAULT_CLIENT_ID = "chainlit-app"
"""The chat app's client registration in the development directory."""

DEFAULT_CLIENT_SECRET = "chainlit-dev-secret"
"""The development directory's public secret for `chainlit-app`; never a real one."""

MCP_SCOPE = "mcp:use"
"""The only scope an MCP token carries."""

STEP_UP_ERROR = "insufficient_user_authentication"
"""RFC 9470 §3: the error code of a step-up challenge, also used in MCP tool errors."""

SESSION_INVALID_ERROR = "session_invalid"
"""The MCP server's tool error code for a user session that the IdP no longer accepts."""

REQUEST_ID_META_KEY = "dev.scopegate/request_id"
"""The `_meta` key under which the MCP server names a tool call's request id."""

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
METADATA_PATH = "/.well-known/oauth-authorization-server"
CLIENT_NAME = "scopegate-chainlit-example"
CLIENT_VERSION = "0.1.0"

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class ScopegateError(Exception):
    """Base of every error this module raises; `str()` is a sentence for a person."""


class NotSignedIn(ScopegateError):
    """An operation needs a signed-in person and there is none."""

    def __init__(self) -> None:
        super().__init__("nobody is signed in; sign in first")


class IdpRefused(ScopegateError):
    """The identity provider refused a request with an OAuth error (RFC 6749 §5.2).

    `operation` says what was asked (`sign-in`, `token exchange`, `sign-out`), `error` is the
    OAuth error code and `description` the IdP's `error_description`, when it sent one.
    """

    def __init__(self, operation: str, status: int, error: str, description: str | None):
        self.operation = operation
        self.status = status
        self.error = error
        self.description = description
        detail = f": {description}" if description else ""
        super().__init__(f"the identity provider refused the {operation} (`{error}`){detail}")


class SessionExpired(ScopegateError):
    """The person's sign-in can no longer be used (expired or revoked): they must sign in
    again. `reason` is what the service that noticed said."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"your session is no longer valid ({reason}); sign in again")


class ServiceUnavailable(ScopegateError):
    """A service did not answer in time, could not be reached, or answered with a server
    error; trying again later may work."""

    def __init__(self, service: str, url: str, reason: str):
        self.service = service
        self.url = url
        self.reason = reason
        super().__init__(f"the {service} at `{url}` {reason}")


class UnexpectedResponse(ScopegateError):
    """A service answered with something this client cannot use (a protocol mismatch)."""

    def __init__(self, service: str, url: str, reason: str):
        self.service = service
        self.url = url
        self.reason = reason
        super().__init__(f"the {service} at `{url}` answered unexpectedly: {reason}")


class McpRefused(ScopegateError):
    """The MCP server refused a request at the HTTP or JSON-RPC level (not a tool error): a
    token without the right scope, an unknown tool, malformed arguments."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"the MCP server at `{url}` refused the request: {reason}")


class StepUpRequired(ScopegateError):
    """A tool needs a more recent or stronger sign-in (RFC 9470).

    `max_age` is the most seconds that may have passed since the person's last active sign-in,
    `acr_values` the authentication context classes of which one is required (for scopegate,
    `urn:okta:loa:2fa:any` means a sign-in with an authenticator code). `str()` is the MCP
    server's text for the person, such as "payroll needs a multi-factor sign-in within the last
    5 minutes; sign in again with your authenticator code".
    """

    def __init__(
        self,
        tool: str,
        message: str,
        max_age: int | None,
        acr_values: tuple[str, ...],
        reasons: tuple[str, ...] = (),
        request_id: str | None = None,
    ):
        self.tool = tool
        self.message = message
        self.max_age = max_age
        self.acr_values = acr_values
        self.reasons = reasons
        self.request_id = request_id
        super().__init__(message)

    @property
    def needs_authenticator_code(self) -> bool:
        """Whether the challenge asks for a multi-factor sign-in rather than only a newer one."""
        return bool(self.acr_values)


# ---------------------------------------------------------------------------------------------
# Configuration and values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopegateConfig:
    """Where the IdP and the MCP server are and how the app authenticates to the IdP.

    `mcp_resource` is the resource indicator (RFC 8707) asked for in the exchange, which is the
    MCP token's audience; it defaults to `mcp_url` and differs only when the app reaches the
    server through another address than its canonical one. `timeout_seconds` bounds every IdP
    request and every MCP call as a whole. An MCP token is exchanged again once it has no more
    than `refresh_margin_seconds` left.
    """

    issuer: str = DEFAULT_ISSUER
    mcp_url: str = DEFAULT_MCP_URL
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    mcp_resource: str | None = None
    timeout_seconds: float = 10.0
    refresh_margin_seconds: float = 30.0

    def __post_init__(self) -> None:
        for name in ("issuer", "mcp_url"):
            _require_http_url(name, getattr(self, name))
        if self.mcp_resource is not None:
            _require_http_url("mcp_resource", self.mcp_resource)
        if not self.client_id:
            raise ValueError("`client_id` is empty")
        if not self.timeout_seconds > 0:
            raise ValueError(f"`timeout_seconds` must be positive, not `{self.timeout_seconds}`")
        if not self.refresh_margin_seconds >= 0:
            raise ValueError(
                f"`refresh_margin_seconds` must not be negative, "
                f"not `{self.refresh_margin_seconds}`"
            )

    @property
    def resource(self) -> str:
        """The MCP token's audience: `mcp_resource`, else `mcp_url`."""
        return self.mcp_resource or self.mcp_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ScopegateConfig:
        """Read the configuration from `SCOPEGATE_*` variables; unset ones keep the defaults.

        `SCOPEGATE_ISSUER`, `SCOPEGATE_CLIENT_ID` and `SCOPEGATE_CLIENT_SECRET` mean what they
        mean to the `scopegate token` commands; `SCOPEGATE_MCP_URL`, `SCOPEGATE_MCP_RESOURCE`,
        `SCOPEGATE_TIMEOUT_SECONDS` and `SCOPEGATE_REFRESH_MARGIN_SECONDS` are this client's.
        Raises `ValueError` naming the variable when a value is unusable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for key, variable in _TEXT_VARIABLES.items():
            if env.get(variable):
                values[key] = env[variable]
        for key, variable in _NUMBER_VARIABLES.items():
            if env.get(variable):
                values[key] = _parse_seconds(variable, env[variable])
        return cls(**values)


_TEXT_VARIABLES = {
    "issuer": "SCOPEGATE_ISSUER",
    "mcp_url": "SCOPEGATE_MCP_URL",
    "mcp_resource": "SCOPEGATE_MCP_RESOURCE",
    "client_id": "SCOPEGATE_CLIENT_ID",
    "client_secret": "SCOPEGATE_CLIENT_SECRET",
}
_NUMBER_VARIABLES = {
    "timeout_seconds": "SCOPEGATE_TIMEOUT_SECONDS",
    "refresh_margin_seconds": "SCOPEGATE_REFRESH_MARGIN_SECONDS",
}


@dataclass(frozen=True, repr=False)
class AccessToken:
    """An access token from the IdP, with what this client may read from it.

    `claims` are decoded without verifying the signature (this client is not the token's
    audience; the servers that are verify it): they serve display and tests, never a decision.
    The repr names the subject, scope, lifetime and `jti`, never the token itself.
    """

    value: str
    scope: tuple[str, ...]
    expires_in: int
    received_at: float
    claims: Mapping[str, Any]

    def seconds_left(self, now: float | None = None) -> float:
        """Seconds until expiry, by this process's monotonic clock (negative once expired)."""
        current = time.monotonic() if now is None else now
        return self.received_at + self.expires_in - current

    @property
    def subject(self) -> str | None:
        """The `sub` claim: the person's id, such as `EMP001`."""
        return _claim_str(self.claims, "sub")

    @property
    def jti(self) -> str | None:
        """The token's unique id, which audit records name."""
        return _claim_str(self.claims, "jti")

    @property
    def amr(self) -> tuple[str, ...]:
        """RFC 8176 authentication methods: `("pwd",)`, or `("mfa", "otp", "pwd")`."""
        value = self.claims.get("amr")
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

    @property
    def mfa(self) -> bool:
        """Whether the sign-in behind this token used multi-factor authentication."""
        return "mfa" in self.amr

    @property
    def lifetime_seconds(self) -> int | None:
        """`exp - iat` as the IdP wrote them."""
        exp, iat = self.claims.get("exp"), self.claims.get("iat")
        if isinstance(exp, int) and isinstance(iat, int):
            return exp - iat
        return None

    def __repr__(self) -> str:
        return (
            f"AccessToken(sub={self.subject!r}, scope={' '.join(self.scope)!r}, "
            f"expires_in={self.expires_in}, jti={self.jti!r}, value=<{len(self.value)} chars>)"
        )


@dataclass(frozen=True)
class ToolInfo:
    """One tool the MCP server lists for the signed-in person (the list is private to them)."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    title: str | None = None
    read_only: bool | None = None
    destructive: bool | None = None


@dataclass(frozen=True)
class ToolResult:
    """What a tool call returned: its data, or a tool error other than a step-up.

    `error` is the structured error code of a failed call (`access_denied`, `not_found`, …;
    `tool_error` when the server gave none), `data` the structured content, `text` the text
    content joined, and `request_id` the id under which the MCP server and the actions API
    recorded the call in their audit logs.
    """

    tool: str
    is_error: bool
    text: str
    data: Mapping[str, Any] | None
    error: str | None
    request_id: str | None


StepUpHandler = Callable[[StepUpRequired], Awaitable[bool]]
"""Called with a step-up challenge; signs the person in again and returns True to retry the
call once, or returns False to give up (the challenge is then raised)."""


# ---------------------------------------------------------------------------------------------
# The session
# ---------------------------------------------------------------------------------------------


class ScopegateSession:
    """One person's sign-in and their MCP tokens, held in this process's memory only.

    Create one per chat session, `await login(...)`, then `call_tool(...)`; `logout()` revokes
    the sign-in at the IdP and `aclose()` releases the HTTP connections (or use `async with`).
    Safe to share between tasks of one event loop: exchanges are serialised.
    """

    def __init__(self, config: ScopegateConfig | None = None) -> None:
        self._config = config or ScopegateConfig()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self._config.timeout_seconds), follow_redirects=False
        )
        self._metadata: Mapping[str, Any] | None = None
        self._user_token: AccessToken | None = None
        self._mcp_token: AccessToken | None = None
        self._lock = anyio.Lock()

    async def __aenter__(self) -> ScopegateSession:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        who = self._user_token.subject if self._user_token else None
        return f"ScopegateSession(issuer={self._config.issuer!r}, subject={who!r})"

    @property
    def config(self) -> ScopegateConfig:
        """The configuration this session uses."""
        return self._config

    @property
    def user_token(self) -> AccessToken | None:
        """The person's user token, or None when nobody is signed in."""
        return self._user_token

    @property
    def cached_mcp_token(self) -> AccessToken | None:
        """The MCP token last exchanged, if any (it may be close to expiry)."""
        return self._mcp_token

    async def login(self, username: str, password: str, totp: str | None = None) -> AccessToken:
        """Sign the person in with the password grant, adding MFA when `totp` is given.

        On success the new user token replaces any earlier one and the cached MCP token is
        dropped (it carries the old sign-in's `auth_time` and `amr`). On failure the earlier
        sign-in, if any, stays in place. Raises `IdpRefused` (`invalid_grant` for a wrong
        password or code), `ServiceUnavailable` or `UnexpectedResponse`.
        """
        form = {"grant_type": "password", "username": username, "password": password}
        if totp is not None:
            form["totp"] = totp
        token = await self._token_request(form, "sign-in")

        async with self._lock:
            self._user_token = token
            self._mcp_token = None
        return token

    async def mcp_token(self) -> AccessToken:
        """The token to present to the MCP server, exchanged afresh when needed.

        RFC 8693 §2.1: the user token is the subject token, the MCP server's URL the resource
        and `mcp:use` the scope. The result is reused until it has no more than
        `refresh_margin_seconds` left. Raises `NotSignedIn`, `SessionExpired` (the user token
        expired, or the IdP no longer accepts it), `IdpRefused`, `ServiceUnavailable` or
        `UnexpectedResponse`.
        """
        async with self._lock:
            user = self._require_user_token()
            cached = self._mcp_token
            if cached is not None and cached.seconds_left() > self._config.refresh_margin_seconds:
                return cached

            token = await self._exchange(user)
            self._mcp_token = token
            return token

    async def list_tools(self) -> list[ToolInfo]:
        """The tools the MCP server lists for the signed-in person, in the server's order."""
        return await self._with_mcp(_list_all_tools)

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        on_step_up: StepUpHandler | None = None,
    ) -> ToolResult:
        """Call one tool over a fresh MCP session and return its result.

        A step-up tool error is raised as `StepUpRequired`, unless `on_step_up` is given and
        returns True after signing the person in again: then the call is made once more, and a
        second step-up is raised. A tool error whose code says the sign-in is no longer valid
        is raised as `SessionExpired`; any other tool error (a policy denial, an unknown
        employee) is returned with `is_error` set. Raises as `mcp_token` does, and
        `ServiceUnavailable` or `McpRefused` for the MCP server.
        """
        try:
            return await self._call_once(name, arguments)
        except StepUpRequired as challenge:
            if on_step_up is None or not await on_step_up(challenge):
                raise
        return await self._call_once(name, arguments)

    async def logout(self) -> None:
        """Forget the sign-in and revoke it at the IdP (RFC 7009), which also ends every MCP
        token exchanged from it. The local state is cleared even when revocation fails."""
        async with self._lock:
            token, self._user_token, self._mcp_token = self._user_token, None, None
        if token is None:
            return

        metadata = await self._discover()
        endpoint = _metadata_url(metadata, "revocation_endpoint", self._config.issuer)
        response = await self._post_idp(endpoint, {"token": token.value})
        if response.status_code != 200:
            raise _idp_failure(response, "sign-out", self._config.issuer)

    async def aclose(self) -> None:
        """Close the HTTP connections to the IdP; the sign-in is kept until the object goes."""
        await self._http.aclose()

    # -- the IdP --------------------------------------------------------------------------

    def _require_user_token(self) -> AccessToken:
        user = self._user_token
        if user is None:
            raise NotSignedIn()
        if user.seconds_left() <= 0:
            raise SessionExpired(f"the sign-in of `{user.subject}` has expired")
        return user

    async def _exchange(self, user: AccessToken) -> AccessToken:
        form = {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": user.value,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "requested_token_type": ACCESS_TOKEN_TYPE,
            # MCP authorization: the client names the MCP server as the resource (RFC 8707).
            "resource": self._config.resource,
            "scope": MCP_SCOPE,
        }
        try:
            return await self._token_request(form, "token exchange")
        except IdpRefused as refusal:
            # RFC 8693 §2.2.2: an unusable subject token (expired, revoked) is invalid_request.
            if refusal.error == "invalid_request":
                raise SessionExpired(refusal.description or "the IdP refused it") from refusal
            raise

    async def _token_request(self, form: dict[str, str], operation: str) -> AccessToken:
        metadata = await self._discover()
        endpoint = _metadata_url(metadata, "token_endpoint", self._config.issuer)
        response = await self._post_idp(endpoint, form)
        if response.status_code != 200:
            raise _idp_failure(response, operation, self._config.issuer)
        return _parse_token_response(response, self._config.issuer)

    async def _discover(self) -> Mapping[str, Any]:
        """RFC 8414 metadata, fetched once per session."""
        if self._metadata is not None:
            return self._metadata

        issuer = self._config.issuer.rstrip("/")
        url = issuer + METADATA_PATH
        response = await self._send_idp(lambda: self._http.get(url))
        if response.status_code != 200:
            raise _idp_failure(response, "metadata request", self._config.issuer)
        metadata = _json_object(response, "identity provider", self._config.issuer)

        # RFC 8414 §3.3: the metadata must name the issuer it was fetched for.
        if metadata.get("issuer") != issuer:
            raise UnexpectedResponse(
                "identity provider",
                self._config.issuer,
                f"its metadata names issuer `{metadata.get('issuer')}`",
            )
        self._metadata = metadata
        return metadata

    async def _post_idp(self, url: str, form: dict[str, str]) -> httpx.Response:
        headers = {
            "Authorization": _basic_auth(self._config.client_id, self._config.client_secret),
            "Accept": "application/json",
        }
        return await self._send_idp(lambda: self._http.post(url, data=form, headers=headers))

    async def _send_idp(self, send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        issuer = self._config.issuer
        try:
            return await send()
        except httpx.TimeoutException as error:
            raise _timed_out("identity provider", issuer, self._config) from error
        except httpx.HTTPError as error:
            raise ServiceUnavailable("identity provider", issuer, "could not be reached") from error

    # -- the MCP server -------------------------------------------------------------------

    async def _call_once(self, name: str, arguments: Mapping[str, Any] | None) -> ToolResult:
        args = dict(arguments) if arguments is not None else None
        raw = await self._with_mcp(lambda session: session.call_tool(name, args))
        return _interpret(name, raw)

    async def _with_mcp(self, action: Callable[[ClientSession], Awaitable[T]]) -> T:
        """Run `action` in a fresh MCP session carrying a current MCP token, within the
        configured time, and turn transport failures into this module's errors."""
        token = await self.mcp_token()
        url = self._config.mcp_url
        try:
            with anyio.fail_after(self._config.timeout_seconds):
                async with _open_mcp(url, token.value, self._config.timeout_seconds) as session:
                    return await action(session)
        except TimeoutError as error:
            raise _timed_out("MCP server", url, self._config) from error
        except BaseException as error:
            # The SDK's task groups may wrap the cause in (nested) exception groups.
            refusal = _find_inner(error, McpError)
            if isinstance(refusal, McpError):
                raise McpRefused(url, refusal.error.message) from error
            cause = _find_inner(error, httpx.HTTPError)
            if not isinstance(cause, httpx.HTTPError):
                raise
            if _is_unauthorized(cause):
                self._mcp_token = None
            raise _mcp_failure(cause, url, self._config) from error


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def decode_claims_unverified(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded WITHOUT checking its signature, issuer or expiry.

    For display and tests only: trust nothing read this way. Returns `{}` for anything that is
    not a JWT with a JSON object payload.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


@asynccontextmanager
async def _open_mcp(url: str, bearer: str, timeout: float) -> AsyncIterator[ClientSession]:
    """An initialised MCP client session over Streamable HTTP that sends `bearer` with every
    request (MCP authorization: the token goes in the Authorization header, never the URL)."""
    http = httpx.AsyncClient(
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
    )
    async with http, streamable_http_client(url, http_client=http) as (read, write, _):
        # No per-request read timeout: the caller bounds the whole exchange of messages.
        session = ClientSession(
            read, write, client_info=Implementation(name=CLIENT_NAME, version=CLIENT_VERSION)
        )
        async with session:
            await session.initialize()
            yield session


async def _list_all_tools(session: ClientSession) -> list[ToolInfo]:
    tools: list[ToolInfo] = []
    cursor: str | None = None
    while True:
        page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
        tools.extend(_tool_info(tool) for tool in page.tools)
        cursor = page.nextCursor
        if not cursor:
            return tools


def _tool_info(tool: Tool) -> ToolInfo:
    annotations = tool.annotations
    return ToolInfo(
        name=tool.name,
        description=tool.description or "",
        input_schema=tool.inputSchema,
        title=tool.title,
        read_only=annotations.readOnlyHint if annotations else None,
        destructive=annotations.destructiveHint if annotations else None,
    )


def _interpret(name: str, raw: CallToolResult) -> ToolResult:
    """A tool result, or the step-up and lost-session errors it stands for."""
    text = "\n".join(block.text for block in raw.content if isinstance(block, TextContent))
    data = raw.structuredContent
    request_id = _request_id(raw)
    error = data.get("error") if raw.isError and data else None
    error = error if isinstance(error, str) else None

    if error == STEP_UP_ERROR and data is not None:
        max_age = data.get("max_age")
        raise StepUpRequired(
            tool=name,
            message=text or "this tool needs a more recent sign-in",
            max_age=max_age if isinstance(max_age, int) else None,
            acr_values=_strings(data.get("acr_values")),
            reasons=_strings(data.get("reasons")),
            request_id=request_id,
        )
    if error == SESSION_INVALID_ERROR:
        raise SessionExpired(_strip_sign_in_hint(text) or "the MCP server refused the session")

    return ToolResult(
        tool=name,
        is_error=raw.isError,
        text=text,
        data=data,
        error=error or ("tool_error" if raw.isError else None),
        request_id=request_id,
    )


def _request_id(raw: CallToolResult) -> str | None:
    meta = raw.meta or {}
    value = meta.get(REQUEST_ID_META_KEY)
    if value is None and raw.structuredContent:
        value = raw.structuredContent.get("request_id")
    return value if isinstance(value, str) else None


def _strip_sign_in_hint(text: str) -> str:
    """The MCP server's text without its own "sign in again" ending, which SessionExpired adds."""
    match = re.fullmatch(r"your session is no longer valid \((.*)\); sign in again", text)
    return match.group(1) if match else text


def _find_inner(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """`error` itself if it is a `kind`, else the first `kind` inside its exception groups."""
    if isinstance(error, kind):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _find_inner(inner, kind)
            if found is not None:
                return found
    return None


def _is_unauthorized(error: httpx.HTTPError) -> bool:
    return isinstance(error, httpx.HTTPStatusError) and error.response.status_code == 401


def _mcp_failure(error: httpx.HTTPError, url: str, config: ScopegateConfig) -> ScopegateError:
    if isinstance(error, httpx.TimeoutException):
        return _timed_out("MCP server", url, config)
    if not isinstance(error, httpx.HTTPStatusError):
        return ServiceUnavailable("MCP server", url, "could not be reached")

    status = error.response.status_code
    description = _challenge_description(error.response) or f"HTTP {status}"
    if status == 401:
        # RFC 6750 §3.1: invalid_token means expired, revoked or otherwise unacceptable.
        return SessionExpired(f"the MCP server refused the token: {description}")
    if status >= 500:
        return ServiceUnavailable("MCP server", url, f"answered HTTP {status}")
    return McpRefused(url, description)


def _challenge_description(response: httpx.Response) -> str | None:
    """`error_description` from a `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3)."""
    challenge = response.headers.get("www-authenticate", "")
    match = re.search(r'error_description="((?:[^"\\]|\\.)*)"', challenge)
    return match.group(1).replace('\\"', '"') if match else None


def _idp_failure(response: httpx.Response, operation: str, issuer: str) -> ScopegateError:
    """The error for a non-200 IdP answer: an OAuth refusal (RFC 6749 §5.2), or a failure."""
    body = _maybe_json(response)
    error = body.get("error") if body else None
    description = body.get("error_description") if body else None
    description = description if isinstance(description, str) else None

    if response.status_code >= 500:
        detail = f" ({description})" if description else ""
        return ServiceUnavailable(
            "identity provider", issuer, f"answered HTTP {response.status_code}{detail}"
        )
    if isinstance(error, str):
        return IdpRefused(operation, response.status_code, error, description)
    return UnexpectedResponse(
        "identity provider", issuer, f"HTTP {response.status_code} without an OAuth error"
    )


def _parse_token_response(response: httpx.Response, issuer: str) -> AccessToken:
    """RFC 6749 §5.1 (and RFC 8693 §2.2.1): a bearer access token with its lifetime."""
    body = _json_object(response, "identity provider", issuer)
    value = body.get("access_token")
    token_type = body.get("token_type")
    expires_in = body.get("expires_in")
    if not isinstance(value, str) or not value:
        raise UnexpectedResponse("identity provider", issuer, "no `access_token`")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise UnexpectedResponse("identity provider", issuer, f"token type `{token_type}`")
    if not isinstance(expires_in, int) or expires_in <= 0:
        raise UnexpectedResponse("identity provider", issuer, f"`expires_in` of `{expires_in}`")

    scope = body.get("scope")
    return AccessToken(
        value=value,
        scope=tuple(scope.split()) if isinstance(scope, str) else (),
        expires_in=expires_in,
        received_at=time.monotonic(),
        claims=decode_claims_unverified(value),
    )


def _json_object(response: httpx.Response, service: str, url: str) -> dict[str, Any]:
    body = _maybe_json(response)
    if body is None:
        raise UnexpectedResponse(service, url, "the body is not a JSON object")
    return body


def _maybe_json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _metadata_url(metadata: Mapping[str, Any], key: str, issuer: str) -> str:
    value = metadata.get(key)
    if not isinstance(value, str) or not value:
        raise UnexpectedResponse("identity provider", issuer, f"its metadata has no `{key}`")
    return value


def _basic_auth(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-encode id and secret, then Basic-encode `id:secret`."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _timed_out(service: str, url: str, config: ScopegateConfig) -> ServiceUnavailable:
    return ServiceUnavailable(service, url, f"did not answer within {config.timeout_seconds:g} s")


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _claim_str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None


def _require_http_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"`{name}` must be an absolute http(s) URL, not `{value}`")


def _parse_seconds(variable: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"`{variable}` must be a number of seconds, not `{text}`") from None
