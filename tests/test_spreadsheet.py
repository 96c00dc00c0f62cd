"""CSV files the kit writes never run a formula when a TA opens them in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest

from autograder.spreadsheet import FORMULA_STARTS, csv_text, plain_cell, safe_cell

FORMULAS = [
    "=1+1",
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
    "=cmd|' /C calc'!A0",
    "＝1+1",
    "-",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_text_that_could_start_a_formula_gets_a_leading_apostrophe(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["ada", "team 7", "0.91234", "", "a=b", "x-1", "über"])
def test_ordinary_text_is_written_as_it_is(text):
    assert safe_cell(text) == text


@pytest.mark.parametrize("value", [-0.5, 3, -12, 0.0, "-0.50000", "-3", "12.5"])
def test_numbers_stay_numbers_even_when_negative(value):
    assert safe_cell(value) == str(value)


def test_none_is_an_empty_cell():
    assert safe_cell(None) == ""


@pytest.mark.parametrize("text", [*FORMULAS, "'quoted", "''", "'=1", "ada", "-0.5", ""])
def test_plain_cell_undoes_safe_cell_exactly_so_a_reread_never_adds_a_second_mark(text):
    assert plain_cell(safe_cell(text)) == text
    assert plain_cell(safe_cell(plain_cell(safe_cell(text)))) == text


def test_every_formula_start_is_covered():
    for start in FORMULA_STARTS:
        assert safe_cell(start + "x").startswith("'")


def test_csv_text_neutralises_every_cell_and_quotes_what_csv_needs():
    text = csv_text(["team", "=score"], [["=1+1", 0.5], ["a,b\nc", -1], ["ada", None]])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["team", "'=score"], ["'=1+1", "0.5"], ["a,b\nc", "-1"], ["ada", ""]]
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS) or cell == "-1"
