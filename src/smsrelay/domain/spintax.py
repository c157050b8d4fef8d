"""Spintax templates: ``{Hello|Hi|Hey} your code is {1234|5678}``.

Campaign senders vary their text so that carrier filters do not see thousands of identical
messages, and later want to know which wording performed best. The accept pipeline therefore
parses a template once (:func:`parse`), renders one variant per recipient from a seed it stores
(:func:`render`), and keeps the variant id on the message so that :func:`render_variant` can
reproduce the text for A/B analysis.

Syntax:

* ``{a|b|c}`` is a group: one alternative is chosen. Groups nest (``{a|{b|c}}``), and an
  alternative may be empty (``{a|}``).
* ``\\{``, ``\\}``, ``\\|`` and ``\\\\`` stand for the literal character; a backslash before
  any other character is itself literal, and a backslash that ends the template is an error.
* ``|`` outside any group is a literal character.

Variant ids: the index of the alternative taken at each group visited, in the order the groups
are met reading the rendered path left to right (a nested group right after its enclosing
choice), joined by ``.``. ``{Hi|Hey} {a|{b|c}}`` rendered as "Hey c" is ``"1.1.1"``; a template
without groups has the empty id ``""``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

from smsrelay.domain.errors import ErrorCode, SmsError

__all__ = [
    "MAX_DEPTH",
    "Group",
    "Rendered",
    "Template",
    "has_spintax",
    "iter_variants",
    "parse",
    "render",
    "render_variant",
]

MAX_DEPTH = 32
"""Deepest nesting accepted; it bounds the recursion of rendering and counting."""

_ESCAPABLE = frozenset("{}|\\")
_SYNTAX_HINT = re.compile(r"[{}]|\\[{}|\\]|\\\Z")

Node: TypeAlias = "str | Group"


@dataclass(frozen=True, slots=True)
class Group:
    """``{...|...}``: a choice between alternatives, each a sequence of nodes."""

    alternatives: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: its source and its top-level sequence of literals and groups."""

    source: str
    parts: tuple[Node, ...]

    @property
    def variant_count(self) -> int:
        """The number of distinct choice paths: a product over groups in sequence, a sum over
        the alternatives of a group. Paths, not texts: ``{a|a}`` counts 2."""
        return _count(self.parts)

    @property
    def has_groups(self) -> bool:
        """Whether rendering involves any choice at all."""
        return any(isinstance(node, Group) for node in self.parts)


@dataclass(frozen=True, slots=True)
class Rendered:
    """One rendering: its text, its variant id and the choices the id spells."""

    text: str
    variant: str
    choices: tuple[int, ...]


def has_spintax(text: str) -> bool:
    """A cheap check whether ``text`` uses any spintax syntax (a brace, an escape, a trailing
    backslash). False means :func:`parse` would accept it and render it unchanged, so the
    common plain message skips parsing."""
    return _SYNTAX_HINT.search(text) is not None


def _syntax(detail: str) -> SmsError:
    return SmsError(ErrorCode.SPINTAX_SYNTAX, detail, field="message")


@dataclass
class _Open:
    """A group being parsed (the root is a group with one alternative)."""

    at: int
    alternatives: list[tuple[Node, ...]] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def flush(self) -> None:
        if self.text:
            self.nodes.append("".join(self.text))
            self.text.clear()

    def end_alternative(self) -> None:
        self.flush()
        self.alternatives.append(tuple(self.nodes))
        self.nodes = []


