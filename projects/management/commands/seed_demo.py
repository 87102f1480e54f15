"""Load a believable demo county: ``manage.py seed_demo [--seed S] [--today D] [--projects N]``.

The county (示范县 under 江州市) gets departments, townships with villages, zones, investment
teams, leaders, users for every role, and key projects with their stage log, annual plans,
milestones, a year of progress reports, funding, upward-funding applications and targets.

Everything is drawn from one ``random.Random(seed)`` and dated relative to ``--today``, so the same
seed and day give the same data. Writes go through ``projects.services`` (the only write path of
the domain) except the set-up an administrator does directly: units, leaders, users, memberships,
and afterwards the timestamps the services stamp with "now" (submission, review and revision
times), which are moved back to believable past moments.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from projects import selectors, services, tallies
from projects.models import (
    ApplicationStatus,
    BuildType,
    FundingSource,
    Leader,
    Membership,
    Milestone,
    MilestoneKind,
    MilestoneRevision,
    MilestoneTemplate,
    ProgressReport,
    Project,
    ProjectKind,
    ProjectLevel,
    Role,
    Source,
    Stage,
    StageChange,
    Tag,
    Target,
    TargetMetric,
    Tier,
    Unit,
    UnitKind,
)
from projects.signals import demo_seeded
from tracker import periods

User = AbstractUser

DEFAULT_SEED = 2026
DEFAULT_PROJECTS = 72
PASSWORD = "demo12345"  # noqa: S105 - the documented password of every demo account
REPORT_WINDOW = 12  # closed reporting periods with reports

# ---------------------------------------------------------------------------------------------
# Data tables (names are data, so they are Chinese)
# ---------------------------------------------------------------------------------------------

# fmt: off
CITY = ("江州市", "JZS")
COUNTY = ("示范县", "SFX")
CENTRE = (30.712, 108.396)  # latitude, longitude of the county seat

# (name, short name, login code); the login code also names the unit's accounts.
DEPARTMENTS = [
    ("县发展和改革局", "发改局", "fgj"), ("县财政局", "财政局", "czj"),
    ("县交通运输局", "交通运输局", "jtj"), ("县水利局", "水利局", "slj"),
    ("县住房和城乡建设局", "住建局", "zjj"), ("县规划和自然资源局", "自然资源局", "zrzyj"),
    ("县文化和旅游发展局", "文旅局", "wlj"), ("县农业农村局", "农业农村局", "nyncj"),
    ("县经济和信息化局", "经信局", "jxj"), ("县商务局", "商务局", "swj"),
    ("县生态环境局", "生态环境局", "sthjj"), ("县教育局", "教育局", "jyj"),
    ("县卫生健康委员会", "卫健委", "wjw"), ("县政府督查室", "督查室", "dcs"),
    ("县重点项目服务中心", "重点项目办", "zdxmb"), ("县城市管理局", "城管局", "cgj"),
    ("县应急管理局", "应急管理局", "yjj"), ("县市场监督管理局", "市场监管局", "scjgj"),
    ("县民政局", "民政局", "mzj"), ("县人力资源和社会保障局", "人社局", "rsj"),
    ("县投资促进中心", "投促中心", "tczx"),
]
# The county seat's 街道 come first: "县…" projects are located there.
TOWNSHIPS = [
    ("凤凰街道", "凤凰", "fenghuang"), ("滨江街道", "滨江", "binjiang"),
    ("龙河镇", "龙河", "longhe"), ("青山镇", "青山", "qingshan"), ("白沙镇", "白沙", "baisha"),
    ("石桥镇", "石桥", "shiqiao"), ("双龙镇", "双龙", "shuanglong"),
    ("云峰镇", "云峰", "yunfeng"), ("金竹镇", "金竹", "jinzhu"), ("桃源乡", "桃源", "taoyuan"),
    ("清水乡", "清水", "qingshui"), ("长坪乡", "长坪", "changping"),
]
TOWNSHIP_SHORT_NAMES = {name: short for name, short, _code in TOWNSHIPS}  # 龙河镇 → 龙河
ZONES = [("示范县经济开发区", "经开区", "jkq"), ("临港工业园区", "临港园区", "lgyq")]
ZONE_HOSTS = {"jkq": "binjiang", "lgyq": "baisha"}  # the township each zone lies in
TEAMS = [
    ("招商一组（长三角专班）", "招商一组", "zs1"), ("招商二组（粤港澳专班）", "招商二组", "zs2"),
    ("招商三组（成渝专班）", "招商三组", "zs3"),
]
VILLAGES = [
    "大坪", "新华", "红星", "长岭", "柳林", "高峰", "三合", "黄桷", "杨柳", "中坝",
    "石龙", "双河", "青龙", "马鞍", "梨园", "茶园", "白果", "松林", "水井", "桂花",
    "凉水", "团结", "联合", "光明", "向阳", "龙泉", "金星", "丰收", "太平", "永安",
]
COMMUNITIES = [
    "锦屏", "文峰", "育才", "南门", "北山", "朝阳", "望江", "新城", "东城", "桃花",
]

# (name, title, categories this leader chiefly leads)
LEADERS = [
    ("周立群", "县委书记", ""),
    ("李明远", "县委副书记、县长", ""),
    ("陈志刚", "县委常委、常务副县长", "industry logistics energy other"),
    ("张海波", "副县长", "transport water"),
    ("刘晓红", "副县长", "livelihood tourism"),
    ("杨文静", "副县长", "agriculture ecology"),
    ("黄德林", "副县长", "urban"),
    ("吴国庆", "县人大常委会副主任", ""),
]
# (username, person's name, [(role, unit login code or "" for the county)], leader index)
FEATURED_USERS: list[tuple[str, str, list[tuple[str, str]], int | None]] = [
    ("admin", "系统管理员", [(Role.ADMIN, "")], None),
    ("duchashi", "谭建军", [(Role.SUPERVISOR, "")], None),
    ("fgj", "冉晓梅", [(Role.SUPERVISOR, ""), (Role.REPORTER, "fgj")], None),
    ("shuji", "周立群", [(Role.LEADER, "")], 0),
    ("xianzhang", "李明远", [(Role.LEADER, "")], 1),
    ("changwu", "陈志刚", [(Role.LEADER, "")], 2),
]
# Unit accounts shown in the logins table (every unit has them; these are examples).
SHOWN_UNIT_LOGINS = ["jtj", "slj", "longhe", "jkq", "zs1"]
SURNAMES = list("王李张刘陈杨黄赵周吴徐孙马朱胡郭何罗高林谭冉向秦彭邓")
GIVEN_NAMES = [
    "建华", "志强", "晓燕", "海波", "丽娟", "国平", "文军", "春梅", "德明", "红霞", "俊杰", "小勇",
    "兴国", "雪梅", "永红", "明辉", "静", "磊", "芳", "涛", "宇", "婷", "军", "敏",
    "家豪", "思远", "玉兰", "光荣",
]
TAGS = [
    "三峡后续规划", "民生实事", "三年行动计划", "乡村振兴", "城市更新", "专项债项目",
    "招大引强", "生态修复",
]

BRANDS = [
    "华锦", "恒瑞达", "鑫源", "宏泰", "中科睿", "天合", "隆盛",
    "博远", "金诺", "蓝海", "德润", "瑞丰", "汇能", "长风",
]
RIVERS = ["龙溪河", "桃花溪", "白沙河", "清江"]
SCENIC = ["云雾山", "龙潭峡", "桃花岛", "七星洞"]
MOUNTAINS = ["青云山", "大垭口", "狮子岭"]
URBAN_AREAS = ["老城区", "南门", "北山", "滨江路"]
CROPS = ["柑橘", "茶叶", "中药材", "脆李", "榨菜", "油茶"]
PRODUCTS = ["锂电池正极材料", "高性能复合材料", "精细化工中间体", "特种玻璃纤维", "新型建材"]
CN_NUMBERS = "一二三四五六七八九"
CONTRACTORS = [
    "江州建工集团有限公司", "江州路桥建设有限公司", "江州水利水电工程有限公司",
    "示范县城建工程有限公司", "兴达建设工程有限公司", "华宇建设集团有限公司",
    "中远路桥工程有限公司",
]
SUPERVISING_ENGINEERS = [
    "江州华正工程监理有限公司", "诚信建设工程咨询有限公司", "江州交通工程监理有限公司",
    "恒正项目管理有限公司",
]
GOVERNMENT_OWNERS = {
    "jtj": "示范县交通建设投资有限公司", "slj": "示范县水务投资有限公司",
    "nyncj": "示范县农业农村发展投资有限公司", "wlj": "示范县文化旅游投资有限公司",
    "jkq": "示范县经开区建设开发有限公司", "lgyq": "示范县经开区建设开发有限公司",
}
DEFAULT_GOVERNMENT_OWNER = "示范县城市建设投资集团有限公司"
OWNER_SUFFIX = {
    "industry": "科技有限公司", "energy": "新能源有限公司", "agriculture": "农业开发有限公司",
    "tourism": "文化旅游发展有限公司", "logistics": "供应链管理有限公司",
}


class Template(NamedTuple):
    """A kind of construction project the county typically has."""

    category: str
    sources: str  # G government, A attraction, S social, P PPP
    leads: str  # unit login codes; "town" = its township, "zone", "team" = any of them
    name: str
    investment: tuple[int, int]  # 万元
    months: tuple[int, int]  # construction period
    tags: str
    content: str  # 建设内容及规模


T = Template
TEMPLATES = [
    T("transport", "GP", "jtj", "{t}至{t2}公路改扩建工程", (8000, 60000), (18, 36),
      "三年行动计划", "改扩建公路{km}公里，按二级公路标准建设，路基宽度{w}米"),
    T("transport", "G", "jtj town", "{T}场镇过境公路新建工程", (3000, 15000), (12, 24), "",
      "新建城镇过境公路{km}公里及配套排水、照明设施"),
    T("transport", "G", "jtj", "{T}农村公路提档升级工程", (1500, 6000), (8, 14), "乡村振兴",
      "提档升级农村公路{km}公里，新建错车道{n}处"),
    T("transport", "GP", "jtj", "县城至{T}快速通道工程", (30000, 120000), (24, 42), "",
      "新建一级公路{km}公里，设计速度60公里/小时"),
    T("transport", "G", "jtj", "{river}{t}大桥新建工程", (6000, 25000), (18, 30), "",
      "新建大桥一座，全长{m}米，双向四车道"),
    T("water", "G", "slj", "{T}{v}水库除险加固工程", (1500, 8000), (8, 16), "",
      "大坝防渗加固、溢洪道改造及管理设施建设"),
    T("water", "G", "slj", "{T}中型灌区续建配套与节水改造项目", (5000, 20000), (12, 30),
      "乡村振兴", "改造渠道{km}公里，新建渠系建筑物{n}座"),
    T("water", "G", "slj", "{river}{t}段防洪治理工程", (3000, 15000), (12, 24), "三峡后续规划",
      "新建堤防{km}公里，护岸及生态修复"),
    T("water", "G", "slj town", "{T}农村供水保障提升工程", (1000, 5000), (6, 12), "民生实事",
      "新建水厂一座，日供水{q}千吨，铺设管网{km}公里"),
    T("water", "G", "slj", "{t}中型水库建设工程", (40000, 150000), (36, 60), "",
      "新建中型水库，总库容{q}百万立方米"),
    T("industry", "AS", "zone team jxj", "{brand}智能制造产业园项目", (20000, 200000), (18, 36),
      "招大引强", "新建标准化厂房{area}万平方米及智能化生产线"),
    T("industry", "AS", "zone team", "年产{q}万吨{product}项目", (10000, 80000), (12, 30),
      "招大引强", "新建生产线{n}条及配套仓储设施"),
    T("industry", "AS", "zone team", "{brand}新能源汽车零部件生产基地", (15000, 100000),
      (18, 30), "招大引强", "建设电机、电控零部件生产线{n}条"),
    T("industry", "G", "jkq", "经开区标准化厂房建设项目（{phase}期）", (8000, 30000), (12, 24),
      "", "新建标准化厂房{area}万平方米及配套道路管网"),
    T("industry", "AS", "zone team town", "{brand}食品精深加工项目", (3000, 20000), (10, 20),
      "", "建设食品加工车间、冷库及检测中心"),
    T("agriculture", "G", "nyncj town", "{T}高标准农田建设项目", (1000, 5000), (6, 12),
      "乡村振兴", "建设高标准农田{area}千亩，配套灌排及田间道路"),
    T("agriculture", "AS", "nyncj town team", "{T}{crop}产业示范基地建设项目", (2000, 15000),
      (12, 24), "乡村振兴", "建设{crop}标准化种植基地{area}千亩及初加工中心"),
    T("agriculture", "G", "nyncj town", "{T}和美乡村示范片建设项目", (1500, 6000), (8, 18),
      "乡村振兴", "农房风貌整治、人居环境提升及产业路建设"),
    T("agriculture", "A", "nyncj team", "{brand}生猪养殖一体化项目", (8000, 30000), (12, 24),
      "", "建设年出栏{q}万头生猪养殖场及有机肥厂"),
    T("tourism", "GA", "wlj", "{scenic}景区提档升级工程", (5000, 40000), (12, 30), "",
      "游客中心、游步道、停车场等设施提档升级"),
    T("tourism", "AP", "wlj town", "{T}古镇保护与文旅融合开发项目", (10000, 80000), (24, 48),
      "", "古建筑修缮、街区风貌改造及文旅业态植入"),
    T("tourism", "AS", "wlj team", "{scenic}康养度假区项目", (20000, 150000), (24, 48),
      "招大引强", "建设康养酒店、度假木屋及配套设施"),
    T("tourism", "G", "wlj town", "{T}乡村旅游环线建设项目", (2000, 8000), (10, 18), "乡村振兴",
      "建设旅游环线{km}公里及观景平台、驿站"),
    T("logistics", "AS", "swj zone", "示范县现代物流园（{phase}期）", (15000, 60000), (18, 30),
      "", "建设仓储中心{area}万平方米、分拨中心及信息平台"),
    T("logistics", "GAS", "swj town", "{T}农产品冷链物流中心", (3000, 12000), (10, 18),
      "乡村振兴", "建设冷库{q}千吨及分拣配送中心"),
    T("logistics", "G", "swj", "县域电商物流共同配送中心项目", (1500, 5000), (8, 14), "",
      "建设县级电商物流分拨中心及乡镇配送站点"),
    T("livelihood", "G", "wjw", "县人民医院新院区建设项目", (30000, 90000), (30, 48),
      "民生实事", "新建医疗综合楼，设置床位{beds}张"),
    T("livelihood", "G", "wjw", "县中医院康复楼建设项目", (5000, 15000), (18, 30), "民生实事",
      "新建康复楼{area}千平方米，设置床位{beds}张"),
    T("livelihood", "G", "wjw town", "{T}中心卫生院综合楼建设项目", (800, 3000), (10, 18),
      "民生实事", "新建综合楼{area}千平方米"),
    T("livelihood", "G", "jyj", "县第{cn}中学扩建工程", (5000, 15000), (18, 30), "民生实事",
      "新建教学楼、学生宿舍及运动场，新增学位{seats}个"),
    T("livelihood", "G", "jyj town", "{T}中心小学教学综合楼建设项目", (800, 3000), (10, 18),
      "民生实事", "新建教学综合楼{area}千平方米"),
    T("livelihood", "G", "mzj town", "{T}养老服务中心建设项目", (600, 3000), (10, 18),
      "民生实事", "新建养老服务中心，设置床位{beds}张"),
    T("livelihood", "GP", "zjj", "县城老旧小区改造项目（{phase}期）", (3000, 12000), (8, 18),
      "城市更新 民生实事", "改造老旧小区{n}个，惠及居民{homes}户"),
    T("livelihood", "G", "rsj", "县就业创业服务中心（零工市场）建设项目", (500, 2000), (8, 14),
      "民生实事", "建设零工市场及创业孵化基地"),
    T("livelihood", "GS", "zjj", "县城保障性租赁住房项目", (8000, 25000), (18, 30), "民生实事",
      "建设保障性租赁住房{homes}套"),
    T("ecology", "GP", "sthjj town", "{T}污水处理厂及配套管网工程", (2000, 10000), (12, 20),
      "三峡后续规划", "新建日处理{q}千吨污水处理厂及管网{km}公里"),
    T("ecology", "GP", "sthjj", "{river}流域水环境综合治理项目", (10000, 50000), (24, 36),
      "三峡后续规划 生态修复", "河道清淤、生态护岸及截污干管建设"),
    T("ecology", "G", "zrzyj sthjj", "{T}废弃矿山生态修复项目", (1000, 6000), (8, 16),
      "生态修复", "修复废弃矿山{area}百亩"),
    T("ecology", "G", "sthjj", "三峡库区{t}段消落带生态治理工程", (2000, 8000), (12, 24),
      "三峡后续规划 生态修复", "消落带植被恢复及岸线综合整治{km}公里"),
    T("ecology", "GP", "cgj", "县城生活垃圾分类处理中心", (3000, 12000), (12, 24), "",
      "建设日处理{q}百吨垃圾分类转运处理中心"),
    T("urban", "GP", "zjj", "{urban_area}片区城市更新项目", (10000, 60000), (24, 36),
      "城市更新", "片区道路、管网、立面及公共空间整体更新"),
    T("urban", "G", "zjj cgj", "滨江公园（{phase}期）建设工程", (3000, 15000), (12, 24), "",
      "建设滨江公园{area}百亩及亲水步道"),
    T("urban", "AP", "cgj", "县城智慧停车场建设项目", (2000, 8000), (8, 16), "",
      "建设智慧停车泊位{n}百个"),
    T("urban", "G", "zjj", "县城雨污分流改造工程（{phase}期）", (3000, 12000), (12, 20),
      "城市更新", "改造雨污管网{km}公里"),
    T("urban", "G", "town", "{T}场镇综合整治提升工程", (800, 3000), (6, 12), "乡村振兴",
      "场镇道路、立面及排水设施综合整治"),
    T("energy", "A", "fgj team", "{T}{mw}兆瓦农光互补光伏电站项目", (10000, 50000), (10, 18),
      "", "建设光伏组件及升压站，年发电量{q}千万千瓦时"),
    T("energy", "A", "fgj team", "{mountain}风电场项目", (30000, 150000), (18, 30), "招大引强",
      "安装风电机组{n}台"),
    T("energy", "S", "fgj", "{T}天然气管网延伸工程", (1000, 5000), (6, 12), "民生实事",
      "铺设中压燃气管道{km}公里"),
    T("energy", "S", "fgj", "{T}110千伏输变电工程", (3000, 10000), (10, 18), "",
      "新建110千伏变电站一座及线路{km}公里"),
    T("other", "G", "fgj", "县政务服务中心改造项目", (1000, 4000), (8, 14), "",
      "政务服务大厅改造及信息化建设"),
    T("other", "G", "yjj", "县应急指挥中心建设项目", (1500, 5000), (10, 18), "",
      "建设应急指挥中心及物资储备库"),
    T("other", "G", "scjgj", "县检验检测中心建设项目", (800, 3000), (10, 16), "",
      "建设食品药品及产品质量检验检测实验室"),
]
# Key tasks (重点工作): (category, lead code or "town", name, tags)
TASKS = [
    ("other", "fgj", "优化营商环境提升行动", ""),
    ("livelihood", "jyj", "义务教育优质均衡发展创建", "民生实事"),
    ("livelihood", "wjw", "县域医共体建设", "民生实事"),
    ("ecology", "sthjj", "中央生态环境保护督察反馈问题整改", ""),
    ("other", "yjj", "安全生产治本攻坚三年行动", "三年行动计划"),
    ("other", "yjj", "森林防灭火专项整治", ""),
    ("livelihood", "rsj", "根治欠薪冬季专项行动", "民生实事"),
    ("urban", "cgj", "城市“两违”整治攻坚", "城市更新"),
    ("agriculture", "nyncj", "农村人居环境整治提升五年行动", "乡村振兴"),
    ("agriculture", "zrzyj", "耕地保护与“非粮化”整治", ""),
    ("logistics", "swj", "消费品以旧换新促消费行动", ""),
    ("other", "tczx", "招商引资“一号工程”", "招大引强"),
    ("agriculture", "town", "{T}人居环境整治提升", "乡村振兴"),
    ("other", "scjgj", "食品安全放心工程建设攻坚行动", "民生实事"),
]
# Bundled projects (打捆): (category, lead code, parent name, sub-project name, investment)
BUNDLES = [
    ("transport", "jtj", "示范县{year}年农村公路建设打捆项目", "{T}{v}村道硬化工程",
     (300, 1500)),
    ("livelihood", "zjj", "县城老旧小区改造打捆项目（{year}年）", "{T}{v}小区改造工程",
     (800, 3000)),
    ("agriculture", "nyncj", "{year}年高标准农田建设打捆项目", "{T}高标准农田建设项目",
     (500, 2500)),
    ("water", "slj", "{year}年农村供水保障打捆项目", "{T}集中供水工程", (300, 1200)),
]

R, PRE, UC = Stage.RESERVE, Stage.PREPARING, Stage.UNDER_CONSTRUCTION
LEAD, TALK, SIGN = Stage.LEAD, Stage.NEGOTIATING, Stage.SIGNED
DONE, RUN, STOP = Stage.COMPLETED, Stage.OPERATING, Stage.SUSPENDED


class Scenario(NamedTuple):
    """One story a project's stage log can tell, and how often it is told."""

    weight: int
    source: str  # G government, A attraction, S social, P PPP
    path: list[str]  # stages in order
    gaps: list[tuple[int, int]]  # days between consecutive stages
    age: tuple[int, int]  # days since the last change


