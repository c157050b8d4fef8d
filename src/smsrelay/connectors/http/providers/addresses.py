"""Phone numbers as providers write them: many drop the ``+`` of E.164 both ways."""

from __future__ import annotations

import re

__all__ = ["UUID", "digits", "e164"]

#: a UUID: the form of Telnyx's messaging profile ids and Plivo's powerpack ids, which
#: stand in a message's sender place
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def digits(number: str) -> str:
    """An E.164 number without its ``+``; an alphanumeric sender or short code as it is."""
    rest = number[1:] if number.startswith("+") else number
    return rest if rest.isdigit() else number


def e164(address: str) -> str:
    """A provider's address with the ``+`` back on a full number (a short code, a name or
    a number already with ``+`` stays as it is)."""
    return f"+{address}" if address.isdigit() and len(address) > 6 else address
