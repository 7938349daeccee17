"""Domain errors: a stable code for machines, a Chinese message for people, an HTTP status.

Every error a client can see is one of these; the HTTP layer renders them all in one
envelope, so a code never changes meaning and a 500 is always a bug.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 409
    code: ClassVar[str] = "domain.error"
    message: ClassVar[str] = "操作无法完成"

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.text = message or self.message
        self.details = details
        super().__init__(f"{self.code}: {self.text}")

    def as_error(self) -> dict[str, Any]:
        """The error as the envelope's `error` object, for showing a refusal inside a reply."""
        return {"code": self.code, "message": self.text, "details": self.details}


class InvalidInput(DomainError):
    status = 422
    code = "request.invalid"
    message = "请求数据不合法"


class Unauthorized(DomainError):
    status = 401
    code = "auth.unauthenticated"
    message = "请先登录"


class Forbidden(DomainError):
    status = 403
    code = "auth.forbidden"
    message = "没有权限执行此操作"


class NotFound(DomainError):
    status = 404
    code = "resource.not_found"
    message = "找不到该资源"


class Conflict(DomainError):
    status = 409
    code = "resource.conflict"
    message = "与当前状态冲突"


class TooLarge(DomainError):
    status = 413
    code = "request.too_large"
    message = "内容过大"


class RateLimited(DomainError):
    status = 429
    code = "request.rate_limited"
    message = "操作过于频繁，请稍后再试"


class UpstreamUnavailable(DomainError):
    status = 502
    code = "upstream.unavailable"
    message = "外部服务暂时不可用，请稍后再试"
