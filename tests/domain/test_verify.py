"""domain/verify.py: codes, texts, hashes, seals and what a check does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsrelay.domain import encoding_choice
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.verify import (
    MAX_CHECKS,
    TEMPLATES,
    AppLinks,
    VerificationState,
    VerificationStatus,
    VerifyKeys,
    check_app_name,
    check_resend,
    code_length_of,
    code_matches,
    decide_check,
    hash_code,
    locale_of,
    new_code,
    render,
    seal,
    unseal,
)

KEYS = VerifyKeys.derive(b"k" * 32)
PENDING = VerificationState(VerificationStatus.PENDING, checks=0, sends=1, expires_at=1000.0)


@given(st.integers(min_value=4, max_value=10))
def test_codes_have_their_length_and_only_digits(length: int) -> None:
    code = new_code(length)
    assert len(code) == length and code.isdigit()


def test_leading_zeros_are_kept() -> None:
    assert new_code(6, lambda _: 42) == "000042"


@pytest.mark.parametrize("length", [3, 11, 0, -1])
def test_code_length_outside_4_to_10_is_refused(length: int) -> None:
    with pytest.raises(SmsError) as caught:
        code_length_of(length)
    assert caught.value.field == "code_length"


def test_locales() -> None:
    assert {"en", "de", "fr", "es", "pt"} <= set(TEMPLATES)
    assert locale_of(None) == "en"
    assert locale_of("pt-BR") == "pt" and locale_of("de_AT") == "de" and locale_of("FR") == "fr"
    with pytest.raises(SmsError):
        locale_of("xx")


@pytest.mark.parametrize("locale", sorted(TEMPLATES))
def test_every_template_names_the_app_and_the_code_once(locale: str) -> None:
    text, masked = render(locale, "Acme", "123456", AppLinks())
    assert text.count("123456") == 1 and "Acme" in text
    assert "123456" not in masked and masked.count("******") == 1
    assert len(text) == len(masked)
    # the stored row counts the segments the carrier gets
    assert encoding_choice.analyze(text).segments == encoding_choice.analyze(masked).segments
    assert encoding_choice.analyze(text).encoding == encoding_choice.analyze(masked).encoding


def test_web_otp_line_is_last_and_the_app_hash_is_on_its_own_line() -> None:
    text, masked = render("en", "Acme", "4321", AppLinks("example.com", "FA+9qCX9VSu"))
    assert text.splitlines()[-1] == "@example.com #4321"
    assert "\nFA+9qCX9VSu\n" in text
    assert masked.splitlines()[-1] == "@example.com #****"


@pytest.mark.parametrize(
    ("links", "field"),
    [
        ({"web_domain": "not a host"}, "web_domain"),
        ({"web_domain": "localhost"}, "web_domain"),
        ({"app_hash": "tooshort"}, "app_hash"),
        ({"app_hash": "FA+9qCX9VSu!"}, "app_hash"),
    ],
)
def test_bad_links_are_refused(links: dict[str, str], field: str) -> None:
    with pytest.raises(SmsError) as caught:
        AppLinks(**links)
    assert caught.value.field == field


@pytest.mark.parametrize("name", ["", " ", "a\nb", "{code}", "x" * 41])
def test_bad_app_names_are_refused(name: str) -> None:
    with pytest.raises(SmsError):
        check_app_name(name)


def test_the_hash_is_keyed_and_bound_to_the_verification() -> None:
    digest = hash_code(KEYS.hash_key, "ver_1", "123456")
    assert "123456" not in digest and len(digest) == 64
    assert code_matches(KEYS.hash_key, "ver_1", "123456", digest)
    assert not code_matches(KEYS.hash_key, "ver_1", "123457", digest)
    assert not code_matches(KEYS.hash_key, "ver_2", "123456", digest)
    other = VerifyKeys.derive(b"o" * 32)
    assert not code_matches(other.hash_key, "ver_1", "123456", digest)
    assert KEYS.hash_key != KEYS.seal_key


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        VerifyKeys.derive(b"short")


@given(st.text(max_size=300))
def test_seal_round_trips_for_its_message_only(text: str) -> None:
    sealed = seal(KEYS.seal_key, text, "msg_1")
    assert unseal(KEYS.seal_key, sealed, "msg_1") == text
    assert unseal(KEYS.seal_key, sealed, "msg_2") is None
    assert unseal(VerifyKeys.derive(b"o" * 32).seal_key, sealed, "msg_1") is None


def test_a_seal_shows_nothing_of_its_text_and_garbage_does_not_open() -> None:
    sealed = seal(KEYS.seal_key, "Your code is 123456", "msg_1")
    assert "123456" not in sealed and sealed.startswith("v1.")
    assert seal(KEYS.seal_key, "Your code is 123456", "msg_1") != sealed  # a fresh nonce
    for garbage in ("", "v1.", "v1.!!!", "v2." + sealed[3:], sealed[:-4]):
        assert unseal(KEYS.seal_key, garbage, "msg_1") is None


def test_the_right_code_approves() -> None:
    decision = decide_check(PENDING, True, 10.0)
    assert decision.status is VerificationStatus.APPROVED
    assert decision.checks == 1 and decision.attempts_left == MAX_CHECKS - 1 and decision.changed


def test_the_fifth_wrong_code_answers_max_attempts_reached() -> None:
    state = PENDING
    answers = []
    for _ in range(MAX_CHECKS):
        decision = decide_check(state, False, 10.0)
        answers.append((decision.status, decision.attempts_left))
        state = VerificationState(decision.status, decision.checks, 1, 1000.0)
    assert answers == [
        (VerificationStatus.PENDING, 4),
        (VerificationStatus.PENDING, 3),
        (VerificationStatus.PENDING, 2),
        (VerificationStatus.PENDING, 1),
        (VerificationStatus.MAX_ATTEMPTS_REACHED, 0),
    ]
    with pytest.raises(SmsError) as caught:
        decide_check(state, True, 10.0)
    assert caught.value.code is ErrorCode.VERIFICATION_RATE_LIMITED


def test_expiry_and_closed_verifications() -> None:
    expired = decide_check(PENDING, True, 1000.0)
    assert expired.status is VerificationStatus.EXPIRED and expired.changed
    assert expired.checks == 0  # nothing counted
    for status in (VerificationStatus.APPROVED, VerificationStatus.CANCELED):
        state = VerificationState(status, checks=1, sends=1, expires_at=1000.0)
        decision = decide_check(state, False, 10.0)
        assert decision.status is status and not decision.changed


def test_resend_rules() -> None:
    check_resend(PENDING, 10.0)
    with pytest.raises(SmsError) as caught:
        check_resend(VerificationState(VerificationStatus.PENDING, 0, 5, 1000.0), 10.0)
    assert caught.value.code is ErrorCode.VERIFICATION_RATE_LIMITED
    with pytest.raises(SmsError) as caught:
        check_resend(PENDING, 1000.0)
    assert caught.value.code is ErrorCode.VERIFICATION_CLOSED
