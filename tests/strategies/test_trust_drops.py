"""Issue #10 item 6: a NaN price at a trigger's anchor made ``x[t] / x[anchor]`` NaN for ever,
so the trigger never fired and nothing said so. The anchor now moves to the first session
with a price on or after the anchor date, and the decisions log says where."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.market import CASH
from strategies.base import Context
from strategies.core_satellite import CoreSatellite, CoreSatelliteParams
from strategies.triggers import Action, Condition, Trigger, condition_measure

D = pd.bdate_range("2024-01-01", periods=8)


def _ctx(iwm) -> Context:
    return Context(pd.DataFrame({"VOO": 100.0, "IWM": iwm, CASH: 1.0}, index=D))


def test_nan_price_at_anchor_moves_it_and_logs():
    iwm = [np.nan, 100.0, 104.0, 108.0, 112.0, 111.0, 115.0, 116.0]  # no close on 01-01
    cond = Condition("asset", "IWM", "return_since_anchor", ">=", 0.10)
    m = condition_measure(cond, _ctx(iwm))
    np.testing.assert_allclose(m.to_numpy()[1:], np.array(iwm[1:]) / 100.0 - 1.0, rtol=1e-15)
    assert m.attrs["anchor_note"] == (D[0], "IWM has no value on the anchor session "
                                            "2024-01-01; anchor moved to 2024-01-02")
    p = CoreSatelliteParams(sleeves={"core": {"VOO": 0.95}, "cash": {CASH: 0.05}},
                            triggers=(Trigger("iwm", cond, Action("set_weight", 0.05,
                                                                  asset="IWM",
                                                                  funding="cash")),))
    d = CoreSatellite(p).decide(_ctx(iwm))
    log = d.log.set_index("action")
    assert log.loc["anchor moved", "date"] == D[0]
    assert log.loc["anchor moved", "detail"].endswith("anchor moved to 2024-01-02")
    # it fires (it never did): 112 / 100 - 1 >= 10% on 2024-01-05
    fired = d.log[d.log["rule"] == "iwm"]
    assert list(fired["date"]) == [D[0], D[4]]


def test_anchor_without_any_later_price_says_never_armed():
    cond = Condition("asset", "IWM", "drawdown", "<=", -0.05, anchor="2024-01-05")
    m = condition_measure(cond, _ctx([100.0] * 4 + [np.nan] * 4))
    assert m.isna().all()
    assert m.attrs["anchor_note"][1].endswith("never armed: no later value either")
