"""Errors for bad input and the data-quality summary.

Policy (README "Contracts"): bad input raises :class:`DataError` naming the file, row and
column and saying how to fix it; nothing is dropped or filled silently -- every value a loader
fills or drops is counted in a :class:`DataQuality` that the run prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["ConfigError", "DataError", "DataQuality", "QualityItem"]


class DataError(ValueError):
    """Bad input data: what is wrong, where (file, row, column) and how to fix it.

    Parameters
    ----------
    problem : str
        What is wrong, e.g. ``"market cap is 0 where net buying exists"``.
    file : str, optional
        Path or name of the offending file.
    row : int, optional
        1-based line number in the file as a text editor shows it (header = line 1), or the
        0-based row position for in-memory frames (then ``row_kind="position"``).
    column : str, optional
        Offending column name as it appears in the file.
    fix : str, optional
        What the user should do.

    Examples
    --------
    >>> str(DataError("date '2021-13-01' cannot be parsed", file="a.csv", row=3, column="date",
    ...               fix="use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD"))
    "a.csv, line 3, column 'date': date '2021-13-01' cannot be parsed. Fix: use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD"
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        fix: str | None = None,
        row_kind: str = "line",
    ) -> None:
        self.problem = problem
        self.file = file
        self.row = row
        self.column = column
        self.fix = fix
        self.row_kind = row_kind
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"{self.row_kind} {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        msg = (", ".join(where) + ": " if where else "") + self.problem
        if self.fix:
            msg += f". Fix: {self.fix}"
        return msg


class ConfigError(ValueError):
    """Bad configuration: names the key path (``strategy.triggers[2].threshold_pct``) and value."""

    def __init__(self, key_path: str, value: object, problem: str, *, file: str | None = None):
        self.key_path = key_path
        self.value = value
        self.problem = problem
        self.file = file
        prefix = f"{file}: " if file else ""
        super().__init__(f"{prefix}{key_path} = {value!r}: {problem}")


@dataclass(frozen=True)
class QualityItem:
    """One counted data-quality event: ``count`` values ``action`` (filled/dropped/...)."""

    source: str
    action: str
    what: str
    count: int
    rule: str = ""


@dataclass
class DataQuality:
    """Counts of everything a loader filled, dropped or adjusted, printed by every run.

    Examples
    --------
    >>> q = DataQuality()
    >>> q.add("a.csv", "dropped", "cash rows", 2, rule="cash is not a constituent")
    >>> q.add("a.csv", "renormalized", "holdings snapshots", 1)
    >>> q.count("dropped")
    2
    >>> print(q.summary())  # doctest: +NORMALIZE_WHITESPACE
    data-quality summary
      a.csv: dropped 2 cash rows (cash is not a constituent)
      a.csv: renormalized 1 holdings snapshots
    """

    items: list[QualityItem] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)

    def add(self, source: str, action: str, what: str, count: int, rule: str = "") -> None:
        """Record ``count`` values of kind ``what`` that were ``action`` (zero counts are kept
        out of the summary but the call is cheap).

        Recording the same item again is a no-op: an input built twice from the same data
        (two signals on one synthesized flow, a sweep re-evaluating it) reports one fact, not
        two.

        >>> q = DataQuality()
        >>> for _ in range(3):
        ...     q.add("x", "set NaN", "ETF-days with no constituent present", 4)
        >>> q.count()
        4
        """
        if count:
            item = QualityItem(str(source), action, what, int(count), rule)
            if item not in self.items:
                self.items.append(item)

    def read(self, source: str, n_rows: int) -> None:
        """Record how many data rows were read from ``source``."""
        self.rows_read[str(source)] = self.rows_read.get(str(source), 0) + int(n_rows)

    def merge(self, others: Iterable[DataQuality]) -> DataQuality:
        """Return a new summary holding this one's items and the others'."""
        out = DataQuality(list(self.items), dict(self.rows_read))
        for o in others:
            out.items.extend(o.items)
            for k, v in o.rows_read.items():
                out.rows_read[k] = out.rows_read.get(k, 0) + v
        return out

    def count(self, action: str | None = None, what: str | None = None) -> int:
        """Total count, optionally restricted to one action and/or one kind of value."""
        return sum(
            i.count
            for i in self.items
            if (action is None or i.action == action) and (what is None or i.what == what)
        )

    @property
    def clean(self) -> bool:
        """True when nothing was filled, dropped or adjusted."""
        return not self.items

    def summary(self) -> str:
        """Human-readable multi-line summary."""
        lines = ["data-quality summary"]
        for src, n in self.rows_read.items():
            lines.append(f"  {src}: read {n:,} rows")
        if not self.items:
            lines.append("  nothing filled, dropped or adjusted")
        for i in self.items:
            rule = f" ({i.rule})" if i.rule else ""
            lines.append(f"  {i.source}: {i.action} {i.count:,} {i.what}{rule}")
        return "\n".join(lines)
