"""Provider adapters: Blooio, Sendblue, Linq — protocol knowledge only (see `base.py`).

    >>> from cardkit.providers import providers_from_env, capabilities
    >>> capabilities()                      # what each provider can do, as a frame
    >>> providers_from_env("blooio,linq")   # adapters from the vendors' own env variables
"""

from __future__ import annotations

from cardkit.errors import Permanent, ProviderError, Transient
from cardkit.providers.base import Card, Change, Current, Limits, Provider, Reply, Send, Sharing
from cardkit.providers.blooio import Blooio
from cardkit.providers.capabilities import capabilities
from cardkit.providers.config import Secret
from cardkit.providers.linq import Linq
from cardkit.providers.media import PhotoHost, SandboxPhotoHost, fetch_photo, url_problem
from cardkit.providers.registry import parse_names, providers_from_env, providers_from_sandbox, resolve_providers
from cardkit.providers.replies import http_send
from cardkit.providers.s3_host import S3PhotoHost
from cardkit.providers.sendblue import Sendblue

__all__ = [
    "Blooio", "Sendblue", "Linq", "PhotoHost", "SandboxPhotoHost", "S3PhotoHost", "capabilities",
    "providers_from_env", "providers_from_sandbox", "resolve_providers", "parse_names",
    "fetch_photo", "url_problem", "http_send", "Secret",
    "Card", "Change", "Current", "Limits", "Permanent", "Provider", "ProviderError", "Reply",
    "Send", "Sharing", "Transient",
]
