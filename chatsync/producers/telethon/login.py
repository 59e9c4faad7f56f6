"""Signing a Telegram account in: phone, login code, two-step verification password.

The flow talks to a ``LoginClient`` (Telethon's TelegramClient has these methods; a fake in unit
tests) and asks ``Prompts`` for what it needs, from flags, the environment or the terminal. It
also works in two non-interactive steps: the first run sends the code and remembers Telegram's
``phone_code_hash`` in the encrypted session; the next run, given the code, finishes the login.
Every Telegram refusal becomes a LoginError of one line that says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from telethon import errors

from chatsync.producers.telethon.errors import LoginError

AGAIN = "run `chatsync telethon login` again"


class LoginClient(Protocol):
    async def connect(self) -> None: ...

    async def is_user_authorized(self) -> bool: ...

    async def send_code_request(self, phone: str) -> Any: ...

    async def sign_in(
        self,
        phone: str | None = None,
        code: str | None = None,
        *,
        password: str | None = None,
        phone_code_hash: str | None = None,
    ) -> Any: ...

    async def get_me(self) -> Any: ...


class Prompts(Protocol):
    """Where the answers come from; None means "not given and nobody to ask"."""

    def phone(self) -> str | None: ...

    def code(self) -> str | None: ...

    def password(self) -> str | None: ...


@dataclass(frozen=True)
class CodeSent:
    """Telegram sent a login code to ``phone``; ``phone_code_hash`` pairs the code with it."""

    phone: str
    phone_code_hash: str


@dataclass(frozen=True)
class Account:
    user_id: int
    username: str | None
    name: str

    def describe(self) -> str:
        handle = f" (@{self.username})" if self.username else ""
        return f"{self.name or 'account'}{handle}, user id {self.user_id}"


async def login(
    client: LoginClient,
    prompts: Prompts,
    *,
    sent: CodeSent | None = None,
    remember: Callable[[CodeSent | None], None] = lambda _: None,
) -> Account | CodeSent:
    """Sign in; the Account, or CodeSent when the code is still to be given (next run)."""
    try:
        await client.connect()
        if await client.is_user_authorized():
            return account_of(await client.get_me())
        phone = prompts.phone()
        if not phone:
            raise LoginError("no phone number: pass --phone or set TG_PHONE")
        if sent is None or sent.phone != phone:
            result = await client.send_code_request(phone)
            sent = CodeSent(phone, result.phone_code_hash)
            remember(sent)
        code = prompts.code()
        if not code:
            return sent
        await _sign_in(client, prompts, sent, code)
    except errors.PhoneCodeExpiredError:
        remember(None)
        raise LoginError(f"the login code expired: {AGAIN} to get a new one") from None
    except errors.RPCError as exc:
        raise LoginError(explain(exc)) from None
    remember(None)
    return account_of(await client.get_me())


async def _sign_in(client: LoginClient, prompts: Prompts, sent: CodeSent, code: str) -> None:
    try:
        await client.sign_in(sent.phone, code, phone_code_hash=sent.phone_code_hash)
    except errors.SessionPasswordNeededError:
        password = prompts.password()
        if not password:
            raise LoginError(explain(errors.SessionPasswordNeededError(None))) from None
        await client.sign_in(password=password)


def explain(exc: errors.RPCError) -> str:
    """One line for the user about why Telegram refused the login."""
    if isinstance(exc, errors.PhoneCodeInvalidError):
        return f"the login code is wrong: {AGAIN} and type the code Telegram sent"
    if isinstance(exc, errors.PhoneCodeExpiredError):
        return f"the login code expired: {AGAIN} to get a new one"
    if isinstance(exc, errors.FloodWaitError):
        return f"Telegram asks to wait {exc.seconds} s before the next attempt (flood wait)"
    if isinstance(exc, errors.SessionPasswordNeededError):
        return (
            "the account has two-step verification: give its password (--password or TG_PASSWORD)"
        )
    if isinstance(exc, errors.PasswordHashInvalidError):
        return f"the two-step verification password is wrong: {AGAIN} with the right one"
    if isinstance(exc, errors.PhoneNumberInvalidError):
        return "Telegram does not accept this phone number: use the international format, +…"
    if isinstance(exc, errors.ApiIdInvalidError):
        return "Telegram rejected TG_API_ID / TG_API_HASH: copy them from my.telegram.org"
    return f"Telegram refused the login: {type(exc).__name__}: {exc}"


def account_of(user: Any) -> Account:
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return Account(int(user.id), user.username, name)
