"""DLT registration ids: what an id may be, the merge order, and the TLV tags."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from smsrelay.domain.countries import load_shipped
from smsrelay.domain.registration import (
    INDIA_DLT,
    DltTags,
    Registration,
    check_id,
    registration_of,
    with_account_defaults,
    with_telemarketer,
)

PE = "1101456780000012345"
TEMPLATE = "1107161234567890123"


@pytest.mark.parametrize("value", ["1", PE, "A-b_c.9 x", "x" * 64])
def test_printable_ascii_ids_of_1_to_64_characters_are_taken(value: str) -> None:
    assert check_id(value) == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "1 to 64"),
        ("x" * 65, "1 to 64"),
        ("११०१", "printable ASCII"),  # Devanagari digits
        ("12\n34", "printable ASCII"),
        ("12\x0034", "printable ASCII"),
    ],
)
def test_anything_else_is_refused_saying_why(value: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_id(value)


def test_a_registration_checks_its_ids_and_names_the_field() -> None:
    with pytest.raises(ValueError, match="template_id must be printable ASCII"):
        Registration(entity_id=PE, template_id="tpl\t1")


def test_registration_of_json_refuses_unknown_keys_and_non_strings() -> None:
    assert registration_of({"entity_id": PE, "template_id": None}) == Registration(PE)
    assert registration_of({}) is None
    with pytest.raises(ValueError, match="unknown field 'header'"):
        registration_of({"header": "ACMEIN"})
    with pytest.raises(ValueError, match="entity_id must be a string"):
        registration_of({"entity_id": 1101456780000012345})


def test_empty_is_false_and_items_keep_the_field_order() -> None:
    assert not Registration()
    reg = Registration(telemarketer_id="TM1", entity_id=PE)
    assert reg and reg.items() == (("entity_id", PE), ("telemarketer_id", "TM1"))
    assert reg.as_json() == {"entity_id": PE, "template_id": None, "telemarketer_id": "TM1"}


def test_the_accounts_entity_id_fills_in_only_for_india_dlt_destinations() -> None:
    own = Registration(template_id=TEMPLATE)
    assert with_account_defaults(own, PE, INDIA_DLT) == Registration(PE, TEMPLATE)
    assert with_account_defaults(None, PE, INDIA_DLT) == Registration(PE)
    # the message's own id wins
    assert with_account_defaults(Registration("OWN"), PE, INDIA_DLT) == Registration("OWN")
    # another scheme, or none: the message keeps what it has (ids given are carried anyway)
    assert with_account_defaults(None, PE, "us_a2p") is None
    assert with_account_defaults(own, PE, None) is own
    assert with_account_defaults(own, None, INDIA_DLT) is own


def test_the_connectors_telemarketer_id_goes_only_with_messages_that_carry_ids() -> None:
    assert with_telemarketer(Registration(PE), "TM9") == Registration(PE, None, "TM9")
    assert with_telemarketer(Registration(PE, None, "OWN"), "TM9") == Registration(PE, None, "OWN")
    assert with_telemarketer(None, "TM9") is None
    assert with_telemarketer(Registration(PE), "") == Registration(PE)


def test_india_is_the_country_whose_rules_name_the_dlt_scheme() -> None:
    rules = load_shipped()
    assert rules.registration_scheme("IN") == INDIA_DLT
    assert rules.registration_scheme("GB") is None
    assert rules.registration_scheme(None) is None


def test_tags_default_to_the_common_ones_and_must_be_vendor_specific_and_distinct() -> None:
    assert DltTags().by_field() == (
        ("entity_id", 0x1400),
        ("template_id", 0x1401),
        ("telemarketer_id", 0x1402),
    )
    assert DltTags(entity_id="0x3FFF").entity_id == 0x3FFF  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="outside the vendor-specific range"):
        DltTags(entity_id=0x0424)
    with pytest.raises(ValidationError, match="outside the vendor-specific range"):
        DltTags(template_id=0x4000)
    with pytest.raises(ValidationError, match="its own TLV tag"):
        DltTags(template_id=0x1400)
    with pytest.raises(ValidationError, match="is not a number"):
        DltTags(entity_id="PE")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        DltTags(header=0x1403)  # type: ignore[call-arg]
