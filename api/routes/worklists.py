"""Case lists and the board's worklists: what is open, what is due, the soonest first.

Pages are ``limit`` rows; ``next`` is the cursor of the following page. Read from the
``casework`` read model; ``min_position`` waits for a write to be included.
"""
from __future__ import annotations

from ..auth import READERS
from ..schemas import Listing
from ..schemas_work import (DecisionListQuery, InspectionListQuery, ProceedingListQuery,
                            TermsEndingQuery, UnitWorklistQuery)
from ..services import services
from . import blueprint, read

blp = blueprint("worklists", "Lists of inspections, proceedings and decisions; the board's"
                             " worklists (terms ending, proceedings due, appeals pending).")
BOARD_AUDITOR = ("board", "auditor")


def _lists(min_position):
    s = services()
    s.wait_for(min_position)
    return s, s.readmodels.worklists


@read(blp, "/inspections", READERS, query=InspectionListQuery, schema=Listing,
      summary="Inspections: open ones first (longest running first), then closed ones")
def list_inspections(unit_id=None, status=None, team_member=None, after=None, limit=50,
                     min_position=None):
    _, lists = _lists(min_position)
    return lists.inspections(unit_id=unit_id, status=status, team_member=team_member,
                             after=after, limit=limit)


@read(blp, "/proceedings", BOARD_AUDITOR, query=ProceedingListQuery, schema=Listing,
      summary="Proceedings, the soonest handling deadline first")
def list_proceedings(status=None, unit_id=None, officer_id=None, after=None, limit=50,
                     min_position=None):
    _, lists = _lists(min_position)
    return lists.proceedings(status=status, unit_id=unit_id, officer_id=officer_id,
                             after=after, limit=limit)


@read(blp, "/decisions", BOARD_AUDITOR, query=DecisionListQuery, schema=Listing,
      summary="Discipline decisions; with in_force_on, those in force that day, the soonest"
              " to end first")
def list_decisions(officer_id=None, unit_id=None, in_force_on=None, after=None, limit=50,
                   min_position=None):
    _, lists = _lists(min_position)
    return lists.decisions(officer_id=officer_id, unit_id=unit_id, in_force_on=in_force_on,
                           after=after, limit=limit)


@read(blp, "/worklists/terms-ending", BOARD_AUDITOR, query=TermsEndingQuery, schema=Listing,
      summary="Leadership terms ending within N days, with the notice due date and status")
def terms_ending(within_days=180, unit_id=None, after=None, limit=50, min_position=None):
    s, lists = _lists(min_position)
    return lists.terms_ending(s.service.today(), within_days=within_days, unit_id=unit_id,
                              after=after, limit=limit)


@read(blp, "/worklists/proceedings-due", BOARD_AUDITOR, query=UnitWorklistQuery,
      schema=Listing, summary="Open and deferred proceedings by handling deadline (90/150"
                              " days), overdue first")
def proceedings_due(unit_id=None, after=None, limit=50, min_position=None):
    s, lists = _lists(min_position)
    return lists.proceedings_due(s.service.today(), unit_id=unit_id, after=after, limit=limit)


@read(blp, "/worklists/appeals-pending", BOARD_AUDITOR, query=UnitWorklistQuery,
      schema=Listing, summary="Appeals lodged and not yet resolved, the longest waiting first")
def appeals_pending(unit_id=None, after=None, limit=50, min_position=None):
    s, lists = _lists(min_position)
    return lists.appeals_pending(s.service.today(), unit_id=unit_id, after=after, limit=limit)
