"""What an import's rows must say, and every problem in them, in Chinese: pure functions over
the read table and the brand's reference data (names to ids, what already exists).

Each kind (stores, products, prices) has its columns and a row checker. A checker reads every
row and reports every problem it finds (row number, column, what is wrong), so a dry run
lists them all at once; only a table without a single problem yields rows to write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from backend.imports.sheets import Table, TemplateColumn, cell_text

MAX_ROWS = 10_000
PHONE = re.compile(r"^1\d{10}$")
BARCODE = re.compile(r"^[0-9A-Za-z\-]{4,32}$")
TIERS = ("A", "B", "C", "D")
DEFAULT_TIER = "C"
ALL = {"", "全部", "所有", "全部经销商", "全部分层"}  # an empty or "all" cell: any distributor/tier
TAG_SEPARATORS = re.compile(r"[,，、;；|/\s]+")
MAX_TAGS = 20
MAX_TAG_LENGTH = 32
# The same bounds as catalog's product and price forms.
MAX_PRICE_FEN = 10**10
MAX_CASE_SIZE = 10_000
MAX_MIN_QTY = 99_999


@dataclass(frozen=True, slots=True)
class Problem:
    row: int | None  # the sheet's row number; None: the file as a whole
    column: str | None
    message: str
    value: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    required: bool
    note: str
    example: str
    aliases: tuple[str, ...] = ()

    def template(self) -> TemplateColumn:
        return TemplateColumn(self.header, self.required, self.note, self.example)


# ---- reference data the service fetches -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class SalespersonRef:
    id: int
    name: str
    phone: str
    distributor_id: int | None


@dataclass(frozen=True, slots=True)
class StoreReference:
    regions: dict[str, int]
    distributors: dict[str, int]  # the brand's active distributors by name
    salespeople: Sequence[SalespersonRef]  # active ones
    taken_phones: frozenset[str]  # phones of the brand's stores


@dataclass(frozen=True, slots=True)
class CategoryRef:
    id: int
    name: str
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class ProductRef:
    id: int
    category_id: int


@dataclass(frozen=True, slots=True)
class ProductReference:
    categories: Sequence[CategoryRef]
    products: dict[str, list[ProductRef]]  # the brand's products by name
    taken_barcodes: frozenset[str]


PriceKey = tuple[int, int | None, str | None, int]  # sku, distributor, tier, minimum quantity


@dataclass(frozen=True, slots=True)
class PriceReference:
    skus: dict[str, int]  # the brand's SKUs by barcode
    distributors: dict[str, int]
    entries: dict[PriceKey, int]  # existing price entries: key → id


# ---- reading cells ----------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _shown(cell: Any) -> str | None:
    if cell is None:
        return None
    text = str(cell).strip()
    return text[:50] if text else None


def _text(cell: Any, *, max_length: int, required: bool) -> str | None:
    try:
        text = cell_text(cell)
    except TypeError as exc:
        raise _Bad("应为文本，不能是日期或是/否") from exc
    if text is None:
        if required:
            raise _Bad("必填")
        return None
    if "\x00" in text:
        raise _Bad("含有不允许的字符")
    if len(text) > max_length:
        raise _Bad(f"不能超过 {max_length} 个字")
    return text


def _required_matching(
    cell: Any, *, pattern: re.Pattern[str], max_length: int, message: str
) -> str:
    text = _text(cell, max_length=max_length, required=True)
    assert text is not None
    if not pattern.match(text):
        raise _Bad(message)
    return text


def _whole(cell: Any, *, low: int, high: int, default: int) -> int:
    text = _text(cell, max_length=20, required=False)
    if text is None:
        return default
    if not re.fullmatch(r"\d+", text):
        raise _Bad("应为整数")
    value = int(text)
    if not low <= value <= high:
        raise _Bad(f"应在 {low} 到 {high} 之间")
    return value


def _fen(cell: Any) -> int:
    """Yuan as typed (12, 12.5, 12.50) to integer fen, exactly: more than two decimals,
    a negative or a non-number is refused, never rounded."""
    text = _text(cell, max_length=20, required=True)
    assert text is not None
    try:
        yuan = Decimal(text.replace(",", "").lstrip("¥￥"))
    except InvalidOperation as exc:
        raise _Bad("应为金额（元），如 19.90") from exc
    if not yuan.is_finite():
        raise _Bad("应为金额（元），如 19.90")
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise _Bad("金额最多两位小数")
    if fen < 0:
        raise _Bad("金额不能为负")
    if fen > MAX_PRICE_FEN:
        raise _Bad("金额过大")
    return int(fen)


class _Row:
    """One row being checked: its cells by column key, and the problems found so far."""

    def __init__(
        self, number: int, cells: dict[str, Any], columns: dict[str, Column], out: list[Problem]
    ) -> None:
        self.number = number
        self.cells = cells
        self.columns = columns
        self.out = out
        self.bad = False

    def problem(self, key: str, message: str) -> None:
        self.bad = True
        self.out.append(
            Problem(self.number, self.columns[key].header, message, _shown(self.cells.get(key)))
        )

    def read(self, key: str, reader: Callable[[Any], Any]) -> Any:
        try:
            return reader(self.cells.get(key))
        except _Bad as bad:
            self.problem(key, bad.message)
            return None

    def text(self, key: str, max_length: int) -> str | None:
        column = self.columns[key]
        return self.read(
            key, lambda cell: _text(cell, max_length=max_length, required=column.required)
        )


# ---- the header -------------------------------------------------------------------------------


def _normalised(header: str) -> str:
    return re.sub(r"[\s（）()]|必填|元", "", header)


def _column_positions(
    table: Table, columns: Sequence[Column], out: list[Problem]
) -> dict[str, int] | None:
    """Where each column is; None (with the problems) when the header is not the template's."""
    wanted = {
        _normalised(name): column for column in columns for name in (column.header, *column.aliases)
    }
    positions: dict[str, int] = {}
    for index, header in enumerate(table.header):
        if not header:
            continue
        column = wanted.get(_normalised(header))
        if column is None:
            out.append(Problem(1, header, "无法识别的列名，请使用模板中的列名"))
        elif column.key in positions:
            out.append(Problem(1, header, "列名重复"))
        else:
            positions[column.key] = index
    missing = [c.header for c in columns if c.required and c.key not in positions]
    for header in missing:
        out.append(Problem(1, header, "缺少必填列"))
    return None if out else positions


