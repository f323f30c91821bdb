"""Order search against the real database: every field, phone formats, Cyrillic, pages, tenants."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from prichal.adapters.db import tables as t
from prichal.domain.errors import InvalidInput
from prichal.domain.order_search import SearchCriteria, guess, name_word_query, search_text
from prichal.domain.ticket_codes import TicketClaims
from tests.crm_support import place_order


def numbers(container, demo, criteria: SearchCriteria, **kw) -> list[int]:
    return [o.number for o in container.order_search.search(demo.tenant_id, criteria, **kw).orders]


@pytest.fixture
def people(owner_engine, demo):
    return {
        "maria": place_order(owner_engine, demo, name="Иванова Мария Петровна", email="Maria.Ivanova@Example.test",
                             phone="+7 (921) 555-12-34", tickets=2),
        "fedor": place_order(owner_engine, demo, name="Ёлкин Фёдор", email="fedor@example.test",
                             phone="8 812 700-00-01", status="awaiting_payment"),
        "anna": place_order(owner_engine, demo, name="Anna Smith", email=None, phone="+44 20 7946 0958",
                            status="refunded", needs_attention="refund failed"),
    }


def test_by_order_number_and_id(container, demo, people):
    maria = people["maria"]
    assert numbers(container, demo, SearchCriteria(number=maria.number)) == [maria.number]
    assert numbers(container, demo, guess(str(maria.number))) == [maria.number]
    assert numbers(container, demo, guess(maria.id)) == [maria.number]
    assert numbers(container, demo, SearchCriteria(number=999999)) == []


def test_by_ticket_id_number_and_code(container, owner_engine, demo, people):
    maria = people["maria"]
    ticket = maria.ticket_ids[1]
    assert numbers(container, demo, SearchCriteria(ticket=ticket)) == [maria.number]
    assert numbers(container, demo, guess(ticket)) == [maria.number]  # a bare UUID: order, ticket or payment
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": demo.tenant_id})
        conn.execute(t.documents.insert().values(
            tenant_id=demo.tenant_id, order_id=maria.id, kind="ticket", position=2, ticket_id=ticket,
            number=4321, year=2026, issued_on=datetime(2026, 6, 1).date(), s3_key="k"))
    assert numbers(container, demo, guess("2026-004321")) == [maria.number]
    assert numbers(container, demo, SearchCriteria(ticket="2026-4321")) == [maria.number]
    claims = TicketClaims(ticket=ticket, tenant=demo.slug, sailing=demo.sailings[0]["id"], seat=None,
                          order=maria.number, departs=datetime.now(UTC).isoformat())
    code = container.ticket_signer.sign(claims)
    assert numbers(container, demo, guess(code)) == [maria.number]
    forged = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")
    assert numbers(container, demo, SearchCriteria(ticket=forged)) == []


def test_by_payment_id(container, demo, people):
    maria = people["maria"]
    assert numbers(container, demo, SearchCriteria(payment_id=maria.provider_payment_id)) == [maria.number]
    assert numbers(container, demo, SearchCriteria(payment_id=maria.payment_id)) == [maria.number]
    assert numbers(container, demo, SearchCriteria(payment_id="nope")) == []


@pytest.mark.parametrize("typed", ["maria.ivanova@example.test", "MARIA.IVANOVA@EXAMPLE.TEST", "ivanova@exa",
                                   "Maria.Iva"])
def test_by_email_exact_or_fragment_any_case(container, demo, people, typed):
    assert numbers(container, demo, SearchCriteria(email=typed)) == [people["maria"].number]


@pytest.mark.parametrize("typed", ["+7 (921) 555-12-34", "89215551234", "8 921 555 12 34", "9215551234",
                                   "+79215551234", "555-12-34", "921 555", "8921555", "+7 921", "1234"])
def test_by_phone_in_any_format(container, demo, people, typed):
    assert people["maria"].number in numbers(container, demo, SearchCriteria(phone=typed))
    assert people["fedor"].number not in numbers(container, demo, SearchCriteria(phone=typed))


def test_phone_stored_in_eight_form_is_found_in_plus_seven_form(container, demo, people):
    assert numbers(container, demo, guess("+7 812 700 00 01")) == [people["fedor"].number]
    assert numbers(container, demo, guess("8(812)700-00-01")) == [people["fedor"].number]
    assert numbers(container, demo, SearchCriteria(phone="+44 20 7946")) == [people["anna"].number]


@pytest.mark.parametrize("typed", ["иванова", "ИВАНОВА", "Иван", "мария  петр", "ария пе", "МАРИЯ"])
def test_by_name_cyrillic_any_case_partial(container, demo, people, typed):
    assert numbers(container, demo, SearchCriteria(name=typed)) == [people["maria"].number]


@pytest.mark.parametrize("typed", ["елкин", "ЁЛКИН", "фёдор", "Федор"])
def test_yo_and_ye_are_the_same_letter(container, demo, people, typed):
    assert numbers(container, demo, SearchCriteria(name=typed)) == [people["fedor"].number]


def test_name_fragment_is_not_a_pattern(container, demo, people):
    assert numbers(container, demo, SearchCriteria(name="%%%")) == []
    assert numbers(container, demo, SearchCriteria(name="___")) == []


@pytest.mark.parametrize("typed", ["o'brien", "O'Brien Шон", "' OR true --", "\\' OR 'a' = 'a"])
def test_quotes_in_a_fragment_are_text_not_sql(container, owner_engine, demo, people, typed):
    """The search function quotes the criteria into its statements (migration 0018)."""
    obrien = place_order(owner_engine, demo, name="O'Brien Шон", email="o'brien@example.test")
    found = numbers(container, demo, SearchCriteria(name=typed))
    assert found == ([obrien.number] if "brien" in typed.lower() else [])
    assert numbers(container, demo, SearchCriteria(email=typed)) == ([obrien.number] if typed == "o'brien" else [])


def test_by_status_sailing_dates_and_attention(container, owner_engine, demo, people):
    everyone = {p.number for p in people.values()}
    assert numbers(container, demo, SearchCriteria(statuses=("refunded",))) == [people["anna"].number]
    assert set(numbers(container, demo, SearchCriteria(statuses=("paid", "awaiting_payment")))) == {
        people["maria"].number, people["fedor"].number}
    assert numbers(container, demo, SearchCriteria(needs_attention=True)) == [people["anna"].number]
    assert people["anna"].number not in numbers(container, demo, SearchCriteria(needs_attention=False))
    sailing = next(s["id"] for s in demo.sailings if s["seating"] == "free")
    assert set(numbers(container, demo, SearchCriteria(sailing_id=sailing))) == everyone
    old = place_order(owner_engine, demo, name="Старый Заказ", created_at=datetime(2026, 5, 3, 12, tzinfo=UTC))
    may = SearchCriteria(created_from=datetime(2026, 5, 1, tzinfo=UTC), created_to=datetime(2026, 6, 1, tzinfo=UTC))
    assert numbers(container, demo, may) == [old.number]
    assert numbers(container, demo, SearchCriteria(name="старый", statuses=("refunded",))) == []


def test_a_status_change_is_searchable_at_once(container, owner_engine, demo, people):
    with container.uow(demo.tenant_id) as uow:
        uow.orders.flag(people["fedor"].id, "look at this")
        uow.conn.execute(t.orders.update().where(t.orders.c.id == people["fedor"].id)
                         .values(status="expired", customer_phone="+7 999 000-11-22"))
        uow.commit()
    assert people["fedor"].number in numbers(container, demo, SearchCriteria(needs_attention=True,
                                                                             statuses=("expired",)))
    assert numbers(container, demo, SearchCriteria(phone="999 000 11")) == [people["fedor"].number]


def test_newest_first_and_pages_without_gaps_or_duplicates_while_orders_arrive(container, owner_engine, demo):
    first = [place_order(owner_engine, demo, name=f"Петров Пётр {i}") for i in range(7)]
    seen: list[int] = []
    page = container.order_search.search(demo.tenant_id, SearchCriteria(name="петров"), limit=3)
    assert [o.number for o in page.orders] == sorted((o.number for o in first), reverse=True)[:3]
    while True:
        seen += [o.number for o in page.orders]
        place_order(owner_engine, demo, name="Петров Новый")  # arrives while the agent pages
        if page.next_cursor is None:
            break
        page = container.order_search.search(demo.tenant_id, SearchCriteria(name="петров"), cursor=page.next_cursor,
                                             limit=3)
    assert seen == sorted((o.number for o in first), reverse=True)
    assert len(seen) == len(set(seen))


def test_summaries_carry_what_the_list_shows(container, demo, people):
    [row] = container.order_search.search(demo.tenant_id, SearchCriteria(number=people["maria"].number)).orders
    assert row.customer_name == "Иванова Мария Петровна" and row.tickets == 2 and row.status == "paid"
    assert row.departs_at is not None and str(row.total) == "3000.00"


def test_another_tenant_sees_none_of_it(container, owner_engine, demo, other_demo, people):
    mine = place_order(owner_engine, other_demo, name="Иванова Мария Петровна", phone="+7 921 555 12 34")
    assert numbers(container, other_demo, SearchCriteria(name="иванова")) == [mine.number]
    assert numbers(container, other_demo, SearchCriteria(payment_id=people["maria"].provider_payment_id)) == []
    assert numbers(container, other_demo, SearchCriteria(ticket=people["maria"].ticket_ids[0])) == []
    assert numbers(container, other_demo, guess(people["maria"].id)) == []
    assert all(o.id != people["maria"].id for o in container.order_search.search(
        other_demo.tenant_id, SearchCriteria()).orders)


def test_without_a_tenant_the_search_function_answers_nothing(container, demo, people):
    with container.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM prichal_search_orders('{}'::jsonb, NULL, 10)")).all()
        assert rows == []
        with pytest.raises(Exception, match="permission denied"):
            conn.execute(text("SELECT * FROM order_search"))


@pytest.mark.parametrize("criteria", [SearchCriteria(name="ив"), SearchCriteria(phone="12"),
                                      SearchCriteria(phone="abc123"), SearchCriteria(email="a@"),
                                      SearchCriteria(statuses=("lost",)), SearchCriteria(sailing_id="x"),
                                      SearchCriteria(ticket="garbage"),
                                      SearchCriteria(created_from=datetime(2026, 6, 1, tzinfo=UTC),
                                                     created_to=datetime(2026, 5, 1, tzinfo=UTC))])
def test_bad_criteria_are_refused(container, demo, criteria):
    with pytest.raises(InvalidInput):
        container.order_search.search(demo.tenant_id, criteria)


def test_bad_cursor_and_limit_are_refused(container, demo):
    for kw in ({"cursor": "x1"}, {"cursor": "-1"}, {"limit": 0}, {"limit": 101}):
        with pytest.raises(InvalidInput):
            container.order_search.search(demo.tenant_id, SearchCriteria(), **kw)


def test_dates_are_half_open(container, owner_engine, demo):
    at = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    order = place_order(owner_engine, demo, name="Граница Дня", created_at=at)
    assert numbers(container, demo, SearchCriteria(created_from=at, created_to=at + timedelta(days=1))) == [
        order.number]
    assert numbers(container, demo, SearchCriteria(created_from=at - timedelta(days=1), created_to=at)) == []


@pytest.mark.parametrize("value", ["+7 (921) 555-12-34", "89215551234", "9215551234", "+44 20 7946 0958", "",
                                   "8 812 700-00-01", "12", "tel: 8-921-555-12-34"])
def test_the_database_normalises_phones_as_python_does(container, value):
    from prichal.domain.order_search import phone_digits

    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT prichal_phone_digits(:v)"), {"v": value}).scalar() == phone_digits(value)


@pytest.mark.parametrize("value", ["Ёлкин  Фёдор", "  ИВАНОВА Мария\tПетровна ", "Anna SMITH", "Щукина Юлия-Ёжик"])
def test_the_database_normalises_names_as_python_does(container, value):
    from prichal.domain.order_search import search_text

    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT prichal_search_text(:v)"), {"v": value}).scalar() == search_text(value)


def test_a_name_typed_with_double_spaces_is_found(container, owner_engine, demo):
    order = place_order(owner_engine, demo, name="Кравец   Анна")
    assert numbers(container, demo, SearchCriteria(name="кравец анна")) == [order.number]


NAME_WORDS = st.text(alphabet="абвгдеиклмнопрстюя'\\-", min_size=1, max_size=14)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(NAME_WORDS, min_size=2, max_size=4), cut=st.tuples(st.integers(0, 60), st.integers(0, 60)))
def test_every_fragment_of_a_name_matches_its_words_index_entry(container, words, cut):
    """The words index only narrows what the LIKE checks: whatever part of a name is typed
    (two words or more), prichal_name_lexemes of the name matches name_word_query of it."""
    name = search_text(" ".join(words))
    start, length = cut
    fragment = search_text(name[start:start + length])
    query = name_word_query(fragment)
    if query is None:
        return
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT prichal_name_lexemes(:n) @@ CAST(:q AS tsquery)"),
                            {"n": name, "q": query}).scalar(), (name, fragment, query)


def test_the_words_index_tells_names_apart(container):
    with container.engine.connect() as conn:
        def matches(name: str, fragment: str) -> bool:
            return conn.execute(text("SELECT prichal_name_lexemes(:n) @@ CAST(:q AS tsquery)"),
                                {"n": name, "q": name_word_query(fragment)}).scalar()

        assert matches("назарова ирина сергеевна", "назарова ирина сергеевна")
        assert matches("назарова ирина сергеевна", "арова ирина серг")
        assert not matches("назарова ирина сергеевна", "назарова инна сергеевна")
        assert not matches("иванова мария", "иванов мар")  # "иванов" does not end a word here


def test_both_steps_of_the_search_function_give_the_same_rows(container, owner_engine, demo, people):
    """A tenant's newest window answers a common fragment, the trigram index a rare one
    (migration 0016), the words index a name of several words (0018): force each and compare,
    and the words index against the trigram index alone."""
    for i in range(6):
        place_order(owner_engine, demo, name=f"Иванов Иван {i}", phone=f"+7 921 000-00-0{i}")
        place_order(owner_engine, demo, name=f"Иванова Мария {'Ивановна' if i % 2 else 'Петровна'}")
    criteria = [{"name": "%иванов%"}, {"name": "%иван%", "statuses": ["paid"]}, {"phone": "%792100000%"},
                {"email": "%example%"}, {"phone": "%8921%", "phone_prefix": "7921"}, {"name": "%нет такого%"},
                {"name": "%иванов%", "needs_attention": False},
                *(SearchCriteria(name=typed).database_criteria() for typed in (
                    "иванов иван", "Иванов Иван 3", "ванов ив", "нов иван 4", "иван иван", "мария иванов",
                    "ова мария ивановна", "иванова мария петровна", "ванова мари", "иванова мария ивановна нет"))]
    with container.uow(demo.tenant_id) as uow:
        def answer(wanted: dict, before: int | None, window: int) -> list[int]:
            return uow.conn.execute(text(
                "SELECT number FROM prichal_search_orders(CAST(:c AS jsonb), :b, 3, :w) ORDER BY number DESC"),
                {"c": json.dumps(wanted), "b": before, "w": window}).scalars().all()

        for wanted in criteria:
            trigrams_only = {key: value for key, value in wanted.items() if key != "name_words"}
            for before in (None, 5):
                answers = [answer(wanted, before, window) for window in (1, 2, 10000)]
                answers.append(answer(trigrams_only, before, 1))
                assert answers[0] == answers[1] == answers[2] == answers[3], (wanted, before, answers)
    found = SearchCriteria(name="ова мария ивановна")
    assert len(numbers(container, demo, found)) == 3  # and it is not an empty answer that agrees