S = Scenario
SCENARIOS = [
    S(4, "G", [R], [], (20, 300)),
    S(12, "G", [R, PRE], [(30, 240)], (5, 200)),
    S(18, "G", [R, PRE, UC], [(30, 200), (60, 240)], (5, 320)),
    S(12, "G", [R, PRE, UC], [(30, 200), (60, 240)], (330, 700)),
    S(5, "G", [R, PRE, UC, DONE], [(30, 150), (60, 200), (240, 540)], (5, 300)),
    S(2, "G", [R, PRE, UC, DONE, RUN], [(30, 150), (60, 200), (240, 540), (15, 60)], (5, 200)),
    S(2, "G", [R, PRE, UC, STOP], [(30, 150), (60, 200), (60, 300)], (10, 150)),
    S(2, "G", [R, PRE, UC, STOP, UC], [(30, 150), (60, 200), (60, 200), (60, 240)], (10, 250)),
    S(4, "A", [LEAD], [], (5, 150)),
    S(4, "A", [LEAD, TALK], [(10, 90)], (5, 200)),
    S(4, "A", [LEAD, TALK, SIGN], [(10, 90), (20, 120)], (5, 200)),
    S(4, "A", [LEAD, TALK, SIGN, PRE], [(10, 90), (20, 120), (10, 60)], (5, 200)),
    S(8, "A", [LEAD, TALK, SIGN, PRE, UC], [(10, 60), (20, 90), (10, 60), (30, 150)], (5, 300)),
    S(3, "A", [LEAD, TALK, SIGN, PRE, UC, DONE, RUN],
      [(10, 60), (20, 90), (10, 60), (30, 150), (180, 400), (10, 45)], (5, 150)),
    S(2, "A", [LEAD, TALK, Stage.CANCELLED], [(10, 90), (30, 180)], (10, 200)),
    S(2, "S", [R, PRE], [(30, 240)], (5, 200)),
    S(5, "S", [R, PRE, UC], [(30, 200), (60, 240)], (5, 400)),
    S(2, "S", [R, PRE, UC, DONE], [(30, 150), (60, 200), (240, 540)], (5, 300)),
    S(1, "P", [R, PRE], [(30, 240)], (5, 200)),
    S(2, "P", [R, PRE, UC], [(30, 200), (60, 240)], (5, 400)),
]
SOURCE_CODES = {"G": Source.GOVERNMENT, "A": Source.ATTRACTION, "S": Source.SOCIAL,
                "P": Source.PPP}
