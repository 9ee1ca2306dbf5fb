"""The one rule that matches a file's column names to an example's (preprocess, traffic, seed-data)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processing_scripts.columns import ColumnMatchError, column_key, match_columns

# Names a CSV header can hold: any text without line breaks (csv quotes commas and quotes).
names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), min_size=1, max_size=30
)
separators = st.sampled_from([" ", "_", "-", ".", "  ", "__", " _ "])


# A column's words: letters and digits of any script, no separators; only words whose upper, lower and
# title case are the same word (not Turkish dotless ı, whose upper case is the Latin I).
words = st.lists(
    st.text(st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=8).filter(
        lambda w: all(case(w).casefold() == w.casefold() for case in (str.lower, str.upper, str.title))
    ),
    min_size=1,
    max_size=4,
)


@given(words, separators, separators, st.sampled_from([str.lower, str.upper, str.title]))
def test_a_name_matches_whatever_case_and_separators_the_file_uses(
    parts: list[str], ours: str, theirs: str, case: object
) -> None:
    described = ours.join(parts)
    header = f" {case(theirs.join(parts))} "  # type: ignore[operator]
    matched, extra = match_columns([header, "unrelated column"], [described])
    assert matched == {described: header}
    assert extra == ["unrelated column"]


@given(names)
def test_the_key_is_stable(name: str) -> None:
    assert column_key(column_key(name)) == column_key(name)


@given(st.lists(names, min_size=1, max_size=8, unique_by=column_key))
def test_every_header_matches_itself_in_any_order(header: list[str]) -> None:
    matched, extra = match_columns(list(reversed(header)), header)
    assert matched == {name: name for name in header}
    assert extra == []


@given(st.lists(names, min_size=2, max_size=8, unique_by=column_key), st.data())
def test_a_missing_column_is_named_and_never_also_reported_as_found(
    header: list[str], data: st.DataObject
) -> None:
    dropped = data.draw(st.sampled_from(header))
    with pytest.raises(ColumnMatchError) as error:
        match_columns([name for name in header if name != dropped], header)
    message = str(error.value)
    assert f"missing column(s) {dropped!r}" in message
    assert message.endswith("found no other columns")  # every other column matched: none listed


def test_snake_case_schema_names_match_uci_headers() -> None:
    """The issue's case: snake_case description, UCI's header (upper case, spaces), an extra ID."""
    header = ["ID", "LIMIT_BAL", "PAY_0", "default payment next month"]
    matched, extra = match_columns(header, ["limit_bal", "pay_0", "default_payment_next_month"])
    assert matched == {
        "limit_bal": "LIMIT_BAL",
        "pay_0": "PAY_0",
        "default_payment_next_month": "default payment next month",
    }
    assert extra == ["ID"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["Whole_Weight", "whole weight"], "columns 'Whole_Weight' and 'whole weight' are the same column"),
        (["a", "b"], "missing column(s) 'pay.0'; expected pay.0 (the first line must be a header"),
    ],
)
def test_refusals_say_what_is_wrong(header: list[str], message: str) -> None:
    with pytest.raises(ColumnMatchError, match=None) as error:
        match_columns(header, ["pay.0"])
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_names_made_of_separators_only_match_their_own_spelling() -> None:
    assert column_key("_") == "_" and column_key("-") == "-"
    assert match_columns(["_", "-"], ["-"]) == ({"-": "-"}, ["_"])
