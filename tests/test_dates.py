import datetime as dt

import pytest

from pipeline.dates import find_date, find_dates

FRI = dt.date(2026, 1, 23)
SAT = dt.date(2026, 1, 24)


@pytest.mark.parametrize(
    ("text", "published", "expected", "precision"),
    [
        ("Russia struck Ukraine overnight, officials said.", SAT, dt.date(2026, 1, 24), "day"),
        ("attacks on Ukraine overnight into Saturday", FRI, dt.date(2026, 1, 24), "day"),
        ("air strikes on Friday night", SAT, dt.date(2026, 1, 24), "day"),  # a night takes the morning's date
        ("Putin met late Thursday with the envoys", FRI, dt.date(2026, 1, 22), "day"),
        ("the air force reported on February 4", dt.date(2026, 2, 4), dt.date(2026, 2, 4), "day"),
        ("Last August, Trump and Putin met in Anchorage", SAT, dt.date(2025, 8, 1), "month"),
        ("the next round begins next Sunday in Abu Dhabi", SAT, dt.date(2026, 2, 1), "day"),
        ("a new round would begin on 1 February", SAT, dt.date(2026, 2, 1), "day"),
        ("talks resumed in Abu Dhabi on January 23-24", dt.date(2026, 2, 4), dt.date(2026, 1, 23), "day"),
        ("strikes yesterday killed two", SAT, dt.date(2026, 1, 23), "day"),
        ("the talks will resume on Monday", SAT, dt.date(2026, 1, 26), "day"),
        ("a strike on December 30", dt.date(2026, 1, 2), dt.date(2025, 12, 30), "day"),  # a past date of last year
    ],
)
def test_relative_and_absolute_dates(text, published, expected, precision):
    ref = find_date(text, published)
    assert ref is not None and ref.start == expected and ref.precision == precision


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        ("a new round would begin on 29 February", dt.date(2024, 12, 21), None),  # 2025 has no 29 February
        ("the talks ended on 29 February", dt.date(2024, 1, 10), None),  # nor has 2023
        ("the talks ended on 29 February", dt.date(2024, 3, 2), dt.date(2024, 2, 29)),
        ("talks will resume on 29 February", dt.date(2028, 2, 10), dt.date(2028, 2, 29)),
        ("a strike on 29 February 2025", dt.date(2025, 3, 1), dt.date(2025, 2, 1)),  # no day; the month stands
        ("a new round would begin on 29 February", dt.date(2023, 12, 21), dt.date(2024, 2, 29)),
        ("the talks ended on 29 February", dt.date(2025, 1, 5), dt.date(2024, 2, 29)),
        ("talks are due on 31 April", dt.date(2026, 4, 2), None),
    ],
)
def test_29_february_without_a_year_is_a_date_only_in_a_year_that_has_one(text, published, expected):
    ref = find_date(text, published)
    assert (ref.start if ref else None) == expected
    if ref is not None and ref.start.day == 1:
        assert ref.precision == "month"


def test_ranges_keep_their_end():
    ref = find_date("resumed on January 23-24", dt.date(2026, 2, 4))
    assert ref is not None and ref.end == dt.date(2026, 1, 24)


def test_no_date_or_no_anchor():
    assert find_date("The talks were constructive.", SAT) is None
    assert find_date("on Friday night", None) is None


def test_a_bare_month_is_the_nearest_one_in_the_tense():
    pub = dt.date(2026, 5, 12)
    past, future = find_date("since the talks in March", pub), find_date("the talks will resume in June", pub)
    assert past is not None and (past.start, past.precision) == (dt.date(2026, 3, 1), "month")
    assert future is not None and future.start == dt.date(2026, 6, 1)
    assert find_date("officials may meet", pub) is None  # "may" the verb is not a month


@pytest.mark.parametrize(
    ("text", "published", "start", "end"),
    [
        ("talks will be held on 23 and 24 March", SAT, dt.date(2026, 3, 23), dt.date(2026, 3, 24)),
        ("the meeting is planned from 3 to 5 March", SAT, dt.date(2026, 3, 3), dt.date(2026, 3, 5)),
        ("expected in Miami this weekend", dt.date(2026, 1, 21), dt.date(2026, 1, 24), dt.date(2026, 1, 25)),
        ("talks held there two weeks ago", SAT, dt.date(2026, 1, 10), None),
        ("a strike three days ago", SAT, dt.date(2026, 1, 21), None),
    ],
)
def test_ranges_weekends_and_days_ago(text, published, start, end):
    ref = find_date(text, published)
    assert ref is not None and (ref.start, ref.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "start", "precision"),
    [
        ("the leaders first met 80 years ago this month", dt.date(1946, 1, 1), "year"),
        ("a treaty signed three years ago", dt.date(2023, 1, 1), "year"),
        ("the talks broke down two months ago", dt.date(2025, 11, 1), "month"),
        ("a strike one month ago", dt.date(2025, 12, 1), "month"),
    ],
)
def test_months_and_years_ago_are_that_month_and_that_year(text, start, precision):
    ref = find_date(text, SAT)
    assert ref is not None and (ref.start, ref.precision) == (start, precision)