TIERS = {"agriculture": Tier.PRIMARY, "industry": Tier.SECONDARY, "energy": Tier.SECONDARY}

STAGE_NOTES = {
    TALK: ["进入实质性洽谈", "客商来县考察，启动洽谈"],
    SIGN: ["签订正式投资协议", "在招商推介会上集中签约"],
    PRE: ["纳入年度重点项目，启动前期工作", "完成项目备案，开展前期工作"],
    UC: ["举行开工仪式，正式开工", "施工单位进场，全面开工"],
    DONE: ["完成竣工验收"],
    RUN: ["正式投产运营", "交付使用"],
    STOP: ["建设资金未到位，暂停施工", "规划方案调整，暂停施工"],
    Stage.CANCELLED: ["投资方战略调整，终止合作", "项目选址不符合生态红线要求，终止洽谈"],
}
# (kind, name, days before the construction start; None = after it). The names are those of the
# standard MilestoneTemplate rows, which win when the database has them for the category, so
# 倒排工期 (services.milestones_plan_backward) on a demo project adds no duplicates.
MILESTONES = [
    (MilestoneKind.APPROVAL, "立项", 300), (MilestoneKind.FEASIBILITY, "可研批复", 240),
    (MilestoneKind.LAND, "用地预审/土地手续", 180),
    (MilestoneKind.PLANNING, "规划许可（一书两证）", 150),
    (MilestoneKind.ENVIRONMENT, "环评批复", 120), (MilestoneKind.TENDERING, "招投标", 60),
    (MilestoneKind.CONSTRUCTION_PERMIT, "施工许可", 20), (MilestoneKind.START, "开工", 0),
    (MilestoneKind.MAIN_STRUCTURE, "主体完工", None),
    (MilestoneKind.ACCEPTANCE, "竣工验收", None), (MilestoneKind.OPERATION, "投产", None),
]
PRE_START_KINDS = {kind for kind, _name, before in MILESTONES if before is not None}
TASK_MILESTONES = [("印发工作方案", 40), ("开展集中攻坚", 130), ("开展中期评估", 200),
                   ("迎接上级考核", 300), ("全面完成年度任务", 350)]
WORKS = {
    "transport": ["路基土石方", "桥梁桩基", "涵洞", "路面基层", "沥青路面"],
    "water": ["坝体防渗", "溢洪道", "渠系配套", "堤防填筑", "管网铺设"],
    "industry": ["厂房基础", "主体钢结构", "设备安装", "办公楼主体"],
    "energy": ["光伏支架", "升压站", "风机基础", "线路架设"],
    "ecology": ["截污管网", "生态护岸", "河道清淤", "处理厂主体"],
}
DEFAULT_WORKS = ["基础工程", "主体结构", "装饰装修", "室外配套", "设备安装"]
PREP_PROGRESS = [
    "正在编制可行性研究报告", "可研报告已报审，正在开展初步设计",
    "正在办理用地预审与规划选址", "环评报告已通过技术审查",
    "施工图设计已完成，正在编制招标文件", "正在开展征地拆迁前期摸底",
]
LEAD_PROGRESS = {
    LEAD: ["已与{brand}开展初步接触，对方来县实地考察", "项目信息已报招商专班研判"],
    TALK: ["与{brand}开展第{n}轮洽谈，用地和扶持政策基本达成一致", "投资协议文本正在修改完善"],
    SIGN: ["已签订投资协议，正在办理项目公司注册", "项目已完成备案，正在开展用地报批"],
    R: ["项目已纳入储备库，正在开展前期谋划"],
}
LEAD_NEXT_STEPS = {
    LEAD: "加强跟踪对接，争取客商再次来县考察", TALK: "加快推进项目签约落地",
    SIGN: "加快办理用地、规划等手续，力争早日开工", R: "加快前期工作，争取早日开工",
}
TASK_PROGRESS = [
    "已召开专题推进会，印发工作方案", "累计开展专项检查{n}次，发现问题{m}个，已整改{k}个",
    "各项任务按计划推进，完成年度目标的{pct}%",
]
PROBLEMS = [
    "征地拆迁进度滞后，尚有{n}户未签订协议", "建设资金缺口较大，专项债资金尚未到位",
    "用地指标尚未落实", "受持续降雨影响，施工进度放缓", "施工图审查意见尚未回复",
    "电力、通信线路迁改协调难度大", "原材料价格上涨，施工单位投入不足",
]
RETURN_REASONS = [
    "本期完成投资与佐证材料不符，请核实后重新填报", "形象进度描述过于简单，请补充具体工程量",
    "存在问题未写明具体内容和需协调事项", "未上传现场照片，请补充",
]
REVISION_REASONS = [
    "受征地拆迁影响，节点顺延", "用地预审需重新报批", "设计方案调整，需重新审查",
    "汛期影响施工，调整工期", "上级批复时间晚于预期", "招标流标，需重新组织招标",
]
RED_CARD_REASONS = {
    "lagging": "连续两期未完成序时进度，年度投资完成率明显偏低",
    "suspended": "项目停工超过两个月，未提出复工计划",
    "reports": "进度填报不及时，多期未按时报送",
}
# Upward-funding applications: (unit code, channel, title suffix, policy basis)
F = FundingSource
APPLICATION_KINDS = [
    ("fgj", F.CENTRAL_BUDGET, "中央预算内投资申报", "国家发展改革委下达{year}年中央预算内投资计划"),
    ("fgj", F.SPECIAL_BOND, "地方政府专项债券申报", "{year}年新增地方政府专项债券额度"),
    ("jtj", F.UPPER_SPECIAL, "车购税补助资金申报", "交通运输部车辆购置税收入补助地方资金"),
    ("slj", F.UPPER_SPECIAL, "中央财政水利发展资金申报", "{year}年水利发展资金分配方案"),
    ("slj", F.UPPER_SPECIAL, "三峡后续工作规划项目资金申报", "三峡后续工作规划{year}年度实施计划"),
    ("nyncj", F.UPPER_SPECIAL, "衔接推进乡村振兴补助资金申报", "省级衔接推进乡村振兴补助资金"),
    ("jyj", F.CENTRAL_BUDGET, "教育强国基础设施建设工程申报", "{year}年教育领域中央预算内投资"),
    ("wjw", F.CENTRAL_BUDGET, "医疗卫生服务体系建设申报", "{year}年卫生健康领域中央预算内投资"),
    ("sthjj", F.UPPER_SPECIAL, "水污染防治资金申报", "中央财政水污染防治资金管理办法"),
    ("zjj", F.CENTRAL_BUDGET, "城镇老旧小区改造补助资金申报", "{year}年保障性安居工程投资计划"),
    ("wlj", F.GENERAL_BOND, "文化旅游提升工程申报", "{year}年新增地方政府一般债券"),
]
FUNDING_TARGET_UNITS = ["fgj", "czj", "jtj", "slj", "zjj", "zrzyj", "wlj", "nyncj", "jyj", "wjw",
                        "sthjj", "mzj"]
SEASON = [0.6, 0.5, 0.9, 1.0, 1.1, 1.1, 1.0, 1.0, 1.1, 1.2, 1.2, 1.3]  # by month: 春节 is slow
# fmt: on


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


SENTINEL = dt.date(1, 1, 1)  # "done, on a date near its due date"
SUSPEND_PROGRESS = "项目暂停施工，正在协调解决复工问题"


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=int(n))


def money(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.0):.2f}")


def nice(value: float) -> Decimal:
    """Round a target up to a number a county would write in a document."""
    step = 100 if value < 5000 else 500 if value < 50000 else 1000
    return Decimal(max(step, math.ceil(value / step) * step))


def moment(rng: random.Random, day: dt.date) -> dt.datetime:
    """A believable office-hours moment of ``day``, in the current time zone."""
    clock = dt.time(rng.randint(8, 20), rng.randint(0, 59), rng.randint(0, 59))
    return dt.datetime.combine(day, clock, tzinfo=timezone.get_current_timezone())


