"""A Chainlit chat front end for scopegate: the design note's flow, one chat at a time.

The person signs in inside the chat (user id, password and, optionally, an authenticator
code) with a form whose password field is masked. The app keeps that person's tokens in this
process's memory, in `_SESSIONS`, keyed by Chainlit's session id; nothing of them is put in
`cl.user_session`, a `cl.User`'s metadata or an element's props, which may reach the browser.
Before each tool call the user token is exchanged for a five-minute `mcp:use` token (reused
until it is about to expire), and the tool is called through the MCP server with the official
MCP SDK. When a tool answers with a step-up, the app asks the person to confirm with their
password and authenticator code, signs them in again and retries once.

Run with `chainlit run app.py` (see README.md); `scopegate up` must be running.
"""

# No `from __future__ import annotations`: Chainlit executes this file before registering it in
# `sys.modules`, and dataclasses with string annotations look their module up there.

import json
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import chainlit as cl

import commands
from scopegate_client import (
    AccessToken,
    IdpRefused,
    NotSignedIn,
    ScopegateConfig,
    ScopegateError,
    ScopegateSession,
    SessionExpired,
    StepUpRequired,
    ToolResult,
)

CONFIG = ScopegateConfig.from_env()
FORM_TIMEOUT_SECONDS = 300
SIGN_IN_ATTEMPTS = 3
AUTHOR = "scopegate"

# The only place tokens live: server memory, one entry per open chat.
_SESSIONS: dict[str, ScopegateSession] = {}

HELP = """\
Ask for something, for example:

* `my profile`, `profile EMP002`
* `my pay` (payroll asks for a multi-factor sign-in from the last five minutes)
* `reports` (managers: your direct reports)
* `workday_hcm_update_contact_info work_phone="+1 555 0100"` (any tool, by name)

And: `tools` (what you may use), `session` (your tokens, without their secrets),
`sign in`, `sign out`.
"""


@cl.on_chat_start
async def start() -> None:
    """Open a session for this chat and ask the person to sign in."""
    session = ScopegateSession(CONFIG)
    _SESSIONS[cl.context.session.id] = session
    await say("Welcome to the Northwind HR assistant. Please sign in.")
    if await sign_in(session, title="Sign in"):
        await guarded(session, show_tools(session))


@cl.on_chat_end
async def end() -> None:
    """Revoke the sign-in at the IdP and forget the session."""
    session = _SESSIONS.pop(cl.context.session.id, None)
    if session is None:
        return
    try:
        await session.logout()
    except ScopegateError:
        pass  # the tokens are forgotten here and expire on their own (at most one hour)
    finally:
        await session.aclose()


@cl.on_message
async def on_message(message: cl.Message) -> None:
    """Read the message as a command and carry it out."""
    session = _SESSIONS.get(cl.context.session.id)
    if session is None:
        session = ScopegateSession(CONFIG)
        _SESSIONS[cl.context.session.id] = session

    command = commands.parse(message.content)
    if isinstance(command, commands.Keyword):
        await run_keyword(session, command.name)
    elif isinstance(command, commands.NotUnderstood):
        await say(f"I did not understand that: {command.reason}.")
    elif session.user_token is None:
        await say("Please sign in first.")
        await sign_in(session, title="Sign in")
    else:
        await run_tool(session, command)


async def run_keyword(session: ScopegateSession, name: str) -> None:
    """`help`, `tools`, `session`, `sign in` and `sign out`."""
    if name == "help":
        await say(HELP)
    elif name == "sign in":
        if await sign_in(session, title="Sign in"):
            await guarded(session, show_tools(session))
    elif name == "sign out":
        await sign_out(session)
    elif session.user_token is None:
        await say("Please sign in first (type `sign in`).")
    elif name == "tools":
        await guarded(session, show_tools(session))
    elif name == "session":
        await say(describe_session(session))


async def run_tool(session: ScopegateSession, request: commands.ToolRequest) -> None:
    """Exchange for an MCP token (shown as a step), call the tool, show the result."""

    async def call() -> None:
        await exchange_step(session)
        result = await session.call_tool(
            request.tool, request.arguments, on_step_up=lambda c: step_up(session, c)
        )
        await show_result(result)

    await guarded(session, call())


async def guarded(session: ScopegateSession, action: Awaitable[None]) -> None:
    """Await `action`, turning this module's errors into messages the person can act on."""
    try:
        await action
    except StepUpRequired as challenge:
        await say(f"Not done: {challenge}.")
    except (SessionExpired, NotSignedIn) as error:
        await say(f"{sentence(error)}.")
        await sign_in(session, title="Sign in again")
    except ScopegateError as error:
        await cl.ErrorMessage(content=f"{sentence(error)}.", author=AUTHOR).send()


async def exchange_step(session: ScopegateSession) -> None:
    """Get the MCP token inside a visible step, saying whether it was reused or exchanged."""
    async with cl.Step(name="MCP token", type="tool") as step:
        before = session.cached_mcp_token
        token = await session.mcp_token()
        how = "reused" if token is before else "exchanged (RFC 8693)"
        step.output = f"{how}: {describe_token(token)}"


async def step_up(session: ScopegateSession, challenge: StepUpRequired) -> bool:
    """Ask the person to confirm it is them; True when they signed in again."""
    await say(f"{sentence(challenge)}.")
    user = session.user_token.subject if session.user_token else None
    return await sign_in(
        session,
        title="Confirm it's you",
        username=user,
        need_code=challenge.needs_authenticator_code,
    )


