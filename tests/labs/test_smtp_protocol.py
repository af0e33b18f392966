"""TenantSMTP sets up everything aiosmtpd's own constructor does (it skips only the slow reflection)."""

from __future__ import annotations

from pathlib import Path

from aiosmtpd.smtp import SMTP

from labs.tenant.server import Tenant
from labs.tenant.smtp import TenantSMTP
from tests.labs.conftest import load_contoso


async def test_every_attribute_of_aiosmtpd_init_is_set(tmp_path: Path) -> None:
    class Handler:
        pass

    stock = SMTP(Handler(), hostname="x")
    tenant = Tenant(load_contoso(), state_dir=tmp_path / "s", pki_dir=tmp_path / "pki")
    listener = tenant._plan()[0]
    ours = TenantSMTP(tenant, listener)
    missing = sorted(set(vars(stock)) - set(vars(ours)))
    assert missing == []
    assert ours._smtp_methods.keys() >= {"HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "AUTH", "STARTTLS", "QUIT"}
    assert ours.command_size_limits["AUTH"] > 60000 and ours.command_size_limits["NOOP"] == 512


def test_simple_and_complex_addresses_parse_alike() -> None:
    parse = SMTP._getaddr
    fast = TenantSMTP._getaddr
    for arg in ["<adele.vance@contoso.com>", "<a@b.com> SIZE=100 BODY=8BITMIME", '<"odd name"@contoso.com>',
                "plain@contoso.com", "<a@[127.0.0.1]>"]:
        slow_addr, slow_rest = parse(_Dummy(), arg)  # type: ignore[arg-type]
        fast_addr, fast_rest = fast(_Dummy(), arg)  # type: ignore[arg-type]
        assert fast_addr == slow_addr, arg
        assert (fast_rest or "").split() == (slow_rest or "").split(), arg


class _Dummy:
    local_part_limit = 0