def _rows(table: Table, columns: Sequence[Column], out: list[Problem]) -> list[_Row] | None:
    """The table's rows with cells by key, after the checks that concern the file itself."""
    if not table.header:
        out.append(Problem(None, None, "文件是空的，请按模板填写后再上传"))
        return None
    positions = _column_positions(table, columns, out)
    if positions is None:
        return None
    if not table.rows:
        out.append(Problem(None, None, "文件中没有数据行"))
        return None
    if table.more_rows:
        out.append(Problem(None, None, f"数据行过多：一次最多导入 {MAX_ROWS:,} 行，请分批导入"))
        return None
    by_key = {c.key: c for c in columns}
    return [
        _Row(
            number,
            {key: cells[i] if i < len(cells) else None for key, i in positions.items()},
            by_key,
            out,
        )
        for number, cells in table.rows
    ]


def _first_seen(row: _Row, key: str, value: Any, seen: dict[Any, int], what: str) -> None:
    if value is None:
        return
    if value in seen:
        row.problem(key, f"与第 {seen[value]} 行{what}重复")
    else:
        seen[value] = row.number


# ---- stores -----------------------------------------------------------------------------------

STORE_COLUMNS = (
    Column("name", "门店名称", True, "1–64 个字", "张记净水店"),
    Column("contact_name", "联系人", False, "最多 32 个字", "张建国"),
    Column("phone", "手机号", True, "11 位手机号，同一品牌内不能与已有门店重复", "13800001234"),
    Column("address", "地址", True, "1–200 个字", "杭州市西湖区文一西路 1 号"),
    Column("region", "区域", False, "系统中已有的区域名称", "杭州"),
    Column("distributor", "经销商", True, "系统中已有且在用的经销商名称", "杭州澜泉商贸"),
    Column(
        "salesperson",
        "业务员",
        False,
        "业务员姓名或手机号；须属于该经销商（或未分配经销商）",
        "王磊",
    ),
    Column("tier", "门店分层", False, "A、B、C 或 D，不填为 C", "B", aliases=("分层", "等级")),
    Column(
        "tags",
        "标签",
        False,
        "多个标签用逗号或顿号分隔，每个最多 32 字，最多 20 个",
        "社区店、新店",
    ),
)


