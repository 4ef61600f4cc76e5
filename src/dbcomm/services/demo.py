"""A realistic demo register: communes of Điện Biên and activities across 2022–2026.

Also used, at a larger count, to build the benchmark's province-scale database.
Rows are written with bulk inserts in one transaction.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from dbcomm.domain.text import fold, vi_sort_key
from dbcomm.store.engine import Database
from dbcomm.store.models import (
    Activity,
    ActivityNode,
    ActivityProgramme,
    ActivityReach,
    Attachment,
    CommForm,
    Organisation,
    Plan,
    PlanNode,
    Programme,
    new_uuid,
    utcnow,
)

# Communes of Điện Biên (names as before the 2025 reorganisation), under their district.
DEMO_COMMUNES: dict[str, list[str]] = {
    "DBP": ["Phường Mường Thanh", "Phường Him Lam", "Phường Tân Thanh", "Xã Thanh Minh"],
    "DBI": ["Xã Thanh Nưa", "Xã Mường Phăng", "Xã Nà Tấu", "Xã Thanh Xương", "Xã Mường Pồn", "Xã Noong Hẹt"],
    "DBD": ["Xã Keo Lôm", "Xã Na Son", "Xã Phì Nhừ", "Xã Xa Dung", "Xã Mường Luân", "Xã Luân Giói"],
    "TG": ["Xã Quài Nưa", "Xã Quài Tở", "Xã Chiềng Sinh", "Xã Mường Mùn", "Xã Pú Nhung"],
    "MA": ["Xã Ẳng Nưa", "Xã Búng Lao", "Xã Mường Đăng", "Xã Ngối Cáy"],
    "MN": ["Xã Sín Thầu", "Xã Chung Chải", "Xã Mường Toong"],
    "TC": ["Xã Sính Phình", "Xã Tủa Thàng", "Xã Xá Nhè"],
    "MC": ["Xã Sá Tổng", "Xã Huổi Lèng"],
    "NP": ["Xã Chà Cang", "Xã Nà Khoa"],
    "ML": ["Phường Na Lay", "Xã Lay Nưa"],
}

TOPICS = [
    "Ngày Sách và Văn hóa đọc Việt Nam",
    "Tuần lễ hưởng ứng học tập suốt đời",
    "mô hình \"Gia đình học tập\"",
    "phong trào \"Dòng họ học tập\"",
    "công tác khuyến học, khuyến tài",
    "xây dựng xã hội học tập đến năm 2030",
    "xóa mù chữ cho đồng bào dân tộc thiểu số",
    "danh hiệu \"Công dân học tập\"",
    "chuyển đổi số trong giáo dục",
    "Ngày Khuyến học Việt Nam 02/10",
    "học tập suốt đời trong thư viện, nhà văn hóa",
    "phổ cập giáo dục mầm non cho trẻ 5 tuổi",
]

DESCRIPTIONS = [
    "Tuyên truyền {topic} tới người dân; nội dung gồm quan điểm, mục tiêu của Kế hoạch 386/KH-UBND.",
    "Giới thiệu {topic}, nêu gương điển hình tiêu biểu ở địa phương.",
    "Phổ biến {topic} bằng tiếng dân tộc tại các bản vùng cao.",
    "Lồng ghép nội dung {topic} trong buổi sinh hoạt của chi hội.",
    "Thông tin về {topic}; phát động thi đua trong thôn, bản.",
]

PARTNERS = {
    "F1": ["Báo Điện Biên Phủ", "Đài Phát thanh - Truyền hình tỉnh Điện Biên", "Báo Giáo dục và Thời đại"],
    "F2": ["Trang Facebook UBND xã", "Nhóm Zalo bản", "Cổng thông tin điện tử tỉnh"],
    "F3": ["Đài truyền thanh xã", "Ban công tác Mặt trận bản"],
    "F4": ["Trường PTDTBT THCS", "Trường Tiểu học", "Trung tâm học tập cộng đồng", "Trung tâm GDNN-GDTX"],
    "F5": ["Thư viện tỉnh", "Bảo tàng Chiến thắng Điện Biên Phủ", "Nhà văn hóa bản", "Hội Khuyến học"],
}

TEMPLATES = {
    "F1": [("press", "Bài viết về {topic} trên chuyên mục Khuyến học – Khuyến tài"),
           ("broadcast", "Chương trình phát thanh về {topic}"),
           ("broadcast", "Phóng sự truyền hình: {topic}")],
    "F2": [("social", "Đăng tin về {topic} trên mạng xã hội"),
           ("social", "Chia sẻ video tuyên truyền {topic}")],
    "F3": [("loudspeaker", "Phát thanh trên loa truyền thanh cơ sở: {topic}"),
           ("event", "Họp bản tuyên truyền {topic}")],
    "F4": [("event", "Hoạt động ngoại khóa cho học sinh về {topic}"),
           ("event", "Chuyên đề tại Trung tâm học tập cộng đồng: {topic}")],
    "F5": [("print", "Treo băng rôn, pa-nô hưởng ứng {topic}"),
           ("event", "Ngày hội đọc sách tại thư viện: {topic}"),
           ("print", "Phát tờ rơi song ngữ về {topic}")],
}

LANG_BY_FORM = {
    "F1": [["vi"], ["vi"], ["vi", "thai"], ["vi", "hmong"]],
    "F2": [["vi"]],
    "F3": [["vi"], ["thai"], ["hmong"], ["vi", "thai"], ["vi", "hmong"], ["dao"], ["khmu"]],
    "F4": [["vi"], ["vi", "hmong"]],
    "F5": [["vi"], ["vi", "thai"]],
}


@dataclass(frozen=True)
class EvidenceFile:
    """An evidence file already in the office's store, which generated activities may refer to."""

    sha256: str
    size: int
    mime: str
    filename: str


