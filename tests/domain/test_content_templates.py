"""Content templates: checking, compiling and matching texts (``domain/content_templates.py``)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsrelay.domain.content_templates import (
    MAX_TEMPLATE_CHARS,
    VAR,
    Category,
    Template,
    compile_template,
    match,
    parse_category,
    read_csv,
)

# fixed text as DLT portals hold it: letters, digits, punctuation, single spaces, line breaks
_LITERAL = st.text(alphabet="abcXYZ019 .,:-'’\n₹", min_size=1, max_size=12).filter(
    lambda s: "{#" not in s and "#}" not in s
)
_VALUE = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30)


@st.composite
def _templates(draw: st.DrawFn) -> tuple[list[str | None], str]:
    """A template as a list of fixed parts (str) and variables (None), and its text."""
    pieces: list[str | None] = draw(
        st.lists(st.one_of(_LITERAL, st.none()), min_size=1, max_size=8)
    )
    if all(p is None for p in pieces):
        pieces.append(draw(_LITERAL))
    return pieces, "".join(VAR if p is None else p for p in pieces)


def _reference(template: str, text: str, most: int = 30) -> bool:
    """The same rule as a (backtracking) regular expression: fine on short texts. A run of n
    variables is one ``.{n,n*most}`` (the same language as n times ``.{1,most}``, without
    the backtracking that makes the latter slow even here)."""
    regex = []
    for token in re.split(r"((?:\{#var#\})+)", template):
        n = len(token) // len(VAR) if token.startswith(VAR) else 0
        regex.append(f".{{{n},{n * most}}}" if n else re.escape(token))
    return re.fullmatch("".join(regex), text, re.DOTALL) is not None


@given(_templates(), st.data())
def test_a_template_filled_with_allowed_values_matches(
    drawn: tuple[list[str | None], str], data: st.DataObject
) -> None:
    pieces, text = drawn
    filled = "".join(data.draw(_VALUE) if p is None else p for p in pieces)
    template = Template("1107000000000000001", text)
    assert template.matches(filled)
    assert match([template], filled) is template


@given(_templates(), st.data())
def test_a_changed_fixed_character_does_not_match(
    drawn: tuple[list[str | None], str], data: st.DataObject
) -> None:
    """Values drawn from characters no fixed text holds ("2".."8"), and one fixed character
    changed to one none holds either ("Q"): the fixed parts would need every one of the
    template's fixed characters, and the text has one fewer, so no split can match."""
    pieces, text = drawn
    values = [data.draw(st.text(alphabet="2345678", min_size=1, max_size=30)) for _ in pieces]
    fixed = [i for i, p in enumerate(pieces) if p is not None]
    where = data.draw(st.sampled_from(fixed))
    part = pieces[where]
    assert part is not None
    at = data.draw(st.integers(0, len(part) - 1))
    edited = list(pieces)
    edited[where] = part[:at] + "Q" + part[at + 1 :]
    filled = "".join(values[i] if p is None else p for i, p in enumerate(edited))
    assert not Template("1", text).matches(filled)
    assert Template("1", text).matches(
        "".join(values[i] if p is None else p for i, p in enumerate(pieces))
    )


@given(_templates(), st.text(alphabet="abcXYZ019 .,:-'\n", max_size=80))
def test_matching_agrees_with_a_regular_expression(
    drawn: tuple[list[str | None], str], text: str
) -> None:
    _, template = drawn
    assert Template("1", template).matches(text) == _reference(template, text)


@given(_templates(), st.integers(1, 6), st.data())
def test_the_variable_limit_is_configurable(
    drawn: tuple[list[str | None], str], most: int, data: st.DataObject
) -> None:
    pieces, template = drawn
    values = [data.draw(st.text(alphabet="0123456789", min_size=1, max_size=8)) for _ in pieces]
    filled = "".join(values[i] if p is None else p for i, p in enumerate(pieces))
    tight = Template("1", template, max_var_chars=most)
    assert tight.matches(filled) == _reference(template, filled, most)


def test_literal_parts_match_exactly() -> None:
    t = Template("1", "Dear {#var#}, your OTP is {#var#}. Do not share it. - ACME")
    assert t.matches("Dear Asha, your OTP is 482913. Do not share it. - ACME")
    for text in [
        "Dear Asha, your OTP is 482913. Do not share it. - acme",  # case
        "Dear Asha, your  OTP is 482913. Do not share it. - ACME",  # a double space
        "Dear Asha, your OTP is 482913 Do not share it. - ACME",  # a full stop missing
        "Dear Asha, your OTP is 482913.\nDo not share it. - ACME",  # a line break
        "Dear , your OTP is 482913. Do not share it. - ACME",  # an empty variable
        "Dear Asha, your OTP is 482913. Do not share it. - ACME ",  # a trailing space
    ]:
        assert not t.matches(text), text
    assert t.matches("Dear " + "A" * 30 + ", your OTP is 1. Do not share it. - ACME")
    assert not t.matches("Dear " + "A" * 31 + ", your OTP is 1. Do not share it. - ACME")
    curly = Template("2", "We'll call you at {#var#}")
    assert not curly.matches("We’ll call you at 10")


def test_adjacent_variables_and_templates_without_any() -> None:
    two = Template("1", "Code {#var#}{#var#} end")
    assert two.pattern.gaps == ((2, 60),)
    assert two.matches("Code ab end") and two.matches("Code " + "9" * 60 + " end")
    assert not two.matches("Code a end") and not two.matches("Code " + "9" * 61 + " end")
    fixed = Template("2", "Big sale today only", category=Category.PROMOTIONAL)
    assert fixed.matches("Big sale today only") and not fixed.matches("Big sale today only!")
    edges = Template("3", "{#var#} is your code{#var#}")
    assert edges.matches("1234 is your code.") and not edges.matches("1234 is your code")


