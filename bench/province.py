"""The province dataset every benchmark works on: 45 offices over 5 plan years, seeded.

Điện Biên has had 45 commune-level offices (42 xã, 3 phường) since 1 July 2025.  Their new names
are not in our sources, so the offices below carry commune names of the province as sample names.
Each office logs its own share of the activities (larger offices log more, drawn once from the
seed) across 2022–2026, with its own seed: forms, kinds, Vietnamese titles and descriptions,
languages (Thái, Mông, Dao, Khơ Mú broadcasts), reach by sex, ethnic group and audience, partners,
costs, links to the plan's tasks and programmes, and evidence files (a pool of stored photos and
scans that a third of the activities cite).  The same seed gives the same database, identifiers
included.

``build(rows)`` writes the province department's database (every office's activities, each at
that office's place) once into ``bench/.cache`` and returns its path; ``offices()`` gives the 45
offices with their activity counts, for the benchmarks that need one office at a time.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"

SEED = 2030
FIRST_DAY = date(2022, 1, 1)   # five plan years: 2022–2026
LAST_DAY = date(2026, 11, 15)
EVIDENCE_FILES = 240

PROVINCE_OFFICE = dict(
    name="Sở Giáo dục và Đào tạo", parent_agency="UBND tỉnh Điện Biên", kind="department",
    place_name="Điện Biên Phủ", symbol="SGDĐT", signer_title="GIÁM ĐỐC", signer_name="Nguyễn Văn A")

# 3 phường and 42 xã: sample names of the province's communes.
WARDS = ["Phường Điện Biên Phủ", "Phường Mường Thanh", "Phường Mường Lay"]
COMMUNES = [
    "Xã Mường Phăng", "Xã Nà Tấu", "Xã Thanh Nưa", "Xã Thanh An", "Xã Thanh Yên", "Xã Sam Mứn",
    "Xã Núa Ngam", "Xã Mường Nhà", "Xã Na Son", "Xã Xa Dung", "Xã Pu Nhi", "Xã Mường Luân",
    "Xã Tìa Dình", "Xã Phình Giàng", "Xã Mường Ảng", "Xã Ẳng Cang", "Xã Búng Lao", "Xã Mường Lạn",
    "Xã Tuần Giáo", "Xã Quài Tở", "Xã Mường Mùn", "Xã Pú Nhung", "Xã Chiềng Sinh", "Xã Sáng Nhè",
    "Xã Tủa Chùa", "Xã Sín Chải", "Xã Sính Phình", "Xã Tủa Thàng", "Xã Mường Chà", "Xã Na Sang",
    "Xã Sa Lông", "Xã Mường Tùng", "Xã Nậm Pồ", "Xã Si Pa Phìn", "Xã Pa Tần", "Xã Nà Bủng",
    "Xã Mường Nhé", "Xã Sín Thầu", "Xã Mường Toong", "Xã Nậm Kè", "Xã Quảng Lâm", "Xã Chà Tở",
]


@dataclass(frozen=True)
class Office:
    index: int
    name: str           # the place's name, e.g. "Xã Mường Phăng"
    kind: str           # "ward" or "commune"
    activities: int     # how many activities it logs over the five years
    seed: int

    @property
    def office_name(self) -> str:
        return "Ủy ban nhân dân " + self.name[0].lower() + self.name[1:]


def offices(rows: int = 100_000, seed: int = SEED) -> list[Office]:
    """The 45 offices and their share of ``rows`` activities (drawn once from ``seed``)."""
    rng = random.Random(seed)
    names = [(n, "ward") for n in WARDS] + [(n, "commune") for n in COMMUNES]
    assert len(names) == 45
    # wards and lowland communes log more than remote ones: a log-normal spread of sizes
    weights = [rng.lognormvariate(0, 0.5) * (1.8 if kind == "ward" else 1.0) for _n, kind in names]
    total = sum(weights)
    exact = [rows * w / total for w in weights]
    counts = [int(x) for x in exact]
    for i in sorted(range(45), key=lambda i: exact[i] - counts[i], reverse=True)[:rows - sum(counts)]:
        counts[i] += 1
    return [Office(i, n, kind, counts[i], seed + 1 + i) for i, (n, kind) in enumerate(names)]


def _evidence_pool(root: Path, seed: int) -> list:  # type: ignore[type-arg]
    """Stored evidence files (photos and scans, 20–160 KB of seeded bytes) in the office's store."""
    from dbcomm.services.demo import EvidenceFile

    rng = random.Random(seed)
    pool = []
    for i in range(EVIDENCE_FILES):
        kind = rng.choice(["jpg", "jpg", "jpg", "pdf"])
        data = (b"\xff\xd8\xff\xe0" if kind == "jpg" else b"%PDF-1.7\n") + rng.randbytes(rng.randint(20, 160) * 1024)
        sha = hashlib.sha256(data).hexdigest()
        target = root / sha[:2] / sha
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        name = (f"anh-hoat-dong-{i + 1:03d}.jpg" if kind == "jpg" else f"ban-chup-bai-bao-{i + 1:03d}.pdf")
        pool.append(EvidenceFile(sha, len(data), "image/jpeg" if kind == "jpg" else "application/pdf", name))
    return pool


