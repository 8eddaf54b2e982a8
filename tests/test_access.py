"""Tokens and the access log, in process on both stores: what is refused and why, what is
stored, and how the access log filters and pages (the routes only pass these through)."""
from __future__ import annotations

import re

import pytest

from auditing.access import AccessLog, TokenStore, User, token_hash
from audit_service.config import Settings
from audit_service.errors import NotFound, ValidationFailed
from projections.db import ReadModelDB

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")  # UTC, microseconds


@pytest.fixture
def db(store_env):
    d = ReadModelDB(Settings.from_env(store_env).database)
    yield d
    d.close()


def rows(db) -> int:
    return db.fetchone("SELECT COUNT(*) FROM api_tokens")[0]


# --------------------------------------------------------------------------- tokens

def test_a_token_is_stored_only_as_its_hash_and_authenticates_as_its_user(db):
    store = TokenStore(db)
    user, token = store.create("board", "  Hội đồng kỷ luật  ", unit_id="u-1")
    assert re.fullmatch(r"ast_[A-Za-z0-9_-]{43}", token)  # 32 random bytes, URL-safe
    assert re.fullmatch(r"board-[0-9a-f]{8}", user.user_id)
    assert user == User(user.user_id, "board", "Hội đồng kỷ luật", "u-1")
    stored = db.fetchone("SELECT token_sha256, role, name, unit_id, created_at, revoked_at"
                         " FROM api_tokens WHERE user_id = ?", (user.user_id,))
    assert stored[:4] == (token_hash(token), "board", "Hội đồng kỷ luật", "u-1")
    assert STAMP.match(stored[4]) and stored[5] is None
    assert store.authenticate(token) == user
    assert store.authenticate(token + "x") is None


def test_a_token_without_a_unit_has_none(db):
    user, token = TokenStore(db).create("auditor", "Kiểm toán")
    assert user.unit_id is None and TokenStore(db).authenticate(token).unit_id is None


@pytest.mark.parametrize("role, name, message, details", [
    ("root", "ops", "unknown role 'root'",
     {"role": "must be one of inspector, board, auditor, admin"}),
    ("admin", "", "a name is required", {"name": "1 to 200 characters"}),
    ("admin", "   ", "a name is required", {"name": "1 to 200 characters"}),
    ("admin", None, "a name is required", {"name": "1 to 200 characters"}),
    ("admin", "x" * 201, "a name is required", {"name": "1 to 200 characters"}),
    ("admin", "ab\x07c", "invalid input: name",
     {"name": "must not contain U+0007 (a control character), found at character 3"}),
])
def test_a_refused_token_says_why_and_stores_nothing(db, role, name, message, details):
    with pytest.raises(ValidationFailed) as refused:
        TokenStore(db).create(role, name)
    assert (refused.value.message, refused.value.details) == (message, details)
    assert refused.value.code == "validation_failed" and rows(db) == 0


def test_a_name_of_200_characters_is_accepted(db):
    user, _ = TokenStore(db).create("admin", "x" * 200)
    assert user.name == "x" * 200


def test_list_is_ordered_by_creation_and_shows_revocations(db):
    store = TokenStore(db)
    first, token = store.create("inspector", "Đoàn 1", unit_id="u-9")
    second, _ = store.create("admin", "ops")
    store.revoke(first.user_id)
    listed = store.list()
    assert [(t["user_id"], t["role"], t["name"], t["unit_id"]) for t in listed] == [
        (first.user_id, "inspector", "Đoàn 1", "u-9"), (second.user_id, "admin", "ops", None)]
    assert set(listed[0]) == {"user_id", "role", "name", "unit_id", "created_at", "revoked_at"}
    assert STAMP.match(listed[0]["created_at"]) and STAMP.match(listed[0]["revoked_at"])
    assert listed[0]["created_at"] <= listed[1]["created_at"] and listed[1]["revoked_at"] is None
    assert store.authenticate(token) is None


