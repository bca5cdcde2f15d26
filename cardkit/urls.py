"""The one rule for photo URLs, shared by validation (the sheet) and the providers (the wire).

https anywhere; plain http only on this machine (127.0.0.0/8, ``localhost``, ``::1``, and
the in-process sandbox's made-up origin ``sandbox.local``), which is how the sandbox serves
media. Model layer: imports nothing from cardkit, so both `photos`/`validation` and
`providers` may use it.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

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
