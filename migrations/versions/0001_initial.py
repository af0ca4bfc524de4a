"""initial schema: every layer of the registry

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:43:00.221962
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "change_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("layer", sa.Text(), nullable=False, comment="图层 / Layer"),
        sa.Column("feature_id", sa.BigInteger(), nullable=True, comment="要素 / Feature"),
        sa.Column("action", sa.Text(), nullable=False, comment="操作 / Action"),
        sa.Column("actor", sa.Text(), nullable=False, comment="操作人 / Actor"),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), nullable=False, comment="时间 / Changed at"
        ),
        sa.Column(
            "before",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="变更前 / Before",
        ),
        sa.Column(
            "after",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="变更后 / After",
        ),
        sa.Column("note", sa.Text(), nullable=True, comment="说明 / Note"),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "action IN ('insert', 'update', 'delete', 'ingest', 'move_batch')",
            name=op.f("ck_change_history_action_vocab"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_history")),
        comment="变更记录 / Change history",
    )
    op.create_index(
        op.f("ix_change_history_feature_id"), "change_history", ["feature_id"], unique=False
    )
    op.create_index(op.f("ix_change_history_layer"), "change_history", ["layer"], unique=False)
    op.create_geospatial_table(
        "districts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False, comment="行政区划代码 / Division code"),
        sa.Column("name_zh", sa.Text(), nullable=False, comment="名称 / Name (Chinese)"),
        sa.Column("name_en", sa.Text(), nullable=True, comment="英文名 / Name (English)"),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_districts")),
        sa.UniqueConstraint("code", name=op.f("uq_districts_code")),
    )
    op.create_geospatial_index(
        "idx_districts_geom",
        "districts",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "pipelines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("network", sa.Text(), nullable=False, comment="管线类别 / Network"),
        sa.Column("material", sa.Text(), nullable=True, comment="材质 / Material"),
        sa.Column("diameter_mm", sa.Integer(), nullable=True, comment="管径(mm) / Diameter (mm)"),
        sa.Column("install_year", sa.Integer(), nullable=True, comment="敷设年份 / Installed"),
        sa.Column("condition", sa.Text(), nullable=True, comment="状况 / Condition"),
        sa.Column("owner", sa.Text(), nullable=True, comment="权属 / Owner"),
        sa.Column("operator", sa.Text(), nullable=True, comment="管理单位 / Operator"),
        sa.Column("depth_m", sa.Float(), nullable=True, comment="埋深(米) / Depth (m)"),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "condition IN ('good', 'fair', 'poor', 'critical')",
            name=op.f("ck_pipelines_condition_vocab"),
        ),
        sa.CheckConstraint(
            "material IN ('grey_cast_iron', 'ductile_iron', 'galvanized_steel', 'steel', 'pe', 'pvc_u', 'ppr', 'concrete', 'asbestos_cement', 'cast_iron_soil', 'cable_xlpe', 'cable_pvc', 'copper_telecom', 'fiber')",
            name=op.f("ck_pipelines_material_vocab"),
        ),
        sa.CheckConstraint(
            "network IN ('water_supply', 'drainage_storm', 'drainage_sewer', 'drainage_combined', 'gas', 'heating', 'power', 'telecom')",
            name=op.f("ck_pipelines_network_vocab"),
        ),
        sa.CheckConstraint(
            "owner IN ('utility', 'property_company', 'work_unit', 'unknown')",
            name=op.f("ck_pipelines_owner_vocab"),
        ),
        sa.CheckConstraint("depth_m >= 0", name=op.f("ck_pipelines_depth_m_min")),
        sa.CheckConstraint("diameter_mm <= 5000", name=op.f("ck_pipelines_diameter_mm_max")),
        sa.CheckConstraint("diameter_mm >= 0", name=op.f("ck_pipelines_diameter_mm_min")),
        sa.CheckConstraint("install_year <= 2100", name=op.f("ck_pipelines_install_year_max")),
        sa.CheckConstraint("install_year >= 1900", name=op.f("ck_pipelines_install_year_min")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
    )
    op.create_geospatial_index(
        "idx_pipelines_geom",
        "pipelines",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_pipelines_network"), "pipelines", ["network"], unique=False)
    op.create_geospatial_table(
        "roads",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=True, comment="路名 / Name (Chinese)"),
        sa.Column("road_class", sa.Text(), nullable=False, comment="道路等级 / Road class"),
        sa.Column("width_m", sa.Float(), nullable=True, comment="红线宽度(米) / Width (m)"),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "road_class IN ('arterial', 'secondary', 'local')",
            name=op.f("ck_roads_road_class_vocab"),
        ),
        sa.CheckConstraint("width_m >= 0", name=op.f("ck_roads_width_m_min")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roads")),
    )
    op.create_geospatial_index(
        "idx_roads_geom",
        "roads",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "plan_batches",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False, comment="年度 / Year"),
        sa.Column("district_code", sa.Text(), nullable=False, comment="区 / District"),
        sa.Column("batch_no", sa.Integer(), nullable=False, comment="批次 / Batch number"),
        sa.Column("name_zh", sa.Text(), nullable=True, comment="名称 / Name"),
        sa.Column("approved_on", sa.Date(), nullable=True, comment="批准日期 / Approved on"),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("batch_no >= 1", name=op.f("ck_plan_batches_batch_no_min")),
        sa.CheckConstraint("year <= 2100", name=op.f("ck_plan_batches_year_max")),
        sa.CheckConstraint("year >= 2000", name=op.f("ck_plan_batches_year_min")),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_plan_batches_district_code_districts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_batches")),
        comment="计划批次 / Plan batches",
    )
    op.create_index(
        op.f("ix_plan_batches_district_code"), "plan_batches", ["district_code"], unique=False
    )
    op.create_geospatial_table(
        "streets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False, comment="街乡代码 / Street code"),
        sa.Column("name_zh", sa.Text(), nullable=False, comment="名称 / Name (Chinese)"),
        sa.Column("name_en", sa.Text(), nullable=True, comment="英文名 / Name (English)"),
        sa.Column("district_code", sa.Text(), nullable=False, comment="所属区 / District"),
        sa.Column(
            "responsible_planner",
            sa.Text(),
            nullable=True,
            comment="责任规划师 / Responsible planner",
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_streets_district_code_districts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streets")),
        sa.UniqueConstraint("code", name=op.f("uq_streets_code")),
    )
    op.create_geospatial_index(
        "idx_streets_geom",
        "streets",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_streets_district_code"), "streets", ["district_code"], unique=False)
    op.create_geospatial_table(
        "projects",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False, comment="项目名称 / Name"),
        sa.Column("district_code", sa.Text(), nullable=False, comment="区 / District"),
        sa.Column("street_code", sa.Text(), nullable=True, comment="街道 / Street"),
        sa.Column("plan_batch_id", sa.BigInteger(), nullable=True, comment="计划批次 / Plan batch"),
        sa.Column("status", sa.Text(), nullable=False, comment="项目状态 / Status"),
        sa.Column("start_on", sa.Date(), nullable=True, comment="计划开工 / Planned start"),
        sa.Column("end_on", sa.Date(), nullable=True, comment="计划完工 / Planned end"),
        sa.Column(
            "submitted_on", sa.Date(), nullable=True, comment="报批日期 / Submitted for approval"
        ),
        sa.Column("approved_on", sa.Date(), nullable=True, comment="批复日期 / Approved on"),
        sa.Column("budget_cny", sa.Float(), nullable=True, comment="投资(元) / Budget (CNY)"),
        sa.Column(
            "green_ratio_before",
            sa.Float(),
            nullable=True,
            comment="改造前绿地率 / Green ratio before",
        ),
        sa.Column(
            "green_ratio_after",
            sa.Float(),
            nullable=True,
            comment="改造后绿地率 / Green ratio after",
        ),
        sa.Column("contractor", sa.Text(), nullable=True, comment="施工单位 / Contractor"),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'in_construction', 'completed', 'accepted')",
            name=op.f("ck_projects_status_vocab"),
        ),
        sa.CheckConstraint("budget_cny >= 0", name=op.f("ck_projects_budget_cny_min")),
        sa.CheckConstraint(
            "green_ratio_after <= 1", name=op.f("ck_projects_green_ratio_after_max")
        ),
        sa.CheckConstraint(
            "green_ratio_after >= 0", name=op.f("ck_projects_green_ratio_after_min")
        ),
        sa.CheckConstraint(
            "green_ratio_before <= 1", name=op.f("ck_projects_green_ratio_before_max")
        ),
        sa.CheckConstraint(
            "green_ratio_before >= 0", name=op.f("ck_projects_green_ratio_before_min")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_projects_district_code_districts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["plan_batch_id"],
            ["plan_batches.id"],
            name=op.f("fk_projects_plan_batch_id_plan_batches"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["street_code"],
            ["streets.code"],
            name=op.f("fk_projects_street_code_streets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_geospatial_index(
        "idx_projects_geom",
        "projects",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_projects_district_code"), "projects", ["district_code"], unique=False)
    op.create_index(op.f("ix_projects_plan_batch_id"), "projects", ["plan_batch_id"], unique=False)
    op.create_index(op.f("ix_projects_street_code"), "projects", ["street_code"], unique=False)
    op.create_geospatial_table(
        "estates",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False, comment="小区编码 / Estate code"),
        sa.Column("name_zh", sa.Text(), nullable=False, comment="小区名称 / Name (Chinese)"),
        sa.Column("name_en", sa.Text(), nullable=True, comment="英文名 / Name (English)"),
        sa.Column("district_code", sa.Text(), nullable=False, comment="所属区 / District"),
        sa.Column("street_code", sa.Text(), nullable=False, comment="所属街道 / Street"),
        sa.Column("address", sa.Text(), nullable=True, comment="地址 / Address"),
        sa.Column("status", sa.Text(), nullable=False, comment="改造状态 / Renovation status"),
        sa.Column("build_year", sa.Integer(), nullable=True, comment="建成年份 / Year built"),
        sa.Column(
            "property_nature", sa.Text(), nullable=False, comment="产权性质 / Property nature"
        ),
        sa.Column(
            "owner_level", sa.Text(), nullable=True, comment="产权单位层级 / Owning unit level"
        ),
        sa.Column(
            "renovation_category",
            sa.Text(),
            nullable=True,
            comment="改造类别 / Renovation category",
        ),
        sa.Column(
            "renovation_items",
            postgresql.ARRAY(sa.Text()),
            nullable=True,
            comment="改造内容 / Renovation items",
        ),
        sa.Column("area_m2", sa.Float(), nullable=True, comment="占地面积(㎡) / Site area (m²)"),
        sa.Column(
            "floor_area_m2", sa.Float(), nullable=True, comment="建筑面积(㎡) / Floor area (m²)"
        ),
        sa.Column("households", sa.Integer(), nullable=True, comment="户数 / Households"),
        sa.Column("building_count", sa.Integer(), nullable=True, comment="楼栋数 / Buildings"),
        sa.Column("plan_batch_id", sa.BigInteger(), nullable=True, comment="计划批次 / Plan batch"),
        sa.Column("project_id", sa.BigInteger(), nullable=True, comment="所属项目 / Project"),
        sa.Column(
            "owners_committee",
            sa.Boolean(),
            nullable=True,
            comment="业主委员会 / Owners' committee",
        ),
        sa.Column(
            "property_service", sa.Text(), nullable=True, comment="物业服务 / Property service"
        ),
        sa.Column("green_ratio", sa.Float(), nullable=True, comment="绿地率 / Green ratio"),
        sa.Column(
            "maintenance_fund_initial",
            sa.Float(),
            nullable=True,
            comment="维修资金初始额(元) / Maintenance fund, initial (CNY)",
        ),
        sa.Column(
            "maintenance_fund_balance",
            sa.Float(),
            nullable=True,
            comment="维修资金余额(元) / Maintenance fund, balance (CNY)",
        ),
        sa.Column("contact", sa.Text(), nullable=True, comment="联系人 / Contact person"),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "owner_level IN ('central', 'municipal', 'district', 'military', 'none')",
            name=op.f("ck_estates_owner_level_vocab"),
        ),
        sa.CheckConstraint(
            "property_nature IN ('commodity', 'reform_sold', 'unit_self_managed', 'directly_managed_public', 'resettlement', 'affordable', 'mixed')",
            name=op.f("ck_estates_property_nature_vocab"),
        ),
        sa.CheckConstraint(
            "property_service IN ('professional', 'trust', 'work_unit', 'self_managed', 'street_interim', 'none')",
            name=op.f("ck_estates_property_service_vocab"),
        ),
        sa.CheckConstraint(
            "renovation_category IN ('basic', 'improvement', 'upgrade')",
            name=op.f("ck_estates_renovation_category_vocab"),
        ),
        sa.CheckConstraint(
            "renovation_items <@ ARRAY['energy_retrofit', 'roof_waterproofing', 'seismic', 'water_supply', 'drainage', 'gas', 'heating', 'power', 'telecom', 'overhead_lines_burial', 'road', 'fire', 'security', 'waste_sorting', 'in_building_pipes', 'elevator', 'ebike_charging', 'fire_facilities', 'ageing_accessibility', 'parking', 'greening_lighting', 'demolish_illegal', 'property_office', 'fitness', 'elder_care', 'childcare', 'sports', 'meal_aid', 'health', 'convenience_store', 'community_center']::text[]",
            name=op.f("ck_estates_renovation_items_vocab"),
        ),
        sa.CheckConstraint(
            "status IN ('candidate', 'reserve', 'planned', 'in_progress', 'completed', 'accepted')",
            name=op.f("ck_estates_status_vocab"),
        ),
        sa.CheckConstraint("area_m2 >= 0", name=op.f("ck_estates_area_m2_min")),
        sa.CheckConstraint("build_year <= 2100", name=op.f("ck_estates_build_year_max")),
        sa.CheckConstraint("build_year >= 1900", name=op.f("ck_estates_build_year_min")),
        sa.CheckConstraint("building_count >= 0", name=op.f("ck_estates_building_count_min")),
        sa.CheckConstraint("floor_area_m2 >= 0", name=op.f("ck_estates_floor_area_m2_min")),
        sa.CheckConstraint("green_ratio <= 1", name=op.f("ck_estates_green_ratio_max")),
        sa.CheckConstraint("green_ratio >= 0", name=op.f("ck_estates_green_ratio_min")),
        sa.CheckConstraint("households >= 0", name=op.f("ck_estates_households_min")),
        sa.CheckConstraint(
            "maintenance_fund_balance >= 0", name=op.f("ck_estates_maintenance_fund_balance_min")
        ),
        sa.CheckConstraint(
            "maintenance_fund_initial >= 0", name=op.f("ck_estates_maintenance_fund_initial_min")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_estates_district_code_districts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["plan_batch_id"],
            ["plan_batches.id"],
            name=op.f("fk_estates_plan_batch_id_plan_batches"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_estates_project_id_projects"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["street_code"],
            ["streets.code"],
            name=op.f("fk_estates_street_code_streets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estates")),
        sa.UniqueConstraint("code", name=op.f("uq_estates_code")),
    )
    op.create_geospatial_index(
        "idx_estates_geom",
        "estates",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_estates_district_code"), "estates", ["district_code"], unique=False)
    op.create_index(op.f("ix_estates_plan_batch_id"), "estates", ["plan_batch_id"], unique=False)
    op.create_index(op.f("ix_estates_project_id"), "estates", ["project_id"], unique=False)
    op.create_index(op.f("ix_estates_status"), "estates", ["status"], unique=False)
    op.create_index(op.f("ix_estates_street_code"), "estates", ["street_code"], unique=False)
    op.create_table(
        "opinions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False, comment="项目 / Project"),
        sa.Column("street_code", sa.Text(), nullable=True, comment="街道 / Street"),
        sa.Column("planner", sa.Text(), nullable=False, comment="责任规划师 / Responsible planner"),
        sa.Column("requested_on", sa.Date(), nullable=False, comment="征询日期 / Requested on"),
        sa.Column("due_on", sa.Date(), nullable=True, comment="答复期限 / Due on"),
        sa.Column("issued_on", sa.Date(), nullable=True, comment="出具日期 / Issued on"),
        sa.Column("verdict", sa.Text(), nullable=True, comment="意见 / Verdict"),
        sa.Column("text", sa.Text(), nullable=True, comment="意见内容 / Opinion text"),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "verdict IN ('agree', 'agree_with_changes', 'disagree')",
            name=op.f("ck_opinions_verdict_vocab"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_opinions_project_id_projects"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["street_code"],
            ["streets.code"],
            name=op.f("fk_opinions_street_code_streets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opinions")),
        comment="责任规划师意见 / Responsible planners' opinions",
    )
    op.create_index(op.f("ix_opinions_project_id"), "opinions", ["project_id"], unique=False)
    op.create_index(op.f("ix_opinions_street_code"), "opinions", ["street_code"], unique=False)
    op.create_geospatial_table(
        "buildings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("estate_id", sa.BigInteger(), nullable=False, comment="所属小区 / Estate"),
        sa.Column("name_zh", sa.Text(), nullable=False, comment="楼号 / Building number"),
        sa.Column("floors", sa.Integer(), nullable=False, comment="层数 / Floors"),
        sa.Column("has_elevator", sa.Boolean(), nullable=False, comment="有电梯 / Has elevator"),
        sa.Column("build_year", sa.Integer(), nullable=True, comment="建成年份 / Year built"),
        sa.Column("units", sa.Integer(), nullable=True, comment="单元数 / Stairwells (units)"),
        sa.Column("households", sa.Integer(), nullable=True, comment="户数 / Households"),
        sa.Column("structure", sa.Text(), nullable=True, comment="结构 / Structure"),
        sa.Column(
            "floor_area_m2", sa.Float(), nullable=True, comment="建筑面积(㎡) / Floor area (m²)"
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "structure IN ('brick_concrete', 'frame', 'shear_wall', 'brick_wood')",
            name=op.f("ck_buildings_structure_vocab"),
        ),
        sa.CheckConstraint("build_year <= 2100", name=op.f("ck_buildings_build_year_max")),
        sa.CheckConstraint("build_year >= 1900", name=op.f("ck_buildings_build_year_min")),
        sa.CheckConstraint("floor_area_m2 >= 0", name=op.f("ck_buildings_floor_area_m2_min")),
        sa.CheckConstraint("floors <= 100", name=op.f("ck_buildings_floors_max")),
        sa.CheckConstraint("floors >= 1", name=op.f("ck_buildings_floors_min")),
        sa.CheckConstraint("households >= 0", name=op.f("ck_buildings_households_min")),
        sa.CheckConstraint("units >= 1", name=op.f("ck_buildings_units_min")),
        sa.ForeignKeyConstraint(
            ["estate_id"],
            ["estates.id"],
            name=op.f("fk_buildings_estate_id_estates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
    )
    op.create_geospatial_index(
        "idx_buildings_geom",
        "buildings",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_buildings_estate_id"), "buildings", ["estate_id"], unique=False)
    op.create_geospatial_table(
        "governance_issues",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False, comment="问题类型 / Kind"),
        sa.Column("resolved", sa.Boolean(), nullable=False, comment="已整治 / Resolved"),
        sa.Column("resolution", sa.Text(), nullable=True, comment="整治方式 / Resolution"),
        sa.Column("reported_on", sa.Date(), nullable=True, comment="发现日期 / Reported on"),
        sa.Column("resolved_on", sa.Date(), nullable=True, comment="整治日期 / Resolved on"),
        sa.Column("area_m2", sa.Float(), nullable=True, comment="面积(㎡) / Area (m²)"),
        sa.Column("estate_id", sa.BigInteger(), nullable=True, comment="小区 / Estate"),
        sa.Column("note", sa.Text(), nullable=True, comment="备注 / Note"),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('illegal_construction', 'ground_lock', 'wall_opening', 'group_rental', 'underground_misuse', 'window_guard')",
            name=op.f("ck_governance_issues_kind_vocab"),
        ),
        sa.CheckConstraint(
            "resolution IN ('self', 'assisted', 'persuaded', 'enforced')",
            name=op.f("ck_governance_issues_resolution_vocab"),
        ),
        sa.CheckConstraint("area_m2 >= 0", name=op.f("ck_governance_issues_area_m2_min")),
        sa.ForeignKeyConstraint(
            ["estate_id"],
            ["estates.id"],
            name=op.f("fk_governance_issues_estate_id_estates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_issues")),
    )
    op.create_geospatial_index(
        "idx_governance_issues_geom",
        "governance_issues",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_governance_issues_estate_id"), "governance_issues", ["estate_id"], unique=False
    )
    op.create_table(
        "health_checks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("estate_id", sa.BigInteger(), nullable=False, comment="小区 / Estate"),
        sa.Column("checked_on", sa.Date(), nullable=False, comment="体检日期 / Checked on"),
        sa.Column("score", sa.Float(), nullable=True, comment="得分 / Score"),
        sa.Column(
            "findings", postgresql.ARRAY(sa.Text()), nullable=True, comment="问题清单 / Findings"
        ),
        sa.Column("inspector", sa.Text(), nullable=True, comment="体检单位 / Inspector"),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("score <= 100", name=op.f("ck_health_checks_score_max")),
        sa.CheckConstraint("score >= 0", name=op.f("ck_health_checks_score_min")),
        sa.ForeignKeyConstraint(
            ["estate_id"],
            ["estates.id"],
            name=op.f("fk_health_checks_estate_id_estates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_checks")),
        comment="小区体检 / Estate health checks",
    )
    op.create_index(
        op.f("ix_health_checks_estate_id"), "health_checks", ["estate_id"], unique=False
    )
    op.create_geospatial_table(
        "idle_parcels",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False, comment="类型 / Kind"),
        sa.Column("owner_type", sa.Text(), nullable=True, comment="权属类型 / Owner type"),
        sa.Column("owner_name", sa.Text(), nullable=True, comment="产权单位 / Owner"),
        sa.Column(
            "floor_area_m2", sa.Float(), nullable=True, comment="建筑面积(㎡) / Floor area (m²)"
        ),
        sa.Column(
            "land_area_m2", sa.Float(), nullable=True, comment="用地面积(㎡) / Land area (m²)"
        ),
        sa.Column("current_use", sa.Text(), nullable=True, comment="现状用途 / Current use"),
        sa.Column("proposed_use", sa.Text(), nullable=True, comment="拟改用途 / Proposed use"),
        sa.Column("status", sa.Text(), nullable=True, comment="利用状态 / Conversion status"),
        sa.Column(
            "added_floor_area_m2",
            sa.Float(),
            nullable=True,
            comment="新增建筑面积(㎡) / Added floor area (m²)",
        ),
        sa.Column("estate_id", sa.BigInteger(), nullable=True, comment="所在小区 / Estate"),
        sa.Column("district_code", sa.Text(), nullable=True, comment="所属区 / District"),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('bike_shed', 'gatehouse', 'idle_boiler_room', 'coal_shed', 'vacated_land', 'low_efficiency_space', 'misused_facility', 'underground_space', 'other')",
            name=op.f("ck_idle_parcels_kind_vocab"),
        ),
        sa.CheckConstraint(
            "owner_type IN ('government', 'soe', 'work_unit', 'collective', 'private')",
            name=op.f("ck_idle_parcels_owner_type_vocab"),
        ),
        sa.CheckConstraint(
            "proposed_use IN ('elder_care', 'childcare', 'meal_aid', 'clinic', 'sports', 'convenience_store', 'ebike_charging', 'community_center', 'property_office', 'parking', 'market')",
            name=op.f("ck_idle_parcels_proposed_use_vocab"),
        ),
        sa.CheckConstraint(
            "status IN ('identified', 'planned', 'converting', 'in_use')",
            name=op.f("ck_idle_parcels_status_vocab"),
        ),
        sa.CheckConstraint(
            "added_floor_area_m2 >= 0", name=op.f("ck_idle_parcels_added_floor_area_m2_min")
        ),
        sa.CheckConstraint("floor_area_m2 >= 0", name=op.f("ck_idle_parcels_floor_area_m2_min")),
        sa.CheckConstraint("land_area_m2 >= 0", name=op.f("ck_idle_parcels_land_area_m2_min")),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_idle_parcels_district_code_districts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"],
            ["estates.id"],
            name=op.f("fk_idle_parcels_estate_id_estates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idle_parcels")),
    )
    op.create_geospatial_index(
        "idx_idle_parcels_geom",
        "idle_parcels",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_idle_parcels_district_code"), "idle_parcels", ["district_code"], unique=False
    )
    op.create_index(op.f("ix_idle_parcels_estate_id"), "idle_parcels", ["estate_id"], unique=False)
    op.create_geospatial_table(
        "resident_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False, comment="来源渠道 / Channel"),
        sa.Column("category", sa.Text(), nullable=False, comment="诉求类别 / Category"),
        sa.Column("status", sa.Text(), nullable=False, comment="办理状态 / Status"),
        sa.Column("received_on", sa.Date(), nullable=False, comment="受理日期 / Received on"),
        sa.Column("resolved_on", sa.Date(), nullable=True, comment="办结日期 / Resolved on"),
        sa.Column(
            "satisfaction", sa.Integer(), nullable=True, comment="满意度 / Satisfaction (1-5)"
        ),
        sa.Column("estate_id", sa.BigInteger(), nullable=True, comment="小区 / Estate"),
        sa.Column("content", sa.Text(), nullable=True, comment="诉求内容 / Content"),
        sa.Column("caller_phone", sa.Text(), nullable=True, comment="来电号码 / Caller phone"),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "category IN ('elevator', 'pipes', 'heating', 'parking', 'greening', 'safety', 'noise', 'property_service', 'ageing', 'other')",
            name=op.f("ck_resident_requests_category_vocab"),
        ),
        sa.CheckConstraint(
            "channel IN ('hotline_12345', 'wechat_anju_beijing', 'owner_decision_platform', 'residents_committee', 'owners_committee', 'property_company', 'responsible_planner')",
            name=op.f("ck_resident_requests_channel_vocab"),
        ),
        sa.CheckConstraint(
            "status IN ('received', 'processing', 'resolved', 'closed')",
            name=op.f("ck_resident_requests_status_vocab"),
        ),
        sa.CheckConstraint("satisfaction <= 5", name=op.f("ck_resident_requests_satisfaction_max")),
        sa.CheckConstraint("satisfaction >= 1", name=op.f("ck_resident_requests_satisfaction_min")),
        sa.ForeignKeyConstraint(
            ["estate_id"],
            ["estates.id"],
            name=op.f("fk_resident_requests_estate_id_estates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_requests")),
    )
    op.create_geospatial_index(
        "idx_resident_requests_geom",
        "resident_requests",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_resident_requests_estate_id"), "resident_requests", ["estate_id"], unique=False
    )
    op.create_geospatial_table(
        "service_facilities",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False, comment="类型 / Kind"),
        sa.Column("name_zh", sa.Text(), nullable=True, comment="名称 / Name"),
        sa.Column("address", sa.Text(), nullable=True, comment="地址 / Address"),
        sa.Column("capacity", sa.Integer(), nullable=True, comment="服务容量 / Capacity"),
        sa.Column("opened_on", sa.Date(), nullable=True, comment="开业日期 / Opened on"),
        sa.Column("operator", sa.Text(), nullable=True, comment="运营方 / Operator"),
        sa.Column("estate_id", sa.BigInteger(), nullable=True, comment="所在小区 / Estate"),
        sa.Column("district_code", sa.Text(), nullable=True, comment="所属区 / District"),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('elder_care', 'childcare', 'meal_aid', 'clinic', 'sports', 'convenience_store', 'ebike_charging', 'fire', 'community_center')",
            name=op.f("ck_service_facilities_kind_vocab"),
        ),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_service_facilities_capacity_min")),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_service_facilities_district_code_districts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"],
            ["estates.id"],
            name=op.f("fk_service_facilities_estate_id_estates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_facilities")),
    )
    op.create_geospatial_index(
        "idx_service_facilities_geom",
        "service_facilities",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_service_facilities_district_code"),
        "service_facilities",
        ["district_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_service_facilities_estate_id"), "service_facilities", ["estate_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_facilities_kind"), "service_facilities", ["kind"], unique=False
    )
    op.create_geospatial_table(
        "elevator_retrofits",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False, comment="楼栋 / Building"),
        sa.Column("estate_id", sa.BigInteger(), nullable=False, comment="小区 / Estate"),
        sa.Column("district_code", sa.Text(), nullable=False, comment="所属区 / District"),
        sa.Column("stage", sa.Text(), nullable=False, comment="进展阶段 / Stage"),
        sa.Column(
            "stair_climbing_aid",
            sa.Boolean(),
            nullable=True,
            comment="爬楼辅助 / Stair-climbing aid",
        ),
        sa.Column("elevators", sa.Integer(), nullable=True, comment="拟加装部数 / Elevators"),
        sa.Column("address", sa.Text(), nullable=True, comment="地址 / Address"),
        sa.Column("requested_on", sa.Date(), nullable=True, comment="申请日期 / Requested on"),
        sa.Column("approved_on", sa.Date(), nullable=True, comment="批准日期 / Approved on"),
        sa.Column(
            "construction_started_on",
            sa.Date(),
            nullable=True,
            comment="开工日期 / Construction started",
        ),
        sa.Column("in_service_on", sa.Date(), nullable=True, comment="投用日期 / In service since"),
        sa.Column(
            "households_served", sa.Integer(), nullable=True, comment="受益户数 / Households served"
        ),
        sa.Column(
            "consent_ratio", sa.Float(), nullable=True, comment="同意比例 / Owners' consent ratio"
        ),
        sa.Column("subsidy_cny", sa.Float(), nullable=True, comment="补贴(元) / Subsidy (CNY)"),
        sa.Column(
            "stage_history",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="阶段历史 / Stage history",
        ),
        sa.Column(
            "applicant_contact",
            sa.Text(),
            nullable=True,
            comment="申请人联系方式 / Applicant contact",
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "stage IN ('requested', 'consulting', 'designing', 'publicised', 'approved', 'under_construction', 'in_service', 'suspended', 'not_feasible')",
            name=op.f("ck_elevator_retrofits_stage_vocab"),
        ),
        sa.CheckConstraint(
            "consent_ratio <= 1", name=op.f("ck_elevator_retrofits_consent_ratio_max")
        ),
        sa.CheckConstraint(
            "consent_ratio >= 0", name=op.f("ck_elevator_retrofits_consent_ratio_min")
        ),
        sa.CheckConstraint("elevators >= 0", name=op.f("ck_elevator_retrofits_elevators_min")),
        sa.CheckConstraint(
            "households_served >= 0", name=op.f("ck_elevator_retrofits_households_served_min")
        ),
        sa.CheckConstraint("subsidy_cny >= 0", name=op.f("ck_elevator_retrofits_subsidy_cny_min")),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_elevator_retrofits_building_id_buildings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_elevator_retrofits_district_code_districts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"],
            ["estates.id"],
            name=op.f("fk_elevator_retrofits_estate_id_estates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elevator_retrofits")),
        sa.UniqueConstraint("building_id", name=op.f("uq_elevator_retrofits_building_id")),
    )
    op.create_geospatial_index(
        "idx_elevator_retrofits_geom",
        "elevator_retrofits",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_elevator_retrofits_district_code"),
        "elevator_retrofits",
        ["district_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_elevator_retrofits_estate_id"), "elevator_retrofits", ["estate_id"], unique=False
    )
    op.create_index(
        op.f("ix_elevator_retrofits_stage"), "elevator_retrofits", ["stage"], unique=False
    )

    # GeoAlchemy2's create_geospatial_table drops table comments: set them here.
    op.create_table_comment("districts", "区 / Districts")
    op.create_table_comment("streets", "街道乡镇 / Streets and townships")
    op.create_table_comment("roads", "道路 / Roads")
    op.create_table_comment("projects", "改造项目 / Renovation projects")
    op.create_table_comment("estates", "老旧小区 / Old residential estates")
    op.create_table_comment("buildings", "楼栋 / Buildings")
    op.create_table_comment("elevator_retrofits", "既有住宅加装电梯 / Elevator retrofits")
    op.create_table_comment("pipelines", "地下管线 / Pipelines")
    op.create_table_comment("idle_parcels", "闲置空间 / Idle-space parcels")
    op.create_table_comment("service_facilities", "社区服务设施 / Service facilities")
    op.create_table_comment("governance_issues", "治理问题 / Governance issues")
    op.create_table_comment("resident_requests", "居民诉求 / Resident requests")


def downgrade() -> None:
    op.drop_index(op.f("ix_elevator_retrofits_stage"), table_name="elevator_retrofits")
    op.drop_index(op.f("ix_elevator_retrofits_estate_id"), table_name="elevator_retrofits")
    op.drop_index(op.f("ix_elevator_retrofits_district_code"), table_name="elevator_retrofits")
    op.drop_geospatial_index(
        "idx_elevator_retrofits_geom",
        table_name="elevator_retrofits",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("elevator_retrofits")
    op.drop_index(op.f("ix_service_facilities_kind"), table_name="service_facilities")
    op.drop_index(op.f("ix_service_facilities_estate_id"), table_name="service_facilities")
    op.drop_index(op.f("ix_service_facilities_district_code"), table_name="service_facilities")
    op.drop_geospatial_index(
        "idx_service_facilities_geom",
        table_name="service_facilities",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("service_facilities")
    op.drop_index(op.f("ix_resident_requests_estate_id"), table_name="resident_requests")
    op.drop_geospatial_index(
        "idx_resident_requests_geom",
        table_name="resident_requests",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("resident_requests")
    op.drop_index(op.f("ix_idle_parcels_estate_id"), table_name="idle_parcels")
    op.drop_index(op.f("ix_idle_parcels_district_code"), table_name="idle_parcels")
    op.drop_geospatial_index(
        "idx_idle_parcels_geom",
        table_name="idle_parcels",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("idle_parcels")
    op.drop_index(op.f("ix_health_checks_estate_id"), table_name="health_checks")
    op.drop_table("health_checks")
    op.drop_index(op.f("ix_governance_issues_estate_id"), table_name="governance_issues")
    op.drop_geospatial_index(
        "idx_governance_issues_geom",
        table_name="governance_issues",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("governance_issues")
    op.drop_index(op.f("ix_buildings_estate_id"), table_name="buildings")
    op.drop_geospatial_index(
        "idx_buildings_geom", table_name="buildings", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("buildings")
    op.drop_index(op.f("ix_opinions_street_code"), table_name="opinions")
    op.drop_index(op.f("ix_opinions_project_id"), table_name="opinions")
    op.drop_table("opinions")
    op.drop_index(op.f("ix_estates_street_code"), table_name="estates")
    op.drop_index(op.f("ix_estates_status"), table_name="estates")
    op.drop_index(op.f("ix_estates_project_id"), table_name="estates")
    op.drop_index(op.f("ix_estates_plan_batch_id"), table_name="estates")
    op.drop_index(op.f("ix_estates_district_code"), table_name="estates")
    op.drop_geospatial_index(
        "idx_estates_geom", table_name="estates", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("estates")
    op.drop_index(op.f("ix_projects_street_code"), table_name="projects")
    op.drop_index(op.f("ix_projects_plan_batch_id"), table_name="projects")
    op.drop_index(op.f("ix_projects_district_code"), table_name="projects")
    op.drop_geospatial_index(
        "idx_projects_geom", table_name="projects", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("projects")
    op.drop_index(op.f("ix_streets_district_code"), table_name="streets")
    op.drop_geospatial_index(
        "idx_streets_geom", table_name="streets", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("streets")
    op.drop_index(op.f("ix_plan_batches_district_code"), table_name="plan_batches")
    op.drop_table("plan_batches")
    op.drop_geospatial_index(
        "idx_roads_geom", table_name="roads", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("roads")
    op.drop_index(op.f("ix_pipelines_network"), table_name="pipelines")
    op.drop_geospatial_index(
        "idx_pipelines_geom", table_name="pipelines", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("pipelines")
    op.drop_geospatial_index(
        "idx_districts_geom", table_name="districts", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("districts")
    op.drop_index(op.f("ix_change_history_layer"), table_name="change_history")
    op.drop_index(op.f("ix_change_history_feature_id"), table_name="change_history")
    op.drop_table("change_history")
