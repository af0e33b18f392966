"""Provides the per-candidate randomisation of a lab's tenant: one consistent rewrite of every
domain name, public IP, GUID and person mailbox, applied alike to the scenario, the device's
starting config, the task text, the rubric and the reference solution.

The mapping is a pure function of the attempt's seed and of the lab's *public* data (what the
candidate's bundle carries), so the candidate's machine and the assessor's machine compute the same
mapping independently; the assessor applies it to the sealed rubric and solution.

What changes:

* **Organisations** — the fictitious companies of the course (Contoso, Fabrikam, Northwind
  Traders) become other fictitious companies (Tailspin Toys, Woodgrove Bank, ...): display names
  (``Contoso Ltd``) and domain labels alike, so ``contoso.com``, ``legacy.contoso.com``,
  ``contoso.onmicrosoft.com``, the MX host ``contoso-com.mail.protection.outlook.com`` and
  ``contoso-payments.net`` stay consistent with each other.
* **Public IPs** in the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24):
  the three /24s are permuted and the last octet is XORed with a per-candidate byte. XOR maps
  every aligned block onto an aligned block of the same size, so a connector's ``/24``–``/32``
  range still covers exactly the translated addresses it covered before.
* **GUIDs** (tenant id, app ids, object ids, secret ids) become other GUIDs (HMAC of the
  original); Microsoft's well-known ids (``00000002-0000-0ff1-ce00-...``) stay.
* **People** — mailboxes named ``first.last`` whose display name is that person become other
  people of the pool, in addresses, display names and prose.

What stays fixed (no consistent rewrite exists or it would change the lesson): passwords and
client secret values, ports and host names of Microsoft's endpoints, reply codes, the scenario
clock, function mailboxes (``helpdesk@``, ``app@``), CIDR masks wider than /24, addresses
outside the documentation ranges, and the names used in question prompts (questions are not
randomised).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["ORGANISATIONS", "PEOPLE", "TenantMapping", "tenant_mapping"]

ORGANISATIONS: tuple[tuple[str, str], ...] = (
    ("Contoso", "contoso"),
    ("Fabrikam", "fabrikam"),
    ("Northwind Traders", "northwindtraders"),
    ("Tailspin Toys", "tailspintoys"),
    ("Wingtip Toys", "wingtiptoys"),
    ("Woodgrove Bank", "woodgrovebank"),
    ("Litware", "litware"),
    ("Proseware", "proseware"),
    ("Adventure Works", "adventureworks"),
    ("Alpine Ski House", "alpineskihouse"),
    ("Coho Winery", "cohowinery"),
    ("Fourth Coffee", "fourthcoffee"),
    ("Lamna Healthcare", "lamnahealthcare"),
    ("Relecloud", "relecloud"),
    ("Trey Research", "treyresearch"),
    ("Wide World Importers", "wideworldimporters"),
    ("Lucerne Publishing", "lucernepublishing"),
    ("Humongous Insurance", "humongousinsurance"),
    ("Blue Yonder Airlines", "blueyonderairlines"),
    ("Graphic Design Institute", "graphicdesigninstitute"),
)
"""Microsoft's fictitious companies: (display name, domain label)."""

COURSE_ORGANISATIONS = frozenset({"contoso", "fabrikam", "northwindtraders"})
"""Never used as a replacement: the bundled course's own companies."""

PEOPLE: tuple[tuple[str, str], ...] = (
    ("Adele", "Vance"), ("Alex", "Wilber"), ("Megan", "Bowen"), ("Diego", "Siciliani"),
    ("Nestor", "Wilke"), ("Lynne", "Robbins"), ("Isaiah", "Langer"), ("Johanna", "Lorenz"),
    ("Lidia", "Holloway"), ("Miriam", "Graham"), ("Patti", "Fernandez"), ("Pradeep", "Gupta"),
    ("Grady", "Archie"), ("Henrietta", "Mueller"), ("Irvin", "Sayers"), ("Joni", "Sherman"),
    ("Enrico", "Cattaneo"), ("Christie", "Cline"), ("Allan", "Deyoung"), ("Debra", "Berger"),
)
"""Fictitious people: (first name, last name)."""

DOC_NETS = ("192.0.2", "198.51.100", "203.0.113")
"""The documentation /24s (RFC 5737); only addresses in them are rewritten."""

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_IP = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\d])"
_IP_RE = re.compile(_IP)


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, Mapping):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            yield from _strings(value)


def _rng(seed: str, purpose: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(f"{seed}:{purpose}".encode()).digest(), "big"))


