"""Parameters of the Beijing-like sample city, tuned to the checked figures in DOMAIN.md.

Everything here is sample-data knowledge (where the urban fabric is, what names look like),
not configuration of the service: the service reads none of it.
"""

from __future__ import annotations

from pathlib import Path

REAL = Path(__file__).parent / "real"
DISTRICTS_FILE = REAL / "beijing_districts.geojson"
STREETS_FILE = REAL / "beijing_streets.json"

LOCAL_EPSG = 4548  # CGCS2000 / 3-degree Gauss-Kruger CM 117E: metres for Beijing

# Urban areas where old estates stand: (lon, lat, radius in metres, relative density).
URBAN_AREAS: tuple[tuple[float, float, float, float], ...] = (
    (116.3975, 39.9087, 15_500, 1.0),  # the central city inside the 5th ring road
    (116.6560, 39.9100, 5_000, 0.7),  # Tongzhou
    (116.6540, 40.1300, 4_000, 0.5),  # Shunyi
    (116.2310, 40.2210, 4_000, 0.5),  # Changping
    (116.3410, 39.7270, 4_000, 0.6),  # Daxing (Huangcun)
    (116.1390, 39.7350, 3_500, 0.5),  # Fangshan (Liangxiang)
    (116.1020, 39.9410, 3_000, 0.5),  # Mentougou
    (116.6320, 40.3160, 2_800, 0.4),  # Huairou
    (117.1210, 40.1410, 2_800, 0.4),  # Pinggu
    (116.8430, 40.3770, 2_800, 0.4),  # Miyun
    (115.9750, 40.4560, 2_500, 0.4),  # Yanqing
)

# Per 1.0 of scale: floors of the issue (at least), rounded up a little.
ESTATES_PER_SCALE = 6_100

GRID_SPACING_M = (190.0, 390.0)  # spacing of the (irregular) road grid
ARTERIAL_EVERY = 6  # every n-th grid line is an arterial, every third a secondary road
ROAD_WIDTH_M = {"arterial": 50.0, "secondary": 30.0, "local": 16.0}

NAME_STEMS = (
    "和平", "光明", "幸福", "团结", "红莲", "安华", "劲松", "甘家口", "八里庄", "百万庄",
    "花园", "永安", "建国", "朝阳", "新源", "左家庄", "樱花", "惠新", "育新", "西坝河",
    "三里河", "展览路", "月坛", "南礼士路", "白纸坊", "广安", "陶然", "天坛", "龙潭", "东花市",
    "方庄", "蒲黄榆", "马家堡", "六里桥", "太平桥", "卢沟桥", "万寿路", "永定路", "玉泉",
    "紫竹院", "北太平庄", "学院路", "双榆树", "知春", "牡丹园", "花园路", "翠微", "田村",
    "古城", "八角", "金顶", "苹果园", "鲁谷", "黄村", "清源", "兴丰", "良乡", "拱辰", "城关",
    "新华", "中仓", "玉桥", "北苑", "胜利", "石园", "光明", "仁和", "城北", "城南", "鼓楼",
    "果园", "滨河", "龙泉", "香山", "青塔", "小关", "芍药居", "安贞", "和平街", "垂杨柳",
)  # fmt: skip
NAME_SUFFIXES = ("小区", "北里", "南里", "东里", "西里", "中里", "家园", "社区", "宿舍", "新村")

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅文斌宇浩然"

INSPECTORS = (
    "北京市建筑设计研究院",
    "中国建筑科学研究院",
    "北京城建设计发展集团",
    "清华同衡规划院",
)
FINDINGS = (
    "屋面渗漏", "外墙保温缺失", "给水管道锈蚀", "排水管道堵塞", "燃气管道老化", "供热管网失修",
    "架空线缆凌乱", "缺少无障碍设施", "停车位不足", "消防通道占用", "绿化缺失", "照明不足",
    "缺少养老设施", "电动自行车充电设施不足", "楼道破损", "单元门禁损坏",
)  # fmt: skip
UTILITIES = {
    "water_supply": "北京市自来水集团",
    "drainage_storm": "北京城市排水集团",
    "drainage_sewer": "北京城市排水集团",
    "drainage_combined": "北京城市排水集团",
    "gas": "北京市燃气集团",
    "heating": "北京市热力集团",
    "power": "国网北京市电力公司",
    "telecom": "中国联通北京分公司",
}
