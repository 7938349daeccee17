"""When a scan is diversion (窜货), and how it is named (pure, no IO).

A box is shipped to one distributor D. A store S of the same brand scanning it (or one of its
items) diverted it when S is served by another distributor (`other_distributor`), or when S
is D's own store but its region is not among the regions D serves (`outside_area`). A store
without a region, or a distributor with no service area set, is never outside. A box not
shipped yet belongs to nobody, so it raises nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

# The values of DiversionReason, AlertStatus and ScanAction (backend/codes/models.py).
OTHER_DISTRIBUTOR = "other_distributor"
OUTSIDE_AREA = "outside_area"
REASONS = (OTHER_DISTRIBUTOR, OUTSIDE_AREA)
OPEN, CONFIRMED, DISMISSED = "open", "confirmed", "dismissed"
STATUSES = (OPEN, CONFIRMED, DISMISSED)

REASON_LABELS = {
    OTHER_DISTRIBUTOR: "其他经销商的门店扫码",
    OUTSIDE_AREA: "超出经销商服务区域",
}
STATUS_LABELS = {OPEN: "待处理", CONFIRMED: "已确认窜货", DISMISSED: "已排除"}
ACTION_LABELS = {
    "receive": "扫码入库",
    "sell": "扫码动销",
    "redeem": "核销消费券",
    "check": "消费者验真",
}
NO_REGION = "未分区域"


@dataclass(frozen=True, slots=True)
class ServiceArea:
    """What a distributor's service area says about one region: how many regions it serves
    (0: none set, it may sell anywhere) and whether the region is one of them."""

    regions: int
    covers: bool


def needs_area(shipped_to: int | None, store_distributor_id: int, region_id: int | None) -> bool:
    """Whether deciding needs the shipped-to distributor's service area: only for its own
    store that has a region (every other case is decided without reading anything)."""
    return shipped_to is not None and shipped_to == store_distributor_id and region_id is not None


def reason(
    shipped_to: int | None,
    store_distributor_id: int,
    region_id: int | None,
    area: ServiceArea | None = None,
) -> str | None:
    """The diversion reason of a scan by a store served by `store_distributor_id`, in region
    `region_id`, of a box shipped to `shipped_to`; None when it is no diversion. `area` is
    the shipped-to distributor's service area for `region_id`, needed when `needs_area`."""
    if shipped_to is None:
        return None
    if store_distributor_id != shipped_to:
        return OTHER_DISTRIBUTOR
    if region_id is None or area is None or area.regions == 0 or area.covers:
        return None
    return OUTSIDE_AREA


def reason_label(value: str) -> str:
    return REASON_LABELS.get(value, value)


def status_label(value: str) -> str:
    return STATUS_LABELS.get(value, value)


def action_label(value: str) -> str:
    return ACTION_LABELS.get(value, value)
