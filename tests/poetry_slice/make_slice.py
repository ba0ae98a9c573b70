"""Write the small slice of chinese-poetry@2.0.1 that tests/test_poetry.py reads offline.

    python tests/poetry_slice/make_slice.py      # needs the package (fetched if missing)

It copies, unchanged (traditional characters, the package's JSON format), a few poems
of the Complete Tang Poems into ``tests/poetry_slice/poet.tang.0.json``: 120 poems of Li
Bai's file (poet.tang.8000.json: quatrains, longer poems, 靜夜思 with 牀前看月光), one
quatrain found under two poets (上弦明月半, in poet.tang.0.json and poet.tang.3000.json),
and the first three poems with editors' notes.
"""
from __future__ import annotations

import json
from pathlib import Path

from grader.data.poetry import _tang_files, find_poetry

HERE = Path(__file__).resolve().parent


def main() -> None:
    files = {p.name: json.loads(p.read_text(encoding="utf-8"))
             for p in _tang_files(find_poetry())}
    chosen = files["poet.tang.8000.json"][:120]
    for name in ("poet.tang.0.json", "poet.tang.3000.json"):
        chosen.append(next(p for p in files[name]
                           if "".join(p["paragraphs"]).startswith("上弦明月半")))
    chosen += [p for p in files["poet.tang.52000.json"]
               if "（" in "".join(p["paragraphs"])][:3]
    out = HERE / "poet.tang.0.json"
    out.write_text(json.dumps(chosen, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(chosen)} poems to {out}")


if __name__ == "__main__":
    main()
