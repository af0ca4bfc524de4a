"""Search ranks a word found in most names from a shortlist, not from every match.

A word in nearly every name ("号楼", "hao") matched 59,268 entries at scale 1 and 596,046 at
scale 10, each read and sorted: 95 ms and 1.2 s. Two things let a search bound that work:

- ``ix_search_entries_rank``: each layer's entries shortest name first, the order results
  rank in once their tier is known (``spatial.search``), read a few hundred rows at a time;
- ``onemap_estimated_matches(terms, layers)``: the planner's estimate of how many entries match,
  from pg_trgm's statistics — a plan, not a scan (under a millisecond at any size). Above a
  threshold the search ranks a shortlist.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each term is matched as ``spatial.search.term_condition`` matches it through the index
# (ASCII in lower case, Chinese as its pinyin, LIKE's own characters taken literally), on the
# pinyin alone: a common word is common there, and planning one LIKE costs a third of three.
# VOLATILE: PostgreSQL runs EXPLAIN in no other kind of function. It is asked in a statement
# of its own (``spatial.search.common_sql``), so the search itself keeps its parallel plans.
MATCHES = r"""
CREATE FUNCTION onemap_estimated_matches(terms text[], layers text[])
RETURNS double precision LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    statement text := format(
        'EXPLAIN (FORMAT JSON) SELECT 1 FROM search_entries WHERE layer = ANY(%L::text[])', layers);
    term text;
    pattern text;
    plan json;
BEGIN
    FOREACH term IN ARRAY terms LOOP
        pattern := CASE WHEN octet_length(term) = char_length(term) THEN lower(term)
                        ELSE onemap_pinyin(term) END;
        pattern := '%' || replace(replace(replace(pattern, '\', '\\'), '%', '\%'), '_', '\_')
                   || '%';
        statement := statement || format(' AND pinyin LIKE %L', pattern);
    END LOOP;
    EXECUTE statement INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::double precision;
END $$
"""


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_search_entries_rank ON search_entries (layer, length(label), label)"
    )
    op.execute(MATCHES)


def downgrade() -> None:
    op.execute("DROP FUNCTION onemap_estimated_matches(text[], text[])")
    op.execute("DROP INDEX ix_search_entries_rank")
