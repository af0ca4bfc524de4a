"""Beijing's sample city, tuned to the checked figures in DOMAIN.md."""

from __future__ import annotations

from data_samples.sample_city import REAL, SampleCity

CITY = SampleCity(
    name="beijing",
    districts_file=REAL / "beijing_districts.geojson",
    streets_file=REAL / "beijing_streets.json",
    urban_areas=(
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
    ),
    # The floors for scale 1.0 (at least), rounded up a little.
    per_scale={
        "estates": 6_100,
        "idle_parcels": 3_100,
        "service_facilities": 5_100,
        "governance_issues": 9_000,
        "resident_requests": 18_000,
    },  # fmt: skip
    name_stems=(
        "和平",
        "光明",
        "幸福",
        "团结",
        "红莲",
        "安华",
        "劲松",
        "甘家口",
        "八里庄",
        "百万庄",
        "花园",
        "永安",
        "建国",
        "朝阳",
        "新源",
        "左家庄",
        "樱花",
        "惠新",
        "育新",
        "西坝河",
        "三里河",
        "展览路",
        "月坛",
        "南礼士路",
        "白纸坊",
        "广安",
        "陶然",
        "天坛",
        "龙潭",
        "东花市",
        "方庄",
        "蒲黄榆",
        "马家堡",
        "六里桥",
        "太平桥",
        "卢沟桥",
        "万寿路",
        "永定路",
        "玉泉",
        "紫竹院",
        "北太平庄",
        "学院路",
        "双榆树",
        "知春",
        "牡丹园",
        "花园路",
        "翠微",
        "田村",
        "古城",
        "八角",
        "金顶",
        "苹果园",
        "鲁谷",
        "黄村",
        "清源",
        "兴丰",
        "良乡",
        "拱辰",
        "城关",
        "新华",
        "中仓",
        "玉桥",
        "北苑",
        "胜利",
        "石园",
        "光明",
        "仁和",
        "城北",
        "城南",
        "鼓楼",
        "果园",
        "滨河",
        "龙泉",
        "香山",
        "青塔",
        "小关",
        "芍药居",
        "安贞",
        "和平街",
        "垂杨柳",
    ),  # fmt: skip
    inspectors=(
        "北京市建筑设计研究院",
        "中国建筑科学研究院",
        "北京城建设计发展集团",
        "清华同衡规划院",
    ),
    utilities={
        "water_supply": "北京市自来水集团",
        "drainage_storm": "北京城市排水集团",
        "drainage_sewer": "北京城市排水集团",
        "drainage_combined": "北京城市排水集团",
        "gas": "北京市燃气集团",
        "heating": "北京市热力集团",
        "power": "国网北京市电力公司",
        "telecom": "中国联通北京分公司",
    },
    request_channels={
        "hotline_12345": 55,
        "wechat_anju_beijing": 12,
        "owner_decision_platform": 8,
        "residents_committee": 12,
        "owners_committee": 4,
        "property_company": 6,
        "responsible_planner": 3,
    },  # fmt: skip
)