def at_time(day: dt.date, hour: int) -> dt.datetime:
    """``day`` at ``hour`` o'clock, in the current time zone."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def overlap_days(a_start: dt.date, a_end: dt.date, b_start: dt.date, b_end: dt.date) -> int:
    return max(0, (min(a_end, b_end) - max(a_start, b_start)).days + 1)


def year_span(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def pad(text: str, width: int) -> str:
    """Left-align ``text`` in a terminal column; Chinese characters take two cells."""
    cells = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(1, width - cells)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


@dataclass
class Plan:
    """What one project will look like, decided before anything is written."""

    name: str
    category: str
    lead: Unit
    kind: str = ProjectKind.PROJECT
    source: str = ""
    total: float = 0.0
    timeline: list[tuple[str, dt.date]] = field(default_factory=list)
    start: dt.date | None = None  # construction start, actual or planned
    finish: dt.date | None = None  # completion, actual or planned
    perf: float = 1.0  # share of the plan actually achieved
    diligence: int = 0  # 0 good, 1 middling, 2 poor reporter
    fields: dict[str, Any] = field(default_factory=dict)
    parent: Plan | None = None
    children: list[Plan] = field(default_factory=list)
    project: Project | None = None
    year_plans: dict[int, float] = field(default_factory=dict)
    amounts: dict[str, Decimal] = field(default_factory=dict)
    brand: str = ""

    @property
    def stage(self) -> str:
        return self.timeline[-1][0]

    @property
    def registered(self) -> dt.date:
        return self.timeline[0][1]

    def stage_on(self, day: dt.date) -> str | None:
        current = None
        for stage, since in self.timeline:
            if since <= day:
                current = stage
        return current

    def building_days(self, first: dt.date, last: dt.date) -> int:
        """Days of ``[first, last]`` on which the project was under construction."""
        total = 0
        for index, (stage, since) in enumerate(self.timeline):
            if stage != UC:
                continue
            until = (
                self.timeline[index + 1][1] - days(1) if index + 1 < len(self.timeline) else last
            )
            total += overlap_days(first, last, since, until)
        return total

    def started(self) -> bool:
        return any(stage == UC for stage, _since in self.timeline)

    def window(self) -> tuple[dt.date, dt.date]:
        """The construction window; only asked of projects that have one."""
        if self.start is None or self.finish is None:
            raise ValueError(f"{self.name} has no construction window")
        return self.start, self.finish

    @property
    def saved(self) -> Project:
        if self.project is None:
            raise ValueError(f"{self.name} is not saved yet")
        return self.project


OptionalTime = dt.datetime | None


@dataclass
class Context:
    rng: random.Random
    today: dt.date
    county: Unit
    units: dict[str, Unit]
    townships: list[Unit]
    villages: dict[int, list[Unit]]
    centres: dict[int, tuple[float, float]]
    leaders: list[Leader]
    admin: User
    supervisor: User
    reporters: dict[int, User] = field(default_factory=dict)
    heads: dict[int, User] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    # report id → (created, first submitted, last submitted, reviewed)
    report_times: dict[int, tuple[dt.datetime, OptionalTime, OptionalTime, OptionalTime]] = field(
        default_factory=dict
    )
    revision_times: dict[int, dt.datetime] = field(default_factory=dict)
    milestone_names: dict[str, dict[str, str]] = field(default_factory=dict)  # category → kind

    @property
    def year(self) -> int:
        return self.today.year

    def reporter(self, unit: Unit) -> User:
        return self.reporters.get(unit.pk, self.admin)

    def head(self, unit: Unit) -> User:
        return self.heads.get(unit.pk, self.supervisor)


# ---------------------------------------------------------------------------------------------
# Units, leaders, users
# ---------------------------------------------------------------------------------------------


def make_unit(
    name: str, kind: str, parent: Unit | None, code: str, short: str = "", order: int = 0
) -> Unit:
    unit = Unit(name=name, short_name=short, kind=kind, parent=parent, code=code, sort_order=order)
    unit.save()
    return unit


def build_units(rng: random.Random) -> tuple[Unit, dict[str, Unit], dict[int, list[Unit]]]:
    city = make_unit(CITY[0], UnitKind.CITY, None, CITY[1])
    county = make_unit(COUNTY[0], UnitKind.COUNTY, city, COUNTY[1])
    units: dict[str, Unit] = {}
    villages: dict[int, list[Unit]] = {}
    order = 0
    for name, short, code in DEPARTMENTS:
        order += 1
        units[code] = make_unit(name, UnitKind.DEPARTMENT, county, f"SFX-{code}", short, order)
    for name, short, code in TOWNSHIPS:
        order += 1
        town = make_unit(name, UnitKind.TOWNSHIP, county, f"SFX-{code}", order=order)
        units[code] = town
        if name.endswith("街道"):
            names = [f"{n}社区" for n in rng.sample(COMMUNITIES, rng.randint(2, 4))]
        elif name.endswith("镇"):
            names = [f"{short}社区"] + [f"{n}村" for n in rng.sample(VILLAGES, rng.randint(1, 3))]
        else:
            names = [f"{n}村" for n in rng.sample(VILLAGES, rng.randint(2, 4))]
        villages[town.pk] = [
            make_unit(v, UnitKind.VILLAGE, town, f"SFX-{code}-{i:02d}", order=i)
            for i, v in enumerate(names, start=1)
        ]
    for name, short, code in ZONES:
        order += 1
        units[code] = make_unit(name, UnitKind.ZONE, county, f"SFX-{code}", short, order)
    for name, short, code in TEAMS:
        order += 1
        units[code] = make_unit(name, UnitKind.TEAM, county, f"SFX-{code}", short, order)
    return county, units, villages


def build_leaders(rng: random.Random, county: Unit) -> list[Leader]:
    return [
        Leader.objects.create(
            name=name,
            title=title,
            unit=county,
            sort_order=i,
            phone=f"139{rng.randint(10000000, 99999999)}",
        )
        for i, (name, title, _cats) in enumerate(LEADERS, start=1)
    ]


def build_users(
    rng: random.Random, county: Unit, units: dict[str, Unit], leaders: list[Leader]
) -> tuple[User, User, dict[int, User], dict[int, User]]:
    user_model = get_user_model()
    password = make_password(PASSWORD)  # hashed once: hashing per user would dominate the run
    made: dict[str, User] = {}

    def add(username: str, name: str, memberships: list[tuple[str, Unit]]) -> User:
        user = user_model.objects.create(
            username=username, first_name=name, password=password, email=f"{username}@demo.gov.cn"
        )
        for role, unit in memberships:
            Membership.objects.create(user=user, unit=unit, role=role)
        made[username] = user
        return user

    for username, name, roles, leader_index in FEATURED_USERS:
        user = add(username, name, [(role, units[c] if c else county) for role, c in roles])
        if leader_index is not None:
            leaders[leader_index].user = user
            leaders[leader_index].save(update_fields=["user"])
    admin = made["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])

    reporters: dict[int, User] = {units["fgj"].pk: made["fgj"]}
    heads: dict[int, User] = {}
    for code, unit in units.items():
        heads[unit.pk] = add(f"{code}_head", person_name(rng), [(Role.UNIT_HEAD, unit)])
        if code not in made:
            reporters[unit.pk] = add(code, person_name(rng), [(Role.REPORTER, unit)])
    return admin, made["duchashi"], reporters, heads


# ---------------------------------------------------------------------------------------------
# Planning the projects
# ---------------------------------------------------------------------------------------------


def allocate(rng: random.Random, weights: Sequence[int], total: int) -> list[int]:
    """Split ``total`` by ``weights``: floor shares, the remainder drawn by weight."""
    whole = sum(weights)
    counts = [total * w // whole for w in weights]
    for index in rng.choices(range(len(weights)), weights=weights, k=total - sum(counts)):
        counts[index] += 1
    return counts


def make_timeline(
    rng: random.Random, today: dt.date, scenario: Scenario
) -> list[tuple[str, dt.date]]:
    """Dates for the scenario's stages counted backward from the last change, so none is in
    the future."""
    dates = [today - days(rng.randint(*scenario.age))]
    for low, high in reversed(scenario.gaps):
        dates.append(dates[-1] - days(rng.randint(low, high)))
    dates.reverse()
    return list(zip(scenario.path, dates, strict=True))


def pick_lead(ctx: Context, leads: str, township: Unit) -> Unit:
    code = ctx.rng.choice(leads.split())
    if code == "town":
        return township
    if code == "zone":
        return ctx.units[ctx.rng.choice(ZONES)[2]]
    if code == "team":
        return ctx.units[ctx.rng.choice(TEAMS)[2]]
    return ctx.units[code]


def name_values(ctx: Context, township: Unit, brand: str) -> dict[str, Any]:
    rng = ctx.rng
    other = rng.choice([t for t in ctx.townships if t.pk != township.pk])
    village = rng.choice(ctx.villages[township.pk]).name
    return {
        "T": township.name,
        "t": TOWNSHIP_SHORT_NAMES[township.name],
        "t2": TOWNSHIP_SHORT_NAMES[other.name],
        "v": village.removesuffix("村").removesuffix("社区"),
        "brand": brand,
        "river": rng.choice(RIVERS),
        "scenic": rng.choice(SCENIC),
        "mountain": rng.choice(MOUNTAINS),
        "urban_area": rng.choice(URBAN_AREAS),
        "crop": rng.choice(CROPS),
        "product": rng.choice(PRODUCTS),
        "phase": CN_NUMBERS[rng.randint(0, 3)],
        "cn": CN_NUMBERS[rng.randint(1, 5)],
        "km": rng.randint(3, 40),
        "w": rng.choice([8.5, 10, 12, 24.5]),
        "m": rng.randint(2, 9) * 100,
        "n": rng.randint(2, 12),
        "q": rng.randint(2, 30),
        "mw": rng.choice([20, 50, 100]),
        "area": rng.randint(2, 30),
        "beds": rng.randint(1, 8) * 100,
        "seats": rng.randint(10, 30) * 100,
        "homes": rng.randint(3, 30) * 100,
        "year": ctx.year,
    }


PHASE = re.compile("（[一二三四五六七八九]期）")


def unique_name(used: set[str], name: str, unit: str = "期") -> str:
    """``name``, or its next phase (二期, 三期…) or batch (第二批…) when it is taken."""
    if PHASE.search(name):
        candidates = [name] + [PHASE.sub(f"（{n}期）", name, count=1) for n in CN_NUMBERS]
    else:
        candidates = [name] + [
            f"{name}（{'第' if unit == '批' else ''}{n}{unit}）" for n in CN_NUMBERS[1:]
        ]
    candidates += [f"{name}（第{k}批）" for k in range(10, 10000)]
    candidate = next(c for c in candidates if c not in used)
    used.add(candidate)
    return candidate


def locate(ctx: Context, township: Unit | None) -> dict[str, Any]:
    if township is None:
        return {"location": "全县"}
    lat, lon = ctx.centres[township.pk]
    village = ctx.rng.choice(ctx.villages[township.pk])
    return {
        "township": township,
        "location": f"{township.name}{village.name}",
        "latitude": Decimal(f"{lat + ctx.rng.uniform(-0.02, 0.02):.6f}"),
        "longitude": Decimal(f"{lon + ctx.rng.uniform(-0.02, 0.02):.6f}"),
    }


def choose_leaders(ctx: Context, category: str, total: float, source: str) -> dict[str, Any]:
    by_category = next(
        (i for i, (_n, _t, cats) in enumerate(LEADERS) if category in cats.split()), 2
    )
    if source == Source.ATTRACTION:
        by_category = 2
    co: list[Leader] = []
    if total >= 100000:
        lead = ctx.leaders[0]
        co = [ctx.leaders[1], ctx.leaders[by_category]]
    elif total >= 50000:
        lead, co = ctx.leaders[1], [ctx.leaders[by_category]]
    else:
        lead = ctx.leaders[by_category]
    if ctx.rng.random() < 0.15:
        co.append(ctx.leaders[7])
    return {"lead_leader": lead, "co_leaders": co}


def choose_level(rng: random.Random, total: float) -> str:
    if total >= 100000:
        return rng.choice([ProjectLevel.NATIONAL, ProjectLevel.PROVINCIAL, ProjectLevel.PROVINCIAL])
    if total >= 30000:
        return rng.choice([ProjectLevel.PROVINCIAL, ProjectLevel.CITY, ProjectLevel.CITY])
    if total >= 10000:
        return rng.choice([ProjectLevel.CITY, ProjectLevel.COUNTY])
    return ProjectLevel.CITY if rng.random() < 0.1 else ProjectLevel.COUNTY


def cooperating(ctx: Context, lead: Unit, township: Unit | None) -> list[Unit]:
    pool = [ctx.units[c] for c in ("fgj", "czj", "zrzyj", "sthjj", "zjj")]
    if township is not None:
        pool.append(township)
    pool = [u for u in pool if u.pk != lead.pk]
    return ctx.rng.sample(pool, ctx.rng.randint(1, 3))


def schedule(ctx: Context, plan: Plan, months: tuple[int, int]) -> None:
    """Set the construction window: actual dates from the log, planned ones otherwise."""
    rng, today = ctx.rng, ctx.today
    length = days(rng.randint(*months) * 30.4)
    starts = [since for stage, since in plan.timeline if stage == UC]
    if starts:
        plan.start = starts[0]
    elif plan.stage in (Stage.LEAD, Stage.NEGOTIATING):
        plan.start = today + days(rng.randint(120, 400))
    elif plan.stage == Stage.CANCELLED:
        plan.start = None
        return
    else:
        plan.start = today + days(rng.randint(-60, 240))
    done = [since for stage, since in plan.timeline if stage == Stage.COMPLETED]
    plan.finish = done[0] if done else plan.start + length
    if not done and plan.stage == UC and plan.finish <= today and rng.random() < 0.85:
        plan.finish = today + days(rng.randint(30, 360))


def build_type(plan: Plan, year: int) -> str:
    """新建 unless construction began before this year (续建) or resumed after a stop (复工)."""
    stages = [stage for stage, _since in plan.timeline]
    if Stage.SUSPENDED in stages and stages[-1] == UC:
        return BuildType.RESUMED
    if plan.start is not None and plan.started() and plan.start.year < year:
        return BuildType.CONTINUED
    return BuildType.NEW


def draw_template(
    ctx: Context, used: set[str], source: str
) -> tuple[Template, Unit, Unit, str, dict[str, Any]]:
    """A template with its township, lead unit, brand and name values; a few draws are tried
    so a large county repeats names (as 二期, 三期…) only when it must."""
    rng = ctx.rng
    for _attempt in range(8):
        template = rng.choice([t for t in TEMPLATES if source in t.sources])
        if template.name.startswith("县城至"):
            township = rng.choice(ctx.townships[2:])  # a road from the seat to a township
        elif template.name.startswith("县") and "{T}" not in template.name:
            township = rng.choice(ctx.townships[:2])  # a county-level facility at the seat
        else:
            township = rng.choice(ctx.townships)
        lead = pick_lead(ctx, template.leads, township)
        if lead.kind == UnitKind.ZONE:
            township = ctx.units[ZONE_HOSTS[_code_of(ctx, lead)]]
        brand = rng.choice(BRANDS)
        values = name_values(ctx, township, brand)
        if template.name.format(**values) not in used:
            break
    return template, township, lead, brand, values


def plan_project(ctx: Context, used: set[str], scenario: Scenario) -> Plan:
    rng = ctx.rng
    template, township, lead, brand, values = draw_template(ctx, used, scenario.source)
    category = template.category
    source = SOURCE_CODES[scenario.source]
    total = round(rng.uniform(*template.investment) / 10) * 10
    plan = Plan(
        name=unique_name(used, template.name.format(**values)),
        category=category,
        lead=lead,
        source=source,
        total=total,
        timeline=make_timeline(rng, ctx.today, scenario),
        brand=brand,
    )
    schedule(ctx, plan, template.months)
    plan.perf = rng.uniform(0.45, 0.8) if rng.random() < 0.2 else rng.uniform(0.9, 1.15)
    plan.diligence = rng.choices([0, 1, 2], weights=[80, 15, 5])[0]
    private = source in (Source.ATTRACTION, Source.SOCIAL) and rng.random() < 0.85
    owner = (
        f"{brand}{OWNER_SUFFIX.get(category, '实业有限公司')}"
        if source in (Source.ATTRACTION, Source.SOCIAL)
        else f"{township.name}人民政府"
        if lead.pk == township.pk
        else GOVERNMENT_OWNERS.get(_code_of(ctx, lead), DEFAULT_GOVERNMENT_OWNER)
    )
    tag_names = template.tags.split()
    if rng.random() < 0.15:
        tag_names.append("三年行动计划")
    if source == Source.GOVERNMENT and total >= 5000 and rng.random() < 0.3:
        tag_names.append("专项债项目")
    plan.fields = {
        "level": choose_level(rng, total),
        "tier": TIERS.get(category, Tier.TERTIARY),
        "build_type": build_type(plan, ctx.year),
        "source": source,
        "is_private": private or (source == Source.PPP and rng.random() < 0.3),
        "description": template.content.format(**values),
        "owner": owner,
        "total_investment": money(total),
        "cooperating_units": cooperating(ctx, lead, township),
        "tags": [ctx.tags[t] for t in dict.fromkeys(tag_names)],
        **choose_leaders(ctx, category, total, source),
        **locate(ctx, township),
    }
    if plan.started():
        plan.fields["contractor"] = rng.choice(CONTRACTORS)
        plan.fields["supervising_engineer"] = rng.choice(SUPERVISING_ENGINEERS)
    return plan


def _code_of(ctx: Context, unit: Unit) -> str:
    return unit.code.removeprefix("SFX-")


def plan_task(ctx: Context, used: set[str]) -> Plan:
    rng = ctx.rng
    category, lead_code, name, tags = rng.choice(TASKS)
    township = rng.choice(ctx.townships[2:])
    lead = township if lead_code == "town" else ctx.units[lead_code]
    if name.format(T=township.name) in used and "{T}" not in name:
        name, lead = "{T}" + name, township  # the same work, done by a township
    year_start = dt.date(ctx.year, 1, 1)
    registered = min(year_start - days(rng.randint(10, 40)), ctx.today - days(5))
    began = min(year_start + days(rng.randint(10, 60)), ctx.today - days(1))
    timeline = [(R, registered)]
    if began > registered:
        timeline.append((UC, began))
    plan = Plan(
        name=unique_name(used, name.format(T=township.name)),
        category=category,
        lead=lead,
        kind=ProjectKind.TASK,
        timeline=timeline,
        start=began,
        finish=dt.date(ctx.year, 12, 31),
        perf=rng.uniform(0.6, 1.1),
        diligence=rng.choices([0, 1, 2], weights=[80, 15, 5])[0],
    )
    plan.fields = {
        "level": ProjectLevel.COUNTY,
        "description": f"{ctx.year}年{name.format(T=township.name)}工作，按月调度推进",
        "tags": [ctx.tags[t] for t in tags.split()],
        "cooperating_units": cooperating(ctx, lead, None),
        **choose_leaders(ctx, category, 0, ""),
    }
    return plan


def plan_bundle(ctx: Context, used: set[str], size: int) -> list[Plan]:
    rng = ctx.rng
    category, lead_code, parent_name, child_name, (low, high) = rng.choice(BUNDLES)
    scenario = rng.choice([s for s in SCENARIOS if s.source == "G" and s.path[-1] == UC])
    timeline = make_timeline(rng, ctx.today, scenario)
    lead = ctx.units[lead_code]
    parent = Plan(
        name=unique_name(used, parent_name.format(year=timeline[0][1].year), unit="批"),
        category=category,
        lead=lead,
        source=Source.GOVERNMENT,
        timeline=timeline,
    )
    schedule(ctx, parent, (8, 14))
    kind_of_build = build_type(parent, ctx.year)
    for township in rng.sample(ctx.townships[2:], size):
        values = name_values(ctx, township, "")
        total = round(rng.uniform(low, high) / 10) * 10
        child = Plan(
            name=unique_name(used, child_name.format(**values)),
            category=category,
            lead=lead,
            source=Source.GOVERNMENT,
            total=total,
            timeline=list(timeline),
            start=parent.start,
            finish=parent.finish,
            perf=rng.uniform(0.7, 1.15),
            diligence=0,
            parent=parent,
        )
        child.fields = {
            "level": ProjectLevel.COUNTY,
            "tier": TIERS.get(category, Tier.TERTIARY),
            "build_type": kind_of_build,
            "source": Source.GOVERNMENT,
            "owner": GOVERNMENT_OWNERS.get(lead_code, DEFAULT_GOVERNMENT_OWNER),
            "contractor": rng.choice(CONTRACTORS),
            "supervising_engineer": rng.choice(SUPERVISING_ENGINEERS),
            "total_investment": money(total),
            **choose_leaders(ctx, category, total, Source.GOVERNMENT),
            **locate(ctx, township),
        }
        parent.children.append(child)
    parent.total = sum(c.total for c in parent.children)
    parent.perf = 1.0
    parent.fields = {
        "level": ProjectLevel.COUNTY,
        "tier": TIERS.get(category, Tier.TERTIARY),
        "build_type": kind_of_build,
        "source": Source.GOVERNMENT,
        "description": f"打捆实施{size}个子项目，统一调度、分项填报",
        "owner": GOVERNMENT_OWNERS.get(lead_code, DEFAULT_GOVERNMENT_OWNER),
        "total_investment": money(parent.total),
        "tags": [ctx.tags["乡村振兴"]] if category != "livelihood" else [ctx.tags["城市更新"]],
        **choose_leaders(ctx, category, parent.total, Source.GOVERNMENT),
        **locate(ctx, None),
    }
    return [parent, *parent.children]


def plan_all(ctx: Context, count: int) -> list[Plan]:
    rng = ctx.rng
    used: set[str] = set()
    bundles: list[Plan] = []
    sizes = [rng.randint(3, 4) for _n in range(count // 30 if count >= 20 else 0)]
    for size in sizes:
        bundles += plan_bundle(ctx, used, size)
    tasks = [plan_task(ctx, used) for _n in range(round(count * 0.08))]
    regular = count - len(bundles) - len(tasks)
    scenarios: list[Scenario] = []
    shares = allocate(rng, [s.weight for s in SCENARIOS], regular)
    for scenario, n in zip(SCENARIOS, shares, strict=True):
        scenarios += [scenario] * n
    rng.shuffle(scenarios)
    plans = [plan_project(ctx, used, s) for s in scenarios] + tasks + bundles
    # Register in date order, so codes and primary keys follow the calendar.
    plans.sort(key=lambda p: (p.registered, p.parent is not None))
    return plans


# ---------------------------------------------------------------------------------------------
# Writing projects: stage log, year plans, milestones, funding
# ---------------------------------------------------------------------------------------------


def create_project(ctx: Context, plan: Plan, seq: int) -> None:
    actor = ctx.reporter(plan.lead)
    stage, since = plan.timeline[0]
    project = services.project_create(
        actor=actor,
        lead_unit=plan.lead,
        name=plan.name,
        category=plan.category,
        stage=stage,
        stage_date=since,
        code=f"SFX-{since.year}-{seq:04d}",
        kind=plan.kind,
        parent=plan.parent.project if plan.parent else None,
        **plan.fields,
    )
    for stage, since in plan.timeline[1:]:
        notes = STAGE_NOTES.get(stage, [""])
        services.project_change_stage(
            project=project,
            to_stage=stage,
            changed_on=since,
            actor=actor,
            note=ctx.rng.choice(notes),
        )
    project.refresh_from_db()
    project.lead_unit = plan.lead  # keep the cached unit: the access checks read its path
    plan.project = project


def write_year_plans(ctx: Context, plan: Plan) -> None:
    if plan.stage in (Stage.LEAD, Stage.NEGOTIATING, Stage.CANCELLED) or plan.start is None:
        return
    start, finish = plan.window()
    for year in (ctx.year - 1, ctx.year):
        first, last = year_span(year)
        if plan.registered > last or finish < first or (year < ctx.year and start > last):
            continue
        if plan.children:
            amount = sum(c.year_plans.get(year, 0.0) for c in plan.children)
        else:
            share = overlap_days(first, last, start, finish) / ((finish - start).days + 1)
            amount = 0.0 if plan.kind == ProjectKind.TASK else plan.total * 0.95 * share
        plan.year_plans[year] = amount
        services.year_plan_set(
            project=plan.saved,
            year=year,
            actor=ctx.reporter(plan.lead),
            planned_investment=money(round(amount, -1)),
            planned_start=start if first <= start <= last else None,
            planned_completion=finish if first <= finish <= last else None,
            physical_target=year_target(plan, year),
        )


def year_target(plan: Plan, year: int) -> str:
    if plan.kind == ProjectKind.TASK:
        return "全面完成年度工作任务，通过上级考核验收"
    start, finish = plan.window()
    if start.year > year:
        return "完成可研、用地、规划等前期手续"
    if start.year == year:
        return "完成前期手续，实现开工建设"
    if finish.year == year:
        return "全面建成并完成竣工验收"
    return f"完成{WORKS.get(plan.category, DEFAULT_WORKS)[0]}等主体工程"


def write_milestones(ctx: Context, plan: Plan) -> None:
    if plan.project is None or plan.start is None or plan.finish is None:
        return
    if plan.kind == ProjectKind.TASK:
        layout = [
            (MilestoneKind.CUSTOM, name, dt.date(ctx.year, 1, 1) + days(offset))
            for name, offset in TASK_MILESTONES
        ]
    else:
        layout = milestone_layout(ctx, plan)
    for order, (kind, name, due) in enumerate(layout, start=1):
        milestone = services.milestone_create(
            project=plan.saved,
            actor=ctx.reporter(plan.lead),
            name=name,
            due_date=due,
            kind=kind,
            sort_order=order,
        )
        milestone.project = plan.saved
        progress_milestone(ctx, plan, milestone, kind)


def milestone_layout(ctx: Context, plan: Plan) -> list[tuple[str, str, dt.date]]:
    rng = ctx.rng
    start, finish = plan.window()
    skippable = {MilestoneKind.PLANNING, MilestoneKind.ENVIRONMENT, MilestoneKind.LAND}
    skipped = set(rng.sample(sorted(skippable), rng.randint(0, 2)))
    layout: list[tuple[str, str, dt.date]] = []
    if plan.source == Source.ATTRACTION:
        layout.append((MilestoneKind.CUSTOM, "签订正式投资协议", start - days(330)))
    names = ctx.milestone_names.get(plan.category, {})
    for kind, default_name, before in MILESTONES:
        if kind in skipped or (names and kind not in names):
            continue
        name = names.get(kind, default_name)
        if before is not None:
            due = start - days(before)
        elif kind == MilestoneKind.MAIN_STRUCTURE:
            due = start + (finish - start) * 0.6
        elif kind == MilestoneKind.ACCEPTANCE:
            due = finish
        elif plan.category in OWNER_SUFFIX and plan.source != Source.GOVERNMENT:
            due = finish + days(45)
        else:
            continue
        layout.append((kind, name, due))
    if plan.stage == UC and rng.random() < 0.3:
        work = rng.choice(WORKS.get(plan.category, DEFAULT_WORKS))
        layout.append((MilestoneKind.CUSTOM, f"完成{work}", ctx.today + days(rng.randint(3, 30))))
    return layout


def progress_milestone(ctx: Context, plan: Plan, milestone: Milestone, kind: str) -> None:
    """Complete, leave overdue or revise one milestone, as its project's story says."""
    rng, today = ctx.rng, ctx.today
    due = milestone.due_date
    if plan.stage == Stage.CANCELLED:
        return
    reached = reached_by(plan, kind)
    if reached == SENTINEL and due >= today:
        reached = None  # a milestone still ahead is not done early by default
    if reached is not None:
        # Done: by the date the stage log says, or near the due date (early, on time or late).
        done = reached if reached != SENTINEL else due + days(rng.randint(-20, 30))
        done = min(done, today - days(1))
        if plan.start is not None and plan.start <= today and kind in PRE_START_KINDS:
            done = min(done, plan.start)  # permits come before the start
        if done > due + days(15) and rng.random() < 0.4:
            revise(ctx, plan, milestone, done + days(rng.randint(0, 10)), due - days(10))
        services.milestone_complete(
            milestone=milestone, done_date=done, actor=ctx.reporter(plan.lead)
        )
        return
    if due >= today:
        return  # still ahead: nothing to do yet
    if rng.random() < 0.45:
        revise(ctx, plan, milestone, today + days(rng.randint(15, 120)), due)
        if rng.random() < 0.2 and milestone.due_date > today + days(40):
            revise(ctx, plan, milestone, milestone.due_date + days(rng.randint(20, 60)), today)
    # otherwise it stays open past its due date: overdue


