from __future__ import annotations

import re

import pytest

from smsrelay.domain.errors import CATALOGUE, ErrorCode, ErrorSpec, SmsError, spec


def test_every_code_has_a_catalogue_row() -> None:
    assert set(CATALOGUE) == set(ErrorCode)
    for code in ErrorCode:
        row = spec(code)
        assert isinstance(row, ErrorSpec)
        assert row.code is code


@pytest.mark.parametrize("code", list(ErrorCode))
def test_catalogue_row_is_well_formed(code: ErrorCode) -> None:
    row = CATALOGUE[code]
    assert re.fullmatch(r"[a-z][a-z0-9_]*", code.value)
    assert 400 <= row.http_status <= 599
    assert row.message and row.message.endswith(".")
    assert 0 < row.smpp_status <= 0xFFFFFFFF  # 0 would be ESME_ROK
    assert isinstance(row.retryable, bool)


def test_codes_are_unique_strings() -> None:
    values = [code.value for code in ErrorCode]
    assert len(values) == len(set(values))


def test_client_errors_are_4xx_and_ours_5xx() -> None:
    for code in (
        ErrorCode.INVALID_NUMBER,
        ErrorCode.EMPTY_MESSAGE,
        ErrorCode.SPINTAX_SYNTAX,
        ErrorCode.VALIDATION_ERROR,
        ErrorCode.INVALID_JSON,
    ):
        assert 400 <= spec(code).http_status < 500
        assert not spec(code).retryable
    assert spec(ErrorCode.UNAUTHORIZED).http_status == 401
    assert spec(ErrorCode.RATE_LIMITED).http_status == 429
    assert spec(ErrorCode.INTERNAL_ERROR).http_status == 500


def test_to_dict_shape() -> None:
    error = SmsError(ErrorCode.INVALID_NUMBER, "'abc' is not a valid phone number", field="to")
    assert error.to_dict() == {
        "code": "invalid_number",
        "message": "'abc' is not a valid phone number",
        "field": "to",
    }
    assert error.http_status == 422
    assert not error.retryable
    assert str(error) == "invalid_number: 'abc' is not a valid phone number"


def test_detail_defaults_to_the_catalogue_message_and_field_is_optional() -> None:
    error = SmsError(ErrorCode.RATE_LIMITED, retry_after=2.5)
    assert error.to_dict() == {
        "code": "rate_limited",
        "message": CATALOGUE[ErrorCode.RATE_LIMITED].message,
    }
    assert error.retry_after == 2.5
    assert error.retryable
    assert error.spec is CATALOGUE[ErrorCode.RATE_LIMITED]
