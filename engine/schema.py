"""Provides the JSON Schema of every content format, for editors (yaml-language-server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from engine.models.assessment import Assessment
from engine.models.course import Course, Coverage, Glossary
from engine.models.fielddocs import field_docs
from engine.models.lab import Lab
from engine.models.lesson import Lesson
from engine.models.question import QuestionSet
from labs.tenant.scenario import TenantScenario

__all__ = ["FORMATS", "schema_for", "write_schemas"]

FORMATS: dict[str, type[BaseModel]] = {
    "course": Course,
    "lesson": Lesson,
    "questions": QuestionSet,
    "tenant": TenantScenario,
    "lab": Lab,
    "assessment": Assessment,
    "glossary": Glossary,
    "coverage": Coverage,
}
"""Format name → model; the schema file of a format is ``<name>.json``."""


class _DocumentedSchema(GenerateJsonSchema):
    """JSON Schema generator that describes each property with its field's attribute docstring."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        cls = schema["cls"]
        properties = json_schema.get("properties", {})
        for name, doc in field_docs(cls).items():
            info = cls.model_fields.get(name)
            if info is None:
                continue
            key = (info.validation_alias if isinstance(info.validation_alias, str) else None) or info.alias or name
            prop = properties.get(key)
            if isinstance(prop, dict) and "description" not in prop:
                prop["description"] = doc
        return json_schema


def schema_for(name: str) -> dict[str, Any]:
    """Return the JSON Schema of the format ``name``."""
    model = FORMATS[name]
    schema = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_DocumentedSchema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("title", model.__name__)
    return schema


def write_schemas(folder: Path) -> list[Path]:
    """Write every format's schema into ``folder``; return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FORMATS:
        path = folder / f"{name}.json"
        text = json.dumps(schema_for(name), indent=2, sort_keys=True) + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