def reached_by(plan: Plan, kind: str) -> dt.date | None:
    """When the project's story says this milestone was done, SENTINEL for "around its due date",
    or None when it is not done."""
    stages = [stage for stage, _since in plan.timeline]
    started = UC in stages
    when = dict(reversed(plan.timeline))  # the first date of each stage
    if kind == MilestoneKind.START:
        return when.get(UC)
    if kind == MilestoneKind.ACCEPTANCE:
        return when.get(Stage.COMPLETED)
    if kind == MilestoneKind.OPERATION:
        return when.get(Stage.OPERATING)
    if kind == MilestoneKind.MAIN_STRUCTURE:
        return SENTINEL if Stage.COMPLETED in stages or (started and plan.perf > 0.85) else None
    if plan.kind == ProjectKind.TASK:
        return SENTINEL if plan.perf > 0.75 else None
    if kind == MilestoneKind.CUSTOM and plan.source == Source.ATTRACTION:
        return when.get(Stage.SIGNED)
    if started:
        return SENTINEL
    return SENTINEL if plan.stage == PRE and plan.perf > 0.7 else None


def revise(
    ctx: Context, plan: Plan, milestone: Milestone, new_due: dt.date, revised_on: dt.date
) -> None:
    if new_due == milestone.due_date:
        new_due += days(1)
    revision = services.milestone_revise(
        milestone=milestone,
        new_due_date=new_due,
        reason=ctx.rng.choice(REVISION_REASONS),
        actor=ctx.reporter(plan.lead),
    )
    milestone.due_date = new_due
    milestone.version += 1
    ctx.revision_times[revision.pk] = moment(ctx.rng, min(revised_on, ctx.today - days(1)))


