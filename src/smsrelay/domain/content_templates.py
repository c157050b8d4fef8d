"""Registered content templates (India's DLT) and which one a message text matches.

India's operators scrub every A2P message against the DLT ledger (TRAI TCCCPR 2018): its text
must match a content template the sender's Principal Entity registered, else it is blocked
and still billed. A template is fixed text with variable parts written ``{#var#}``. What the
public sources say, and what this module does with it (``docs/countries.md`` cites them):

- the fixed text must match exactly: spelling, case, punctuation (a straight against a curly
  apostrophe fails), spaces (a double space where the template has one fails) and line
  breaks, so literal parts are compared character for character, nothing normalised;
- ``{#var#}`` is the only placeholder and is case-sensitive (``{#VAR#}`` is not a
  variable): a template holding a near-miss spelling is refused rather than silently taken
  as fixed text;
- one variable stands for at most 30 characters (one older FAQ says 20; the operators'
  current guidance says 30): ``max_var_chars``, 30 by default; a variable stands for at
  least one character;
- a template is at most 2,000 characters long;
- each template is registered in one category: transactional, service implicit, service
  explicit or promotional.

:func:`match` picks, among the templates a text matches, the most specific one: the most
fixed characters, then the fewest variables, then the category in the order above (a text
registered both as service implicit and explicit takes the implicit one, as the operators
advise), then the template id, so the answer never depends on the order templates are given.

Matching takes no regular expression: a template is fixed parts joined by gaps (a run of
adjacent variables is one gap of ``n..n*max`` characters), and :meth:`Pattern.matches` walks
the fixed parts left to right keeping the set of text positions reachable so far. Each step
looks each occurrence of the next fixed part up against that set by bisection, so a text of
``n`` characters costs ``O(parts * n log n)`` whatever it holds; a backtracking regex
(``.{1,30}`` between parts) is exponential on adversarial texts. Pure.
"""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "CSV_COLUMNS",
    "MAX_ID_CHARS",
    "MAX_TEMPLATE_CHARS",
    "MAX_VAR_CHARS",
    "SCHEMES",
    "VAR",
    "Category",
    "CsvRow",
    "Pattern",
    "Template",
    "compile_template",
    "match",
    "parse_category",
    "read_csv",
]

VAR = "{#var#}"
MAX_VAR_CHARS = 30
"""Characters one ``{#var#}`` may stand for (the operators' scrubbing limit)."""
MAX_TEMPLATE_CHARS = 2000
"""Longest template text the DLT portals register."""
MAX_ID_CHARS = 64
SCHEMES = ("india_dlt",)
"""Registration schemes templates belong to (the country rules' ``template_registration``)."""

# a placeholder spelled almost right: braces, hashes or "var" in another case or with spaces
_NEAR_MISS = re.compile(r"\{\s*#|#\s*\}|\{\s*var\s*\}", re.IGNORECASE)


class Category(StrEnum):
    """DLT template categories, in the order :func:`match` prefers them on a tie."""

    TRANSACTIONAL = "transactional"
    SERVICE_IMPLICIT = "service_implicit"
    SERVICE_EXPLICIT = "service_explicit"
    PROMOTIONAL = "promotional"


_ORDER = {c: i for i, c in enumerate(Category)}
# the portals' own spellings and the one-letter codes of their exports
_ALIASES = {"t": "transactional", "si": "service_implicit", "se": "service_explicit"}
_ALIASES |= {"p": "promotional", "promo": "promotional", "trans": "transactional"}


def parse_category(value: str) -> Category:
    """``transactional``, ``Service Implicit``, ``service-explicit``, ``SE``, ... → Category.

    Raises ValueError naming the four categories.
    """
    key = re.sub(r"[\s\-]+", "_", value.strip().lower())
    try:
        return Category(_ALIASES.get(key, key))
    except ValueError:
        names = ", ".join(c.value for c in Category)
        raise ValueError(f"category {value!r}: one of {names}") from None


@dataclass(frozen=True, slots=True)
class Pattern:
    """A template compiled for matching: fixed parts joined by gaps of variables.

    ``parts`` has one more entry than ``gaps``; only the first and the last may be empty (a
    template that starts or ends with a variable). ``gaps[i]`` is the (least, most) number of
    characters between ``parts[i]`` and ``parts[i + 1]``.
    """

    parts: tuple[str, ...]
    gaps: tuple[tuple[int, int], ...]
    variables: int
    literal_chars: int
    shortest: int = field(init=False)  # the lengths a matching text may have: a cheap filter
    longest: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shortest", self.literal_chars + sum(lo for lo, _ in self.gaps))
        object.__setattr__(self, "longest", self.literal_chars + sum(hi for _, hi in self.gaps))

    def matches(self, text: str) -> bool:
        """Whether ``text`` is this template with each variable filled by 1..max characters."""
        first, last = self.parts[0], self.parts[-1]
        if not self.shortest <= len(text) <= self.longest:
            return False
        if not text.startswith(first) or not text.endswith(last):
            return False
        if not self.gaps:
            return text == first
        reach = [len(first)]  # sorted text positions where the next gap may begin
        for index, ((lo, hi), part) in enumerate(zip(self.gaps, self.parts[1:], strict=True)):
            if index == len(self.gaps) - 1:  # the last part must end the text
                return _reachable(reach, len(text) - len(part), lo, hi)
            reach = _after(text, part, reach, lo, hi)
            if not reach:
                return False
        return False  # not reached: the loop returns on its last gap


def _reachable(reach: Sequence[int], start: int, lo: int, hi: int) -> bool:
    """Whether some position ``p`` in sorted ``reach`` has ``lo <= start - p <= hi``."""
    i = bisect_left(reach, start - hi)
    return i < len(reach) and reach[i] <= start - lo


