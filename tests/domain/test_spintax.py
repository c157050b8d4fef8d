from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.spintax import (
    MAX_DEPTH,
    Group,
    has_spintax,
    iter_variants,
    parse,
    render,
    render_variant,
)

# --- examples -----------------------------------------------------------------------------


def test_example_template() -> None:
    template = parse("{Hello|Hi|Hey} your code is {1234|5678}")
    assert template.variant_count == 6
    assert template.has_groups
    texts = {v.text for v in iter_variants(template)}
    assert texts == {
        f"{g} your code is {c}" for g in ("Hello", "Hi", "Hey") for c in ("1234", "5678")
    }


def test_nested_groups_and_variant_ids() -> None:
    template = parse("{Hi|Hey} {a|{b|c}}")
    assert template.variant_count == 6
    assert [(v.text, v.variant) for v in iter_variants(template)] == [
        ("Hi a", "0.0"),
        ("Hi b", "0.1.0"),
        ("Hi c", "0.1.1"),
        ("Hey a", "1.0"),
        ("Hey b", "1.1.0"),
        ("Hey c", "1.1.1"),
    ]
    assert render_variant(template, "1.1.1") == "Hey c"


def test_escapes_pipes_and_empty_alternatives() -> None:
    template = parse(r"a \{x\} \| \\ \n |b {c|}")
    assert [v.text for v in iter_variants(template)] == [r"a {x} | \ \n |b c", r"a {x} | \ \n |b "]
    assert template.parts[-1] == Group((("c",), ()))
    assert parse("{|}").variant_count == 2
    assert parse("{}").variant_count == 1
    assert render(parse("{}"), 0).text == ""


def test_plain_text() -> None:
    template = parse("Your code is 1234")
    assert not template.has_groups
    assert template.variant_count == 1
    rendered = render(template, 42)
    assert (rendered.text, rendered.variant, rendered.choices) == ("Your code is 1234", "", ())
    assert render_variant(template, "") == "Your code is 1234"


@pytest.mark.parametrize(
    ("template", "detail"),
    [
        ("{a", "unbalanced '{' at position 0"),
        ("Hello {a|b} and {c|{d}", "unbalanced '{' at position 16"),
        ("{a {b}", "unbalanced '{' at position 0"),
        ("a}", "unexpected '}' at position 1"),
        ("{a|b}}", "unexpected '}' at position 5"),
        ("abc\\", "lone '\\' at the end (position 3)"),
        ("{" * (MAX_DEPTH + 1) + "}" * (MAX_DEPTH + 1), f"deeper than {MAX_DEPTH}"),
    ],
)
def test_syntax_errors_give_the_position(template: str, detail: str) -> None:
    with pytest.raises(SmsError) as info:
        parse(template)
    assert info.value.code is ErrorCode.SPINTAX_SYNTAX
    assert info.value.field == "message"
    assert detail in info.value.detail


def test_max_depth_is_accepted() -> None:
    template = parse("{" * MAX_DEPTH + "x" + "}" * MAX_DEPTH)
    assert render(template, 1).text == "x"
    assert render(template, 1).variant == ".".join(["0"] * MAX_DEPTH)


def test_render_variant_rejects_foreign_ids() -> None:
    template = parse("{a|b} {c|d}")
    for bad in ("", "0", "0.2", "0.1.0", "x.y", "0..1", "-1.0"):
        with pytest.raises(ValueError):
            render_variant(template, bad)


def test_render_is_uniform_per_group() -> None:
    template = parse("{a|b|c}")
    counts = Counter(render(template, seed).text for seed in range(3000))
    assert set(counts) == {"a", "b", "c"}
    assert all(800 < n < 1200 for n in counts.values())