def test_revoking_twice_keeps_the_first_time_and_an_unknown_user_is_not_found(db):
    store = TokenStore(db)
    user, _ = store.create("board", "b")
    store.revoke(user.user_id)
    when = store.list()[0]["revoked_at"]
    store.revoke(user.user_id)
    assert store.list()[0]["revoked_at"] == when
    with pytest.raises(NotFound) as missing:
        store.revoke("nobody")
    assert (missing.value.code, missing.value.message) == ("token_not_found",
                                                           "no token for user nobody")


# --------------------------------------------------------------------------- access log

def test_the_access_log_records_who_read_what_and_filters_by_officer_and_user(db):
    log = AccessLog(db)
    board, auditor = User("board-1", "board", "B"), User("auditor-1", "auditor", "A")
    log.record(board, "officer-a", "history")
    log.record(auditor, "officer-a", "eligibility", as_of="2026-01-01T00:00:00+07:00",
               query="on=2026-01-01")
    log.record(board, "officer-b", "standing")
    every = log.entries()
    assert [(e["user_id"], e["role"], e["officer_id"], e["what"]) for e in every["items"]] == [
        ("board-1", "board", "officer-a", "history"),
        ("auditor-1", "auditor", "officer-a", "eligibility"),
        ("board-1", "board", "officer-b", "standing")]
    assert every["next"] is None
    first = every["items"][0]
    assert set(first) == {"id", "accessed_at", "user_id", "role", "officer_id", "what", "as_of",
                          "query", "status"}
    assert STAMP.match(first["accessed_at"]) and first["as_of"] is None and first["query"] is None
    assert every["items"][1]["as_of"] == "2026-01-01T00:00:00+07:00"
    assert every["items"][1]["query"] == "on=2026-01-01"
    assert [e["what"] for e in log.entries(officer_id="officer-a")["items"]] == \
        ["history", "eligibility"]
    assert [e["what"] for e in log.entries(user_id="board-1")["items"]] == \
        ["history", "standing"]
    assert [e["what"] for e in log.entries(officer_id="officer-a", user_id="board-1")["items"]] \
        == ["history"]
    assert log.entries(officer_id="nobody")["items"] == []


def test_the_access_log_pages_with_after_and_limit(db):
    log = AccessLog(db)
    user = User("board-1", "board", "B")
    for n in range(5):
        log.record(user, f"officer-{n}", "history")
    page = log.entries(limit=2)
    assert [e["officer_id"] for e in page["items"]] == ["officer-0", "officer-1"]
    assert page["next"] == str(page["items"][-1]["id"])
    page = log.entries(after=int(page["next"]), limit=2)
    assert [e["officer_id"] for e in page["items"]] == ["officer-2", "officer-3"]
    last = log.entries(after=int(page["next"]), limit=2)
    assert [e["officer_id"] for e in last["items"]] == ["officer-4"] and last["next"] is None
    # exactly a page's worth left: no next page
    exact = log.entries(after=int(page["next"]) - 1, limit=2)
    assert [e["officer_id"] for e in exact["items"]] == ["officer-3", "officer-4"]
    assert exact["next"] is None
    assert len(log.entries()["items"]) == 5  # the default limit is above 5


def test_the_tables_are_created_once_and_named(db):
    from auditing.access import create_tables

    assert create_tables(db) == ["api tokens", "access log"]  # again: already there
    TokenStore(db).create("admin", "ops")
    assert create_tables(db) == ["api tokens", "access log"] and rows(db) == 1


def test_the_next_page_starts_after_the_last_item_shown(db):
    log = AccessLog(db)
    user = User("board-1", "board", "B")
    for n in range(5):
        log.record(user, f"officer-{n}", "history")
    page = log.entries(limit=3)
    assert [e["officer_id"] for e in page["items"]] == ["officer-0", "officer-1", "officer-2"]
    assert page["next"] == str(page["items"][2]["id"])


def test_a_page_holds_100_entries_by_default(db):
    log = AccessLog(db)
    user = User("board-1", "board", "B")
    with db.transaction():
        for n in range(101):
            db.execute("INSERT INTO access_log (accessed_at, user_id, role, officer_id, what)"
                       " VALUES (?, ?, ?, ?, ?)", ("2026-01-01", user.user_id, user.role,
                                                   f"o-{n}", "history"))
    page = log.entries()
    assert len(page["items"]) == 100 and page["next"] == str(page["items"][-1]["id"])