@dataclass(frozen=True)
class TenantMapping:
    """One candidate's rewrite of a lab's names; apply with :meth:`text` and :meth:`data`."""

    seed: str
    orgs: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Original domain label → (new display name, new domain label)."""
    people: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Original ``first.last`` → (new first name, new last name)."""
    nets: Mapping[str, str] = field(default_factory=dict)
    """Documentation /24 → documentation /24."""
    xor: int = 0
    """XOR applied to the last octet of rewritten addresses."""
    _display: dict[str, str] = field(init=False, repr=False, compare=False, default_factory=dict)
    _names: dict[str, str] = field(init=False, repr=False, compare=False, default_factory=dict)
    _re: re.Pattern[str] = field(init=False, repr=False, compare=False, default=re.compile("(?!)"))

    def __post_init__(self) -> None:
        names: dict[str, str] = {}
        for local, (first, last) in self.people.items():
            of, ol = (w.capitalize() for w in local.split("."))
            names[f"{of} {ol}"] = f"{first} {last}"
            names[of] = first
            names[ol] = last
        object.__setattr__(self, "_display", {ORG_DISPLAY[t]: t for t in self.orgs})
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_re", _pattern_for(tuple(self.orgs), tuple(self.people)))

    # -- single values ---------------------------------------------------------------------------

    def ip(self, text: str) -> str:
        """Rewrite one IPv4 address or CIDR range (unchanged outside the documentation ranges)."""
        address, slash, bits = text.partition("/")
        octets = address.split(".")
        if len(octets) != 4 or not all(o.isdigit() and int(o) <= 255 for o in octets):
            return text
        net = ".".join(octets[:3])
        if net not in self.nets:
            return text
        if slash:
            if not bits.isdigit() or not 24 <= int(bits) <= 32:
                return text
            mask = (0xFF << (32 - int(bits))) & 0xFF
            last = (int(octets[3]) ^ self.xor) & mask
            return f"{self.nets[net]}.{last}/{bits}"
        return f"{self.nets[net]}.{int(octets[3]) ^ self.xor}"

    def guid(self, text: str) -> str:
        """Rewrite one GUID (Microsoft's well-known ids, which start with zeros, stay)."""
        if text.startswith("00000"):
            return text
        raw = bytearray(hmac.new(self.seed.encode(), text.lower().encode(), hashlib.sha256).digest()[:16])
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        h = raw.hex()
        out = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return out.upper() if text.isupper() else out

    def _org(self, found: str) -> str:
        original = found.lower()
        new_display, new_token = self.orgs[original]
        if found == original:
            return new_token
        if found.isupper() and len(found) > 1:
            return new_token.upper()
        return new_display

    def _sub(self, match: re.Match[str]) -> str:
        kind = match.lastgroup
        found = match.group(0)
        if kind == "guid":
            return self.guid(found)
        if kind == "ip":
            return self.ip(found)
        if kind == "local":
            first, last = self.people[found.lower()]
            new = f"{first}.{last}"
            return new.lower() if found.islower() else new
        if kind == "display":
            return self.orgs[self._display[found]][0]
        if kind == "org":
            return self._org(found)
        if kind == "name":
            return self._names[found]
        return found  # pragma: no cover - every group is handled above

    # -- whole values ------------------------------------------------------------------------------

    def text(self, text: str) -> str:
        """Rewrite every name, address and id in a piece of text."""
        # Where the originals sit in a text does not depend on the seed: find them once per text
        # (graders rewrite the same rubric for every candidate) and replace them per mapping.
        key = (self._re.pattern, text)
        parts = _SEGMENTS.get(key)
        if parts is None:
            parts = []
            last = 0
            for m in self._re.finditer(text):
                parts.append((text[last:m.start()], m))
                last = m.end()
            parts.append((text[last:], None))
            if len(_SEGMENTS) >= 50_000:
                _SEGMENTS.clear()
            _SEGMENTS[key] = parts
        if len(parts) == 1:
            return text
        return "".join(literal + (self._sub(m) if m is not None else "") for literal, m in parts)

    def data(self, obj: Any) -> Any:
        """Rewrite every string value of JSON-like data (mapping keys stay: they are field names)."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, Mapping):
            return {k: self.data(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.data(v) for v in obj]
        return obj

    def describe(self) -> dict[str, str]:
        """What was renamed, for the assessor (e.g. ``contoso.com → tailspintoys.com``)."""
        out = {f"{o}.*": f"{t}.*" for o, (_, t) in self.orgs.items()}
        out.update({f"{n}.0/24": f"{m}.0/24 (last octet xor {self.xor})" for n, m in self.nets.items()})
        out.update({local: f"{f.lower()}.{last.lower()}" for local, (f, last) in self.people.items()})
        return out


ORG_DISPLAY = {token: display for display, token in ORGANISATIONS}


@lru_cache(maxsize=256)
def _pattern_for(orgs: tuple[str, ...], people: tuple[str, ...]) -> re.Pattern[str]:
    """The regex finding every original name; it depends on the originals only, not on the seed."""
    parts = [f"(?P<guid>{_GUID})", f"(?P<ip>{_IP})"]
    names: list[str] = []
    for local in people:
        of, ol = (w.capitalize() for w in local.split("."))
        names += [f"{of} {ol}", of, ol]
    if people:
        locals_ = "|".join(re.escape(k) for k in sorted(people, key=len, reverse=True))
        parts.append(f"(?P<local>(?i:{locals_}))")
    if orgs:
        multi = [ORG_DISPLAY[t] for t in orgs if " " in ORG_DISPLAY[t]]
        if multi:
            parts.append("(?P<display>" + "|".join(re.escape(d) for d in sorted(multi, key=len, reverse=True)) + ")")
        parts.append("(?P<org>(?i:" + "|".join(re.escape(t) for t in sorted(orgs, key=len, reverse=True)) + "))")
    if names:
        parts.append(r"\b(?P<name>" + "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True)) + r")\b")
    return re.compile("|".join(parts))

_SEGMENTS: dict[tuple[str, str], list[tuple[str, re.Match[str] | None]]] = {}
"""(pattern, text) → the text's literal parts and the matches between them."""