def write_funding(ctx: Context, plan: Plan) -> None:
    if plan.project is None or plan.kind == ProjectKind.TASK or plan.children:
        return
    if plan.stage in (Stage.LEAD, Stage.NEGOTIATING, Stage.CANCELLED):
        return
    rng = ctx.rng
    if plan.source == Source.GOVERNMENT:
        others = [
            FundingSource.CENTRAL_BUDGET,
            FundingSource.SPECIAL_BOND,
            FundingSource.GENERAL_BOND,
            FundingSource.UPPER_SPECIAL,
            FundingSource.BANK_LOAN,
        ]
        sources = [FundingSource.COUNTY_FISCAL, *rng.sample(others, rng.randint(1, 2))]
    elif plan.source == Source.PPP:
        sources = [FundingSource.SOCIAL, FundingSource.COUNTY_FISCAL]
    else:
        sources = [FundingSource.SELF_RAISED, FundingSource.BANK_LOAN]
    weights = [rng.uniform(1, 4) for _ in sources]
    done = 0.0
    if plan.start and plan.finish and plan.start < ctx.today:
        elapsed = (min(ctx.today, plan.finish) - plan.start).days
        done = min(1.0, elapsed / max(1, (plan.finish - plan.start).days) * plan.perf)
    for source, weight in zip(sources, weights, strict=True):
        planned = plan.total * weight / sum(weights)
        arrived = min(planned, planned * done * rng.uniform(0.7, 1.3))
        services.funding_set(
            project=plan.project,
            source=source,
            planned=money(round(planned, -1)),
            arrived=money(round(arrived, -1)),
            actor=ctx.reporter(plan.lead),
        )


# ---------------------------------------------------------------------------------------------
# Progress reports
# ---------------------------------------------------------------------------------------------


def compute_amounts(ctx: Context, plan: Plan, window: list[periods.Period]) -> None:
    """Investment per reporting period, following the year plan and the project's pace."""
    if plan.children:
        for period in window:
            plan.amounts[period.key] = sum(
                (c.amounts.get(period.key, Decimal(0)) for c in plan.children), Decimal(0)
            )
        return
    if plan.kind == ProjectKind.TASK or plan.start is None or plan.finish is None:
        return
    kind = selectors.report_period_kind()
    cumulative = 0.0
    for period in window:
        building = plan.building_days(period.start, period.end)
        planned = plan.year_plans.get(period.start.year, 0.0)
        if not building or not planned:
            continue
        first, last = year_span(period.start.year)
        year_periods = periods.between(kind, max(first, plan.start), min(last, plan.finish))
        total_weight = sum(SEASON[p.start.month - 1] for p in year_periods) or 1.0
        share = SEASON[period.start.month - 1] * ctx.rng.uniform(0.7, 1.3) / total_weight
        amount = planned * share * plan.perf * building / period.days
        amount = min(amount, plan.total - cumulative)
        cumulative += amount
        plan.amounts[period.key] = money(round(amount, 1))


def record_prior_investment(ctx: Context, plan: Plan, tracking_start: dt.date) -> None:
    """What a 续建 project completed before its first report on the platform (开累 opening)."""
    if plan.children or plan.start is None or plan.finish is None or plan.start >= tracking_start:
        return
    built_before = plan.building_days(plan.start, tracking_start - days(1))
    span = max(1, (plan.finish - plan.start).days)
    reported = float(sum(plan.amounts.values(), Decimal(0)))
    prior = min(plan.total * plan.perf * built_before / span, max(0.0, plan.total - reported))
    if prior >= 1:
        services.project_update(
            project=plan.saved, actor=ctx.reporter(plan.lead), prior_investment=money(round(prior))
        )