def fill(db, rows: int = 100_000, seed: int = SEED,  # type: ignore[no-untyped-def]
         evidence_root: Path | None = None) -> list[Office]:
    """Add every office's activities to ``db`` (an office already set up); returns the offices.
    The evidence files go to ``evidence_root`` (by default the database's own evidence folder)."""
    from sqlalchemy import select

    from dbcomm.domain.text import fold, vi_sort_key
    from dbcomm.paths import attachments_dir_for
    from dbcomm.services import demo
    from dbcomm.store.models import Organisation

    everyone = offices(rows, seed)
    with db.write() as s:
        province = s.scalar(select(Organisation).where(Organisation.kind == "province"))
        place_ids = []
        for o in everyone:
            org = Organisation(name=o.name, name_fold=fold(o.name), name_sort=vi_sort_key(o.name), kind=o.kind,
                               parent_id=province.id if province else None, in_area=True)
            s.add(org)
            s.flush()
            place_ids.append(org.id)
    pool = _evidence_pool(evidence_root or attachments_dir_for(db.path), seed)
    for o, place in zip(everyone, place_ids, strict=True):
        demo.generate(db, o.activities, seed=o.seed, start=FIRST_DAY, end=LAST_DAY, place_ids=[place],
                      uuid_seed=f"province-{seed}-office-{o.index:02d}", evidence=pool)
    return everyone


def build(rows: int = 100_000, seed: int = SEED) -> Path:
    """The province department's database with every office's activities, built once and reused."""
    from dbcomm.domain.models import OfficeIdentity
    from dbcomm.paths import attachments_dir_for
    from dbcomm.services import settings
    from dbcomm.services.database import open_database
    from dbcomm.store.migrate import HEAD_REVISION

    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"province45-{rows}-{seed}-{HEAD_REVISION}.sqlite3"
    if path.exists():
        return path
    tmp = path.with_suffix(".building")
    for p in CACHE.glob(tmp.name + "*"):
        p.unlink()
    shutil.rmtree(attachments_dir_for(tmp), ignore_errors=True)
    t = time.perf_counter()
    db = open_database(tmp)
    settings.save_office(db, OfficeIdentity(**PROVINCE_OFFICE))
    settings.mark_setup_done(db)
    fill(db, rows, seed)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    db.close()
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    tmp.rename(path)  # the evidence folder is named after the stem, which both names share
    print(f"built the province dataset: 45 offices, {rows:,} activities, 2022–2026, in "
          f"{time.perf_counter() - t:.1f} s → {path}", file=sys.stderr)
    return path


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=SEED)
    a = parser.parse_args()
    sys.path.insert(0, str(HERE.parent / "src"))
    print(build(a.rows, a.seed))
    for o in offices(a.rows, a.seed):
        print(f"{o.index:2d}  {o.office_name:45} {o.activities:6,}")
