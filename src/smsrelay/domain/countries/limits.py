"""What a destination's networks deliver of a text: how many segments, and whether UCS-2.

Three country rules bound a message before it is stored: ``max_segments`` (the most parts a
destination delivers as one message), ``concatenation`` (false: parts are not joined on the
handset, so a message must fit one segment) and ``ucs2`` (false: UCS-2 texts are not
delivered). A message beyond them would be billed and lost, or arrive as loose pieces, so
the accept path refuses it with the rule and its source in the error, while the client can
still shorten or rewrite it. A rule no public source states (``None``) bounds nothing, and
neither does one whose sources disagree (Russia's concatenation is read both ways): a refusal
is acted on only when the sources agree or the operator decided (an override), since refusing
what a carrier would have delivered costs as much as sending what it drops.

:func:`text_limits` reads them once per country; the accept path asks for every message,
so :class:`~smsrelay.domain.countries.CountryRules` keeps the answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from smsrelay.domain.countries.model import OVERRIDE_API, OVERRIDE_FILE, Country, Rule

__all__ = ["NO_LIMITS", "TextLimits", "text_limits"]


@dataclass(frozen=True, slots=True)
class TextLimits:
    """The bounds one destination puts on a text (``None``: no rule bounds it).

    ``segments_reason`` and ``ucs2_reason`` say which rule bounds it and where it was read,
    for the error that refuses a message.
    """

    max_segments: int | None = None
    segments_reason: str | None = None
    ucs2: bool = True
    ucs2_reason: str | None = None


NO_LIMITS = TextLimits()


def _cited(rule: Rule) -> str:
    read = f", read on {rule.read_on.isoformat()}" if rule.read_on else ""
    return f"{rule.source}{read}"


def _settled(rule: Rule) -> bool:
    """Whether ``rule`` may refuse messages: the operator set it, or no source disagrees."""
    if rule.source in (OVERRIDE_FILE, OVERRIDE_API):
        return True
    return all(reading.value == rule.value for reading in rule.alternatives)


def text_limits(country: Country | None) -> TextLimits:
    """The bounds of ``country``'s rules (:data:`NO_LIMITS` when none are known)."""
    if country is None:
        return NO_LIMITS
    bounds: list[tuple[int, str]] = []
    joined = country.rule("concatenation")
    if joined.value is False and _settled(joined):
        bounds.append((1, f"{country.iso} does not join concatenated parts ({_cited(joined)})"))
    most = country.rule("max_segments")
    if most.value is not None and _settled(most):
        why = f"delivers at most {most.value} segments as one message"
        bounds.append((most.value, f"{country.iso} {why} ({_cited(most)})"))
    ucs2 = country.rule("ucs2")
    no_ucs2 = ucs2.value is False and _settled(ucs2)
    if not bounds and not no_ucs2:
        return NO_LIMITS
    max_segments, segments_reason = min(bounds) if bounds else (None, None)
    if no_ucs2:
        return TextLimits(
            max_segments,
            segments_reason,
            ucs2=False,
            ucs2_reason=f"{country.iso} does not deliver UCS-2 texts ({_cited(ucs2)})",
        )
    return TextLimits(max_segments, segments_reason)
