"""Reading other departments' files into OneMap's layers."""

import spatial  # noqa: F401  (first: it keeps GDAL's file-reading drivers unregistered)
