import pytest

from app.local.outbox import LIFETIME_SECONDS, CodeRejected, Outbox, Purpose


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_code_past_its_lifetime_is_rejected_as_expired() -> None:
    clock = Clock()
    outbox = Outbox(clock)
    mail = outbox.issue("a@example.com", Purpose.RESET)
    assert outbox.check("a@example.com", Purpose.RESET, mail.code) is mail
    clock.now += LIFETIME_SECONDS[Purpose.RESET]
    with pytest.raises(CodeRejected) as rejected:
        outbox.check("a@example.com", Purpose.RESET, mail.code)
    assert rejected.value.expired


def test_codes_are_per_purpose_and_addresses_match_case_insensitively() -> None:
    outbox = Outbox()
    confirm = outbox.issue("A@Example.com", Purpose.CONFIRM)
    with pytest.raises(CodeRejected):
        outbox.check("a@example.com", Purpose.RESET, confirm.code)
    assert outbox.check("a@example.com", Purpose.CONFIRM, confirm.code) is confirm


def test_a_used_code_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    outbox = Outbox()
    mail = outbox.issue("a@example.com", Purpose.CONFIRM)
    assert mail.code in capsys.readouterr().out
    outbox.mark_used(mail)
    with pytest.raises(CodeRejected) as rejected:
        outbox.check("a@example.com", Purpose.CONFIRM, mail.code)
    assert not rejected.value.expired
