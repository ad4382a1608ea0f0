"""``ordo login BROKER``: a broker's daily login from a shell.

Fyers: the daemon gives a login URL; the trader opens it in a browser, and pastes back the
address the browser ended on (or only its auth code). Where the daemon's HTTP door catches
the redirect itself, an empty answer waits for the session to turn valid instead. HDFC: the
password step runs in the daemon (with ``--password-prompt``, the password is asked for
here), then the OTP is asked for. Answers are read without echo at a terminal, or as lines
from standard input in a script; they are never printed.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ordo_cli import exit_codes
from ordo_cli.commands.context import CommandContext
from ordo_cli.output import Output
from ordo_cli.parser import BadUsage

_WAIT_POLL_S = 1.0


async def login(ctx: CommandContext) -> int:
    args, out = ctx.args, ctx.out
    start: dict[str, Any] = {"broker_id": args.broker}
    if args.username:
        start["username"] = args.username
    if args.password_prompt:
        start["password"] = ask(out, "password: ", secret=True)
    started = await ctx.client.call("login_start", **start)
    out.note(started["prompt"])
    if started["step"] == "open_url":
        out.note(f"open in a browser: {started['login_url']}")
        answer = ask(out, "then paste the address it ended on, or its auth code (empty: wait for the daemon to "
                     "catch the redirect): ", secret=False)
        if not answer:
            return await _wait_for_session(ctx, float(started.get("expires_in_s") or 300))
        fields: dict[str, Any] = fyers_answer(answer)
        done = await ctx.client.call("login_complete", broker_id=args.broker, **fields)
    else:
        done = await ctx.client.call("login_complete", broker_id=args.broker, otp=ask(out, "OTP: ", secret=True))
    return _report(ctx, done)


def fyers_answer(pasted: str) -> dict[str, str]:
    """The redirect's ``auth_code`` (and ``state``), from the pasted address or the bare code."""
    if "://" not in pasted and "?" not in pasted:
        return {"auth_code": pasted}
    query = {k: v[0] for k, v in parse_qs(urlsplit(pasted).query).items()}
    if "auth_code" not in query:
        raise BadUsage("that address has no auth_code; paste the one the browser ended on after logging in")
    return {"auth_code": query["auth_code"], **({"state": query["state"]} if "state" in query else {})}


def ask(out: Output, prompt: str, secret: bool) -> str:
    """A line from the person at the terminal (without echo when ``secret``), or from stdin."""
    if sys.stdin.isatty():
        return (getpass.getpass(prompt) if secret else input(prompt)).strip()
    out.stderr.write(prompt)
    out.stderr.flush()
    return sys.stdin.readline().strip()


async def _wait_for_session(ctx: CommandContext, limit_s: float) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while loop.time() < deadline:
        health = await ctx.client.call("health")
        state = {b["broker_id"]: b["session"] for b in health["health"]["brokers"]}.get(ctx.args.broker)
        if state == "valid":
            ctx.out.reply({"ok": True, "broker_id": ctx.args.broker, "session": state},
                          f"{ctx.args.broker}: session valid")
            return exit_codes.OK
        await asyncio.sleep(_WAIT_POLL_S)
    ctx.out.note(f"{ctx.args.broker}: the login was not completed within {limit_s:.0f} s")
    return exit_codes.FAILED


def _report(ctx: CommandContext, done: dict[str, Any]) -> int:
    until = f" until {done['session_expires_at']}" if done.get("session_expires_at") else ""
    ctx.out.reply(done, f"{done['broker_id']}: session {done['session']}{until}")
    return exit_codes.OK if done["session"] == "valid" else exit_codes.FAILED
