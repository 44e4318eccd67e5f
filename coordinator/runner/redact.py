"""Redacting secrets from command output before it is stored or shown."""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

_PATTERNS = [
    re.compile(r"(?i)(authorization\s*:\s*)(?:bearer\s+|basic\s+)?\S+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)((?:api[_-]?key|access[_-]?key|secret|password|passwd|token)[\"']?\s*[=:]\s*[\"']?)[^\s\"',;]+"),
    re.compile(r"()\bya29\.[A-Za-z0-9._-]+"),
    re.compile(r"()\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+"),
]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Return `text` with tokens, keys, passwords and the given secret values replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text
