"""Redacting secrets from commands and output before they are stored or shown."""

from __future__ import annotations

import re
from typing import Iterable

REDACTED = "[REDACTED]"

# Secret values shorter than this are left alone: replacing every "abc" in the output hides more than it
# protects, and no real credential is that short.
MIN_SECRET_LENGTH = 4

_SECRET_WORDS = (
    r"api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?secret|secret|password|passwd|pwd"
    r"|token|access[_-]?token|refresh[_-]?token|auth[_-]?token|id[_-]?token"
)

# Each pattern keeps group 1 (the label) and replaces the rest of the match.
_PATTERNS = [
    # Authorization headers; a shell substitution such as $(gcloud auth print-identity-token) is no secret.
    re.compile(r"(?i)(authorization\s*:\s*(?:(?:bearer|basic|token)\s+)?)(?!\$|(?:bearer|basic|token)\s+\$)[^\s\"']+"),
    re.compile(r"(?i)(\bbearer\s+)(?!\$)[A-Za-z0-9._~+/=-]{8,}"),
    # NAME=value and "name": "value" where the name says key, token, secret or password.
    re.compile(r"(\b[A-Z][A-Z0-9_]*_(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|PWD|CREDENTIALS)\b[\"']?\s*[=:]\s*[\"']?)(?!\$)[^\s\"',;]+"),
    re.compile(rf"(?i)(\b(?:{_SECRET_WORDS})\b[\"']?\s*[=:]\s*[\"']?)(?!\$)[^\s\"',;]+"),
    # Command-line options: --password X, --token=X, --api-key X.
    re.compile(r"(?i)(--(?:password|passwd|token|api-key|access-token|secret|client-secret)(?:=|\s+))(?!\$)[^\s\"']+"),
    # user:password@ in URLs.
    re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(?=@)"),
    # Token shapes that need no label: Google OAuth, JWT, GitHub, AWS access key ids, Slack, Google API keys.
    re.compile(r"()\bya29\.[A-Za-z0-9._-]+"),
    re.compile(r"()\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+"),
    re.compile(r"()\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    re.compile(r"()\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"()\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    re.compile(r"()\bAIza[0-9A-Za-z_-]{35}"),
    re.compile(r"()-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"),
]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with the given secret values, tokens, keys and passwords replaced by [REDACTED]."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text
