"""Vietnamese collation and date/time display used by the pages."""
from __future__ import annotations

import random

from web.vietnamese import collation_key, name_key, show_date, show_time


def test_letters_of_their_own_sort_after_their_base_letter():
    words = ["ăn", "an", "ân", "bà", "đá", "da", "ê", "e", "ơn", "ôm", "om", "ưa", "ua", "y"]
    expected = ["an", "ăn", "ân", "bà", "da", "đá", "e", "ê", "om", "ôm", "ơn", "ua", "ưa", "y"]
    random.Random(1).shuffle(words)
    assert sorted(words, key=collation_key) == expected
    # plain code-point order gets it wrong (đ after every Latin letter)
    assert sorted(expected) != expected


def test_tones_order_after_letters_in_dictionary_order():
    tones = ["ma", "mà", "mả", "mã", "má", "mạ"]
    assert sorted(reversed(tones), key=collation_key) == tones
    # the letter decides before the tone: "mạ" < "mai"
    assert sorted(["mai", "mạ"], key=collation_key) == ["mạ", "mai"]
    assert collation_key("Ánh")[:2] == collation_key("ánh")[:2]  # case-insensitive


def test_names_sort_by_given_name_then_whole_name():
    names = ["Trần Văn Đức", "Nguyễn Thị Anh", "Lê Văn Dũng", "Phạm Thị Ánh", "Bùi Văn Anh"]
    assert sorted(names, key=name_key) == ["Bùi Văn Anh", "Nguyễn Thị Anh", "Phạm Thị Ánh",
                                           "Lê Văn Dũng", "Trần Văn Đức"]


def test_dates_and_times_in_vietnamese_form_and_time_zone():
    assert show_date("2026-03-01") == "01/03/2026"
    assert show_time("2026-03-01T20:30:00+00:00") == "02/03/2026 03:30"  # UTC+7
    assert show_time("2026-03-01T08:45:00+07:00") == "01/03/2026 08:45"
    assert show_date(None) == ""
