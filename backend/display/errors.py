"""Errors more than one part of display programs answers with: one code, one class."""

from __future__ import annotations

from backend.kernel.errors import InvalidInput, NotFound


class ProgramNotFound(NotFound):
    code = "display.program_not_found"
    message = "找不到该陈列活动"


class SubmissionNotFound(NotFound):
    code = "display.submission_not_found"
    message = "找不到该陈列检查提交"


class Invalid(InvalidInput):
    """What was sent is wrong, `details` a list of {field, message}; each use says what in
    its message. 400, not the 422 of a request that fails its schema: the field problems are
    the domain's own."""

    status = 400
    code = "display.invalid"
    message = "提交的内容有误"
