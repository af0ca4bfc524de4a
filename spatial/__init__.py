"""Everything that talks PostGIS (and GDAL, through ``spatial.gdal``) at query time."""
