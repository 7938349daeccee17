"""Brand analytics: what sells where, what promotions earn, which stores will reorder.

Raw rows stay where they are (orders, order lines, promotion uses, coupons, live tables).
What the dashboards read is kept here, current within a minute and rebuildable from the raw
rows with one command (`b2bc analytics-rebuild`):

- `OrderFact`: what each order adds to the figures, as last applied. The refresh compares an
  order's contribution now with the one recorded and applies the difference, so reading an
  order twice changes nothing and a cancelled order takes back exactly what it added.
- `SalesRollup`: sums per brand (or per distributor), grain (day or month), dimension (all,
  region, distributor, tier, category, sku, store) and channel.
- `StoreStats`: each store's first and last order day, orders and GMV, for new stores, the
  store list and profile, and RFM.
- `StoreSet`: the set of stores that ordered (a Roaring bitmap) with their sums, per brand (or
  distributor), day or month, and store tag: active and dormant stores and the tag breakdown
  as unions of a few dozen sets. Derived from the order facts and the stores' current tags;
  `TagChange` marks the stores whose tags changed since their days were last derived.
- `BehaviourEvent`: what store users do in the mini-program (page views, searches, product
  views, add to cart, checkout, order), partitioned by month on PostgreSQL.
- `EventDay` and `EventDayMark`: the behaviour events summed per day (and per month once a
  month can change no more), with the sets of users and stores as Roaring bitmaps, and the
  days whose events changed since they were last summed.
- `ReorderCycle` and `SalesTask`: each store's usual reorder interval per SKU, and the
  salesperson's tasks when a store is due and has not ordered.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from backend.org.models import Brand, Salesperson, Store


class Grain(StrEnum):
    DAY = "day"
    MONTH = "month"  # period is the first day of the month


class Dim(StrEnum):
    ALL = "all"  # key ""
    REGION = "region"  # key: region id ("0": no region)
    DISTRIBUTOR = "distributor"  # key: distributor id
    TIER = "tier"  # key: the store's tier letter
    CATEGORY = "category"  # key: category id ("0": none)
    SKU = "sku"  # key: sku id
    STORE = "store"  # key: store id (month grain only)


class SetDim(StrEnum):
    """Whose stores a store-set row holds."""

    ALL = "all"  # every store with a counted order; key "", channel "" (any channel)
    TAG = "tag"  # the stores carrying tag `key` now ("": no tag at all); per channel


# distributor_id of the rows that sum the whole brand
WHOLE_BRAND = 0


class EventKind(StrEnum):
    PAGE_VIEW = "page_view"
    SEARCH = "search"  # term and the number of results
    PRODUCT_VIEW = "product_view"
    ADD_TO_CART = "add_to_cart"
    CHECKOUT = "checkout"  # checkout started
    ORDER = "order"  # order placed


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"


class TaskKind(StrEnum):
    REORDER = "reorder"  # the store is due to reorder a SKU and has not


class OrderFact(Model):
    """What one order adds to the figures, as last applied: the inputs of its contribution
    (its store's region and tier when it counted, and its `lines`, each [sku id, category
    id, quantity, list fen, discount fen, payable fen]). counted false: it adds nothing."""

    id = fields.BigIntField(primary_key=True)
    order_id = fields.BigIntField(unique=True)
    brand_id = fields.IntField()
    distributor_id = fields.IntField()
    store_id = fields.IntField()
    channel = fields.CharField(max_length=8)
    day = fields.DateField()  # the order's day in China
    counted = fields.BooleanField(default=False)
    region_id = fields.IntField(default=0)  # 0: none
    tier = fields.CharField(max_length=1, default="")
    gmv_fen = fields.BigIntField(default=0)  # the order's payable, counted or not
    units = fields.BigIntField(default=0)
    lines: fields.JSONField[list[list[int]]] = fields.JSONField(default=list)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "analytics_order_facts"
        indexes = (("brand_id", "day"), ("store_id", "day"))


class SalesRollup(Model):
    """Sums of counted orders (paid, not cancelled) for one brand or distributor, grain,
    period, dimension value and channel."""

    id = fields.BigIntField(primary_key=True)
    brand_id = fields.IntField()
    distributor_id = fields.IntField()  # WHOLE_BRAND: every distributor of the brand
    grain = fields.CharField(max_length=5)
    period = fields.DateField()
    dim = fields.CharField(max_length=12)
    key = fields.CharField(max_length=24)
    channel = fields.CharField(max_length=8)
    orders = fields.IntField(default=0)
    units = fields.BigIntField(default=0)
    list_fen = fields.BigIntField(default=0)
    discount_fen = fields.BigIntField(default=0)
    gmv_fen = fields.BigIntField(default=0)

    class Meta:
        table = "analytics_sales"
        unique_together = (
            ("brand_id", "distributor_id", "grain", "dim", "period", "key", "channel"),
        )


class StoreStats(Model):
    """A store's counted orders as a whole: first and last order day, how many, GMV."""

    id = fields.IntField(primary_key=True)
    store_id = fields.IntField(unique=True)
    brand_id = fields.IntField()
    distributor_id = fields.IntField()
    first_day = fields.DateField(null=True)
    last_day = fields.DateField(null=True)
    orders = fields.IntField(default=0)
    gmv_fen = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "analytics_stores"
        indexes = (("brand_id", "last_day"), ("brand_id", "first_day"))


