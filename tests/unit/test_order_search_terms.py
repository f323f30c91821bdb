"""What an agent types, as search criteria: phones, names, the one search box (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from prichal.domain.attention import AttentionEntry, build_queue, checked_reason, reason_of_log_action, reason_of_text
from prichal.domain.contacts import BadPhone, e164_phone
from prichal.domain.errors import InvalidInput
from prichal.domain.order_search import (
    SearchCriteria,
    guess,
    like_escape,
    name_word_query,
    parse_cursor,
    phone_digits,
    phone_query,
    search_text,
)
from prichal.services.order_actions import checked_key


@pytest.mark.parametrize("typed", ["+7 (921) 555-12-34", "89215551234", "8 921 555 12 34", "9215551234",
                                   "+79215551234", "7 921 555-12-34", "8(921)555-12-34"])
def test_every_russian_form_is_one_e164_number(typed):
    assert phone_digits(typed) == "79215551234"


def test_other_countries_and_landlines_keep_their_digits():
    assert phone_digits("+44 20 7946 0958") == "442079460958"
    assert phone_digits("8 812 700-00-01") == "78127000001"
    assert phone_digits("") is None and phone_digits(None) is None


@pytest.mark.parametrize("typed, contains, prefix", [
    ("555-12-34", "5551234", None), ("921 555", "921555", None), ("+7 921", "7921", None),
    ("8921555", "8921555", "7921555"), ("8 (921) 555-12-34", "79215551234", None),
    ("9215551234", "79215551234", None)])
def test_phone_fragments(typed, contains, prefix):
    assert phone_query(typed) == type(phone_query(typed))(contains, prefix)


@pytest.mark.parametrize("typed", ["12", "abc", "+7 921 x", "92-"])
def test_bad_phone_fragments(typed):
    with pytest.raises(InvalidInput):
        phone_query(typed)


def test_names_compare_lower_case_with_e_for_yo():
    assert search_text("  ЁЛКИН   Фёдор ") == "елкин федор"
    assert SearchCriteria(name="Ёлкин").database_criteria() == {"name": "%елкин%"}


def test_a_fragment_of_several_words_asks_how_its_words_begin_and_end():
    # the first word ends a name word (reversed behind ">"), the last begins one ("<"), a middle one is whole
    assert name_word_query("назарова ирина сергеевна") == "'>аворазан' & '<ирина' & '>анири' & '<сергеевна'"
    assert name_word_query("анова мар") == "'>авона' & '<мар'"
    assert SearchCriteria(name="Иванов  Мар").database_criteria() == {
        "name": "%иванов мар%", "name_words": "'>вонави' & '<мар'"}


def test_a_single_word_is_left_to_the_trigram_index():
    assert name_word_query("иванова") is None
    assert "name_words" not in SearchCriteria(name="Иванова").database_criteria()


def test_long_words_are_cut_as_indexed():
    assert name_word_query("константинопольская константинопольская") == "'>яаксьлопон' & '<константин'"


def test_a_short_word_leaves_it_to_the_trigram_index():
    # without "ич" the query would be "a word ends in -ова": half the names to recheck
    assert name_word_query("ова ич") is None
    assert name_word_query("а мария п") is None
    assert "name_words" not in SearchCriteria(name="Иванов Иван 3").database_criteria()


def test_quotes_and_backslashes_in_a_name_stay_text():
    assert name_word_query("o'brien шон") == "'>neirb''o' & '<шон'"
    assert name_word_query("a\\bc def") == "'>cb\\\\a' & '<def'"


def test_like_wildcards_are_literal():
    assert like_escape("50%_\\") == "50\\%\\_\\\\"
    assert SearchCriteria(name="100%").database_criteria()["name"] == "%100\\%%"


def test_a_whole_email_is_exact_a_fragment_is_not():
    assert SearchCriteria(email="Anna@Mail.RU").database_criteria() == {"email_exact": "anna@mail.ru"}
    assert SearchCriteria(email="anna@ma").database_criteria() == {"email": "%anna@ma%"}


@pytest.mark.parametrize("typed, field, value", [
    ("anna@mail.ru", "email", "anna@mail.ru"), ("PT2.abc.def", "ticket", "PT2.abc.def"),
    ("2026-000123", "ticket", "2026-000123"), ("123", "number", 123),
    ("0f8fad5b-d9cb-469f-a165-70867728950e", "order_id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
    ("+7 921 555", "phone", "+7 921 555"), ("89215551234", "phone", "89215551234"),
    ("Иванова", "name", "Иванова"), ("ivan 2", "name", "ivan 2")])
def test_the_search_box_guesses(typed, field, value):
    assert getattr(guess(typed), field) == value


def test_criteria_refuse_what_cannot_be_answered():
    for criteria in (SearchCriteria(name="ab"), SearchCriteria(statuses=("x",)), SearchCriteria(sailing_id="1"),
                     SearchCriteria(created_from=datetime(2026, 2, 1, tzinfo=UTC),
                                    created_to=datetime(2026, 1, 1, tzinfo=UTC))):
        with pytest.raises(InvalidInput):
            criteria.database_criteria()
    with pytest.raises(InvalidInput):
        guess("   ")


def test_cursors():
    assert parse_cursor(None) is None and parse_cursor("") is None and parse_cursor("42") == 42
    for bad in ("-1", "4.2", "x", "9" * 11):
        with pytest.raises(InvalidInput):
            parse_cursor(bad)


def test_contact_phones_are_stored_as_e164():
    assert e164_phone("8 (921) 555-12-34") == "+79215551234"
    assert e164_phone("+44 20 7946 0958") == "+442079460958"
    assert e164_phone("+79215551234") == "+79215551234"
    for bad in ("12345", "+7 921 abc", "1" * 30, "+7 921 5551234 567890"):
        with pytest.raises(BadPhone):
            e164_phone(bad)


def test_idempotency_keys():
    assert checked_key(None) is None and checked_key("") is None and checked_key("k-1") == "k-1"
    for bad in ("ключ", "a b", "x" * 201):
        with pytest.raises(InvalidInput):
            checked_key(bad)
    with pytest.raises(InvalidInput):
        checked_key(None, required=True)


@pytest.mark.parametrize("text, reason", [
    ("paid after expiry; seats resold; refund requested", "late_payment_seats_gone"),
    ("payment p does not match the order (amount)", "payment_amount_mismatch"),
    ("a second payment succeeded for an order that is paid", "double_payment"),
    ("the tickets could not be emailed to the buyer: 550", "email_failed"),
    ("expiry waits: the provider refused", "expiry_blocked"), ("something odd", "other")])
def test_free_text_flags_get_a_reason(text, reason):
    assert reason_of_text(text) == reason


def test_log_actions_and_reason_codes():
    assert reason_of_log_action("attention.refund_failed") == "refund_failed"
    assert reason_of_log_action("attention.cleared") is None and reason_of_log_action("order.paid") is None
    assert checked_reason(" Manual ") == "manual"
    for bad in ("", "a b", "x" * 65, "причина"):
        with pytest.raises(ValueError):
            checked_reason(bad)


def test_the_queue_groups_by_order_oldest_first():
    t0, t1, t2 = (datetime(2026, 6, d, tzinfo=UTC) for d in (1, 2, 3))
    entries = [AttentionEntry("b", "refund_failed", "", t2, "refund"), AttentionEntry("a", "manual", "x", t1, "flag"),
               AttentionEntry("b", "refund_failed", "", t0, "log"), AttentionEntry("b", "manual", "", t2, "flag"),
               AttentionEntry("gone", "manual", "", t0, "flag")]
    queue = build_queue(entries, {"a": (1, "paid", "A"), "b": (2, "paid", "B")})
    assert [item.order_id for item in queue] == ["b", "a"]
    assert [(r.reason, r.source) for r in queue[0].reasons] == [("refund_failed", "log"), ("manual", "flag")]