def test_the_most_specific_match_wins_whatever_the_order() -> None:
    loose = Template("100", "Your order {#var#}")
    tight = Template("200", "Your order {#var#} has shipped")
    implicit = Template("300", "Hi {#var#}", category=Category.SERVICE_IMPLICIT)
    explicit = Template("301", "Hi {#var#}", category="Service Explicit")  # type: ignore[arg-type]
    fewer_vars = Template("400", "A{#var#}{#var#}B")
    more_vars = Template("401", "A{#var#}B")
    for order in ([loose, tight], [tight, loose]):
        assert match(order, "Your order 42 has shipped") is tight
        assert match(order, "Your order 42") is loose
    for order in ([implicit, explicit], [explicit, implicit]):
        assert match(order, "Hi Asha") is implicit
    assert match([fewer_vars, more_vars], "AxyB") is more_vars
    assert match([loose, tight], "Hello") is None
    assert match([], "Hello") is None


def test_an_adversarial_text_is_matched_without_backtracking() -> None:
    """60 variables between 'a's against 2,000 'a's and a last character that never fits: a
    backtracking regex tries ~30^60 splits; the position sets keep it to a few thousand steps
    per part (this test would not finish otherwise)."""
    template = Template("1", "a" + "{#var#}a" * 60 + "b")
    text = "a" * 1999 + "c"
    assert not template.matches(text)
    assert not template.matches("a" * 2000)
    assert not template.matches("a" * 1900 + "b")  # 61 a's and 60 variables: at most 1861
    assert template.matches("a" * 1860 + "b") and template.matches("a" * 121 + "b")
    assert not template.matches("a" * 120 + "b")
    nested = Template("2", "{#var#}{#var#}x" * 100 + "y")
    assert not nested.matches("x" * 1999 + "z")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("x" * (MAX_TEMPLATE_CHARS + 1), "at most 2000"),
        ("{#var#}{#var#}", "no fixed text"),
        ("Your OTP is {#VAR#}", "'{#' at character 13"),
        ("Your OTP is {#var#} or {# var #}", "at character 24"),
        ("Your OTP is {var}", "'{var}'"),
        ("Your OTP is {#var}", "written {#var#} exactly"),
    ],
)
def test_malformed_templates_are_refused(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        compile_template(text)


def test_bad_ids_categories_and_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="template_id is empty"):
        Template("", "Hi {#var#}")
    with pytest.raises(ValueError, match="entity_id"):
        Template("1", "Hi {#var#}", entity_id="x" * 65)
    with pytest.raises(ValueError, match="one of transactional, service_implicit"):
        parse_category("urgent")
    with pytest.raises(ValueError, match="scheme 'us_a2p'"):
        Template("1", "Hi {#var#}", scheme="us_a2p")
    assert parse_category("SI") is Category.SERVICE_IMPLICIT
    assert parse_category(" service-explicit ") is Category.SERVICE_EXPLICIT
    assert parse_category("Promotional") is Category.PROMOTIONAL


def test_a_csv_gives_each_row_or_its_reason() -> None:
    rows = read_csv(
        "\ufefftemplate_id,text,category,entity_id\n"
        "1107161,Your OTP is {#var#}. - ACME,Transactional,1101000\n"
        '1107162,"Hi {#var#},\nyour order shipped",SE,\n'
        "1107163,Hi {#VAR#},,\n"
        ",No id,,\n"
        "1107164,Sale {#var#},urgent,\n"
        "1107165,Sale today\n"
    )
    assert [(r.line, r.error is None) for r in rows] == [
        (2, True),
        (4, True),
        (5, False),
        (6, False),
        (7, False),
        (8, True),
    ]
    first, second = rows[0].template, rows[1].template
    assert first is not None and first.entity_id == "1101000"
    assert second is not None and second.category is Category.SERVICE_EXPLICIT
    assert second.text == "Hi {#var#},\nyour order shipped"
    assert "written {#var#} exactly" in (rows[2].error or "")
    assert rows[3].error == "template_id is empty"
    assert "category 'urgent'" in (rows[4].error or "")
    with pytest.raises(ValueError, match="header"):
        read_csv("id,body\n1,Hi\n")


@settings(max_examples=50)
@given(st.text(max_size=200))
def test_any_text_either_compiles_or_says_why(text: str) -> None:
    try:
        pattern = compile_template(text)
    except ValueError as error:
        assert str(error)
    else:
        assert pattern.literal_chars > 0


@given(st.lists(_templates(), min_size=1, max_size=6), st.data())
def test_the_answer_does_not_depend_on_the_order(
    drawn: list[tuple[list[str | None], str]], data: st.DataObject
) -> None:
    templates = [Template(str(i), text) for i, (_, text) in enumerate(drawn)]
    pieces = data.draw(st.sampled_from([p for p, _ in drawn]))
    text = "".join(
        data.draw(st.sampled_from(["7", "ab", "a. b"])) if p is None else p for p in pieces
    )
    expected = match(templates, text)
    assert expected is not None
    shuffled = data.draw(st.permutations(templates))
    assert match(shuffled, text) is expected
    assert match(sorted(templates, key=lambda t: t.specificity), text) is expected
