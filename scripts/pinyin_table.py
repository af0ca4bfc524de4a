"""Write the character table migration 0008 loads: each CJK ideograph's pinyin, from pypinyin.

    .venv/bin/python scripts/pinyin_table.py

A migration is a snapshot: the table is a file beside it, so a database migrated today and one
migrated after a pypinyin upgrade hold the same readings (and a migration no longer spends
0.8 s of CPU asking pypinyin for 20,924 characters). To change the readings, write a new
migration that updates ``onemap_pinyin_chars``; do not rewrite this file under an old one.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from pypinyin import Style, pinyin

TABLE = Path(__file__).resolve().parent.parent / "migrations/versions/0008_pinyin_chars.tsv"
CJK = range(0x4E00, 0x9FFF + 1)  # the unified ideographs: every character of a place name


def readings() -> list[tuple[str, str, str]]:
    """Each character's most common reading, and a second one for heteronyms (长: zhang, chang)."""
    rows = []
    for code in CJK:
        ch = chr(code)
        found = list(dict.fromkeys(pinyin(ch, style=Style.NORMAL, heteronym=True)[0]))
        if found and found[0] != ch:
            rows.append((ch, found[0], found[1] if len(found) > 1 else ""))
    return rows


def main() -> None:
    header = (
        f"# character, reading, second reading: pypinyin {version('pypinyin')}, "
        "scripts/pinyin_table.py\n"
    )
    lines = "".join(f"{ch}\t{first}\t{second}\n" for ch, first, second in readings())
    TABLE.write_text(header + lines, encoding="utf-8")
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()
