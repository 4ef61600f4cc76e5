"""Realistic report contents for the PDF tests: a commune of Điện Biên, quarter IV of 2025."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from dbcomm.domain.report import (
    CONTENT_FORMAT,
    AnnexRow,
    Comparison,
    Figures,
    Gap,
    Header,
    IndicatorProgress,
    Narrative,
    ReportContent,
)

FORMS = [
    ("F1", "Phương tiện thông tin đại chúng (báo chí, phát thanh, truyền hình)"),
    ("F2", "Truyền thông xã hội (trang Zalo/Facebook, cổng thông tin điện tử)"),
    ("F3", "Hệ thống thông tin cơ sở (loa truyền thanh, bảng tin, họp thôn bản)"),
    ("F4", "Các cơ sở giáo dục (trường học, trung tâm GDNN-GDTX, trung tâm học tập cộng đồng)"),
    ("F5", "Các phương thức khác (thư viện, bảo tàng, nhà văn hóa, câu lạc bộ, sự kiện, ấn phẩm, pa-nô)"),
]

PLACES = ["Bản Mường Phăng", "Bản Co Mỵ", "Bản Phiêng Ban", "Bản Kéo", "Bản Nghịu", "Bản Che Căn"]
LANGUAGES = ["Tiếng Việt", "Tiếng Thái", "Tiếng Mông"]

TITLE_STEMS = [
    "Phát thanh chuyên mục “Học tập suốt đời” trên loa truyền thanh",
    "Tuyên truyền mô hình “Gia đình học tập”, “Dòng họ học tập”",
    "Sinh hoạt chuyên đề khuyến học, khuyến tài tại nhà văn hóa",
    "Đăng tin trên trang Zalo của xã về Ngày Khuyến học Việt Nam",
    "Tổ chức tọa đàm về văn hóa đọc cho học sinh",
    "Treo pa-nô, khẩu hiệu hưởng ứng Tuần lễ học tập suốt đời",
    "Họp bản phổ biến Kế hoạch xây dựng xã hội học tập",
]

#: an activity title long enough to wrap over several lines in any table column
LONG_TITLE = (
    "Tổ chức hội nghị tuyên truyền, phổ biến sâu rộng đường lối của Đảng, chính sách, pháp "
    "luật của Nhà nước về khuyến học, khuyến tài, xây dựng xã hội học tập và học tập suốt đời "
    "cho cán bộ, công chức, người có uy tín, trưởng bản, bí thư chi bộ, hội viên các đoàn thể "
    "và nhân dân các bản Mường Phăng, Co Mỵ, Phiêng Ban, Kéo, Nghịu và Che Căn, kết hợp phát "
    "tài liệu song ngữ Việt – Thái, Việt – Mông và giải đáp thắc mắc của người dân tại chỗ"
)


def annex_title(i: int) -> str:
    """The title of annex row ``i`` (1-based): distinct for every row."""
    return f"{TITLE_STEMS[i % len(TITLE_STEMS)]} (đợt {i})"


def make_annex_rows(n: int, start: date = date(2025, 12, 15)) -> list[AnnexRow]:
    rows: list[AnnexRow] = []
    for i in range(1, n + 1):
        day = start + timedelta(days=i % 31)
        title = LONG_TITLE if i == 2 else annex_title(i)
        rows.append(
            AnnexRow(
                uuid=f"00000000-0000-4000-8000-{i:012d}",
                version=1 + i % 3,
                date_start=day,
                date_end=day + timedelta(days=2) if i % 9 == 0 else None,
                form_code=FORMS[i % 5][0],
                title=title,
                place=PLACES[i % len(PLACES)],
                languages=", ".join(LANGUAGES[: 1 + i % 3]),
                objectives=["1.1", "1.2, 2.1", "2.2", "3.1, 4.3", "4.2"][i % 5],
                items=i % 4,
                sessions=1 + i % 3,
                minutes=15 * (i % 5),
                reach=40 + (i * 37) % 400,
            )
        )
    return rows


def _fig(code: str, label: str, k: int, level: int = 0) -> Figures:
    return Figures(
        code=code,
        label=label,
        activities=3 * k,
        items=5 * k + 2,
        sessions=4 * k,
        minutes=45 * k,
        reach=1234 * k + 17,
        cost=500_000 * k,
        level=level,
    )


def _sum(code: str, label: str, parts: list[Figures]) -> Figures:
    return Figures(
        code=code,
        label=label,
        activities=sum(p.activities for p in parts),
        items=sum(p.items for p in parts),
        sessions=sum(p.sessions for p in parts),
        minutes=sum(p.minutes for p in parts),
        reach=sum(p.reach for p in parts),
        cost=sum(p.cost for p in parts),
    )


NARRATIVE = Narrative(
    direction=(
        "Ủy ban nhân dân xã ban hành Kế hoạch số 12/KH-UBND ngày 20/01/2025 triển khai công tác "
        "truyền thông về xây dựng xã hội học tập trên địa bàn xã; giao công chức Văn hóa - Xã hội "
        "chủ trì, phối hợp với Hội Khuyến học xã, các trường học và trưởng các bản tổ chức thực "
        "hiện.\n\n"
        "Chỉ đạo Đài truyền thanh xã duy trì chuyên mục “Học tập suốt đời” mỗi tuần hai buổi "
        "bằng tiếng Việt, tiếng Thái và tiếng Mông; đăng tải tin, bài trên trang Zalo của xã."
    ),
    results_note=(
        "Số liệu dưới đây tổng hợp từ sổ theo dõi hoạt động truyền thông của xã đến hết ngày "
        "cuối kỳ báo cáo."
    ),
    assessment=(
        "Ưu điểm: công tác truyền thông được triển khai thường xuyên, đa dạng hình thức, sử dụng "
        "tiếng dân tộc giúp người dân dễ tiếp nhận.\n"
        "Hạn chế: một số bản vùng cao chưa có loa truyền thanh; kinh phí còn hạn hẹp.\n"
        "Nguyên nhân: địa bàn rộng, giao thông khó khăn; đội ngũ làm công tác truyền thông kiêm "
        "nhiệm."
    ),
    next_steps=(
        "Tiếp tục duy trì chuyên mục trên hệ thống loa truyền thanh; tổ chức các hoạt động hưởng "
        "ứng Ngày Sách và Văn hóa đọc Việt Nam (21/4).\n\n"
        "Phối hợp với trường học nhân rộng mô hình “Gia đình học tập”."
    ),
    proposals=(
        "Đề nghị Sở Giáo dục và Đào tạo hỗ trợ tài liệu tuyên truyền song ngữ và bồi dưỡng "
        "nghiệp vụ cho đội ngũ truyền thông cơ sở."
    ),
)


def sample_content(annex_rows: int = 30, **overrides: Any) -> ReportContent:
    """A full report content; ``annex_rows=N`` sets the annex size (default 30).

    Any other keyword replaces the field of that name; ``header=dict(...)`` and
    ``narrative=dict(...)`` replace fields of the header or the narrative only.
    """
    n = annex_rows
    by_form = [_fig(code, label, k) for k, (code, label) in enumerate(FORMS, start=1)]
    by_form[4] = Figures(code="F5", label=FORMS[4][1])  # the gap below
    totals = _sum("", "Tổng cộng", by_form)
    objectives = [
        _fig("1", "Nâng cao nhận thức về khuyến học, khuyến tài, xây dựng xã hội học tập", 6),
        _fig("1.1", "Tuyên truyền đường lối của Đảng, chính sách, pháp luật của Nhà nước về "
             "khuyến học, khuyến tài, xây dựng xã hội học tập", 4, 1),
        _fig("1.2", "Phổ biến quan điểm, mục tiêu, nhiệm vụ, giải pháp của Kế hoạch xây dựng "
             "xã hội học tập của tỉnh đến toàn dân", 2, 1),
        _fig("2", "Đẩy mạnh phong trào học tập suốt đời", 5),
        _fig("2.1", "Tuyên truyền các mô hình “Gia đình học tập”, “Dòng họ học tập”, "
             "“Cộng đồng học tập”, “Đơn vị học tập”", 3, 1),
        _fig("2.2", "Hưởng ứng Ngày Sách và Văn hóa đọc Việt Nam (21/4), Tuần lễ hưởng ứng học "
             "tập suốt đời và Ngày Khuyến học Việt Nam (02/10)", 2, 1),
        Figures("2.3", "Giới thiệu gương điển hình tiên tiến trong học tập suốt đời", level=1),
        _fig("3", "Lồng ghép truyền thông vào các chương trình, đề án của tỉnh", 2),
        _fig("3.1", "Lồng ghép trong các chương trình mục tiêu quốc gia", 2, 1),
        _fig("4", "Phát triển chuyên mục, tin bài trên báo chí, mạng xã hội và hệ thống thông tin "
             "cơ sở", 4),
        _fig("4.3", "Phát thanh trên hệ thống loa truyền thanh cơ sở bằng tiếng Việt và tiếng "
             "dân tộc", 4, 1),
    ]
    programmes = [
        _fig("P4", "Chương trình MTQG Xây dựng nông thôn mới", 2),
        _fig("P5", "Chương trình MTQG Phát triển kinh tế - xã hội vùng đồng bào dân tộc thiểu số "
             "và miền núi", 3),
        _fig("P6", "Đề án Đẩy mạnh phong trào học tập suốt đời trong gia đình, dòng họ, cộng đồng "
             "dân cư", 1),
    ]
    places = [_fig("", p, k) for k, p in enumerate(PLACES[:4], start=1)]
    languages = [_fig("", lang, k) for k, lang in zip((6, 3, 2), LANGUAGES, strict=True)]
    content = ReportContent(
        format=CONTENT_FORMAT,
        header=Header(
            parent_agency="UBND TỈNH ĐIỆN BIÊN",
            agency="ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG",
            symbol="UBND",
            number="5",
            place="Mường Phăng",
            doc_date=date(2026, 1, 5),
            subject=(
                "Kết quả thực hiện công tác truyền thông về xây dựng xã hội học tập "
                "quý IV năm 2025"
            ),
            recipients=["Sở Giáo dục và Đào tạo tỉnh Điện Biên"],
            distribution=["Thường trực Đảng ủy xã", "Thường trực HĐND xã", "Hội Khuyến học xã"],
            archive_unit="VHXH",
            signer_title="TM. ỦY BAN NHÂN DÂN\nKT. CHỦ TỊCH\nPHÓ CHỦ TỊCH",
            signer_name="Lò Văn Thắng",
        ),
        plan_code="386/KH-UBND",
        plan_title="Kế hoạch truyền thông về Xây dựng xã hội học tập đến năm 2030",
        plan_issued_on=date(2022, 2, 15),
        plan_issuer="UBND tỉnh Điện Biên",
        period_kind="quarter",
        period_key="2025-Q4",
        period_label="quý IV năm 2025",
        date_from=date(2025, 10, 1),
        date_to=date(2025, 12, 31),
        totals=totals,
        by_form=by_form,
        by_objective=objectives,
        by_programme=programmes,
        by_place=places,
        by_language=languages,
        reach_by={  # each breakdown adds up to the 12.408 people reached
            "Giới tính": [("Nữ", 6420), ("Nam", 5988)],
            "Dân tộc": [("Thái", 6912), ("Mông", 4105), ("Kinh", 1391)],
            "Đối tượng": [("Học sinh, sinh viên", 2870), ("Cán bộ, công chức", 655),
                          ("Lao động nông thôn", 5102), ("Người dân", 3781)],
        },
        indicators=[
            IndicatorProgress("CT1", "Tỷ lệ người trong độ tuổi lao động có kỹ năng thông tin "
                              "và kỹ năng sống", "%", "manual", 2025, 50.0, 46.5, None,
                              [(2025, 50.0), (2030, 70.0)]),
            IndicatorProgress("CT2", "Tỷ lệ người dân được công nhận “Công dân học tập”", "%",
                              "manual", 2025, 40.0, 41.2, None, [(2025, 40.0), (2030, 60.0)]),
            IndicatorProgress("CT5", "Số lượt người được tiếp cận thông tin về học tập suốt đời",
                              "lượt người", "reach", 2025, 60000.0, 52345.0, 187654.0,
                              [(2030, 300000.0)]),
        ],
        comparison=[
            Comparison("Số hoạt động truyền thông", totals.activities, 31),
            Comparison("Số tin, bài, sản phẩm", totals.items, 40),
            Comparison("Số buổi, lượt phát", totals.sessions, 52),
            Comparison("Thời lượng phát (phút)", totals.minutes, 380),
            Comparison("Số lượt người được tiếp cận", totals.reach, 9876),
        ] + [
            Comparison(f"{f.code}. {f.label}", f.activities, previous)
            for f, previous in zip(by_form, (4, 5, 12, 8, 2), strict=True)
        ],
        comparison_label="cùng kỳ năm 2024",
        gaps=[
            Gap("form", "F5", FORMS[4][1], "thư viện xã đang sửa chữa"),
            Gap("task", "2.3", "Giới thiệu gương điển hình tiên tiến trong học tập suốt đời"),
        ],
        nil_statements=["Hình thức F5: thư viện xã đang sửa chữa, sẽ tổ chức lại trong quý I năm 2026."],
        narrative=replace(NARRATIVE),
        annex=make_annex_rows(n),
        include_annex=True,
        notes=["Kỳ báo cáo tính theo quý dương lịch (từ ngày 01/10/2025 đến ngày 31/12/2025)."],
        activity_versions=[(f"00000000-0000-4000-8000-{i:012d}", 1) for i in range(1, n + 1)],
    )
    header_over = overrides.pop("header", None)
    if header_over:
        content.header = replace(content.header, **header_over)
    narrative_over = overrides.pop("narrative", None)
    if narrative_over:
        content.narrative = replace(content.narrative, **narrative_over)
    return replace(content, **overrides) if overrides else content


def milestone_indicators(year: int = 2026) -> list[IndicatorProgress]:
    """Indicators of a plan with targets for its milestone years only (2025, 2030), as the
    province's plan ships: no indicator has a target for ``year``."""
    return [
        IndicatorProgress("CT1", "Tỷ lệ người trong độ tuổi lao động có kỹ năng thông tin và "
                          "kỹ năng sống", "%", "manual", year, None, 52.0, None,
                          [(2025, 50.0), (2030, 70.0)]),
        IndicatorProgress("CT2", "Tỷ lệ người dân được công nhận “Công dân học tập”", "%",
                          "manual", year, None, None, None, [(2025, 40.0), (2030, 60.0)]),
        IndicatorProgress("CT6", "Số tin, bài, chương trình truyền thông về xây dựng xã hội "
                          "học tập", "tin, bài", "items", year, None, 336.0, 2177.0, []),
        IndicatorProgress("CT7", "Số lượt người được tiếp cận thông tin qua các hoạt động "
                          "truyền thông", "lượt người", "reach", year, None, 183830.0,
                          1006770.0, [(2030, 1200000.0)]),
    ]


def empty_content(**overrides: Any) -> ReportContent:
    """A period without any activity: every form, objective and task is a gap."""
    zero = Figures(code="", label="Tổng cộng")
    gaps = [Gap("form", code, label) for code, label in FORMS]
    gaps += [Gap("objective", "1", "Nâng cao nhận thức về khuyến học, khuyến tài, xây dựng xã "
                 "hội học tập"), Gap("objective", "2", "Đẩy mạnh phong trào học tập suốt đời")]
    base = sample_content(
        annex_rows=0,
        totals=zero,
        by_form=[Figures(code, label) for code, label in FORMS],
        by_objective=[],
        by_programme=[],
        by_place=[],
        by_language=[],
        reach_by={},
        comparison=[],
        gaps=gaps,
        nil_statements=[],
        notes=[],
    )
    return replace(base, **overrides) if overrides else base
