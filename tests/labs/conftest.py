"""Fixtures for the mock tenant: the bundled contoso scenario, and variants of it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.paths import bundled_content
from labs.tenant.overrides import merge_overrides
from labs.tenant.scenario import TenantScenario


def load_contoso(**overrides: Any) -> TenantScenario:
    """The bundled contoso scenario, with overrides merged (see labs.tenant.overrides)."""
    data = yaml.safe_load((bundled_content() / "tenants" / "contoso.yaml").read_text())
    if overrides:
        data = merge_overrides(TenantScenario.model_validate(data).model_dump(mode="json"), overrides)
    return TenantScenario.model_validate(data)


@pytest.fixture
def contoso() -> TenantScenario:
    return load_contoso()
