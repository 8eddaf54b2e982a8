"""Units (city, districts, wards) and their yearly ratings."""
from __future__ import annotations

from ..commands import ID, link, run
from ..services import services
from ..auth import READERS
from ..schemas import (Listing, Statistics, StatisticsQuery, UnitCreate, UnitQuery,
                       UnitRatingCreate)
from . import aggregate_json, blueprint, read, write

blp = blueprint("units", "Units and their ratings; statistics per unit and year.")


@write(blp, "/units", UnitCreate, ("admin",), summary="Register a unit")
def create_unit(body):
    return run(services().service.register_unit, **body, location=link("units.get_unit", unit_id=ID))


@read(blp, "/units", READERS, query=UnitQuery, schema=Listing, summary="List units")
def list_units(after=None, limit=50, parent_id=None, min_position=None):
    s = services()
    s.wait_for(min_position)
    return s.readmodels.list_units(parent_id=parent_id, after=after, limit=limit)


@read(blp, "/units/<unit_id>", READERS, summary="A unit's current state")
def get_unit(unit_id):
    return aggregate_json(services().service.get_unit(unit_id))


@write(blp, "/units/<unit_id>/ratings", UnitRatingCreate, ("admin", "board"),
       summary="Record (or correct) a unit's rating for a year")
def rate_unit(body, unit_id):
    return run(services().service.rate_unit, unit_id, **body,
               location=link("units.get_unit", unit_id=ID))


@read(blp, "/units/<unit_id>/statistics", READERS, query=StatisticsQuery, schema=Statistics,
      summary="Inspections, findings, discipline and ratings of a unit for a year")
def unit_statistics(unit_id, year, subunits=True, as_of=None, min_position=None):
    s = services()
    s.wait_for(min_position)
    return s.readmodels.unit_statistics(unit_id, year, as_of=as_of, subunits=subunits)
