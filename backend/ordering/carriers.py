"""The carriers a distributor ships with, and how one shipment is written down.

Pure: the ship routes validate against these codes and the order keeps the code, so a list
or a print shows the carrier's name whatever the client sent.
"""

from __future__ import annotations

from dataclasses import dataclass

# The distributor's own van: no carrier and no tracking number, the driver hands it over.
OWN_DELIVERY = "own"

CARRIERS: dict[str, str] = {
    "sf": "顺丰速运",
    "jd": "京东物流",
    "ems": "中国邮政 EMS",
    "zto": "中通快递",
    "yto": "圆通速递",
    "sto": "申通快递",
    "yunda": "韵达快递",
    "jtexpress": "极兔速递",
    "deppon": "德邦快递",
    OWN_DELIVERY: "自送",
}


def carrier_name(code: str | None) -> str | None:
    return None if code is None else CARRIERS.get(code, code)


@dataclass(frozen=True)
class Shipment:
    """One order's shipment: a carrier and its tracking number (none for own delivery), or,
    from older clients, only a free-text note."""

    carrier: str | None = None
    tracking_no: str | None = None
    note: str | None = None

    @property
    def logistics_note(self) -> str:
        """What the order's logistics_note says: the note as given, else carrier and number,
        so readers of the note alone (the mini-program) still see how it travels."""
        if self.note:
            return self.note
        return " ".join(part for part in (carrier_name(self.carrier), self.tracking_no) if part)
