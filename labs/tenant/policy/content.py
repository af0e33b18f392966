"""Provides Exchange Online Protection's sender authentication of anonymous mail: SPF, DKIM, DMARC
and the composite verdict (compauth) that decides Inbox, Junk or rejection.

Everything is answered from the scenario's DNS (:class:`labs.tenant.dns.ScenarioDns`). SPF is
evaluated by pyspf, DKIM by dkimpy; DMARC alignment uses the public suffix list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import dkim
import spf
from publicsuffixlist import PublicSuffixList

from labs.tenant.dns import ScenarioDns
from labs.tenant.policy import replies as R

__all__ = [
    "AuthVerdict",
    "DmarcRecord",
    "authentication_results",
    "check_dkim",
    "check_spf",
    "evaluate",
    "organizational_domain",
    "parse_dmarc",
]

@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # parses the bundled list: done on first use, not at import


@lru_cache(maxsize=2048)
def organizational_domain(domain: str) -> str:
    """Return the organisational domain (``mail.contoso.co.uk`` → ``contoso.co.uk``)."""
    domain = domain.lower().rstrip(".")
    return str(_psl().privatesuffix(domain) or domain)


class _Query(spf.query):  # type: ignore[misc]
    """pyspf query whose DNS comes from the scenario."""

    def __init__(self, dns: ScenarioDns, *args: Any, **kwargs: Any) -> None:
        self._scenario_dns = dns
        super().__init__(*args, **kwargs)

    def dns(self, name: str, qtype: str, cnames: Any = None, ignore_void: bool = False) -> list[Any]:
        if not name:
            raise spf.PermError("Invalid query")
        result = self._scenario_dns.spf_answers(name, qtype)
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result


def check_spf(dns: ScenarioDns, ip: str, mail_from: str, helo: str) -> str:
    """Return the SPF result: pass, fail, softfail, neutral, none, permerror or temperror."""
    try:
        query = _Query(dns, i=ip, s=mail_from or "", h=helo or "unknown", timeout=1)
        result, _code, _text = query.check()
    except Exception:  # pyspf raises on malformed input; SPF says permerror
        return "permerror"
    return str(result)


def check_dkim(dns: ScenarioDns, message: bytes) -> tuple[str, str | None]:
    """Verify the first DKIM-Signature: (pass | fail | none, signing domain)."""
    if b"dkim-signature:" not in message[:65536].lower():
        return "none", None
    try:
        verifier = dkim.DKIM(message, minkey=1024)
        ok = verifier.verify(dnsfunc=dns.dkim_txt)
        domain = verifier.domain.decode() if verifier.domain else None
    except Exception:
        return "fail", None
    return ("pass" if ok else "fail"), domain


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    """A parsed DMARC record."""

    policy: Literal["none", "quarantine", "reject"]
    aspf: Literal["r", "s"] = "r"
    adkim: Literal["r", "s"] = "r"
    pct: int = 100


def parse_dmarc(text: str) -> DmarcRecord | None:
    """Parse ``v=DMARC1; p=...`` (None when it is not a valid DMARC record)."""
    tags = {}
    for part in text.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            tags[key.strip().lower()] = value.strip().lower()
    if tags.get("v") != "dmarc1" or tags.get("p") not in ("none", "quarantine", "reject"):
        return None
    pct = int(tags["pct"]) if tags.get("pct", "").isdigit() else 100
    return DmarcRecord(tags["p"], "s" if tags.get("aspf") == "s" else "r",  # type: ignore[arg-type]
                       "s" if tags.get("adkim") == "s" else "r", pct)  # type: ignore[arg-type]


def _dmarc_for(dns: ScenarioDns, domain: str) -> DmarcRecord | None:
    for name in (f"_dmarc.{domain}", f"_dmarc.{organizational_domain(domain)}"):
        for txt in dns.txt(name):
            record = parse_dmarc(txt)
            if record is not None:
                return record
    return None


def _aligned(a: str | None, b: str, mode: str) -> bool:
    if not a:
        return False
    a, b = a.lower(), b.lower()
    return a == b if mode == "s" else organizational_domain(a) == organizational_domain(b)


@dataclass(frozen=True, slots=True)
class AuthVerdict:
    """Sender authentication of one message, and what it means for delivery."""

    spf: str
    spf_domain: str
    dkim: str
    dkim_domain: str | None
    dmarc: str
    """pass, fail, bestguesspass or none."""
    dmarc_action: str
    """none, oreject, quarantine, reject."""
    from_domain: str
    compauth: str
    """pass, fail, softpass or none."""
    reason: int
    folder: Literal["Inbox", "Junk Email", "reject"]
    scl: int
    reject: R.Reply | None = None

    def as_dict(self) -> dict[str, str]:
        """The results as a mapping for records."""
        return {"spf": self.spf, "dkim": self.dkim, "dmarc": self.dmarc, "compauth": self.compauth,
                "reason": f"{self.reason:03d}", "folder": self.folder}


def evaluate(dns: ScenarioDns, *, ip: str, mail_from: str, helo: str, header_from: str | None,
             message: bytes, accepted_domains: set[str], spf_cache: dict[tuple[str, str], str] | None = None
             ) -> AuthVerdict:
    """Authenticate an anonymous message and decide where it goes.

    Args:
        dns: the scenario's DNS.
        ip: the sender's public IP.
        mail_from: P1 sender.
        helo: EHLO name.
        header_from: P2 From address (falls back to P1).
        message: the message bytes (for DKIM).
        accepted_domains: the receiving tenant's accepted domains (for the intra-org spoof verdict).
        spf_cache: optional cache of SPF results by (ip, domain).
    """
    mail_domain = mail_from.rpartition("@")[2].lower() or (helo or "").lower()
    from_domain = (header_from or mail_from).rpartition("@")[2].lower()
    key = (ip, mail_domain)
    if spf_cache is not None and key in spf_cache:
        spf_result = spf_cache[key]
    else:
        spf_result = check_spf(dns, ip, mail_from, helo)
        if spf_cache is not None:
            if len(spf_cache) >= 4096:  # bounded: a sender may try any number of domains
                spf_cache.clear()
            spf_cache[key] = spf_result
    dkim_result, dkim_domain = check_dkim(dns, message)
    record = _dmarc_for(dns, from_domain) if from_domain else None
    spf_ok = spf_result == "pass" and _aligned(mail_domain, from_domain, record.aspf if record else "r")
    dkim_ok = dkim_result == "pass" and _aligned(dkim_domain, from_domain, record.adkim if record else "r")
    own_domain = organizational_domain(from_domain) in {organizational_domain(d) for d in accepted_domains} \
        if from_domain else False
    if record is None:
        dmarc, action = ("bestguesspass" if (spf_ok or dkim_ok) else "none"), "none"
    elif spf_ok or dkim_ok:
        dmarc, action = "pass", "none"
    else:
        dmarc = "fail"
        action = {"reject": "reject", "quarantine": "quarantine", "none": "none"}[record.policy]
    folder: Literal["Inbox", "Junk Email", "reject"]
    if dmarc == "pass":
        compauth, reason, folder, scl = "pass", 100, "Inbox", 1
    elif dmarc == "fail" and action == "reject":
        compauth, reason, folder, scl = "fail", 0, "reject", 9
    elif dmarc == "fail" and action == "quarantine":
        compauth, reason, folder, scl = "fail", 0, "Junk Email", 9
    elif dmarc == "bestguesspass":
        compauth, reason, folder, scl = "pass", 109, "Inbox", 1
    elif spf_result in ("fail", "softfail", "permerror") and own_domain:
        compauth, reason, folder, scl = "fail", 601, "Junk Email", 5
    elif spf_result in ("fail",):
        compauth, reason, folder, scl = "fail", 1, "Junk Email", 5
    elif spf_result == "softfail":
        compauth, reason, folder, scl = "softpass", 201, "Inbox", 1
    else:
        compauth, reason, folder, scl = "none", 1, "Inbox", 1
    reject = R.dmarc_reject(from_domain) if folder == "reject" else None
    return AuthVerdict(spf_result, mail_domain, dkim_result, dkim_domain, dmarc, action, from_domain,
                       compauth, reason, folder, scl, reject)


_SAFE = re.compile(r"[^\x20-\x7e]")


def authentication_results(v: AuthVerdict, ip: str, receiver: str = "") -> str:
    """Return the Authentication-Results header value Exchange Online stamps."""
    spf_detail = {
        "pass": f"sender IP is {ip}",
        "fail": f"domain of {v.spf_domain} does not designate {ip} as permitted sender",
        "softfail": f"domain of transitioning {v.spf_domain} discourages use of {ip} as permitted sender",
    }.get(v.spf, f"sender IP is {ip}")
    dkim_part = (f"dkim={v.dkim} (signature was verified) header.d={v.dkim_domain}" if v.dkim == "pass"
                 else f"dkim={v.dkim} (message not signed) header.d=none" if v.dkim == "none"
                 else f"dkim={v.dkim} (signature did not verify) header.d={v.dkim_domain or 'none'}")
    text = (f"{receiver + '; ' if receiver else ''}spf={v.spf} ({spf_detail}) smtp.mailfrom={v.spf_domain}; "
            f"{dkim_part};dmarc={v.dmarc} action={v.dmarc_action} header.from={v.from_domain};"
            f"compauth={v.compauth} reason={v.reason:03d}")
    return _SAFE.sub("?", text)
