"""The renovation analyses: PostGIS queries that answer the seed's questions for an area."""
