"""Apply the verdict engine to a stored method and a raw reading.

A thin adapter over the method-kind registry (``lims.verdicts.registry``): the method row gives
the kind, the parameters and the code; the registry's module for that kind judges the reading
and adds the method's warnings. The raw keys each kind needs come from the registry too
(``raw_keys(kind)``; ``lims/refdata/method_kinds.toml`` lists the kinds).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from lims.models import Analyte, Commodity, Method
from lims.verdicts import Verdict, judge_reading, kinds, raw_keys


class _RawKeys(Mapping[str, tuple[str, ...]]):
    """``RAW_KEYS[kind]`` for callers written before the registry: a live view of it."""

    def __getitem__(self, kind: str) -> tuple[str, ...]:
        return raw_keys(kind)

    def __iter__(self) -> Iterator[str]:
        return iter(kinds())

    def __len__(self) -> int:
        return len(kinds())


RAW_KEYS: Mapping[str, tuple[str, ...]] = _RawKeys()


def raw_keys_of(method: Method) -> tuple[str, ...]:
    """The raw values a reading of ``method`` must carry (from its kind's module)."""
    return raw_keys(method.kind)


def judge(method: Method, raw: dict[str, Any], *, commodity: Commodity,
          analyte: Analyte | None, on: date, limit_for=None,
          standard: str | None = None) -> Verdict:
    """Judge ``raw`` with ``method``. ``limit_for(analyte, commodity, on, standard)`` finds MRLs."""
    return judge_reading(method.kind, raw, method.params, method_code=method.code,
                         commodity=commodity, analyte=analyte, on=on, limit_for=limit_for,
                         standard=standard)


def remembered_limits(cache: Any):
    """``cache.limit`` (a ``RefCache``) remembered for a batch: a pure function of the
    reference data, asked once per analyte, commodity, day and standard."""
    memo: dict[tuple, Any] = {}

    def limit_for(a, c, on, std):
        key = (a.id, c.id, on, std)
        if key not in memo:
            memo[key] = cache.limit(a, c, on, std)
        return memo[key]
    return limit_for
