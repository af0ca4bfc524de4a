"""GDAL through pyogrio, with the drivers that read other files left out: import it from here.

Some GDAL drivers read other files or URLs named inside a file's content (an OGR VRT names
any path or /vsicurl/ URL). OneMap chooses formats itself (ingest.sniff); these are also
never registered. GDAL reads GDAL_SKIP once, when pyogrio registers its drivers on import,
so it is set for that moment only: GDAL tools this process starts (ogrinfo in the tests,
through OAPIF) keep every driver. Ruff bans importing pyogrio (or ``geopandas.read_file``,
which imports it) anywhere else, so no reader can register the drivers first.
"""

import os

SKIPPED_GDAL_DRIVERS = ("OGR_VRT", "VRT", "GPSBabel", "WFS", "OAPIF", "CSW", "GTI", "OGR_PDS")
_before = os.environ.get("GDAL_SKIP")
os.environ["GDAL_SKIP"] = " ".join(dict.fromkeys([*(_before or "").split(), *SKIPPED_GDAL_DRIVERS]))
import pyogrio  # noqa: E402  (registers GDAL's drivers, reading GDAL_SKIP)
import pyogrio.raw  # noqa: E402

if _before is None:
    del os.environ["GDAL_SKIP"]
else:
    os.environ["GDAL_SKIP"] = _before

__all__ = ["SKIPPED_GDAL_DRIVERS", "pyogrio"]
