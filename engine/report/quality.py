"""The data-quality summary section (quality.json or run.json ``quality``)."""

from __future__ import annotations

import pandas as pd

from engine.report._html import table
from engine.report.registry import section

__all__: list[str] = []


@section("quality", "Data quality", order=90)
def quality(files, ctx):
    items = files.quality()
    if items is None:
        return None
    head = ctx.heading("quality", "Data quality")
    if not items:
        return head + '<p class="note ok">Nothing filled, dropped or adjusted.</p>'
    df = pd.DataFrame(items).reindex(columns=["source", "action", "what", "count", "rule"])
    return (head + '<p class="note">Everything the loaders read, filled, dropped or adjusted, '
            "as the run printed it.</p>" + table(df, index=False, formats={"count": ",d"},
                                                 scroll=True))
