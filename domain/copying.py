"""Cheap copies of aggregates.

The application hands each command its own copy of a cached aggregate, so a command that
breaks a rule halfway leaves the cache untouched. Our aggregates hold immutable values
(UUIDs, strings, datetimes, events) and flat sets, dicts and lists of them, so copying
the containers is a deep copy, without `copy.deepcopy`'s slow walk over every UUID.
"""

from __future__ import annotations

from typing import Any


class FlatCopy:
    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        clone = object.__new__(type(self))
        clone.__dict__.update(
            (name, value.copy() if isinstance(value, (dict, set, list)) else value)
            for name, value in vars(self).items())
        return clone
