"""The layouts of the county's Excel ledgers: their columns, Chinese headers and the other names
those columns go by in real files, and the allowed values of the coded columns.

The headers are a file format, the same whatever the interface language, so they are written
here in Chinese; the allowed values are the Chinese labels of the model choices.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import translation

from projects import ledger_parse as lp
from projects.models import BuildType, Category, ReportStatus, Stage


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    aliases: tuple[str, ...] = ()
    width: int = 12

    @property
    def names(self) -> tuple[str, ...]:
        return (lp.header_key(self.header), *self.aliases)


PROJECT_COLUMNS = [
    Column("seq", "序号", ("编号", "序"), 6),
    Column("name", "项目名称", ("项目", "名称", "项目(工作)名称", "项目工作名称", "工作名称"), 36),
    Column("code", "项目代码", ("项目编码", "代码", "项目编号", "统一项目代码"), 16),
    Column("build_type", "建设性质", ("性质", "建设类型", "项目性质"), 10),
    Column("category", "行业类别", ("行业", "类别", "项目类别", "行业分类", "所属行业"), 12),
    Column(
        "description",
        "建设内容及规模",
        ("建设内容", "主要建设内容", "建设规模及内容", "建设内容和规模", "建设规模"),
        40,
    ),
    Column("total_investment", "总投资(万元)", ("总投资", "计划总投资", "项目总投资"), 14),
    Column(
        "year_plan",
        "年度计划投资(万元)",
        ("年度计划投资", "年度投资计划", "本年计划投资", "计划投资", "年度计划", "年计划投资"),
        14,
    ),
    Column("lead_unit", "责任单位", ("牵头单位", "主管单位", "责任部门", "牵头部门"), 18),
    Column("cooperating_units", "配合单位", ("协办单位", "配合部门", "协同单位"), 24),
    Column(
        "leaders",
        "包联领导",
        ("联系领导", "责任领导", "挂点领导", "县级包联领导", "包抓领导", "分管领导", "包保领导"),
        14,
    ),
    Column("township", "所在乡镇", ("乡镇", "所属乡镇", "建设地点(乡镇)", "所在乡镇街道"), 12),
    Column("planned_start", "计划开工时间", ("开工时间", "计划开工", "开工日期"), 13),
    Column(
        "planned_completion",
        "计划竣工时间",
        ("竣工时间", "计划完工时间", "完工时间", "计划竣工", "竣工日期"),
        13,
    ),
    Column("owner", "项目业主", ("业主单位", "建设单位", "业主", "项目单位"), 24),
    Column("stage", "当前阶段", ("项目阶段", "阶段", "进展阶段", "项目状态"), 12),
    Column("remarks", "备注", ("说明",), 24),
]

PROGRESS_COLUMNS = [
    Column("seq", "序号", ("编号", "序"), 6),
    Column("name", "项目名称", ("项目", "名称", "项目(工作)名称"), 36),
    Column("code", "项目代码", ("项目编码", "代码", "项目编号"), 16),
    Column("lead_unit", "责任单位", ("牵头单位", "责任部门"), 18),
    Column(
        "investment",
        "本月完成投资(万元)",
        ("本月完成投资", "本期完成投资", "当月完成投资", "完成投资", "本月投资", "月度完成投资"),
        14,
    ),
    Column(
        "physical_progress",
        "形象进度",
        (
            "工程形象进度",
            "进展情况",
            "形象进度及进展情况",
            "项目进展情况",
            "工作进展",
            "形象进度描述",
        ),
        40,
    ),
    Column(
        "problems",
        "存在问题",
        ("存在的问题", "问题", "困难和问题", "存在困难和问题", "存在问题及困难"),
        30,
    ),
    Column("next_steps", "下步打算", ("下步计划", "下一步工作", "下一步计划", "下步工作打算"), 30),
    Column("status", "填报状态", ("状态",), 10),
]


def aliases(columns: list[Column]) -> dict[str, tuple[str, ...]]:
    return {column.field: column.names for column in columns}


PROJECT_ALIASES = aliases(PROJECT_COLUMNS)
PROGRESS_ALIASES = aliases(PROGRESS_COLUMNS)
PROJECT_HEADERS = {column.field: column.header for column in PROJECT_COLUMNS}
PROGRESS_HEADERS = {column.field: column.header for column in PROGRESS_COLUMNS}

PROJECT_MONEY = ("total_investment", "year_plan")
PROJECT_DATES = ("planned_start", "planned_completion")
# Columns whose cells must be values, not formulas.
PROJECT_VALUE_COLUMNS = ("name", "code", *PROJECT_MONEY, *PROJECT_DATES, "lead_unit")
PROGRESS_VALUE_COLUMNS = ("name", "code", "investment")

# Other words for the coded values that county files use.
SYNONYMS = {
    "build_type": {
        "新开工": BuildType.NEW,
        "新建项目": BuildType.NEW,
        "续建项目": BuildType.CONTINUED,
        "复建": BuildType.RESUMED,
        "复工项目": BuildType.RESUMED,
    },
    "category": {
        "交通运输": Category.TRANSPORT,
        "交通基础设施": Category.TRANSPORT,
        "水利工程": Category.WATER,
        "工业项目": Category.INDUSTRY,
        "产业": Category.INDUSTRY,
        "农业农村": Category.AGRICULTURE,
        "文化旅游": Category.TOURISM,
        "旅游": Category.TOURISM,
        "商贸物流": Category.LOGISTICS,
        "社会事业": Category.LIVELIHOOD,
        "民生": Category.LIVELIHOOD,
        "生态": Category.ECOLOGY,
        "城建": Category.URBAN,
        "城镇建设": Category.URBAN,
        "市政": Category.URBAN,
    },
    "stage": {
        "前期工作": Stage.PREPARING,
        "已签约": Stage.SIGNED,
        "储备": Stage.RESERVE,
        "入库": Stage.RESERVE,
        "开工": Stage.UNDER_CONSTRUCTION,
        "已开工": Stage.UNDER_CONSTRUCTION,
        "施工": Stage.UNDER_CONSTRUCTION,
        "施工中": Stage.UNDER_CONSTRUCTION,
        "已竣工": Stage.COMPLETED,
        "完工": Stage.COMPLETED,
        "投产": Stage.OPERATING,
        "运营": Stage.OPERATING,
        "已投产": Stage.OPERATING,
        "停工": Stage.SUSPENDED,
        "已取消": Stage.CANCELLED,
    },
}
CHOICES = {"build_type": BuildType, "category": Category, "stage": Stage}
LEDGER_LANGUAGE = "zh-hans"


def chinese_label(field: str, value: str) -> str:
    if not value:
        return ""
    with translation.override(LEDGER_LANGUAGE):
        return str(CHOICES[field](value).label)


def allowed_labels(field: str) -> list[str]:
    with translation.override(LEDGER_LANGUAGE):
        return [str(label) for label in CHOICES[field].labels]


def choice_lookup(field: str) -> dict[str, str]:
    """Every way a coded value may be written → its value: the Chinese label (whole, without
    its bracketed part, or one of its ``a/b`` halves), the English label, the value, synonyms."""
    lookup: dict[str, str] = {}
    choices = CHOICES[field]
    for value, label in zip(choices.values, choices.labels, strict=True):
        lookup[lp.compact(value)] = value
        lookup[lp.compact(str(label))] = value
    with translation.override(LEDGER_LANGUAGE):
        for value, label in zip(choices.values, choices.labels, strict=True):
            text = lp.compact(str(label))
            lookup[text] = value
            lookup[lp.header_key(text)] = value
            for part in text.split("/"):
                lookup.setdefault(part, value)
    for word, value in SYNONYMS.get(field, {}).items():
        lookup.setdefault(word, value)
    return lookup


def report_status_label(status: str) -> str:
    with translation.override(LEDGER_LANGUAGE):
        return str(ReportStatus(status).label)