class StoreSet(Model):
    """The stores with a counted order in one brand's (or distributor's) day or month, all of
    them or those of one tag (SetDim), as a packed Roaring bitmap (backend/analytics/bitsets.py),
    with those orders' sums. Recomputed from the order facts, never moved by differences: a
    day's rows from its facts and the stores' current tags, a month's from its days' rows."""

    id = fields.BigIntField(primary_key=True)
    brand_id = fields.IntField()
    distributor_id = fields.IntField()  # WHOLE_BRAND: every distributor of the brand
    grain = fields.CharField(max_length=5)
    period = fields.DateField()
    dim = fields.CharField(max_length=4)
    key = fields.CharField(max_length=32)  # a store tag (org's store_tags.tag)
    channel = fields.CharField(max_length=8)
    stores = fields.BinaryField()
    orders = fields.IntField(default=0)
    units = fields.BigIntField(default=0)
    gmv_fen = fields.BigIntField(default=0)

    class Meta:
        table = "analytics_store_sets"
        unique_together = (
            ("brand_id", "distributor_id", "grain", "dim", "period", "key", "channel"),
        )
        # The dashboards read a scope's rows by period (the unique index); the writers read
        # and rewrite a brand's days and months whatever their scope.
        indexes = (("brand_id", "grain", "period"),)


class TagChange(Model):
    """A store whose tags changed since the store sets of its order days were last derived:
    written with the change (org's StoreTagsChanged), cleared by the job that derives them
    again (`version` tells a change made while it ran from the one it read)."""

    id = fields.BigIntField(primary_key=True)
    brand_id = fields.IntField(db_index=True)
    store_id = fields.IntField(unique=True)
    version = fields.IntField(default=1)
    changed_at = fields.DatetimeField()

    class Meta:
        table = "analytics_tag_changes"


class StreamCursor(Model):
    """How far a refresh has read a stream of raw rows (it reads again a little before)."""

    name = fields.CharField(max_length=32, primary_key=True)
    position = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "analytics_cursors"


class AnalyticsSettings(Model):
    """A brand's analytics settings: when a store counts as dormant, its RFM thresholds
    (written as store tags), and whether repurchase reminders are sent."""

    id = fields.IntField(primary_key=True)
    brand_id = fields.IntField(unique=True)
    dormant_days = fields.IntField(default=60)
    rfm: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    reminders_enabled = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "analytics_settings"


