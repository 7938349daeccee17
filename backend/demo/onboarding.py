"""Demo onboarding (拓店): two box-code print runs, invitation codes for some salespeople, and
store applications waiting for review, one of them looking like an existing store; made
through the services the API uses, so the review queue shows real suspected duplicates."""

from __future__ import annotations

from typing import Any

from backend.identity.models import User
from backend.identity.tokens import Principal
from backend.org import onboarding, service
from backend.org.models import CodeKind, Store

# (store name, contact, phone, address); the last one reuses an existing store's phone.
APPLICANTS = [
    ("恒泰五金店", "周老板", "13611110001", "杭州市拱墅区莫干山路288号"),
    ("佳美厨卫", "吴老板", "13611110002", "上海市黄浦区南京东路66号"),
    ("清泉水电", "郑老板", "13611110003", "杭州市西湖区文一西路518号"),
]
REJECTED = (
    "利达建材",
    "钱老板",
    "13611110004",
    "广州市天河区天河路9号",
    "营业执照照片不清晰，请重新拍摄后提交",
)


async def _apply(
    deps: Any, token: str, applicant: tuple[str, str, str, str], name: str
) -> dict[str, Any]:
    user = await User.create(display_name=name)
    who = Principal(user_id=user.id, session_id="seed")
    store_name, contact, phone, address = applicant
    details = {
        "store_name": store_name,
        "contact_name": contact,
        "phone": phone,
        "business_licence_no": None,
        "address": address,
        "latitude": None,
        "longitude": None,
        "region_id": None,
    }
    return await service.submit_application(deps, who, token, details)


async def seed_onboarding(
    deps: Any, acting: Principal, distributor_ids: list[int], salesperson_ids: list[int]
) -> None:
    """Print runs, invitations, and applications: three pending (one a look-alike), one
    rejected."""
    assert acting.brand_id is not None
    first = await onboarding.create_box_batch(
        deps, acting, count=48, distributor_id=distributor_ids[0], name="2026年12月 净水器箱码"
    )
    await onboarding.create_box_batch(
        deps, acting, count=24, distributor_id=distributor_ids[-1], name="2026年12月 滤芯箱码"
    )
    invitations = [
        service.code_view(
            deps,
            await service.ensure_invitation_code(
                acting.brand_id, CodeKind.SALESPERSON_INVITE, salesperson_id=person, store_id=None
            ),
        )
        for person in salesperson_ids[:3]
    ]
    tokens = [code["token"] for code in first["items"]]
    await _apply(deps, tokens[0], APPLICANTS[0], "申请人一")
    await _apply(deps, invitations[1]["token"], APPLICANTS[1], "申请人二")
    # Looks like the brand's first store: the same phone.
    existing = await Store.filter(brand_id=acting.brand_id).order_by("id").first()
    assert existing is not None
    lookalike = (APPLICANTS[2][0], APPLICANTS[2][1], existing.phone, APPLICANTS[2][3])
    await _apply(deps, invitations[0]["token"], lookalike, "申请人三")
    rejected = await _apply(deps, tokens[1], REJECTED[:4], "申请人四")
    await service.reject_application(deps, acting, rejected["id"], reason=REJECTED[4])
