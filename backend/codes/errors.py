"""Errors more than one part of product codes answers with: one code, one class."""

from __future__ import annotations

from backend.kernel.errors import Conflict, InvalidInput, NotFound


class CodeNotFound(NotFound):
    """Unknown, forged, malformed, another brand's, or of a batch not ready: all look the
    same to the caller, so a scan tells a forger nothing."""

    code = "codes.not_found"
    message = "无法识别该码：请确认扫的是本品牌商品上的码"


class BatchNotFound(NotFound):
    code = "codes.batch_not_found"
    message = "找不到该赋码批次"


class WrongKind(Conflict):
    """A box code where an item code is needed, or the other way round; the message says
    which was expected."""

    code = "codes.wrong_kind"
    message = "码的类型不对"


class Invalid(InvalidInput):
    """What was sent is wrong, `details` a list of {field, message}. 400, as display's."""

    status = 400
    code = "codes.invalid"
    message = "提交的内容有误"
