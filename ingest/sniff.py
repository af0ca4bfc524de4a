"""Which format a file is, decided by OneMap from its first bytes and its name, never by GDAL.

GDAL picks a driver from a file's content: an OGR VRT (XML) named ``x.geojson`` would make it
read any local file or URL the VRT names. So every file is matched against the formats
OneMap documents before anything opens it, and a file whose content does not look like its
extension is refused. Zip archives are unpacked here, into the upload's own folder, member
by member, with their names, kinds and unpacked sizes checked while they are written.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from layers.errors import InvalidInput

HEAD_BYTES = 4096


@dataclass(frozen=True)
class Format:
    name: str  # as reports show it
    extensions: tuple[str, ...]
    reader: str  # "vector" (GDAL through pyogrio) or "table" (pandas)
    driver: str | None = None  # the GDAL driver that must read it


GEOJSON = Format("GeoJSON", (".geojson", ".json"), "vector", "GeoJSON")
GEOJSONSEQ = Format(
    "GeoJSON sequence", (".geojsonl", ".geojsons", ".geojsonseq", ".jsonl"), "vector", "GeoJSONSeq"
)
SHAPEFILE = Format("Shapefile", (".shp",), "vector", "ESRI Shapefile")
GEOPACKAGE = Format("GeoPackage", (".gpkg",), "vector", "GPKG")
FLATGEOBUF = Format("FlatGeobuf", (".fgb",), "vector", "FlatGeobuf")
KML = Format("KML", (".kml",), "vector", "KML")
CSV = Format("CSV", (".csv",), "table")
XLSX = Format("XLSX", (".xlsx",), "table")
ZIP = Format("zip", (".zip",), "archive")
FORMATS = (GEOJSON, GEOJSONSEQ, SHAPEFILE, GEOPACKAGE, FLATGEOBUF, KML, CSV, XLSX, ZIP)
BY_EXTENSION = {ext: f for f in FORMATS for ext in f.extensions}
# A shapefile's parts that may come with it in a zip; anything else there is left out.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
ZIPPED_DATASETS = frozenset(
    ext for f in (GEOJSON, GEOJSONSEQ, GEOPACKAGE, FLATGEOBUF, KML) for ext in f.extensions
)
ZIPPED = ZIPPED_DATASETS | set(SHAPEFILE_PARTS)

_XML_PROLOGUE = re.compile(rb"^(\s|<\?xml[^>]*\?>|<!--.*?-->)*", re.DOTALL)


def known_extensions() -> str:
    return ", ".join(sorted(BY_EXTENSION))


def _text_start(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()


def _looks_like(fmt: Format, head: bytes) -> bool:
    if fmt is GEOJSON:
        return _text_start(head).startswith(b"{")
    if fmt is GEOJSONSEQ:
        return _text_start(head)[:1] in (b"{", b"\x1e")
    if fmt is SHAPEFILE:
        return head[:4] == b"\x00\x00\x27\x0a"
    if fmt is GEOPACKAGE:
        return head[:16] == b"SQLite format 3\x00" and head[68:72] in (b"GPKG", b"GP10", b"GP11")
    if fmt is FLATGEOBUF:
        return head[:3] == b"fgb" and head[4:7] == b"fgb"
    if fmt is KML:
        rest = head[_XML_PROLOGUE.match(head).end() :]  # type: ignore[union-attr]
        # No DOCTYPE: entities are the XML way to reach other files.
        return re.match(rb"<(\w+:)?kml[\s>]", rest) is not None and b"<!DOCTYPE" not in head
    if fmt in (ZIP, XLSX):
        return head[:4] == b"PK\x03\x04"
    if fmt is CSV:  # text: no NUL bytes, not markup, not JSON
        return b"\x00" not in head and _text_start(head)[:1] not in (b"<", b"{", b"[", b"\x1e")
    return False


def _describe(head: bytes) -> str:
    for fmt in (SHAPEFILE, GEOPACKAGE, FLATGEOBUF, ZIP):
        if _looks_like(fmt, head):
            return fmt.name
    start = _text_start(head)
    if start.startswith(b"<"):
        return "XML or HTML"
    if start[:1] in (b"{", b"[", b"\x1e"):
        return "JSON or GeoJSON"
    if b"\x00" in head:
        return "binary data"
    return "text"


def detect(path: Path) -> Format:
    """The format of ``path`` by its extension, if its first bytes agree; else InvalidInput."""
    fmt = BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"{path.name}: unknown format {path.suffix.lower() or '(no extension)'!r}; "
            f"OneMap reads {known_extensions()}"
        )
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES)
    if not _looks_like(fmt, head):
        raise InvalidInput(
            f"{path.name}: the content is not {fmt.name} (it looks like {_describe(head)}); "
            "name the file by its real format"
        )
    return fmt


def _safe_name(member: zipfile.ZipInfo) -> str | None:
    """The member's file name if it is a plain file OneMap may unpack; None to leave it out."""
    name = PurePosixPath(member.filename.replace("\\", "/")).name
    if member.is_dir() or not name or name.startswith(".") or "__MACOSX" in member.filename:
        return None
    if (member.external_attr >> 16) & 0o170000 == 0o120000:  # a symbolic link
        return None
    return name