def _people_in(scenario: Mapping[str, Any]) -> list[str]:
    found = []
    recipients = scenario.get("recipients") if isinstance(scenario, Mapping) else None
    for r in recipients or []:
        if not isinstance(r, Mapping) or r.get("type", "UserMailbox") != "UserMailbox":
            continue
        local = str(r.get("address", "")).partition("@")[0].lower()
        m = re.fullmatch(r"([a-z]{3,})\.([a-z]{3,})", local)
        shown = str(r.get("display_name", "")).lower()
        if m and shown.startswith(f"{m.group(1)} {m.group(2)}"):
            found.append(local)
    return sorted(set(found))


@dataclass(frozen=True)
class _Analysis:
    """What a lab's public data holds that the mapping depends on (independent of the seed)."""

    present: tuple[str, ...]
    spare: tuple[str, ...]
    people: tuple[str, ...]
    free: tuple[tuple[str, str], ...]
    xors: tuple[int, ...]
    """XOR bytes that map no public host address to .0 or .255."""


_ANALYSES: dict[int, tuple[Any, _Analysis]] = {}


def _analyse(scenario: Mapping[str, Any], public: tuple[Any, ...]) -> _Analysis:
    blob = "\n".join(_strings([scenario, *public]))
    lower = blob.lower()
    present = tuple(t for _, t in ORGANISATIONS if t in lower)
    spare = tuple(t for _, t in ORGANISATIONS if t not in lower and t not in COURSE_ORGANISATIONS)
    free = tuple((f, last) for f, last in PEOPLE
                 if f.lower() not in lower and last.lower() not in lower and len(f) > 2 and len(last) > 2)
    hosts = set()
    for m in _IP_RE.finditer(blob):
        text = m.group(0)
        octets = text.split(".")
        if "/" not in text and ".".join(octets[:3]) in DOC_NETS and all(o.isdigit() and int(o) <= 255 for o in octets):
            hosts.add(int(octets[3]))
    xors = tuple(x for x in range(1, 256) if all(0 < (h ^ x) < 255 for h in hosts)) or tuple(range(1, 256))
    return _Analysis(present, spare, tuple(_people_in(scenario)), free, xors)


def tenant_mapping(seed: str, scenario: Mapping[str, Any], *public: Any) -> TenantMapping:
    """Build a candidate's mapping from the seed and the lab's public data.

    Args:
        seed: the attempt's seed.
        scenario: the lab's tenant scenario as data (base scenario with the lab's overrides).
        public: further public data of the lab (starting config, texts) scanned for names.

    Returns:
        The mapping; the same arguments always give the same mapping.
    """
    # The analysis depends only on the data; graders map the same bundle's lab for every result.
    cached = _ANALYSES.get(id(scenario))
    if cached is not None and cached[0][0] is scenario and len(cached[0][1]) == len(public) \
            and all(a is b or a == b for a, b in zip(cached[0][1], public, strict=True)):
        analysis = cached[1]
    else:
        analysis = _analyse(scenario, public)
        if len(_ANALYSES) >= 64:
            _ANALYSES.clear()
        _ANALYSES[id(scenario)] = ((scenario, public), analysis)
    chosen = _rng(seed, "orgs").sample(analysis.spare, min(len(analysis.present), len(analysis.spare)))
    orgs = {o: (ORG_DISPLAY[n], n) for o, n in zip(analysis.present, chosen, strict=False)}
    picked = _rng(seed, "people").sample(analysis.free, min(len(analysis.people), len(analysis.free)))
    people_map = dict(zip(analysis.people, picked, strict=False))
    nets = list(DOC_NETS)
    rng = _rng(seed, "nets")
    order = nets[:]
    while order == nets:
        rng.shuffle(order)
    net_map = dict(zip(nets, order, strict=True))
    xor = analysis.xors[_rng(seed, "xor").randrange(len(analysis.xors))]
    return TenantMapping(seed, orgs, people_map, net_map, xor)
