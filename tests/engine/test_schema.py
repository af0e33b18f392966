"""The JSON Schemas shipped for editors match the models."""

from __future__ import annotations

import json

from engine.paths import bundled_content
from engine.schema import FORMATS, schema_for


def test_committed_schemas_are_current() -> None:
    folder = bundled_content() / "schema"
    stale = []
    for name in FORMATS:
        path = folder / f"{name}.json"
        if not path.exists() or json.loads(path.read_text()) != json.loads(json.dumps(schema_for(name))):
            stale.append(name)
    assert stale == [], "run: relaylab schema --out content/schema"