def parse(template: str) -> Template:
    """Parse ``template``, or raise ``SmsError(SPINTAX_SYNTAX)`` on field ``message``.

    The detail gives the 0-based position of the fault: an unbalanced ``{`` (the innermost one
    still open at the end), an unexpected ``}``, a trailing lone backslash, or nesting deeper
    than :data:`MAX_DEPTH`.
    """
    stack = [_Open(-1)]
    i, n = 0, len(template)
    while i < n:
        c, top = template[i], stack[-1]
        if c == "\\":
            if i + 1 == n:
                raise _syntax(f"lone '\\' at the end (position {i}); write '\\\\' for a backslash")
            if template[i + 1] in _ESCAPABLE:
                i += 1
            top.text.append(template[i])
        elif c == "{":
            if len(stack) > MAX_DEPTH:
                raise _syntax(f"groups nested deeper than {MAX_DEPTH} at position {i}")
            top.flush()
            stack.append(_Open(i))
        elif c == "}":
            if len(stack) == 1:
                raise _syntax(f"unexpected '}}' at position {i}")
            stack.pop()
            top.end_alternative()
            stack[-1].flush()
            stack[-1].nodes.append(Group(tuple(top.alternatives)))
        elif c == "|" and len(stack) > 1:
            top.end_alternative()
        else:
            top.text.append(c)
        i += 1
    if len(stack) > 1:
        raise _syntax(f"unbalanced '{{' at position {stack[-1].at}")
    stack[0].flush()
    return Template(template, tuple(stack[0].nodes))


def _count(nodes: tuple[Node, ...]) -> int:
    total = 1
    for node in nodes:
        if isinstance(node, Group):
            total *= sum(_count(alt) for alt in node.alternatives)
    return total


def _walk(
    nodes: tuple[Node, ...],
    pick: Callable[[int], int],
    out: list[str],
    choices: list[int],
    sizes: list[int],
) -> None:
    """Render ``nodes`` asking ``pick(n)`` for the alternative of each group met."""
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        k = pick(len(node.alternatives))
        choices.append(k)
        sizes.append(len(node.alternatives))
        _walk(node.alternatives[k], pick, out, choices, sizes)


def _path(template: Template, pick: Callable[[int], int]) -> tuple[Rendered, list[int]]:
    out: list[str] = []
    choices: list[int] = []
    sizes: list[int] = []
    _walk(template.parts, pick, out, choices, sizes)
    variant = ".".join(map(str, choices))
    return Rendered("".join(out), variant, tuple(choices)), sizes


def render(template: Template, seed: int) -> Rendered:
    """Render one variant, choosing uniformly at each group with ``random.Random(seed)``.

    The same template and seed always give the same result. Uniform per group, not per path:
    in ``{a|{b|c}}`` "a" comes out half of the time.
    """
    return _path(template, random.Random(seed).randrange)[0]


def _parse_variant(variant: str) -> list[int]:
    if not variant:
        return []
    try:
        return [int(part) for part in variant.split(".")]
    except ValueError:
        raise ValueError(f"malformed variant id {variant!r}") from None


def render_variant(template: Template, variant: str) -> str:
    """The text of a recorded variant id. Raises ``ValueError`` when the id does not describe
    a path through this template (malformed, an index out of range, too few or too many)."""
    wanted = iter(_parse_variant(variant))

    def pick(n: int) -> int:
        k = next(wanted, None)
        if k is None or not 0 <= k < n:
            raise ValueError(f"variant {variant!r} does not fit this template")
        return k

    rendered = _path(template, pick)[0]
    if next(wanted, None) is not None:
        raise ValueError(f"variant {variant!r} has more choices than this template")
    return rendered.text


def _follow(prefix: list[int]) -> Callable[[int], int]:
    """A picker that takes the choices in ``prefix``, then the first alternative."""
    taken = iter(prefix)
    return lambda n: next(taken, 0)


def iter_variants(template: Template, limit: int | None = None) -> Iterator[Rendered]:
    """Every distinct path of ``template`` once, in lexicographic order of choices, at most
    ``limit`` of them. Lazy: each step re-walks the template, so previews of a template with
    billions of variants stay cheap."""
    prefix: list[int] = []
    produced = 0
    while limit is None or produced < limit:
        rendered, sizes = _path(template, _follow(prefix))
        yield rendered
        produced += 1
        choices = list(rendered.choices)
        j = len(choices) - 1
        while j >= 0 and choices[j] + 1 >= sizes[j]:
            j -= 1
        if j < 0:
            return
        prefix = [*choices[:j], choices[j] + 1]
