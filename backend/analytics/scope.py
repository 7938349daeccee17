"""Whose figures a caller reads, and the China calendar the figures are kept in.

Brand staff read their whole brand, or one of its distributors when they ask for it;
distributor staff read their own distributor's figures only, whatever they ask for. Another
brand's distributor is answered like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from backend.analytics.models import WHOLE_BRAND
from backend.analytics.periods import CHINA
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal
from backend.kernel.errors import Forbidden, NotFound
from backend.org import service as org_service


class DistributorNotFound(NotFound):
    code = "analytics.distributor_not_found"
    message = "找不到该经销商"


class NotStaff(Forbidden):
    code = "analytics.forbidden"
    message = "只有品牌或经销商员工可以查看数据分析"


@dataclass(frozen=True)
class Scope:
    brand_id: int
    distributor_id: int  # WHOLE_BRAND (0): every distributor of the brand

    @property
    def whole_brand(self) -> bool:
        return self.distributor_id == WHOLE_BRAND


async def scope_for(principal: Principal, distributor_id: int | None = None) -> Scope:
    """The figures `principal` may read: see the module's docstring."""
    if principal.brand_id is None:
        raise NotStaff()
    if principal.role in DISTRIBUTOR_ROLES and principal.distributor_id is not None:
        return Scope(principal.brand_id, principal.distributor_id)
    if principal.role not in BRAND_ROLES:
        raise NotStaff()
    if distributor_id is None or distributor_id == WHOLE_BRAND:
        return Scope(principal.brand_id, WHOLE_BRAND)
    if not await org_service.distributor_in_brand(principal.brand_id, distributor_id):
        raise DistributorNotFound()
    return Scope(principal.brand_id, distributor_id)


def china_day(moment: datetime) -> date:
    """The day `moment` falls on in China: every figure's day."""
    return moment.astimezone(CHINA).date()
