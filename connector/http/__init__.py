"""The one HTTP core for every vendor: retries, rate limiting, re-auth, redaction."""

from .client import ApiResponse, AsyncHttpClient
from .errors import (
    AuthenticationError,
    ClientError,
    HttpError,
    ResponseParseError,
    RetryExhaustedError,
    TransportFailure,
)
from .metrics import RequestMetrics
from .ratelimit import RateLimiter
from .redact import (
    SENSITIVE_PARAMS,
    RedactingFilter,
    Redactor,
    default_redactor,
    install_log_redaction,
)
from .retry import RetryPolicy

__all__ = [
    "SENSITIVE_PARAMS",
    "ApiResponse",
    "AsyncHttpClient",
    "AuthenticationError",
    "ClientError",
    "HttpError",
    "RateLimiter",
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