@dataclass(frozen=True, slots=True)
class StoreRow:
    row: int
    distributor: str  # its name, as the file gave it
    name: str
    contact_name: str
    phone: str
    address: str
    region_id: int | None
    distributor_id: int
    salesperson_id: int | None
    tier: str
    tags: tuple[str, ...]


def _salesperson(
    row: _Row, text: str | None, distributor_id: int | None, ref: StoreReference
) -> int | None:
    if text is None:
        return None
    by_phone = PHONE.match(text) is not None
    matches = [p for p in ref.salespeople if (p.phone if by_phone else p.name) == text]
    if distributor_id is not None and len(matches) > 1:
        # The same name at several distributors: the store's distributor decides.
        matches = [p for p in matches if p.distributor_id == distributor_id] or matches
    if not matches:
        row.problem("salesperson", "找不到该业务员（或已停用）")
        return None
    if len(matches) > 1:
        row.problem("salesperson", "有多个同名业务员，请填写业务员手机号")
        return None
    [person] = matches
    if distributor_id is not None and person.distributor_id not in (None, distributor_id):
        row.problem("salesperson", "该业务员不属于所选经销商")
        return None
    return person.id


def _tags(cell: Any) -> tuple[str, ...]:
    text = _text(cell, max_length=MAX_TAGS * (MAX_TAG_LENGTH + 1), required=False)
    tags = sorted({t for t in TAG_SEPARATORS.split(text or "") if t})
    if any(len(t) > MAX_TAG_LENGTH for t in tags):
        raise _Bad(f"每个标签最多 {MAX_TAG_LENGTH} 个字")
    if len(tags) > MAX_TAGS:
        raise _Bad(f"最多 {MAX_TAGS} 个标签")
    return tuple(tags)


def _tier(cell: Any) -> str:
    text = _text(cell, max_length=4, required=False)
    if text is None:
        return DEFAULT_TIER
    if text.upper() not in TIERS:
        raise _Bad("门店分层应为 A、B、C 或 D")
    return text.upper()


_phone = partial(
    _required_matching, pattern=PHONE, max_length=20, message="手机号应为 11 位数字，以 1 开头"
)


def check_stores(table: Table, ref: StoreReference) -> tuple[list[StoreRow], list[Problem]]:
    problems: list[Problem] = []
    rows = _rows(table, STORE_COLUMNS, problems)
    if rows is None:
        return [], problems
    parsed: list[StoreRow] = []
    phones: dict[str, int] = {}
    for row in rows:
        name = row.text("name", 64)
        contact = row.text("contact_name", 32)
        phone = row.read("phone", _phone)
        if phone is not None and phone in ref.taken_phones:
            row.problem("phone", "已有门店使用该手机号（门店已存在）")
        _first_seen(row, "phone", phone, phones, "的手机号")
        address = row.text("address", 200)
        region_name = row.text("region", 64)
        region_id = ref.regions.get(region_name) if region_name else None
        if region_name and region_id is None:
            row.problem("region", "找不到该区域")
        distributor_name = row.text("distributor", 64)
        distributor_id = ref.distributors.get(distributor_name) if distributor_name else None
        if distributor_name and distributor_id is None:
            row.problem("distributor", "找不到该经销商（或已停用）")
        salesperson_id = _salesperson(row, row.text("salesperson", 32), distributor_id, ref)
        tier = row.read("tier", _tier)
        tags = row.read("tags", _tags)
        if row.bad:
            continue
        assert name and phone and address and distributor_name and distributor_id is not None
        parsed.append(
            StoreRow(
                row.number,
                distributor_name,
                name,
                contact or "",
                phone,
                address,
                region_id,
                distributor_id,
                salesperson_id,
                tier,
                tags,
            )
        )
    return (parsed, []) if not problems else ([], problems)


# ---- products ---------------------------------------------------------------------------------