def test_iter_variants_limit() -> None:
    template = parse("{a|b}" * 40)  # 2**40 variants: enumeration must be lazy
    assert template.variant_count == 2**40
    variants = list(iter_variants(template, limit=5))
    assert [v.variant for v in variants][:2] == [".".join("0" * 40), ".".join("0" * 39 + "1")]
    assert len(variants) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Your code is 1234", False),
        ("a | b", False),
        ("50% off!", False),
        ("C:\\dir", False),
        ("{a|b}", True),
        ("a}", True),
        ("\\{", True),
        ("\\\\", True),
        ("end\\", True),
    ],
)
def test_has_spintax(text: str, expected: bool) -> None:
    assert has_spintax(text) is expected


# --- properties ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """A template built from its parts, with what it must render to, computed independently."""

    source: str
    outputs: frozenset[str]
    count: int


def _escape(text: str) -> str:
    return "".join("\\" + c if c in "{}|\\" else c for c in text)


literal_specs = st.text(alphabet="ab |{}\\", max_size=3).map(
    lambda s: Spec(_escape(s), frozenset({s}), 1)
)


def _sequence(children: st.SearchStrategy[Spec]) -> st.SearchStrategy[Spec]:
    def join(parts: list[Spec]) -> Spec:
        outputs = frozenset("".join(p) for p in itertools.product(*(s.outputs for s in parts)))
        count = 1
        for part in parts:
            count *= part.count
        return Spec("".join(p.source for p in parts), outputs, count)

    return st.lists(children, min_size=0, max_size=3).map(join)


def _group(children: st.SearchStrategy[Spec]) -> st.SearchStrategy[Spec]:
    def join(alternatives: list[Spec]) -> Spec:
        return Spec(
            "{" + "|".join(a.source for a in alternatives) + "}",
            frozenset().union(*(a.outputs for a in alternatives)),
            sum(a.count for a in alternatives),
        )

    return st.lists(children, min_size=1, max_size=3).map(join)


template_specs = st.recursive(
    literal_specs, lambda children: _group(children) | _sequence(children), max_leaves=10
)


@given(template_specs, st.integers())
@settings(max_examples=200)
def test_render_matches_the_independent_model(spec: Spec, seed: int) -> None:
    template = parse(spec.source)
    assert template.variant_count == spec.count
    rendered = render(template, seed)
    assert rendered.text in spec.outputs
    assert render(template, seed) == rendered
    assert render_variant(template, rendered.variant) == rendered.text
    assert rendered.variant == ".".join(map(str, rendered.choices))


@given(template_specs)
@settings(max_examples=150)
def test_variant_count_equals_enumerated_paths(spec: Spec) -> None:
    template = parse(spec.source)
    variants = list(iter_variants(template))
    assert len(variants) == template.variant_count == spec.count
    assert len({v.variant for v in variants}) == len(variants)
    assert {v.text for v in variants} == spec.outputs
    for v in variants:
        assert render_variant(template, v.variant) == v.text


brace_free = st.recursive(
    st.text(alphabet="ab |", max_size=3).map(lambda s: Spec(_escape(s), frozenset({s}), 1)),
    lambda children: _group(children) | _sequence(children),
    max_leaves=10,
)


@given(brace_free, st.integers())
@settings(max_examples=100)
def test_rendering_leaves_no_group_syntax(spec: Spec, seed: int) -> None:
    text = render(parse(spec.source), seed).text
    assert "{" not in text and "}" not in text


@given(st.text(alphabet="ab{}|\\ ", max_size=30) | st.text(max_size=30))
@settings(max_examples=300)
def test_parse_accepts_or_reports_spintax_syntax(source: str) -> None:
    try:
        template = parse(source)
    except SmsError as exc:
        assert exc.code is ErrorCode.SPINTAX_SYNTAX
        assert "position" in exc.detail
        assert has_spintax(source)
        return
    rendered = render(template, 7)
    assert render_variant(template, rendered.variant) == rendered.text
    if not has_spintax(source):
        assert rendered.text == source
        assert not template.has_groups
