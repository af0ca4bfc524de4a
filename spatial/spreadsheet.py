"""Values written into files that planners open in a spreadsheet (CSV and XLSX)."""

from __future__ import annotations

from typing import Any

# Text a spreadsheet (Excel, WPS, LibreOffice) would run as a formula when the file is opened.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Text that starts like a formula, with a leading apostrophe (as OWASP advises).

    Planners open exports in Excel or WPS: ``=HYPERLINK(…)`` in a resident's request would
    otherwise run there. Numbers, dates and other values are left as they are.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