def set_demo_office(db: Database) -> None:
    """A demo office identity (only where none is set), and setup marked as done."""
    from dbcomm.domain.models import OfficeIdentity
    from dbcomm.services import settings

    if not settings.get_office(db).is_complete:
        settings.save_office(db, OfficeIdentity(
            name="UBND xã Mường Phăng (dữ liệu mẫu)", parent_agency="UBND tỉnh Điện Biên", kind="commune",
            place_name="Mường Phăng", symbol="UBND", signer_title="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
            signer_name="Lò Văn Thắng"))
    settings.mark_setup_done(db)


def ensure_demo_communes(db: Database) -> list[int]:
    """Add the demo communes (marked as the office's area) if absent; return their ids."""
    ids: list[int] = []
    with db.write() as s:
        districts = {o.code: o for o in s.scalars(select(Organisation).where(Organisation.parent_id.is_not(None)))}
        for district_code, names in DEMO_COMMUNES.items():
            parent = districts.get(district_code)
            for name in names:
                existing = s.scalar(select(Organisation).where(Organisation.name_fold == fold(name)))
                if existing is None:
                    existing = Organisation(
                        name=name, name_fold=fold(name), name_sort=vi_sort_key(name),
                        kind="ward" if name.startswith("Phường") else "commune",
                        parent_id=parent.id if parent else None, in_area=True,
                    )
                    s.add(existing)
                    s.flush()
                ids.append(existing.id)
    return ids


def _random_day(rng: random.Random, start: date, end: date) -> date:
    # Peaks around reading day (21/4) and learning week / Khuyến học day (early October)
    r = rng.random()
    year = rng.randint(start.year, end.year)
    if r < 0.15:
        day = date(year, 4, 21) + timedelta(days=rng.randint(-10, 5))
    elif r < 0.30:
        day = date(year, 10, 2) + timedelta(days=rng.randint(-5, 8))
    else:
        day = start + timedelta(days=rng.randint(0, (end - start).days))
    return min(max(day, start), end)


