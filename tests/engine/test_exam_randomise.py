"""Per-candidate randomisation of a lab's tenant: one consistent rewrite, under which every lab's
reference solution still passes and its starting config still fails."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import tempfile
from pathlib import Path

import pytest

from engine.exam.labitem import (
    build_exam_lab,
    grade_capture,
    public_lab,
    run_capture,
    sealed_lab,
    start_runner,
)
from engine.exam.randomise import DOC_NETS, tenant_mapping
from engine.loader import CourseTree, load_course
from engine.paths import bundled_content
from labs.tenant.scenario import mx_host_for
from tests.engine import test_exam_helpers as helpers

LAB_IDS = sorted(load_course(bundled_content()).labs)
SCENARIO = {"recipients": [{"address": "adele.vance@contoso.com", "display_name": "Adele Vance"},
                           {"address": "helpdesk@contoso.com", "display_name": "IT Helpdesk", "type": "SharedMailbox"}],
            "sites": [{"public_ip": "203.0.113.10"}, {"public_ip": "198.51.100.77"}]}

tree = helpers.tree


def test_the_same_seed_gives_the_same_mapping_and_seeds_differ() -> None:
    a, b = tenant_mapping("seed-a", SCENARIO), tenant_mapping("seed-a", SCENARIO)
    assert a.text("adele.vance@contoso.com from 203.0.113.10") == b.text("adele.vance@contoso.com from 203.0.113.10")
    domains = {tenant_mapping(f"seed-{n}", SCENARIO).text("contoso.com") for n in range(12)}
    assert len(domains) > 3 and "contoso.com" not in domains


def test_names_are_rewritten_consistently() -> None:
    m = tenant_mapping("s", SCENARIO)
    domain = m.text("contoso.com")
    assert m.text("contoso-com.mail.protection.outlook.com") == mx_host_for(domain)
    assert m.text("legacy.contoso.com") == "legacy." + domain
    assert m.text("*.contoso.com") == "*." + domain
    assert m.text("contoso.onmicrosoft.com").endswith(".onmicrosoft.com")
    assert m.text("Contoso Ltd").endswith(" Ltd") and "Contoso" not in m.text("Contoso Ltd")
    person = m.text("adele.vance")
    assert person != "adele.vance" and m.text("Adele Vance") == person.replace(".", " ").title()
    assert m.text("helpdesk@contoso.com") == f"helpdesk@{domain}"  # function mailboxes stay
    assert m.text("port 587, 535 5.7.139, smtp.office365.com") == "port 587, 535 5.7.139, smtp.office365.com"


def test_guids_change_but_microsoft_well_known_ids_stay() -> None:
    m = tenant_mapping("s", SCENARIO)
    guid = "8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5f"
    assert m.text(guid) != guid and m.text(guid) == m.text(guid) and len(m.text(guid)) == 36
    assert m.text("00000002-0000-0ff1-ce00-000000000000") == "00000002-0000-0ff1-ce00-000000000000"


def test_ip_ranges_still_cover_exactly_the_addresses_they_covered() -> None:
    rng = random.Random(5)
    for n in range(40):
        m = tenant_mapping(f"seed-{n}", SCENARIO)
        net = rng.choice(DOC_NETS)
        bits = rng.randint(24, 32)
        base = rng.randrange(256) & (0xFF << (32 - bits)) & 0xFF
        cidr = ipaddress.IPv4Network(f"{net}.{base}/{bits}")
        mapped = ipaddress.IPv4Network(m.text(str(cidr)))
        assert mapped.prefixlen == bits
        for last in range(256):
            address = ipaddress.IPv4Address(f"{net}.{last}")
            new = ipaddress.IPv4Address(m.text(str(address)))
            assert (address in cidr) == (new in mapped)
            assert str(new).rsplit(".", 1)[0] in DOC_NETS
    assert tenant_mapping("s", SCENARIO).text("127.0.0.10 and 40.107.22.133") == "127.0.0.10 and 40.107.22.133"


def test_public_site_addresses_never_become_network_or_broadcast_addresses() -> None:
    for n in range(50):
        m = tenant_mapping(f"seed-{n}", SCENARIO)
        for ip in ("203.0.113.10", "198.51.100.77"):
            assert m.text(ip).rsplit(".", 1)[1] not in ("0", "255")


async def _run(tree: CourseTree, lab_id: str, seed: str, solution: bool) -> tuple[bool, float, float, str]:
    exam_lab = build_exam_lab(public_lab(tree, lab_id), seed, sealed_lab(tree, lab_id))
    with tempfile.TemporaryDirectory() as tmp:
        runner = start_runner(exam_lab, Path(tmp), device_timeout=0.5)
        await runner.start()
        try:
            config = exam_lab.solution_config if solution else exam_lab.lab.start_config
            capture = await run_capture(runner, config, exam_lab.lab.solution.admin if solution else [])
        finally:
            await runner.stop()
    result = grade_capture(exam_lab.lab.rubric, capture)
    return result.passed, result.score, result.max_score, exam_lab.lab.start_config.from_address


@pytest.mark.parametrize("lab_id", LAB_IDS)
def test_the_reference_solution_passes_after_randomisation(tree: CourseTree, lab_id: str) -> None:
    seed = f"candidate-{lab_id}"
    passed, score, max_score, sender = asyncio.run(_run(tree, lab_id, seed, solution=True))
    assert passed and score == max_score, f"{lab_id}: {score}/{max_score}"
    assert sender != tree.labs[lab_id].start_config.from_address or "@" not in sender or \
        sender.split("@")[1] not in ("contoso.com", "fabrikam.com", "northwindtraders.com")


@pytest.mark.parametrize("lab_id", LAB_IDS)
def test_the_starting_config_still_fails_after_randomisation(tree: CourseTree, lab_id: str) -> None:
    passed, _score, _max, _sender = asyncio.run(_run(tree, lab_id, f"other-{lab_id}", solution=False))
    assert not passed