PRODUCT_COLUMNS = (
    Column(
        "product",
        "商品名称",
        True,
        "1–64 个字；名称相同的行是同一商品的不同规格；品牌已有同名商品时，规格加入该商品",
        "澜泉 RO 净水器",
    ),
    Column(
        "category",
        "分类",
        True,
        "系统中已有的分类名称；重名时写成 父分类/子分类",
        "净水器",
    ),
    Column("sku_name", "规格名称", True, "1–64 个字", "RO-500G", aliases=("规格",)),
    Column("spec", "规格说明", False, "最多 64 个字", "500 加仑 / 白色"),
    Column("unit", "单位", False, "1–8 个字，不填为 件", "台"),
    Column("barcode", "条码", True, "4–32 位字母、数字或 -，品牌内唯一", "6901234567890"),
    Column("list_price", "标价（元）", True, "单位元，最多两位小数", "1999.00", aliases=("标价",)),
    Column("case_size", "箱规", False, f"每箱件数，1–{MAX_CASE_SIZE}，不填为 1", "1"),
    Column(
        "min_order_qty",
        "起订量",
        False,
        f"1–{MAX_MIN_QTY}，须为箱规的整数倍，不填为箱规",
        "1",
    ),
)


@dataclass(frozen=True, slots=True)
class SkuRow:
    row: int
    name: str
    spec: str
    unit: str
    barcode: str
    list_price_fen: int
    case_size: int
    min_order_qty: int


@dataclass(slots=True)
class ProductRow:
    """A product to create (id None) or one the brand has, with the SKUs to add to it."""

    name: str
    category_id: int
    id: int | None
    first_row: int  # where the file first names it
    skus: list[SkuRow] = field(default_factory=list)


def category_paths(categories: Iterable[CategoryRef]) -> dict[str, list[int]]:
    """Each category by its own name and by its path ("净水器/滤芯"), to the ids it may mean."""
    by_id = {c.id: c for c in categories}
    named: dict[str, list[int]] = {}

    def path(category: CategoryRef) -> str:
        seen: set[int] = set()
        parts = [category.name]
        parent = by_id.get(category.parent_id) if category.parent_id else None
        while parent is not None and parent.id not in seen:
            seen.add(parent.id)
            parts.append(parent.name)
            parent = by_id.get(parent.parent_id) if parent.parent_id else None
        return "/".join(reversed(parts))

    for category in by_id.values():
        named.setdefault(category.name, []).append(category.id)
        full = path(category)
        if full != category.name:
            named.setdefault(full, []).append(category.id)
    return named


_barcode = partial(
    _required_matching, pattern=BARCODE, max_length=32, message="条码应为 4–32 位字母、数字或 -"
)


def check_products(table: Table, ref: ProductReference) -> tuple[list[ProductRow], list[Problem]]:
    problems: list[Problem] = []
    rows = _rows(table, PRODUCT_COLUMNS, problems)
    if rows is None:
        return [], problems
    categories = category_paths(ref.categories)
    products: dict[str, ProductRow] = {}
    barcodes: dict[str, int] = {}
    for row in rows:
        name = row.text("product", 64)
        category_text = row.text("category", 64)
        category_id = None
        if category_text:
            ids = categories.get(re.sub(r"\s*/\s*", "/", category_text), [])
            if not ids:
                row.problem("category", "找不到该分类")
            elif len(ids) > 1:
                row.problem("category", "有多个同名分类，请写成 父分类/子分类")
            else:
                category_id = ids[0]
        sku_name = row.text("sku_name", 64)
        spec = row.text("spec", 64)
        unit = row.text("unit", 8)
        barcode = row.read("barcode", _barcode)
        if barcode is not None and barcode in ref.taken_barcodes:
            row.problem("barcode", "该条码已被品牌的其他规格使用（规格已存在）")
        _first_seen(row, "barcode", barcode, barcodes, "的条码")
        price = row.read("list_price", _fen)
        case_size = row.read("case_size", partial(_whole, low=1, high=MAX_CASE_SIZE, default=1))
        min_qty = row.read(
            "min_order_qty", partial(_whole, low=1, high=MAX_MIN_QTY, default=case_size or 1)
        )
        if case_size and min_qty and min_qty % case_size:
            row.problem("min_order_qty", "起订量必须是箱规的整数倍")
        product = _product_for(row, name, category_id, products, ref)
        if row.bad or product is None:
            continue
        assert sku_name and barcode and price is not None and case_size and min_qty
        product.skus.append(
            SkuRow(
                row.number, sku_name, spec or "", unit or "件", barcode, price, case_size, min_qty
            )
        )
    return (list(products.values()), []) if not problems else ([], problems)


