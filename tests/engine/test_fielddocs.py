"""Field documentation is read from the models' source: every documented field has it, inherited ones too."""

from __future__ import annotations

from engine.models.fielddocs import field_doc, field_docs
from engine.models.lesson import Lesson
from engine.schema import schema_for
from labs.tenant.scenario import TenantScenario


def test_a_field_docstring_is_found() -> None:
    assert field_doc(Lesson, "summary") == "One sentence shown in the course map."
    assert field_doc(Lesson, "no-such-field") is None


def test_every_documented_field_of_a_model_is_listed() -> None:
    docs = field_docs(TenantScenario)
    assert docs, "TenantScenario documents its fields"
    assert set(docs) <= set(TenantScenario.model_fields)


def test_the_schema_describes_fields_with_their_docstrings() -> None:
    schema = schema_for("lesson")
    assert schema["properties"]["summary"]["description"] == "One sentence shown in the course map."
