"""The service's users for the domain's checks that name users (an inspection team's
members): API tokens and web accounts, the active ones only.

The domain cannot import this layer, so the entry points hand it an object with this
method (``api.services.Services``, for the API and the web pages alike).
"""
from __future__ import annotations

from typing import Sequence

from projections.db import ReadModelDB


class UserDirectory:
    def __init__(self, db: ReadModelDB):
        self.db = db

    def active_with_role(self, role: str, user_ids: Sequence[str]) -> set[str]:
        """Which of ``user_ids`` hold ``role`` as an unrevoked API token's user or an
        enabled web account (whose user id is its user name)."""
        ids = sorted({str(u) for u in user_ids})
        if not ids:
            return set()
        marks = ", ".join("?" for _ in ids)
        found = self.db.fetchall(f"SELECT user_id FROM api_tokens WHERE role = ?"
                                 f" AND revoked_at IS NULL AND user_id IN ({marks})",
                                 (role, *ids))
        found += self.db.fetchall(f"SELECT user_name FROM web_users WHERE role = ?"
                                  f" AND disabled_at IS NULL AND user_name IN ({marks})",
                                  (role, *ids))
        return {row[0] for row in found}
