"""Provides scenario overrides: a lab's changes to a base tenant scenario, merged as data.

Mappings merge key by key. Lists of named items (recipients, connectors, sites, ...) merge by
their key field: an override item with the same key updates that item, a new key appends, and
``remove: true`` deletes it. Other lists are replaced whole.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["LIST_KEYS", "merge_overrides"]

LIST_KEYS: dict[str, str] = {
    "accepted_domains": "name",
    "recipients": "address",
    "inbound_connectors": "name",
    "app_registrations": "app_id",
    "service_principals": "app_id",
    "sites": "name",
    "devices": "id",
    "internet": "name",
    "dkim": "domain",
}
"""List fields merged by key, and the key of their items."""


def _merge(base: Any, patch: Any, field: str | None) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = _merge(base.get(key), value, key) if key in base else _strip(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and field in LIST_KEYS:
        key = LIST_KEYS[field]
        out_list = [copy.deepcopy(item) for item in base]
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                out_list.append(copy.deepcopy(item))
                continue
            wanted = str(item[key]).lower()
            index = next((i for i, old in enumerate(out_list)
                          if isinstance(old, dict) and str(old.get(key, "")).lower() == wanted), None)
            if item.get("remove") is True:
                if index is not None:
                    out_list.pop(index)
                continue
            if index is None:
                out_list.append(_strip(item))
            else:
                out_list[index] = _merge(out_list[index], item, None)
        return out_list
    return copy.deepcopy(patch)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "remove"}
    return copy.deepcopy(value)


def merge_overrides(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` (a scenario as data) with ``overrides`` applied; neither input changes."""
    merged = _merge(base, overrides, None)
    assert isinstance(merged, dict)
    return merged
