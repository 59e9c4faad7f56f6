"""The login flow against a fake client: each Telegram refusal is one line that says what to do."""

from __future__ import annotations

import pytest
from telethon import errors

from chatsync.producers.telethon.errors import LoginError
from chatsync.producers.telethon.login import Account, CodeSent, explain, login
from tests.fakes.telethon import ACCOUNT, FakeLoginClient, Prompts


async def test_phone_and_code_sign_in() -> None:
    client, remembered = FakeLoginClient(), list[CodeSent | None]()
    result = await login(client, Prompts(), remember=remembered.append)
    assert result == Account(ACCOUNT, "ada", "Ada")
    assert client.calls == ["connect", "send_code:+4915100000000", "sign_in:12345:hash-1"]
    assert remembered == [CodeSent("+4915100000000", "hash-1"), None]


async def test_two_step_verification_asks_for_the_password() -> None:
    client = FakeLoginClient(two_factor=True)
    result = await login(client, Prompts(password_answer="correct horse"))
    assert isinstance(result, Account)
    assert client.calls[-2:] == ["sign_in:12345:hash-1", "sign_in:password"]


async def test_two_step_verification_without_a_password_says_how_to_give_it() -> None:
    with pytest.raises(LoginError, match="two-step verification: give its password"):
        await login(FakeLoginClient(two_factor=True), Prompts(password_answer=None))


async def test_a_wrong_password_is_explained() -> None:
    with pytest.raises(LoginError, match="password is wrong"):
        await login(FakeLoginClient(two_factor=True), Prompts(password_answer="nope"))


async def test_a_wrong_code_is_explained_and_the_sent_code_is_kept() -> None:
    remembered: list[CodeSent | None] = []
    with pytest.raises(LoginError, match="login code is wrong") as refused:
        await login(FakeLoginClient(), Prompts(code_answer="00000"), remember=remembered.append)
    assert remembered == [CodeSent("+4915100000000", "hash-1")]
    assert "\n" not in str(refused.value)


async def test_an_expired_code_is_forgotten_so_the_next_run_asks_for_a_new_one() -> None:
    remembered: list[CodeSent | None] = []
    client = FakeLoginClient(code_error=errors.PhoneCodeExpiredError(None))
    with pytest.raises(LoginError, match="login code expired"):
        await login(client, Prompts(), remember=remembered.append)
    assert remembered[-1] is None


async def test_a_flood_wait_says_how_long() -> None:
    client = FakeLoginClient(send_error=errors.FloodWaitError(None, capture=420))
    with pytest.raises(LoginError, match="wait 420 s"):
        await login(client, Prompts())


async def test_an_authorized_session_needs_nothing() -> None:
    client = FakeLoginClient(authorized=True)
    assert await login(client, Prompts(phone_answer=None)) == Account(ACCOUNT, "ada", "Ada")
    assert client.calls == ["connect"]


async def test_without_a_phone_it_says_how_to_give_one() -> None:
    with pytest.raises(LoginError, match="--phone or set TG_PHONE"):
        await login(FakeLoginClient(), Prompts(phone_answer=None))


async def test_non_interactive_login_in_two_runs_reuses_the_sent_code() -> None:
    client, remembered = FakeLoginClient(), list[CodeSent | None]()
    first = await login(client, Prompts(code_answer=None), remember=remembered.append)
    assert first == CodeSent("+4915100000000", "hash-1")

    second = await login(client, Prompts(), sent=first, remember=remembered.append)
    assert isinstance(second, Account)
    assert [c for c in client.calls if c.startswith("send_code")] == ["send_code:+4915100000000"]
    assert remembered == [first, None]


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (errors.PhoneCodeInvalidError(None), "code is wrong"),
        (errors.PhoneCodeExpiredError(None), "code expired"),
        (errors.FloodWaitError(None, capture=30), "wait 30 s"),
        (errors.SessionPasswordNeededError(None), "two-step verification"),
        (errors.PasswordHashInvalidError(None), "password is wrong"),
        (errors.PhoneNumberInvalidError(None), "international format"),
        (errors.ApiIdInvalidError(None), "TG_API_ID"),
        (errors.AuthKeyUnregisteredError(None), "AuthKeyUnregisteredError"),
    ],
)
def test_every_refusal_is_one_line(error: errors.RPCError, words: str) -> None:
    line = explain(error)
    assert words in line
    assert "\n" not in line