def _after(text: str, part: str, reach: list[int], lo: int, hi: int) -> list[int]:
    """The positions just after each occurrence of ``part`` that a gap from ``reach`` ends at."""
    out: list[int] = []
    at = text.find(part, reach[0] + lo)
    stop = reach[-1] + hi
    while at != -1 and at <= stop:
        if _reachable(reach, at, lo, hi):
            out.append(at + len(part))
        at = text.find(part, at + 1)
    return out


def compile_template(text: str, *, max_var_chars: int = MAX_VAR_CHARS) -> Pattern:
    """Check a template text and compile it; ValueError says what is wrong with it.

    Refused: an empty text, one over :data:`MAX_TEMPLATE_CHARS`, one with no fixed character,
    and a placeholder not spelled ``{#var#}`` exactly.
    """
    if max_var_chars < 1:
        raise ValueError("a variable must be allowed at least one character")
    if not text:
        raise ValueError("the template text is empty")
    if len(text) > MAX_TEMPLATE_CHARS:
        raise ValueError(
            f"the template has {len(text)} characters; DLT registers at most {MAX_TEMPLATE_CHARS}"
        )
    pieces = text.split(VAR)
    offset = 0
    for piece in pieces:
        near = _NEAR_MISS.search(piece)
        if near is not None:
            raise ValueError(
                f"{near.group()!r} at character {offset + near.start() + 1}: a variable is "
                f"written {VAR} exactly (lower case, no spaces)"
            )
        offset += len(piece) + len(VAR)
    literal_chars = sum(len(p) for p in pieces)
    if not literal_chars:
        raise ValueError(f"the template has no fixed text, only {VAR} variables")
    parts: list[str] = [pieces[0]]
    gaps: list[tuple[int, int]] = []
    run = 0
    for index, piece in enumerate(pieces[1:], start=1):
        run += 1
        if piece or index == len(pieces) - 1:
            gaps.append((run, run * max_var_chars))
            parts.append(piece)
            run = 0
    return Pattern(tuple(parts), tuple(gaps), len(pieces) - 1, literal_chars)


def _checked_id(name: str, value: str | None, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"{name} is empty")
        return None
    if len(value) > MAX_ID_CHARS or not value.isprintable() or value != value.strip():
        raise ValueError(
            f"{name} {value!r}: at most {MAX_ID_CHARS} printable characters, no outer spaces"
        )
    return value


@dataclass(frozen=True, slots=True)
class Template:
    """One registered template; built checked and compiled (ValueError when it is not valid).

    ``id`` is the stored row's id (None before it is stored); ``template_id`` the id the DLT
    portal gave it, which carriers are handed with the message.
    """

    template_id: str
    text: str
    category: Category = Category.TRANSACTIONAL
    entity_id: str | None = None
    id: str | None = None
    scheme: str = "india_dlt"
    max_var_chars: int = MAX_VAR_CHARS
    pattern: Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _checked_id("template_id", self.template_id, required=True)
        _checked_id("entity_id", self.entity_id, required=False)
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme {self.scheme!r}: one of {', '.join(SCHEMES)}")
        if not isinstance(self.category, Category):
            object.__setattr__(self, "category", parse_category(str(self.category)))
        pattern = compile_template(self.text, max_var_chars=self.max_var_chars)
        object.__setattr__(self, "pattern", pattern)

    def matches(self, text: str) -> bool:
        return self.pattern.matches(text)

    @property
    def specificity(self) -> tuple[int, int, int, str]:
        """Sorts the most specific first: most fixed characters, fewest variables, category
        order, template id."""
        p = self.pattern
        return (-p.literal_chars, p.variables, _ORDER[self.category], self.template_id)


def match(templates: Iterable[Template], text: str) -> Template | None:
    """The most specific of ``templates`` that ``text`` matches (see the module docstring).

    Given most specific first (sorted by :attr:`Template.specificity`), the first match ends
    the work: every later template is passed over without being matched.
    """
    best: Template | None = None
    for template in templates:
        if best is not None and template.specificity >= best.specificity:
            continue
        if template.matches(text):
            best = template
    return best


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row of a template list: its line number, and the template or why not."""

    line: int
    template: Template | None
    error: str | None = None


CSV_COLUMNS = ("template_id", "text", "category", "entity_id")


def read_csv(
    text: str, *, scheme: str = "india_dlt", max_var_chars: int = MAX_VAR_CHARS
) -> list[CsvRow]:
    """The rows of a CSV with the header ``template_id,text,category,entity_id`` (the last
    two may be empty or absent: transactional, no entity), each a template or its reason.

    Raises ValueError when the header lacks ``template_id`` or ``text``.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS[:2] if c not in header]
    if missing:
        raise ValueError(f"the header must name the columns {','.join(CSV_COLUMNS)}")
    reader.fieldnames = header
    rows: list[CsvRow] = []
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return rows
        except csv.Error as error:
            raise ValueError(f"line {reader.line_num}: {error}") from None
        rows.append(_row(reader.line_num, record, scheme, max_var_chars))


def _row(line: int, record: dict[str, str | None], scheme: str, max_var_chars: int) -> CsvRow:
    try:
        category = (record.get("category") or "").strip()
        template = Template(
            template_id=(record.get("template_id") or "").strip(),
            text=record.get("text") or "",
            category=parse_category(category) if category else Category.TRANSACTIONAL,
            entity_id=(record.get("entity_id") or "").strip() or None,
            scheme=scheme,
            max_var_chars=max_var_chars,
        )
    except ValueError as error:
        return CsvRow(line, None, str(error))
    return CsvRow(line, template)
