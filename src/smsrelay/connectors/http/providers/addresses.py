"""Phone numbers as providers write them: many drop the ``+`` of E.164 both ways."""

from __future__ import annotations

__all__ = ["digits", "e164"]


def digits(number: str) -> str:
    """An E.164 number without its ``+``; an alphanumeric sender or short code as it is."""
    rest = number[1:] if number.startswith("+") else number
    return rest if rest.isdigit() else number


def e164(address: str) -> str:
    """A provider's address with the ``+`` back on a full number (a short code, a name or
    a number already with ``+`` stays as it is)."""
    return f"+{address}" if address.isdigit() and len(address) > 6 else address