def _product_for(
    row: _Row,
    name: str | None,
    category_id: int | None,
    products: dict[str, ProductRow],
    ref: ProductReference,
) -> ProductRow | None:
    """The product a row's SKU belongs to: one earlier in the file, one the brand has, or new."""
    if name is None or category_id is None:
        return None
    if name in products:
        product = products[name]
        if product.category_id != category_id:
            row.problem("category", f"与第 {product.first_row} 行同一商品的分类不一致")
            return None
        return product
    existing = ref.products.get(name, [])
    if len(existing) > 1:
        row.problem("product", "品牌已有多个同名商品，无法确定规格属于哪一个")
        return None
    if existing and existing[0].category_id != category_id:
        row.problem("category", "品牌已有同名商品，但属于其他分类")
        return None
    product = ProductRow(name, category_id, existing[0].id if existing else None, row.number)
    products[name] = product
    return product


# ---- price lists ------------------------------------------------------------------------------

PRICE_COLUMNS = (
    Column("barcode", "条码", True, "品牌已有规格的条码", "6901234567890", aliases=("规格条码",)),
    Column("distributor", "经销商", False, "经销商名称；不填或填“全部”表示所有经销商", "全部"),
    Column(
        "tier",
        "门店分层",
        False,
        "A、B、C 或 D；不填或填“全部”表示所有分层",
        "A",
        aliases=("分层",),
    ),
    Column(
        "min_qty",
        "起订数量",
        False,
        f"达到该数量起用此价（阶梯价），1–{MAX_MIN_QTY}，不填为 1",
        "1",
    ),
    Column("unit_price", "单价（元）", True, "单位元，最多两位小数", "1799.00", aliases=("单价",)),
)


@dataclass(frozen=True, slots=True)
class PriceRow:
    row: int
    barcode: str
    distributor: str | None  # its name, as the file gave it; None: every distributor
    sku_id: int
    distributor_id: int | None
    store_tier: str | None
    min_qty: int
    unit_price_fen: int
    existing_id: int | None  # the entry this row sets again, when the key exists


def _all_or_text(cell: Any) -> str | None:
    text = _text(cell, max_length=64, required=False)
    return None if text is None or text in ALL else text


def check_prices(table: Table, ref: PriceReference) -> tuple[list[PriceRow], list[Problem]]:
    problems: list[Problem] = []
    rows = _rows(table, PRICE_COLUMNS, problems)
    if rows is None:
        return [], problems
    parsed: list[PriceRow] = []
    keys: dict[PriceKey, int] = {}
    for row in rows:
        barcode = row.read("barcode", _barcode)
        sku_id = ref.skus.get(barcode) if barcode else None
        if barcode and sku_id is None:
            row.problem("barcode", "找不到该条码的规格")
        distributor_name = row.read("distributor", _all_or_text)
        distributor_id = ref.distributors.get(distributor_name) if distributor_name else None
        if distributor_name and distributor_id is None:
            row.problem("distributor", "找不到该经销商（或已停用）")
        tier_text = row.read("tier", _all_or_text)
        if tier_text is not None and tier_text.upper() not in TIERS:
            row.problem("tier", "门店分层应为 A、B、C、D 或 全部")
        tier = tier_text.upper() if tier_text else None
        min_qty = row.read("min_qty", partial(_whole, low=1, high=MAX_MIN_QTY, default=1))
        price = row.read("unit_price", _fen)
        if row.bad:
            continue
        assert barcode and sku_id is not None and min_qty is not None and price is not None
        key: PriceKey = (sku_id, distributor_id, tier, min_qty)
        _first_seen(row, "min_qty", key, keys, "的条码、经销商、分层和起订数量")
        if row.bad:
            continue
        parsed.append(
            PriceRow(
                row.number,
                barcode,
                distributor_name,
                sku_id,
                distributor_id,
                tier,
                min_qty,
                price,
                ref.entries.get(key),
            )
        )
    return (parsed, []) if not problems else ([], problems)
