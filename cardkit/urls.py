"""The rules for URLs cardkit is given: photo URLs (the sheet, the wire) and provider base URLs.

Photo URLs: https anywhere; plain http only on this machine (127.0.0.0/8, ``localhost``,
``::1``, and the in-process sandbox's made-up origin ``sandbox.local``), which is how the
sandbox serves media. When cardkit itself downloads one (for Blooio), every hop's host is
resolved and *every* address must be public (`checked_addresses`): loopback, link-local
(cloud metadata), private and unique-local addresses are refused for https as for http,
unless a `PrivateAllowance` lets that origin or network in.

Base URLs: https (http only on this machine), no credentials, no query (`base_url_problem`).

Model layer: imports only cardkit's errors, so `photos`/`validation` and `providers` may use it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from cardkit.errors import InputError

#: Hosts where plain http is accepted besides loopback addresses.
LOCAL_HOSTS = frozenset({"localhost", "sandbox.local"})


# "scheme://" with a scheme of two letters or more (so "C://photos" stays a Windows path);
# file:// is a local path, not an address.
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]+://", re.IGNORECASE)


def is_url(value: object) -> bool:
    """True for values that are addresses (https://, http://, ftp://…) rather than files."""
    text = str(value).strip()
    return bool(_SCHEME.match(text)) and not text.lower().startswith("file://")


def redact(url: str) -> str:
    """The URL without credentials, query or fragment (presigned URLs carry secrets there)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    shown = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))
    return shown + ("?…" if parts.query else "")


def is_local_host(host: str) -> bool:
    """Loopback addresses, `localhost`, and the in-process sandbox's origin."""
    host = host.strip("[]").lower()
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_rule_problem(url: str) -> str:
    """What is wrong with `url` as a photo URL, as a phrase that reads after the URL ("" if fine).

    `photos.check_photo` puts it after the cell's value; `url_problem` after "photo URL '…'".
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return "can't be parsed as a URL — give a full https:// URL"
    try:
        parts.port  # noqa: B018 — urlsplit checks the port only when it is read
    except ValueError:
        return ("has an impossible port (ports run from 0 to 65535) — check the number after "
                "the ':' in the address, or leave it out")
    if not host:
        return "has no host — give a full https:// URL"
    if parts.scheme == "https":
        return ""
    if parts.scheme == "http" and is_local_host(host):
        return ""
    return ("must use https:// (plain http is accepted only on loopback) — providers download "
            "the photo and refuse insecure links; use an https link or a file on this computer")


def url_problem(url: str) -> str:
    """Why `url` can't be used as a photo URL ("" when it can): https, or http on loopback."""
    problem = url_rule_problem(url)
    return f"photo URL {redact(url)!r} {problem}" if problem else ""


# --- provider base URLs ------------------------------------------------------------------


def base_url_problem(url: str) -> str:
    """Why `url` can't be a provider's base URL, as a phrase that reads after it ("" if fine).

    The key goes out in an `Authorization` header on every request, so the address must be
    https (plain http only on this machine: the sandbox, a test server). Credentials or a
    query in the address would be sent, logged and journaled as part of it — and glued in
    front of every API path — so they are refused: keys belong in the key variables.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 — checked only when read
    except ValueError:
        return "can't be parsed as a URL — give the full https:// address of the API"
    if parts.scheme not in ("https", "http") or not host:
        return "must be a full https:// address of the API"
    if parts.username is not None or parts.password is not None:
        return ("holds a user name or password (user:pass@) — remove it: put the key in the "
                "provider's key variable, never in the address")
    if parts.query or parts.fragment:
        return ("holds a query string or fragment (?…/#…), where tokens hide — remove it: "
                "put the key in the provider's key variable, never in the address")
    if parts.scheme == "http" and not is_local_host(host):
        return ("uses plain http:// — the API key would cross the network unencrypted; use "
                "https:// (plain http is accepted only on this machine: 127.0.0.1, localhost, "
                "the sandbox)")
    return ""


# --- private addresses: where photo downloads may not go -------------------------------

#: Comma-separated origins (``http://127.0.0.1:8787``) or networks (``10.0.0.0/8``) that photo
#: downloads may reach although they are private; unset, none may.
ALLOW_PRIVATE_ENV = "CARDKIT_ALLOW_PRIVATE_PHOTO_HOSTS"


def is_private_address(address: str) -> bool:
    """Loopback, link-local (169.254/16, fe80::/10 — cloud metadata lives there), private,
    unique-local (fc00::/7), CGNAT, multicast, reserved, unspecified: anything not public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def origin_of(url: str) -> str:
    """`scheme://host:port` of a URL, the port always written (``http://a`` → ``http://a:80``)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{host}:{port}"


@dataclass(frozen=True)
class PrivateAllowance:
    """The private places photo downloads may reach: exact origins, or whole networks.

    Empty by default. The engine adds the origins of local provider base URLs (the sandbox,
    a test server: cardkit already sends them the keys); a user adds more with
    `CARDKIT_ALLOW_PRIVATE_PHOTO_HOSTS` or `fetch_photo(allow_private=...)`. An origin is
    one service (scheme, host, port), so allowing ``http://127.0.0.1:8787`` does not open
    ``http://127.0.0.1:9000``; a network opens every port of its addresses.
    """

    origins: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: str | Iterable[str] | PrivateAllowance | None) -> PrivateAllowance:
        """`"http://127.0.0.1:8787, 10.0.0.0/8"` or a list of such → an allowance.

        Raises ValueError naming an entry that is neither an origin nor a network.
        """
        if isinstance(entries, PrivateAllowance):
            return entries
        if entries is None:
            return cls()
        if isinstance(entries, str):
            entries = entries.split(",")
        origins, networks = set(), []
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            if "://" in entry:
                origins.add(origin_of(entry))
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is neither an origin (http://host:port) nor a network "
                                 "(10.0.0.0/8, 127.0.0.1)") from None
        return cls(frozenset(origins), tuple(networks))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PrivateAllowance:
        env = os.environ if env is None else env
        try:
            return cls.parse(env.get(ALLOW_PRIVATE_ENV, ""))
        except ValueError as exc:
            raise ValueError(f"{ALLOW_PRIVATE_ENV}: {exc}") from None

    def __or__(self, other: PrivateAllowance) -> PrivateAllowance:
        return PrivateAllowance(self.origins | other.origins, self.networks + other.networks)

    def allows_origin(self, url: str) -> bool:
        try:
            return origin_of(url) in self.origins
        except ValueError:
            return False

    def allows_address(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return any(ip in network for network in self.networks if network.version == ip.version)


def local_origins(urls: Iterable[str]) -> PrivateAllowance:
    """The origins among `urls` that are on this machine (a served sandbox's base URLs).

    ``sandbox.local`` (the in-process sandbox, reached only through its own transport)
    counts under both schemes: its media may be addressed as http or https.
    """
    origins = set()
    for url in urls:
        host = (urlsplit(url).hostname or "").lower()
        if host == "sandbox.local":
            origins |= {"http://sandbox.local:80", "https://sandbox.local:443"}
        elif is_local_host(host):
            origins.add(origin_of(url))
    return PrivateAllowance(frozenset(origins))


async def checked_addresses(url: str, allowance: PrivateAllowance, *, resolve: bool = True) -> list[str]:
    """Every address `url`'s host resolves to, each checked; raises `PrivateAddress` or
    OSError (the name does not resolve). An allowed origin returns [] (connect by name).

    `resolve=False` (a transport that is not the network: the in-process sandbox) looks no
    name up: an address written in the URL and ``localhost`` are checked, any other name
    returns [] (connect by name)."""
    if allowance.allows_origin(url):
        return []
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if not resolve:
            if is_local_host(host):
                raise PrivateAddress(host, ["127.0.0.1"]) from None
            return []
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = [a for a in addresses if is_private_address(a) and not allowance.allows_address(a)]
    if refused:
        raise PrivateAddress(host, refused)
    return addresses


class PrivateAddress(InputError):
    """A photo URL whose host is (or resolves to) a private address nobody allowed."""

    def __init__(self, host: str, addresses: list[str]) -> None:
        self.host, self.addresses = host, addresses
        shown = host if [host] == addresses else f"{host} ({', '.join(addresses[:3])})"
        super().__init__(
            f"points at {shown}, a private address (this computer, its network or a cloud's "
            f"metadata service) — cardkit downloads photos only from public hosts; if this host "
            f"is yours, allow it with {ALLOW_PRIVATE_ENV}=scheme://host:port (or a network such "
            "as 10.0.0.0/8)")