def generate(db: Database, count: int = 600, *, seed: int = 386, end: date | None = None,
             start: date = date(2022, 3, 1), place_ids: Sequence[int] | None = None,
             uuid_seed: str | None = None, evidence: Sequence[EvidenceFile] = ()) -> int:
    """Add ``count`` demo activities to the default plan; returns how many were added.

    ``place_ids`` replaces the demo communes; with ``uuid_seed`` the activities' identifiers are
    derived from it (the same seed gives the same register, identifiers included); ``evidence``
    is a pool of stored files that about a third of the activities cite (one to three each).
    """
    rng = random.Random(seed)
    end = end or date.today()
    place_ids = list(place_ids) if place_ids is not None else ensure_demo_communes(db)
    now = utcnow()
    with db.write() as s:
        plan = s.scalar(select(Plan).order_by(Plan.is_default.desc(), Plan.id))
        if plan is None:
            raise RuntimeError("no plan")
        forms = {f.code: f.id for f in s.scalars(select(CommForm).where(CommForm.plan_id == plan.id))}
        tasks = s.scalars(select(PlanNode.id).where(PlanNode.plan_id == plan.id, PlanNode.kind == "task")).all()
        programmes = s.scalars(select(Programme.id).where(Programme.plan_id == plan.id)).all()
        next_id = (s.scalar(select(func.max(Activity.id))) or 0) + 1
        form_codes: list[str] = [c for c in ("F1", "F2", "F3", "F4", "F5") if c in forms] or list(forms)
        weights = {"F1": 2, "F2": 3, "F3": 4, "F4": 2, "F5": 2}
        acts: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        progs: list[dict[str, Any]] = []
        reach: list[dict[str, Any]] = []
        cited: list[dict[str, Any]] = []
        for i in range(count):
            code = rng.choices(form_codes, [weights.get(c, 1) for c in form_codes])[0]
            subtype, template = rng.choice(TEMPLATES.get(code, TEMPLATES["F5"]))
            topic = rng.choice(TOPICS)
            title = template.format(topic=topic)
            if rng.random() < 0.3:
                title += f" (đợt {rng.randint(1, 4)})"
            day = _random_day(rng, start, end)
            langs = rng.choice(LANG_BY_FORM.get(code, [["vi"]]))
            items = rng.randint(1, 12) if subtype in ("press", "social", "print", "loudspeaker", "broadcast") else 0
            minutes = rng.choice([5, 10, 15, 20, 30, 45]) * max(items, 1) if subtype in ("loudspeaker", "broadcast") else 0
            sessions = rng.randint(1, 4) if subtype == "event" else 0
            reach_total = rng.choice([40, 80, 120, 250, 500, 1200, 3000, 8000])
            female = int(reach_total * rng.uniform(0.4, 0.6))
            partner = rng.choice(PARTNERS.get(code, [""]))
            description = rng.choice(DESCRIPTIONS).format(topic=topic)
            cost = rng.choice([0, 0, 0, 500_000, 1_200_000, 3_000_000])
            aid = next_id + i
            ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dbcomm:{uuid_seed}:{i}")) if uuid_seed else new_uuid()
            acts.append({"uuid": ident,
                "id": aid, "created_at": now, "updated_at": now, "version": 1,
                "deleted_at": None, "plan_id": plan.id, "form_id": forms[code], "subtype": subtype,
                "date_start": day, "date_end": (day + timedelta(days=rng.randint(1, 6))) if subtype == "event" and rng.random() < 0.2 else None,
                "title": title, "title_fold": fold(title), "title_sort": vi_sort_key(title),
                "description": description, "place_id": rng.choice(place_ids) if place_ids and (code != "F2" or rng.random() < 0.3) else None,
                "languages": " ".join(langs), "items": items, "minutes": minutes, "sessions": sessions,
                "reach_total": reach_total, "partner": partner, "cost": cost,
                "funding": rng.choice(["state", "ntp", "social"]) if cost else "",
                "notes": "", "search_text": fold(" ".join((title, description, partner))),
            })
            for node_id in rng.sample(list(tasks), k=min(len(tasks), rng.choice([1, 1, 2]))):
                links.append({"activity_id": aid, "node_id": node_id})
            if programmes and rng.random() < 0.6:
                progs.append({"activity_id": aid, "programme_id": rng.choice(programmes)})
            reach.append({"activity_id": aid, "dimension": "sex", "category": "female", "count": female})
            reach.append({"activity_id": aid, "dimension": "sex", "category": "male", "count": reach_total - female})
            thai = int(reach_total * rng.uniform(0.2, 0.5))
            hmong = int((reach_total - thai) * rng.uniform(0.2, 0.6))
            reach.append({"activity_id": aid, "dimension": "ethnic", "category": "thai", "count": thai})
            reach.append({"activity_id": aid, "dimension": "ethnic", "category": "hmong", "count": hmong})
            reach.append({"activity_id": aid, "dimension": "ethnic", "category": "kinh", "count": reach_total - thai - hmong})
            audience = "pupils" if code == "F4" else rng.choice(["public", "rural_workers", "families", "officials"])
            reach.append({"activity_id": aid, "dimension": "audience", "category": audience, "count": reach_total})
            if evidence and rng.random() < 0.35:
                for ev in rng.sample(list(evidence), k=min(len(evidence), rng.choice([1, 1, 2, 3]))):
                    cited.append({"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"dbcomm:{ident}:{ev.sha256}")),
                                  "created_at": now, "updated_at": now, "version": 1, "activity_id": aid,
                                  "filename": ev.filename, "mime": ev.mime, "size": ev.size, "sha256": ev.sha256})
        batch = 20_000
        tables: list[tuple[list[dict[str, Any]], Any]] = [
            (acts, Activity), (links, ActivityNode), (progs, ActivityProgramme), (reach, ActivityReach), (cited, Attachment)]
        for rows, model in tables:
            for k in range(0, len(rows), batch):
                s.execute(insert(model), rows[k:k + batch])
        if s.get_bind().dialect.name == "postgresql":  # the ids were given: the server's counter follows
            s.execute(text("SELECT setval(pg_get_serial_sequence('activity', 'id'), "
                           "(SELECT max(id) FROM activity))"))
    return count