def check_workbook(path: Path, max_unpacked_bytes: int) -> None:
    """An XLSX is a zip: its declared unpacked size must fit (zipfile reads no further)."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(m.file_size for m in archive.infolist())
            if "xl/workbook.xml" not in archive.namelist():
                raise InvalidInput(f"{path.name} is a zip but not an Excel workbook")
    except zipfile.BadZipFile:
        raise InvalidInput(f"{path.name} is not a readable workbook (broken zip)") from None
    if total > max_unpacked_bytes:
        raise InvalidInput(f"{path.name} unpacks to more than {max_unpacked_bytes:,} bytes")


def unpack(path: Path, folder: Path, max_unpacked_bytes: int) -> tuple[Path, list[str]]:
    """Unpack the zip ``path`` into ``folder``: the one dataset it holds, and notes.

    A zip holds one shapefile (with its parts) or one file of another vector format. Names
    are flattened (no folders, no ``..``), links and hidden files left out, and the unpacked
    bytes counted as they are written: past ``max_unpacked_bytes`` the import is refused.
    """
    notes: list[str] = []
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(path) as archive:
            members = []
            for member in archive.infolist():
                name = _safe_name(member)
                if name and Path(name).suffix.lower() in ZIPPED:
                    members.append((member, name))
                elif name:
                    notes.append(f"{name} in the zip left out (not part of a dataset)")
            datasets = [n for _, n in members if Path(n).suffix.lower() not in SHAPEFILE_PARTS[1:]]
            if len(datasets) != 1:
                raise InvalidInput(
                    f"{path.name}: a zip must hold exactly one dataset (a .shp with its parts, "
                    f"or one {', '.join(sorted(ZIPPED_DATASETS))} file); "
                    f"found {', '.join(datasets) or 'none'}"
                )
            written = 0
            for member, name in members:
                with archive.open(member) as source, (folder / name).open("wb") as out:
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if written > max_unpacked_bytes:
                            raise InvalidInput(
                                f"{path.name} unpacks to more than {max_unpacked_bytes:,} bytes"
                            )
                        out.write(chunk)
    except zipfile.BadZipFile:
        raise InvalidInput(f"{path.name} is not a readable zip file") from None
    except (NotImplementedError, RuntimeError) as exc:  # encrypted, unknown compression
        raise InvalidInput(f"{path.name}: cannot unpack ({exc})") from None
    dataset = folder / datasets[0]
    if dataset.suffix.lower() == ".shp":
        parts = {(p.stem, p.suffix.lower()) for p in folder.iterdir()}
        for part in (".shx", ".dbf"):
            if (dataset.stem, part) not in parts:
                raise InvalidInput(f"{path.name}: the shapefile has no {part} file (zip it too)")
    return dataset, notes
