"""The reference catalogues: pick lists with titles, validity dates and legal citations."""
from __future__ import annotations

from ..auth import READERS
from ..services import services
from . import blueprint, read

blp = blueprint("reference", "Conduct codes, discipline forms, rules and other catalogues.")
CATALOGUES = {
    "conduct-codes": lambda d: d["conduct_codes"],
    "discipline-forms": lambda d: d["discipline_forms"],
    "rules": lambda d: d["rules"],
    "rating-levels": lambda d: d["ratings"]["annual_levels"],
    "monthly-grades": lambda d: d["ratings"]["monthly_grades"],
    "categories": lambda d: d["categories"],
    "unit-levels": lambda d: d["unit_levels"],
    "limitation-periods": lambda d: d["limitation"]["periods"],
    "effect-periods": lambda d: d["effect_periods"],
    "deferral-reasons": lambda d: d["deferral_reasons"],
}


def _catalogue(name: str) -> dict:
    """Reference data never changes while the process runs: built once per worker."""
    data = services().reference_catalogues()
    return {"items": CATALOGUES[name](data), "next": None, "version": data["version"],
            "rules_version": data["rules_version"]}


def _route(name: str):
    def view():
        return _catalogue(name)

    view.__name__ = "reference_" + name.replace("-", "_")
    view.__doc__ = f"The {name.replace('-', ' ')} catalogue."
    read(blp, f"/reference/{name}", READERS, schema=None,
         summary=f"Catalogue: {name.replace('-', ' ')}")(view)


for _name in CATALOGUES:
    _route(_name)

