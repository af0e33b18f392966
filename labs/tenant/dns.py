"""Provides the simulated DNS: the scenario's records plus Microsoft's own zone, never the network.

SPF (pyspf) and DKIM (dkimpy) look names up through :class:`ScenarioDns`. The DKIM public keys of
the tenant's selectors (``selector1-contoso-com._domainkey.contoso.onmicrosoft.com``) are published
from the keys the local PKI holds, so a signature made by the tenant verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labs.tenant.scenario import TenantScenario

__all__ = ["MICROSOFT_SPF", "OUTBOUND_IP", "RELAY_POOL_IP", "ScenarioDns", "dkim_selector_host"]

MICROSOFT_SPF = (
    "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:52.102.0.0/16 ip4:52.103.0.0/16 "
    "ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/49 -all"
)
"""TXT of spf.protection.outlook.com (the include every tenant's SPF record names)."""

OUTBOUND_IP = "40.107.22.133"
"""Address Exchange Online's outbound servers send from (inside spf.protection.outlook.com)."""

RELAY_POOL_IP = "40.95.14.20"
"""Address of the relay pool (40.95.0.0/16), used for relayed mail from non-accepted domains."""


def dkim_selector_host(selector: str, domain: str, initial_domain: str) -> str:
    """Return Microsoft's DKIM key host for a domain: ``selector1-contoso-com._domainkey.contoso.onmicrosoft.com``."""
    return f"{selector}-{domain.replace('.', '-')}._domainkey.{initial_domain}"


class ScenarioDns:
    """DNS answers from a scenario. ``dkim_public_key(domain, selector)`` supplies key material."""

    def __init__(self, scenario: TenantScenario, dkim_public_key: Callable[[str, str], str] | None = None) -> None:
        self._records: dict[tuple[str, str], list[Any]] = {}
        for r in scenario.dns:
            value: Any = r.value
            if r.type == "MX":
                value = (r.priority, r.value.rstrip(".").lower())
            elif r.type == "CNAME":
                value = r.value.rstrip(".").lower()
            self._records.setdefault((r.name, r.type), []).append(value)
        self._records.setdefault(("spf.protection.outlook.com", "TXT"), [MICROSOFT_SPF])
        self._scenario = scenario
        self._dkim_public_key = dkim_public_key
        self._dkim_hosts: dict[str, tuple[str, str]] = {}
        for domain in [*(d.name for d in scenario.accepted_domains), scenario.initial_domain]:
            for selector in ("selector1", "selector2"):
                self._dkim_hosts[dkim_selector_host(selector, domain, scenario.initial_domain)] = (domain, selector)
        for selector in ("selector1", "selector2"):
            # Exchange Online signs with the initial domain when a domain's own signing is off; its
            # selectors are published on the initial domain itself.
            self._dkim_hosts[f"{selector}._domainkey.{scenario.initial_domain}"] = (scenario.initial_domain, selector)

    def lookup(self, name: str, rtype: str, depth: int = 0) -> list[Any]:
        """Return the answers for (name, type), following CNAMEs (at most 8)."""
        name = name.rstrip(".").lower()
        answers = self._records.get((name, rtype))
        if answers:
            return list(answers)
        if rtype == "TXT" and name in self._dkim_hosts and self._dkim_public_key is not None:
            domain, selector = self._dkim_hosts[name]
            return [f"v=DKIM1; k=rsa; p={self._dkim_public_key(domain, selector)}"]
        cname = self._records.get((name, "CNAME"))
        if cname and rtype != "CNAME" and depth < 8:
            return self.lookup(cname[0], rtype, depth + 1)
        return []

    def txt(self, name: str) -> list[str]:
        """TXT strings at ``name``."""
        return [str(v) for v in self.lookup(name, "TXT")]

    def cname(self, name: str) -> str | None:
        """The CNAME target at ``name``."""
        found = self._records.get((name.rstrip(".").lower(), "CNAME"))
        return str(found[0]) if found else None

    def mx(self, name: str) -> list[tuple[int, str]]:
        """MX records at ``name``."""
        return [tuple(v) for v in self.lookup(name, "MX")]  # type: ignore[misc]

    def exists(self, domain: str) -> bool:
        """Whether any record exists at or under ``domain``."""
        domain = domain.lower()
        return any(n == domain or n.endswith("." + domain) for n, _t in self._records)

    # -- adapters for pyspf and dkimpy ---------------------------------------------------------

    def spf_answers(self, name: str, qtype: str) -> list[Any]:
        """Answers in pyspf's shape: TXT as a tuple of bytes, MX as (pref, host), A as text."""
        if qtype in ("TXT", "SPF"):
            return [(t.encode(),) for t in self.txt(name)] if qtype == "TXT" else []
        if qtype == "MX":
            return [tuple(v) for v in self.lookup(name, "MX")]
        if qtype == "A":
            return [str(v) for v in self.lookup(name, "A")]
        return []

    def dkim_txt(self, name: bytes | str, timeout: float = 5) -> bytes | None:
        """dkimpy's ``dnsfunc``: the first TXT at ``name`` as bytes."""
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        found = self.txt(text)
        return found[0].encode() if found else None
