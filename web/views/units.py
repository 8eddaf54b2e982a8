"""Unit pages: yearly statistics (with sub-units) and a chart drawn server-side as SVG."""
from __future__ import annotations

from flask import render_template, request

from ..auth import READERS, page
from ..sessions import services
from ..vietnamese import collation_key
from . import blp

YEARS_SHOWN = 6


def bar_chart(series: list[tuple[str, list[int]]], labels: list[str], width: int = 560,
              height: int = 220) -> dict:
    """Grouped bars: geometry for an inline SVG (no JavaScript, prints as it shows)."""
    top = max([1] + [v for _, values in series for v in values])
    left, bottom, group = 30, height - 30, (width - 40) / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    bars = []
    for s_index, (name, values) in enumerate(series):
        for i, value in enumerate(values):
            h = (bottom - 20) * value / top
            bars.append({"x": round(left + i * group + group * 0.1 + s_index * bar, 1),
                         "y": round(bottom - h, 1), "w": round(bar - 2, 1), "h": round(h, 1),
                         "value": value, "series": s_index, "name": name})
    ticks = [{"x": round(left + i * group + group / 2, 1), "label": label}
             for i, label in enumerate(labels)]
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "bottom": bottom,
            "top": top, "series": [name for name, _ in series]}


@blp.route("/units/<uuid:unit_id>")
@page(*READERS)
def unit(unit_id):
    s = services()
    models = s.readmodels
    info = models.unit(str(unit_id))
    this_year = s.service.today().year
    years = list(range(this_year - YEARS_SHOWN + 1, this_year + 1))
    subunits = request.args.get("subunits", "1") != "0"
    stats = [models.unit_statistics(str(unit_id), y, subunits=subunits) for y in years]
    chart = bar_chart([("findings", [st["findings"] for st in stats]),
                       ("disciplined", [st["officers_disciplined"] for st in stats]),
                       ("inspections", [st["inspections"] for st in stats])],
                      [str(y) for y in years])
    children = sorted(models.list_units(parent_id=str(unit_id), limit=500)["items"],
                      key=lambda u: collation_key(u["name"]))
    parent = models.unit(info["parent_id"]) if info["parent_id"] else None
    return render_template("unit.html", unit=info, parent=parent, children=children,
                           stats=stats, chart=chart, subunits=subunits,
                           rating=models.unit_rating(str(unit_id)))