@pytest.mark.parametrize(
    ("text", "published", "start", "end"),
    [
        ("the envoys met on Friday and Saturday", dt.date(2026, 1, 26), dt.date(2026, 1, 23), dt.date(2026, 1, 24)),
        ("talks will run on Wednesday and Thursday", dt.date(2026, 2, 2), dt.date(2026, 2, 4), dt.date(2026, 2, 5)),
        ("they sat from Monday to Wednesday", dt.date(2026, 3, 12), dt.date(2026, 3, 9), dt.date(2026, 3, 11)),
        ("the sessions of Tuesday-Wednesday ended", dt.date(2026, 3, 12), dt.date(2026, 3, 10), dt.date(2026, 3, 11)),
    ],
)
def test_two_weekdays_joined_are_a_range(text, published, start, end):
    ref = find_date(text, published)
    assert ref is not None and (ref.start, ref.end) == (start, end)


def test_two_weekdays_in_a_list_of_other_words_are_no_range():
    refs = find_dates("strikes on Friday, and talks on Sunday", dt.date(2026, 1, 26))
    assert [(r.start, r.end) for r in refs] == [(dt.date(2026, 1, 23), None), (dt.date(2026, 1, 25), None)]


@pytest.mark.parametrize(
    ("text", "published", "start"),
    [
        ("Kyiv suggested the envoys meet again between June 20 and 30", dt.date(2025, 6, 2), dt.date(2025, 6, 20)),
        ("a summit in Budapest on 28 March", dt.date(2026, 3, 10), dt.date(2026, 3, 28)),
        ("talks resume in Geneva on April 2", dt.date(2026, 3, 20), dt.date(2026, 4, 2)),
    ],
)
def test_a_day_within_a_month_after_the_page_is_this_years(text, published, start):
    ref = find_date(text, published)
    assert ref is not None and ref.start == start


def test_a_day_further_ahead_with_no_future_word_is_last_years():
    ref = find_date("the strike on 15 July", dt.date(2025, 6, 2))
    assert ref is not None and ref.start == dt.date(2024, 7, 15)


def test_ago_without_a_count_is_no_date():
    assert find_date("long ago, the two countries were allies", SAT) is None


def test_every_date_with_its_position():
    text = "The Kremlin said on Monday that the talks would start on 2 February."
    refs = find_dates(text, SAT)
    assert [(r.start, text[r.at : r.stop]) for r in refs] == [
        (dt.date(2026, 1, 19), "on Monday"),
        (dt.date(2026, 2, 2), "2 February"),
    ]


MONDAY = dt.date(2026, 3, 9)


@pytest.mark.parametrize(
    "text",
    ["Drones hit Sumy over the weekend.", "Kyiv was shelled during the weekend.", "The weekend's strikes hit Odesa."],
)
def test_the_weekend_gone_by_in_a_monday_article(text):
    assert find_date(text, MONDAY).start == dt.date(2026, 3, 7)


def test_at_the_weekend_in_a_monday_article_may_be_the_one_to_come():
    assert find_date("Talks could take place at the weekend.", MONDAY).start == dt.date(2026, 3, 14)


@pytest.mark.parametrize(
    ("text", "published", "start"),
    [
        (
            "Trump will host Putin in Anchorage, Alaska, on Friday, August 15, the White House said.",
            dt.date(2025, 8, 12),
            dt.date(2025, 8, 15),
        ),
        ("The second round is set for Sunday, February 1, in Abu Dhabi.", dt.date(2026, 1, 29), dt.date(2026, 2, 1)),
        ("Talks were moved to Wednesday, 4 February.", dt.date(2026, 1, 29), dt.date(2026, 2, 4)),
    ],
)
def test_a_weekday_before_the_date_it_names_is_that_date(text, published, start):
    refs = find_dates(text, published)
    assert [r.start for r in refs] == [start]


def test_two_weekdays_in_two_clauses_stay_two_dates():
    refs = find_dates("Drones hit Kyiv on Friday, and on Saturday more came.", dt.date(2025, 8, 12))
    assert [r.start for r in refs] == [dt.date(2025, 8, 8), dt.date(2025, 8, 9)]