class BehaviourEvent(Model):
    """One thing a store user did in the mini-program, sent in a batch and kept once per
    (user, client id, day). No personal data beyond the store and user ids. Partitioned by
    `day` a month per partition on PostgreSQL (backend/analytics/partitions.py), which is
    why it names no foreign keys."""

    id = fields.BigIntField(primary_key=True)
    brand_id = fields.IntField()
    store_id = fields.IntField(null=True)
    user_id = fields.IntField()
    kind = fields.CharField(max_length=16)
    page = fields.CharField(max_length=64, default="")
    product_id = fields.IntField(null=True)
    sku_id = fields.IntField(null=True)
    term = fields.CharField(max_length=50, null=True)
    results = fields.IntField(null=True)
    client_id = fields.CharField(max_length=40)
    occurred_at = fields.DatetimeField()
    day = fields.DateField()  # occurred_at's day in China: the partition key
    received_at = fields.DatetimeField()

    class Meta:
        table = "analytics_events"
        unique_together = (("user_id", "client_id", "day"),)
        indexes = (("brand_id", "day", "kind"), ("store_id", "day"))


class EventDay(Model):
    """The behaviour events of one brand (or one distributor's stores), day or month, and
    report row: a funnel step (kind = the event's kind, key ''), a page's views (kind
    "page", key = the page) or a search term's searches (kind "search", key = the term in
    lower case, `term` its first spelling). Derived from the raw events of its day (a month
    from its days), never moved by differences: `backend/analytics/event_days.py`."""

    id = fields.BigIntField(primary_key=True)
    brand_id = fields.IntField()
    # WHOLE_BRAND, or the distributor the events' stores had when the day was summed
    distributor_id = fields.IntField()
    kind = fields.CharField(max_length=16)
    grain = fields.CharField(max_length=5)  # Grain: a day, or a month named by its first day
    day = fields.DateField()
    key = fields.CharField(max_length=64)
    events = fields.IntField(default=0)
    zero_results = fields.IntField(default=0)  # searches that found nothing
    term = fields.CharField(max_length=50, default="")  # MIN(term) of the key's searches
    users = fields.BinaryField()  # backend/analytics/bitsets.py: the users' ids
    stores = fields.BinaryField()  # and their stores' ids

    class Meta:
        table = "analytics_event_days"
        unique_together = (("brand_id", "distributor_id", "kind", "grain", "day", "key"),)
        indexes = (("grain", "day", "brand_id"),)


class EventDayMark(Model):
    """A brand's day that received events since its `EventDay` rows were last summed. Each
    mark bumps `generation`, and the summing deletes the mark only at the generation it read
    before it read the events, so a mark made meanwhile survives for the next run."""

    id = fields.BigIntField(primary_key=True)
    brand_id = fields.IntField()
    day = fields.DateField()
    generation = fields.BigIntField(default=1)
    marked_at = fields.DatetimeField()

    class Meta:
        table = "analytics_event_marks"
        unique_together = (("brand_id", "day"),)


class ReorderCycle(Model):
    """A store's usual reorder interval for one SKU, from its own history (or its
    category's, for a store with too little), and when it is next due."""

    id = fields.BigIntField(primary_key=True)
    brand_id = fields.IntField()
    store_id = fields.IntField()
    sku_id = fields.IntField()
    orders = fields.IntField()
    interval_days = fields.IntField()
    source = fields.CharField(max_length=8)  # "store" or "category"
    last_day = fields.DateField()
    due_day = fields.DateField()
    reminded_due = fields.DateField(null=True)  # the due day last reminded: once a cycle
    updated_at = fields.DatetimeField()

    class Meta:
        table = "analytics_reorders"
        unique_together = (("store_id", "sku_id"),)
        indexes = (("brand_id", "due_day"),)


class SalesTask(Model):
    """A task in a salesperson's list, such as a store due to reorder a SKU."""

    id = fields.BigIntField(primary_key=True)
    brand: fields.ForeignKeyRelation[Brand] = fields.ForeignKeyField(
        "models.Brand", related_name="sales_tasks", on_delete=fields.CASCADE
    )
    salesperson: fields.ForeignKeyRelation[Salesperson] = fields.ForeignKeyField(
        "models.Salesperson", related_name="tasks", on_delete=fields.CASCADE
    )
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="sales_tasks", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16)
    sku_id = fields.IntField(null=True)
    text = fields.CharField(max_length=200)
    due_day = fields.DateField()
    status = fields.CharField(max_length=12, default=TaskStatus.OPEN.value)
    created_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sales_tasks"
        unique_together = (("salesperson", "store", "kind", "sku_id", "due_day"),)
        indexes = (("salesperson_id", "status", "due_day"),)
