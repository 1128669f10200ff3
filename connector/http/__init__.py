"""The one HTTP core for every vendor: retries, rate limiting, re-auth, redaction.

Redaction rules live in ``connector.secrets`` (shared with the warehouse); ``Redactor``,
``RedactingFilter``, ``install_log_redaction`` and ``default_redactor`` are their HTTP-side
face."""

from ._retrying import SharedReauth
from .budgets import FamilyLimiter, HostBudgets
from .client import ApiResponse, AsyncHttpClient
from .errors import (
    AuthenticationError,
    BadResponseError,
    ClientError,
    HttpError,
    ResponseParseError,
    RetryExhaustedError,
    TransportFailure,
)
from .metrics import RequestMetrics
from .ratelimit import RateLimiter, RequestLimiter
from .redact import (
    SENSITIVE_PARAMS,
    RedactingFilter,
    Redactor,
    default_redactor,
    install_log_redaction,
)
from .retry import RetryPolicy

__all__ = [
    "SharedReauth",
    "SENSITIVE_PARAMS",
    "ApiResponse",
    "AsyncHttpClient",
    "AuthenticationError",
    "BadResponseError",
    "ClientError",
    "FamilyLimiter",
    "HostBudgets",
    "HttpError",
    "RateLimiter",
    "RequestLimiter",
    "RedactingFilter",
    "Redactor",
    "RequestMetrics",
    "ResponseParseError",
    "RetryExhaustedError",
    "RetryPolicy",
    "TransportFailure",
    "default_redactor",
    "install_log_redaction",
]
