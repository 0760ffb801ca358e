"""Canonical investor types (README "Contracts").

Every layer uses the English ids below; source files carry Korean names (KRX data portal,
pykrx exports) or KRX investor codes (``1000`` = financial investment, ...), and the loaders
map them here. The order of :data:`INVESTORS` is the canonical axis order of ``net_buy``.

Net buying is always buy minus sell, in the market's currency (KRW for KRX data).

Aggregates: ``foreign`` is 외국인(합계), the total including ``other_foreign`` (기타외국인), and
``institution`` is 기관합계, the sum of financial_investment .. pension. The loaders keep that
meaning in every format (a detailed pykrx/KRX file's 외국인, which excludes 기타외국인, is
folded into the total). Summing every column therefore counts both parts twice; the
non-overlapping set is: foreign - other_foreign, other_foreign, the seven institution
sub-types, other_corp, individual. KRX's per-stock query code 9000 is 외국인 without
기타외국인 (code 9001): load both files to get the total. Exception, stated in its docstring:
:func:`datasets.make_market` returns ``foreign`` as the atomic part (excluding other_foreign,
which is small) so that its atomic types net to zero.
"""

from __future__ import annotations

import enum

__all__ = [
    "INVESTORS",
    "Investor",
    "KOREAN_NAMES",
    "KRX_INVESTOR_CODES",
    "canonical_investor",
]


class Investor(enum.IntEnum):
    """Canonical investor type; the integer is the position on the investor axis."""

    foreign = 0
    other_foreign = 1
    institution = 2
    financial_investment = 3
    insurance = 4
    investment_trust = 5
    private_fund = 6
    bank = 7
    other_finance = 8
    pension = 9
    other_corp = 10
    individual = 11


#: Canonical investor ids in axis order.
INVESTORS: tuple[str, ...] = tuple(m.name for m in Investor)

#: Korean source names (KRX portal and pykrx headers) -> canonical id. Several spellings occur
#: in the wild ("외국인" in the market-wide series, "외국인합계" in per-stock detail).
KOREAN_NAMES: dict[str, str] = {
    "외국인": "foreign",
    "외국인합계": "foreign",
    "외국인(합계)": "foreign",
    "기타외국인": "other_foreign",
    "기관": "institution",
    "기관합계": "institution",
    "금융투자": "financial_investment",
    "보험": "insurance",
    "투신": "investment_trust",
    "사모": "private_fund",
    "은행": "bank",
    "기타금융": "other_finance",
    "연기금": "pension",
    "연기금등": "pension",
    "연기금(등)": "pension",
    "기타법인": "other_corp",
    "개인": "individual",
}

#: KRX data-portal investor codes (the ``inv`` parameter of the per-stock net purchases query,
#: as pykrx uses them) -> canonical id.
KRX_INVESTOR_CODES: dict[str, str] = {
    "1000": "financial_investment",
    "2000": "insurance",
    "3000": "investment_trust",
    "3100": "private_fund",
    "4000": "bank",
    "5000": "other_finance",
    "6000": "pension",
    "7050": "institution",
    "7100": "other_corp",
    "8000": "individual",
    "9000": "foreign",
    "9001": "other_foreign",
}


def canonical_investor(name: str) -> str:
    """Map a source investor name (English id, Korean name or KRX code) to its canonical id.

    Parameters
    ----------
    name : str
        ``"foreign"``, ``"외국인합계"``, ``"9000"``, ... Surrounding spaces are ignored.

    Returns
    -------
    str
        One of :data:`INVESTORS`.

    Raises
    ------
    KeyError
        If the name is not a known investor type; the message lists the accepted ids.

    Examples
    --------
    >>> canonical_investor("외국인합계"), canonical_investor("8000"), canonical_investor("pension")
    ('foreign', 'individual', 'pension')
    """
    key = str(name).strip()
    if key in INVESTORS:
        return key
    compact = key.replace(" ", "")
    if compact in KOREAN_NAMES:
        return KOREAN_NAMES[compact]
    if compact in KRX_INVESTOR_CODES:
        return KRX_INVESTOR_CODES[compact]
    raise KeyError(
        f"unknown investor type {name!r}; expected one of {', '.join(INVESTORS)} "
        f"or a Korean name such as {', '.join(sorted(set(KOREAN_NAMES)))}"
    )