def owes_report(plan: Plan, period: periods.Period) -> bool:
    if plan.children:  # a bundle reports through its sub-projects
        return False
    stage = plan.stage_on(period.end)
    return stage is not None and stage not in (Stage.OPERATING, Stage.CANCELLED)


def report_texts(ctx: Context, plan: Plan, period: periods.Period) -> dict[str, str]:
    rng = ctx.rng
    stage = plan.stage_on(period.end) or plan.stage
    works = WORKS.get(plan.category, DEFAULT_WORKS)
    problems = "无"
    if plan.kind == ProjectKind.TASK:
        progress = rng.choice(TASK_PROGRESS).format(
            n=rng.randint(3, 20),
            m=rng.randint(5, 40),
            k=rng.randint(1, 5),
            pct=min(99, int(100 * (period.end.month / 12) * plan.perf)),
        )
        steps = "持续推进各项任务落实，加强督导检查"
    elif stage in LEAD_PROGRESS:
        progress = rng.choice(LEAD_PROGRESS[stage]).format(brand=plan.brand, n=rng.randint(2, 6))
        steps = LEAD_NEXT_STEPS[stage]
    elif stage == PRE:
        progress = rng.choice(PREP_PROGRESS)
        steps = "加快办理前期手续，力争早日开工"
    elif stage == UC:
        start, finish = plan.window()
        elapsed = (period.end - start).days / max(1, (finish - start).days)
        pct = max(1, min(99, int(100 * elapsed * plan.perf)))
        work = rng.choice(works)
        progress = f"累计完成形象进度{pct}%，本期推进{work}施工"
        steps = f"倒排工期，加快{rng.choice(works)}施工"
    elif stage == Stage.SUSPENDED:
        progress, steps = SUSPEND_PROGRESS, "协调解决资金问题，争取尽快复工"
    else:
        progress, steps = "已完成竣工验收，正在办理竣工结算", "做好运营准备"
    if stage in (PRE, UC, Stage.SUSPENDED) and rng.random() < 0.3:
        problems = rng.choice(PROBLEMS).format(n=rng.randint(2, 30))
    return {"physical_progress": progress, "problems": problems, "next_steps": steps}


def write_reports(ctx: Context, plans: list[Plan]) -> None:
    kind = selectors.report_period_kind()
    current = periods.containing(kind, ctx.today)
    window = [current.previous()]
    while len(window) < REPORT_WINDOW:
        window.insert(0, window[0].previous())
    for plan in sorted(plans, key=lambda p: p.parent is None):  # sub-projects first
        compute_amounts(ctx, plan, window)
        record_prior_investment(ctx, plan, window[0].start)
    for plan in plans:
        for index, period in enumerate(window):
            if owes_report(plan, period):
                write_period_report(ctx, plan, period, recent=index >= len(window) - 2)
        if owes_report(plan, current) and ctx.rng.random() < 0.12:
            report = report_draft(ctx, plan, current)
            written = moment(ctx.rng, max(current.start, ctx.today - days(1)))
            ctx.report_times[report.pk] = (written, None, None, None)


def report_draft(ctx: Context, plan: Plan, period: periods.Period) -> ProgressReport:
    return services.report_save(
        project=plan.saved,
        period=period,
        actor=ctx.reporter(plan.lead),
        investment=plan.amounts.get(period.key, Decimal(0)),
        **report_texts(ctx, plan, period),
    )


def write_period_report(ctx: Context, plan: Plan, period: periods.Period, *, recent: bool) -> None:
    """One report through the workflow: missing, draft, submitted (on time or late), approved,
    or returned and maybe corrected."""
    rng, today = ctx.rng, ctx.today
    miss, late = [(0.01, 0.05), (0.06, 0.25), (0.2, 0.45)][plan.diligence]
    if rng.random() < miss:
        return
    deadline = selectors.report_deadline(period)
    if rng.random() < late:
        submit_day = deadline + days(rng.randint(1, 12))
    else:
        submit_day = period.end + days(rng.randint(-2, max(0, (deadline - period.end).days)))
    submit_day = max(submit_day, period.start, plan.registered)
    if submit_day >= today:  # not submitted yet: a draft, or nothing at all
        if rng.random() < 0.5:
            report = report_draft(ctx, plan, period)
            ctx.report_times[report.pk] = (moment(rng, today - days(1)), None, None, None)
        return
    reporter, head = ctx.reporter(plan.lead), ctx.head(plan.lead)
    report = report_draft(ctx, plan, period)
    created = moment(rng, submit_day - days(rng.randint(0, 2)))
    submitted = max(moment(rng, submit_day), created)
    report = services.report_submit(report=report, actor=reporter)
    first_submitted = submitted
    reviewed: dt.datetime | None = None
    review_day = submit_day + days(rng.randint(0, 4) if rng.random() < 0.9 else rng.randint(5, 25))
    if review_day < today and rng.random() < 0.07:
        report = services.report_return(
            report=report, actor=head, reason=rng.choice(RETURN_REASONS)
        )
        reviewed = max(moment(rng, review_day), submitted)
        fix_day = review_day + days(rng.randint(1, 3))
        if not (recent and rng.random() < 0.6) and fix_day < today:
            texts = report_texts(ctx, plan, period)
            texts["physical_progress"] += "（已按要求补充完善）"
            report = services.report_save(
                project=plan.saved,
                period=period,
                actor=reporter,
                investment=report.investment,
                **texts,
            )
            report = services.report_submit(report=report, actor=reporter)
            submitted = max(moment(rng, fix_day), reviewed)
            review_day = fix_day + days(rng.randint(0, 2))
            if review_day < today:
                report = services.report_approve(report=report, actor=head)
                reviewed = max(moment(rng, review_day), submitted)
    elif review_day < today:
        report = services.report_approve(report=report, actor=head)
        reviewed = max(moment(rng, review_day), submitted)
    ctx.report_times[report.pk] = (created, first_submitted, submitted, reviewed)


def backdate(ctx: Context) -> None:
    """Move the "now" the services stamped to the believable moments chosen above."""
    reports = [
        ProgressReport(
            pk=pk,
            created_at=created,
            first_submitted_at=first_submitted,
            submitted_at=submitted,
            reviewed_at=reviewed,
            updated_at=max(t for t in (created, submitted, reviewed) if t is not None),
        )
        for pk, (created, first_submitted, submitted, reviewed) in ctx.report_times.items()
    ]
    ProgressReport.objects.bulk_update(
        reports,
        ["created_at", "first_submitted_at", "submitted_at", "reviewed_at", "updated_at"],
        batch_size=200,
    )
    revisions = [MilestoneRevision(pk=pk, created_at=at) for pk, at in ctx.revision_times.items()]
    MilestoneRevision.objects.bulk_update(revisions, ["created_at"], batch_size=200)


# ---------------------------------------------------------------------------------------------
# Red cards, upward funding, targets
# ---------------------------------------------------------------------------------------------


def give_red_cards(ctx: Context, plans: list[Plan]) -> None:
    candidates: list[tuple[Plan, str]] = []
    for plan in plans:
        if plan.kind == ProjectKind.TASK or plan.children or plan.parent:
            continue
        if plan.stage == Stage.SUSPENDED:
            candidates.append((plan, "suspended"))
        elif plan.stage == UC and plan.perf < 0.6:
            candidates.append((plan, "lagging"))
        elif plan.stage == UC and plan.diligence == 2:
            candidates.append((plan, "reports"))
    wanted = min(len(candidates), max(2, round(len(plans) * 0.04)))
    for plan, why in ctx.rng.sample(candidates, wanted):
        services.project_set_red_card(
            project=plan.saved,
            actor=ctx.supervisor,
            red_card=True,
            reason=RED_CARD_REASONS[why],
        )


def write_applications(ctx: Context, plans: list[Plan], scale: int) -> None:
    rng, year = ctx.rng, ctx.year
    year_start = dt.date(year, 1, 1)
    statuses = [
        ApplicationStatus.PREPARING,
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.APPROVED,
        ApplicationStatus.ARRIVED,
        ApplicationStatus.REJECTED,
    ]
    for code, channel, suffix, policy in APPLICATION_KINDS:
        unit = ctx.units[code]
        own = [
            p
            for p in plans
            if p.lead.pk == unit.pk
            and p.source == Source.GOVERNMENT
            and p.kind == ProjectKind.PROJECT
            and p.parent is None
        ]
        for _n in range(rng.randint(1, 2) * scale):
            project = rng.choice(own) if own else None
            base = project.total * rng.uniform(0.1, 0.4) if project else rng.uniform(300, 3000)
            requested = round(max(base, 100.0), -1)
            status = rng.choices(statuses, weights=[10, 25, 30, 30, 5])[0]
            applied = min(year_start + days(rng.randint(10, 240)), ctx.today - days(1))
            approved_on = applied + days(rng.randint(20, 90))
            if approved_on >= ctx.today and status in (statuses[2], statuses[3], statuses[4]):
                status = ApplicationStatus.SUBMITTED
            approved = requested * rng.uniform(0.5, 1.0) if status in statuses[2:4] else 0.0
            arrived = (
                approved * rng.choice([rng.uniform(0.3, 0.9), 1.0]) if status == statuses[3] else 0
            )
            services.funding_application_save(
                actor=ctx.reporter(unit),
                unit=unit,
                project=project.project if project else None,
                year=year,
                title=f"{project.name if project else unit.short_name}{suffix}",
                channel=channel,
                policy_basis=policy.format(year=year),
                requested=money(requested),
                approved=money(round(approved, -1)),
                arrived=money(round(arrived, -1)),
                status=status,
                applied_on=None if status == ApplicationStatus.PREPARING else applied,
                approved_on=approved_on if status in statuses[2:] else None,
            )


def unit_targets(ctx: Context) -> list[tuple[Unit, str]]:
    wanted: list[tuple[Unit, str]] = [
        (ctx.units[c], TargetMetric.FUNDING) for c in FUNDING_TARGET_UNITS
    ]
    for code in ("jtj", "slj", "zjj", "nyncj", "wlj"):
        wanted += [
            (ctx.units[code], TargetMetric.FIXED_ASSET),
            (ctx.units[code], TargetMetric.PROJECTS_STARTED),
        ]
    for town in ctx.townships:
        wanted += [
            (town, TargetMetric.FIXED_ASSET),
            (town, TargetMetric.PROJECTS_STARTED),
            (town, TargetMetric.ATTRACTION_SIGNED),
        ]
    for _name, _short, code in ZONES:
        wanted += [
            (ctx.units[code], m)
            for m in (
                TargetMetric.ATTRACTION_SIGNED,
                TargetMetric.ATTRACTION_ARRIVED,
                TargetMetric.FIXED_ASSET,
                TargetMetric.PROJECTS_STARTED,
            )
        ]
    for _name, _short, code in TEAMS:
        wanted += [
            (ctx.units[code], m)
            for m in (
                TargetMetric.ATTRACTION_SIGNED,
                TargetMetric.PROJECTS_SIGNED,
                TargetMetric.ATTRACTION_ARRIVED,
            )
        ]
    return wanted


