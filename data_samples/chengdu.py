"""Chengdu's sample city: another CRS zone, no heating network, its own names and utilities.

Sizes are assumptions (○): Chengdu's district-level old-estate counts are not published in one
place, so the sample takes about two thirds of Beijing's per 1.0 of scale.
"""

from __future__ import annotations

from data_samples.sample_city import REAL, SampleCity

CITY = SampleCity(
    name="chengdu",
    districts_file=REAL / "chengdu_districts.geojson",
    streets_file=REAL / "chengdu_streets.json",
    urban_areas=(
        (104.0657, 30.6574, 12_000, 1.0),  # the central city around Tianfu Square, to the 3rd ring
        (103.9230, 30.5740, 4_000, 0.6),  # Shuangliu (Dongsheng)
        (104.1580, 30.8230, 3_500, 0.6),  # Xindu
        (103.9010, 30.7950, 3_500, 0.5),  # Pidu (Pitong)
        (103.8360, 30.6900, 3_500, 0.5),  # Wenjiang (Liucheng)
        (104.2750, 30.5560, 3_500, 0.5),  # Longquanyi
        (104.2510, 30.8780, 3_000, 0.5),  # Qingbaijiang (Dawan)
        (103.8120, 30.4100, 2_500, 0.4),  # Xinjin (Wujin)
    ),
    per_scale={
        "estates": 4_000,
        "idle_parcels": 2_000,
        "service_facilities": 3_400,
        "governance_issues": 5_900,
        "resident_requests": 11_800,
    },  # fmt: skip
    name_stems=(
        "玉林",
        "新南",
        "跳蹬河",
        "双桥子",
        "水碾河",
        "望江",
        "府青",
        "驷马桥",
        "营门口",
        "抚琴",
        "光华",
        "草堂",
        "浆洗街",
        "红牌楼",
        "簇桥",
        "九眼桥",
        "猛追湾",
        "建设路",
        "沙湾",
        "茶店子",
        "金沙",
        "苏坡",
        "肖家河",
        "倪家桥",
        "桐梓林",
        "磨子桥",
        "衣冠庙",
        "高升桥",
        "双楠",
        "石人",
        "白果林",
        "西安路",
        "五块石",
        "荷花池",
        "二仙桥",
        "万年场",
        "龙舟路",
        "牛市口",
        "莲花",
        "和平",
        "光明",
        "幸福",
        "团结",
        "东升",
        "郫筒",
        "柳城",
        "大弯",
        "五津",
        "龙泉",
        "桂湖",
    ),  # fmt: skip
    inspectors=(
        "中国建筑西南设计研究院",
        "四川省建筑科学研究院",
        "成都市建筑设计研究院",
        "中国建筑科学研究院",
    ),
    utilities={  # no heating network south of the Qinling-Huaihe line
        "water_supply": "成都市自来水有限责任公司",
        "drainage_storm": "成都市排水有限责任公司",
        "drainage_sewer": "成都市排水有限责任公司",
        "drainage_combined": "成都市排水有限责任公司",
        "gas": "成都燃气集团",
        "power": "国网四川省电力公司成都供电公司",
        "telecom": "中国电信成都分公司",
    },
    request_channels={
        "hotline_12345": 62,
        "owner_decision_platform": 6,
        "residents_committee": 15,
        "owners_committee": 5,
        "property_company": 9,
        "responsible_planner": 3,
    },  # fmt: skip
)