async def sign_in(
    session: ScopegateSession,
    *,
    title: str,
    username: str | None = None,
    need_code: bool = False,
) -> bool:
    """Show the sign-in form until the IdP accepts it, the person cancels, or attempts run
    out. A given `username` is fixed (a step-up confirms the same person). The password and
    code go from the form to the IdP and are kept nowhere."""
    form = SignInForm(username=username or "", locked=username is not None, need_code=need_code)
    for _ in range(SIGN_IN_ATTEMPTS):
        answer = await form.ask(title)
        if answer is None:
            await say("Sign-in cancelled.")
            return False

        user = form.username if form.locked else str(answer.get("username", "")).strip().upper()
        password = str(answer.get("password", ""))
        code = "".join(str(answer.get("code", "")).split()) or None
        form = replace(form, username=user)
        if need_code and code is None:
            form = replace(form, error="Enter the six-digit code from your authenticator app.")
            continue

        try:
            token = await session.login(user, password, code)
        except IdpRefused as refusal:
            form = replace(form, error=sentence(refusal.description or refusal) + ".")
            continue
        except ScopegateError as failure:
            await cl.ErrorMessage(content=f"{sentence(failure)}.", author=AUTHOR).send()
            return False

        method = "with your authenticator code" if token.mfa else "with your password only"
        await say(f"Signed in as **{token.subject}** {method}.")
        return True

    await say("Too many failed attempts; type `sign in` to try again.")
    return False


@dataclass(frozen=True)
class SignInForm:
    """What the sign-in form (`public/elements/SignInForm.jsx`) shows: never a secret, since
    an element's props reach the browser. The typed values come back only in the answer."""

    username: str = ""
    locked: bool = False
    need_code: bool = False
    error: str = ""

    async def ask(self, title: str) -> dict[str, object] | None:
        """Show the form and wait; None when the person cancels or does not answer in time."""
        element = cl.CustomElement(
            name="SignInForm",
            props={
                "username": self.username,
                "lockUsername": self.locked,
                "needCode": self.need_code,
                "error": self.error,
            },
            display="inline",
        )
        question = cl.AskElementMessage(
            content=title, element=element, author=AUTHOR, timeout=FORM_TIMEOUT_SECONDS
        )
        answer = await question.send()
        await question.remove()
        if not answer or not answer.get("submitted"):
            return None
        return dict(answer)


async def sign_out(session: ScopegateSession) -> None:
    """Revoke the sign-in at the IdP (and with it every MCP token exchanged from it)."""
    if session.user_token is None:
        await say("You are not signed in.")
        return
    try:
        await session.logout()
    except ScopegateError as error:
        await say(f"Signed out here, but the IdP could not be told: {error}.")
        return
    await say("Signed out. Type `sign in` to start again.")


async def show_tools(session: ScopegateSession) -> None:
    """The tools the MCP server lists for this person (the list is private to them)."""
    tools = await session.list_tools()
    lines = [f"* `{tool.name}`: {first_sentence(tool.description)}" for tool in tools]
    await say("You may use:\n" + "\n".join(lines) + "\n\nType `help` for examples.")


async def show_result(result: ToolResult) -> None:
    """A tool's answer as JSON, or the tool error's text, with the audit request id."""
    footer = f"\n\n_audit request id `{result.request_id}`_" if result.request_id else ""
    if result.is_error:
        await say(f"{sentence(result.text)}.{footer}")
        return
    body = json.dumps(result.data, indent=2) if result.data is not None else result.text
    await say(f"```json\n{body}\n```{footer}")


def describe_session(session: ScopegateSession) -> str:
    """The person's tokens as claims and lifetimes; never the tokens themselves."""
    user = session.user_token
    if user is None:
        return "Nobody is signed in."
    lines = [f"**User token** (stays in the app): {describe_token(user)}"]
    auth_time = user.claims.get("auth_time")
    if isinstance(auth_time, int):
        when = datetime.fromtimestamp(auth_time, tz=UTC).strftime("%H:%M:%S UTC")
        lines.append(f"signed in at {when}, methods {', '.join(user.amr)}")
    mcp = session.cached_mcp_token
    if mcp is not None:
        lines.append(f"**MCP token** (sent to the MCP server): {describe_token(mcp)}")
    return "\n\n".join(lines)


def describe_token(token: AccessToken) -> str:
    """Subject, scope, lifetime and what is left of it, and a short `jti`."""
    left = max(0, int(token.seconds_left()))
    jti = (token.jti or "?")[:8]
    return (
        f"sub `{token.subject}`, scope `{' '.join(token.scope)}`, "
        f"lifetime {token.lifetime_seconds} s ({left} s left), jti `{jti}…`"
    )


def sentence(text: object) -> str:
    """`text` with its first letter capitalised (the errors' messages are lowercase)."""
    words = str(text)
    return words[:1].upper() + words[1:]


def first_sentence(text: str) -> str:
    """The description's first sentence, for a short tool list."""
    head, dot, _ = text.partition(". ")
    return head + ("." if dot else "")


async def say(content: str) -> None:
    """A message from the assistant."""
    await cl.Message(content=content, author=AUTHOR).send()