def achievements(ctx: Context, unit: Unit, metric: str) -> list[tuple[dt.date, Decimal]]:
    """What the unit achieved this year, as dated steps derived from the data just loaded: the
    day each step became known and how much it added."""
    year_start = dt.date(ctx.year, 1, 1)
    mine = Project.objects.filter(Q(lead_unit=unit) | Q(township=unit), subprojects__isnull=True)
    if metric == TargetMetric.FUNDING:
        rows = unit.funding_applications.filter(
            year=ctx.year, status__in=[ApplicationStatus.APPROVED, ApplicationStatus.ARRIVED]
        ).values_list("approved_on", "applied_on", "approved")
        return [(approved or applied or ctx.today, amount) for approved, applied, amount in rows]
    if metric in (TargetMetric.FIXED_ASSET, TargetMetric.ATTRACTION_ARRIVED):
        if metric == TargetMetric.ATTRACTION_ARRIVED:
            mine = mine.filter(source=Source.ATTRACTION)
        rows = (
            ProgressReport.objects.counted()
            .filter(project__in=mine, period_start__gte=year_start)
            .values_list("first_submitted_at", "deadline", "investment")
        )
        return [
            (timezone.localdate(sent) if sent else deadline, amount)
            for sent, deadline, amount in rows
        ]
    to_stage = UC if metric == TargetMetric.PROJECTS_STARTED else Stage.SIGNED
    firsts = (
        StageChange.objects.filter(project__in=mine, to_stage=to_stage, changed_on__gte=year_start)
        .values("project_id")
        .annotate(first=Min("changed_on"), investment=Min("project__total_investment"))
        .values_list("first", "investment")
    )
    if metric == TargetMetric.ATTRACTION_SIGNED:
        return [(first, investment or Decimal(0)) for first, investment in firsts]
    return [(first, Decimal(1)) for first, _investment in firsts]


TARGET_DEFAULTS = {  # a target for a unit that has achieved nothing yet
    TargetMetric.FUNDING: (2000, 15000),
    TargetMetric.ATTRACTION_SIGNED: (30000, 200000),
    TargetMetric.ATTRACTION_ARRIVED: (10000, 80000),
    TargetMetric.FIXED_ASSET: (10000, 100000),
    TargetMetric.PROJECTS_STARTED: (1, 5),
    TargetMetric.PROJECTS_SIGNED: (2, 6),
}


def write_targets(ctx: Context) -> None:
    """The year's targets, issued in January, with what each unit reported against them every
    half month since (back-dated history, so a past period's ranking and a past day's dashboard
    read the figures of their day)."""
    rng = ctx.rng
    elapsed = periods.elapsed_share_of_year(ctx.today)
    issued = at_time(min(dt.date(ctx.year, 1, 10), ctx.today), 9)
    checkpoints = [
        p.end
        for p in periods.iter_between(periods.PeriodKind.HALF_MONTH, issued.date(), ctx.today)
        if p.end < ctx.today
    ]
    history = Target.history.model
    for unit, metric in unit_targets(ctx):
        steps = achievements(ctx, unit, metric)
        actual = sum((amount for _day, amount in steps), Decimal(0)).quantize(Decimal("0.01"))
        counting = metric in (TargetMetric.PROJECTS_STARTED, TargetMetric.PROJECTS_SIGNED)
        if actual > 0:
            goal = float(actual) / (elapsed * rng.uniform(0.75, 1.25))
        else:
            goal = rng.uniform(*TARGET_DEFAULTS[metric])
        value = Decimal(max(1, math.ceil(goal))) if counting else nice(goal)
        target = services.target_set(
            actor=ctx.admin,
            unit=unit,
            year=ctx.year,
            metric=metric,
            target_value=value,
            note="按县委县政府年度目标任务分解文件下达",
        )
        history.objects.filter(id=target.pk).update(history_date=issued)
        if actual == 0:
            continue
        # What the unit had reported by each half-month's end, oldest first (the history's
        # order is its ids' order), then today's figure through the service.
        reporter = ctx.reporter(unit)
        so_far, rows = Decimal(0), []
        for day in checkpoints:
            known = sum((a for d, a in steps if d <= day), Decimal(0)).quantize(Decimal("0.01"))
            if known != so_far:
                so_far = known
                rows.append(
                    history(
                        id=target.pk,
                        unit_id=unit.pk,
                        year=target.year,
                        metric=metric,
                        target_value=target.target_value,
                        actual_value=known,
                        note=target.note,
                        version=target.version,
                        updated_at=at_time(day, 17),
                        history_date=at_time(day, 17),
                        history_type="~",
                        history_user=reporter,
                    )
                )
        history.objects.bulk_create(rows)
        services.target_record_actual(target=target, actual_value=actual, actor=reporter)
        history.objects.filter(id=target.pk, history_date__gt=at_time(ctx.today, 8)).update(
            history_date=at_time(ctx.today, 8)  # seeding a past day: not after that day
        )


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def demo_usernames() -> list[str]:
    codes = [code for table in (DEPARTMENTS, TOWNSHIPS, ZONES, TEAMS) for _n, _s, code in table]
    featured = [username for username, _name, _roles, _leader in FEATURED_USERS]
    return featured + codes + [f"{code}_head" for code in codes]


def seed(rng: random.Random, today: dt.date, count: int) -> Context:
    county, units, villages = build_units(rng)
    leaders = build_leaders(rng, county)
    admin, supervisor, reporters, heads = build_users(rng, county, units, leaders)
    townships = [units[code] for _n, _s, code in TOWNSHIPS]
    centres = {}
    for town in townships:
        spread = 0.03 if town.name.endswith("街道") else 0.18
        centres[town.pk] = (
            CENTRE[0] + rng.uniform(-spread, spread),
            CENTRE[1] + rng.uniform(-spread * 1.2, spread * 1.2),
        )
    ctx = Context(
        rng=rng,
        today=today,
        county=county,
        units=units,
        townships=townships,
        villages=villages,
        centres=centres,
        leaders=leaders,
        admin=admin,
        supervisor=supervisor,
        reporters=reporters,
        heads=heads,
        tags={name: Tag.objects.get_or_create(name=name)[0] for name in TAGS},
    )
    for category, kind, name in MilestoneTemplate.objects.order_by("id").values_list(
        "category", "kind", "name"
    ):
        ctx.milestone_names.setdefault(category, {}).setdefault(kind, name)
    plans = plan_all(ctx, count)
    with tallies.deferred():  # the report tallies are refreshed once, at the end
        for seq, plan in enumerate(plans, start=1):
            create_project(ctx, plan, seq)
        for plan in sorted(plans, key=lambda p: p.parent is None):  # sub-projects first
            write_year_plans(ctx, plan)
        for plan in plans:
            write_milestones(ctx, plan)
            write_funding(ctx, plan)
        write_reports(ctx, plans)
        backdate(ctx)
        for unit in {plan.saved.lead_unit_id for plan in plans}:  # bulk_update sends no signal
            tallies.touch(unit)
    give_red_cards(ctx, plans)
    write_applications(ctx, plans, scale=max(1, count // 70))
    write_targets(ctx)
    demo_seeded.send(sender=Command, today=today, county=county, supervisor=supervisor)
    return ctx


class Command(BaseCommand):
    help = "Load a demo county with key projects, reports and users for every role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same data)"
        )
        parser.add_argument(
            "--today", type=str, default=None, help="the day the data ends, YYYY-MM-DD"
        )
        parser.add_argument(
            "--projects", type=int, default=DEFAULT_PROJECTS, help="number of projects"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override("zh-hans"):
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        today = self._today(options["today"])
        count = options["projects"]
        if count < 1:
            raise CommandError(_("--projects must be at least 1."))
        if Unit.objects.filter(code=COUNTY[1]).exists():
            self.stdout.write(
                _("The demo county %(county)s is already loaded; nothing was changed.")
                % {"county": COUNTY[0]}
            )
        else:
            taken = sorted(
                get_user_model()
                .objects.filter(username__in=demo_usernames())
                .values_list("username", flat=True)
            )
            if taken:
                raise CommandError(
                    _(
                        "These usernames are taken already: %(names)s. Load the demo county into a "
                        "database without them."
                    )
                    % {"names": ", ".join(taken)}
                )
            began = time.monotonic()
            with transaction.atomic():
                seed(random.Random(options["seed"]), today, count)
            self.stdout.write(
                _("Loaded the demo county %(county)s in %(seconds).1f s.")
                % {"county": COUNTY[0], "seconds": time.monotonic() - began}
            )
        self._summary()
        self._logins()

    def _today(self, value: str | None) -> dt.date:
        real = timezone.localdate()
        if value is None:
            return real
        try:
            today = dt.date.fromisoformat(value)
        except ValueError:
            raise CommandError(_("--today must be a date like 2026-11-21.")) from None
        if today > real:
            # The services refuse stage changes, completions and reports dated in the future.
            raise CommandError(
                _("--today cannot be later than the real date (%(date)s).")
                % {"date": real.isoformat()}
            )
        return today

    def _summary(self) -> None:
        county = Unit.objects.get(code=COUNTY[1])
        projects = Project.objects.in_unit_subtree(county)
        self.stdout.write(
            _(
                "Units: %(units)d, leaders: %(leaders)d, projects: %(projects)d, milestones: "
                "%(milestones)d, progress reports: %(reports)d, users: %(users)d"
            )
            % {
                "units": Unit.objects.subtree(county.parent or county).count(),
                "leaders": Leader.objects.filter(unit=county).count(),
                "projects": projects.count(),
                "milestones": Milestone.objects.filter(project__in=projects).count(),
                "reports": ProgressReport.objects.filter(project__in=projects).count(),
                "users": get_user_model().objects.count(),
            }
        )

    def _logins(self) -> None:
        names = [u[0] for u in FEATURED_USERS]
        for code in SHOWN_UNIT_LOGINS:
            names += [f"{code}_head", code]
        users = {u.username: u for u in get_user_model().objects.filter(username__in=names)}
        memberships = Membership.objects.filter(user__in=users.values()).select_related("unit")
        roles: dict[int, list[str]] = {}
        for m in memberships.order_by("id"):
            roles.setdefault(m.user_id, []).append(
                f"{m.get_role_display()} @ {m.unit.display_name}"
            )
        self.stdout.write("")
        self.stdout.write(
            _("Demo logins (password for all: %(password)s)") % {"password": PASSWORD}
        )
        header = (_("username"), _("name"), _("role and unit"), _("password"))
        self.stdout.write(
            f"  {pad(header[0], 14)}{pad(header[1], 12)}{pad(header[2], 44)}{header[3]}"
        )
        for username in names:
            user = users.get(username)
            if user is None:
                continue
            role = "; ".join(roles.get(user.pk, []))
            self.stdout.write(
                f"  {pad(username, 14)}{pad(user.first_name, 12)}{pad(role, 44)}{PASSWORD}"
            )
        self.stdout.write(
            _(
                "Every department, township, zone and team has a reporter named by its code "
                "(e.g. jtj) and a unit head (e.g. jtj_head)."
            )
        )
