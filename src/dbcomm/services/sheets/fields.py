"""The register's fields as spreadsheet columns: the Vietnamese header dbcomm writes, the header
names it recognises (Vietnamese and English, diacritics optional), and what each column holds.

Exports, the blank template and the import share this list, so an exported or filled-in file
imports back without any mapping to choose.  Headers and the values of fixed vocabularies are
Vietnamese whatever the language of the screens, as in the report document: the files go to
Vietnamese offices and come back from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from dbcomm.domain.text import nfc
from dbcomm.domain.vocab import (
    AUDIENCES,
    ETHNIC_GROUPS,
    FUNDING_SOURCES,
    LANGUAGES,
    SEXES,
    SUBTYPES,
)
from dbcomm.i18n import N_

# Vietnamese names of the fixed vocabularies (as the Vietnamese interface shows them).
SUBTYPES_VI: dict[str, str] = {
    "press": "Tin, bài báo chí",
    "broadcast": "Chương trình phát thanh, truyền hình",
    "loudspeaker": "Phát thanh trên loa truyền thanh cơ sở",
    "social": "Tin đăng mạng xã hội",
    "event": "Sự kiện tại trường học/cộng đồng",
    "print": "Ấn phẩm, pa-nô, tờ rơi",
    "other": "Khác",
}
LANGUAGES_VI: dict[str, str] = {
    "vi": "Tiếng Việt", "thai": "Tiếng Thái", "hmong": "Tiếng Mông", "dao": "Tiếng Dao",
    "khmu": "Tiếng Khơ Mú", "hanhi": "Tiếng Hà Nhì", "lao": "Tiếng Lào", "other": "Ngôn ngữ khác",
}
FUNDING_VI: dict[str, str] = {
    "state": "Ngân sách nhà nước",
    "ntp": "Chương trình mục tiêu quốc gia",
    "social": "Xã hội hóa",
    "none": "Không sử dụng kinh phí",
    "other": "Nguồn khác",
}
REACH_VI: dict[str, dict[str, str]] = {
    "sex": {"female": "Nữ", "male": "Nam"},
    "ethnic": {"thai": "Thái", "hmong": "Mông", "kinh": "Kinh", "dao": "Dao", "khmu": "Khơ Mú",
               "other": "Dân tộc khác"},
    "audience": {"pupils": "Học sinh, sinh viên", "officials": "Cán bộ, công chức, viên chức",
                 "rural_workers": "Lao động nông thôn", "families": "Gia đình, dòng họ", "public": "Nhân dân"},
}
# Other ways offices write these values (folded, as ``fold`` gives them).
EXTRA_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "subtype": {
        "press": ("bao", "bao chi", "tin bai", "bai bao"),
        "broadcast": ("phat thanh", "truyen hinh", "phat thanh truyen hinh"),
        "loudspeaker": ("loa", "loa truyen thanh", "loa phat thanh", "truyen thanh co so"),
        "social": ("mang xa hoi", "facebook", "zalo", "trang thong tin dien tu"),
        "event": ("su kien", "hoi nghi", "hoi thi", "mit tinh", "toa dam"),
        "print": ("an pham", "pa no", "to roi", "tranh co dong", "bang ron", "khau hieu"),
    },
    "languages": {
        "vi": ("viet", "tieng viet", "kinh", "tieng kinh", "vietnamese"),
        "thai": ("thai", "tieng thai"),
        "hmong": ("mong", "h'mong", "hmong", "hmông", "tieng h'mong", "tieng hmong"),
        "dao": ("dao", "tieng dao"),
        "khmu": ("kho mu", "khmu", "kh'mu", "tieng khmu"),
        "hanhi": ("ha nhi", "tieng ha nhi"),
        "lao": ("lao", "tieng lao"),
    },
    "funding": {
        "state": ("ngan sach", "nsnn", "ngan sach nha nuoc", "ngan sach xa", "ngan sach huyen", "ngan sach tinh"),
        "ntp": ("mtqg", "chuong trinh mtqg", "ctmtqg"),
        "social": ("xhh", "xa hoi hoa", "dong gop", "tai tro"),
        "none": ("khong", "khong co", "khong kinh phi", "0"),
        "other": ("khac",),
    },
}


@dataclass(frozen=True)
class FieldSpec:
    key: str
    header: str  # the Vietnamese header dbcomm writes
    label: str  # the English source label shown in the interface (translate with ``_``)
    kind: str  # date | text | longtext | int | lookup | lookups | uuid
    synonyms: tuple[str, ...] = ()  # header names recognised, besides ``header``
    required: bool = False
    width: float = 14.0  # column width in an exported sheet (characters)

    @property
    def is_lookup(self) -> bool:
        return self.kind in ("lookup", "lookups")


def _reach_fields() -> list[FieldSpec]:
    out = []
    dims = {"sex": SEXES, "ethnic": ETHNIC_GROUPS, "audience": AUDIENCES}
    for dim, categories in dims.items():
        for code, english in categories.items():
            vi = REACH_VI[dim][code]
            synonyms: tuple[str, ...]
            if dim == "sex":
                header, synonyms = vi, (f"số {vi.lower()}", f"trong đó {vi.lower()}", f"người {vi.lower()}",
                                        english, "female" if code == "female" else "male")
            elif dim == "ethnic":
                header = vi if code == "other" else f"Dân tộc {vi}"
                synonyms = (vi, f"người {vi}", f"DT {vi}", english)
            else:
                header = f"Đối tượng: {vi}"
                synonyms = (vi, english)
            out.append(FieldSpec(f"reach.{dim}.{code}", header, english, "int", synonyms, width=11))
    return out


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("date_start", "Ngày thực hiện", N_("Date"), "date", (
        "ngày", "ngày tổ chức", "ngày bắt đầu", "từ ngày", "thời gian", "thời gian thực hiện", "thời gian tổ chức",
        "ngày tháng", "ngày, tháng", "ngày tháng năm", "ngày, tháng, năm", "ngày/tháng/năm", "ngày đăng",
        "ngày phát", "ngày phát thanh", "date", "start date", "date start", "day"), required=True, width=12),
    FieldSpec("date_end", "Đến ngày", N_("End date"), "date", (
        "ngày kết thúc", "đến ngày", "kết thúc", "end date", "date end", "end", "to"), width=12),
    FieldSpec("form", "Hình thức truyền thông", N_("Form"), "lookup", (
        "hình thức", "hình thức truyền thông", "loại hình", "loại hình truyền thông", "kênh truyền thông",
        "phương thức", "phương thức truyền thông", "form", "communication form", "channel"), required=True, width=30),
    FieldSpec("subtype", "Loại hoạt động", N_("Kind"), "lookup", (
        "loại", "loại hoạt động", "kiểu hoạt động", "dạng hoạt động", "kind", "subtype", "type"), width=24),
    FieldSpec("title", "Tên hoạt động", N_("Title"), "text", (
        "tên hoạt động", "nội dung", "nội dung tuyên truyền", "nội dung hoạt động", "nội dung truyền thông",
        "tiêu đề", "tên tin bài", "tên tin, bài", "tên bài", "chủ đề", "tên chương trình", "hoạt động",
        "title", "activity", "subject"), required=True, width=50),
    FieldSpec("description", "Mô tả", N_("Description"), "longtext", (
        "mô tả", "mô tả chi tiết", "tóm tắt", "tóm tắt nội dung", "chi tiết", "description", "details"), width=40),
    FieldSpec("place", "Địa bàn", N_("Place"), "lookup", (
        "địa bàn", "địa điểm", "nơi tổ chức", "xã", "xã, phường", "xã/phường", "xã, phường, thị trấn",
        "đơn vị hành chính", "địa bàn thực hiện", "place", "location", "commune"), width=24),
    FieldSpec("objectives", "Mục tiêu, nhiệm vụ", N_("Objectives"), "lookups", (
        "mục tiêu", "nhiệm vụ", "mục tiêu nhiệm vụ", "thuộc mục tiêu", "thuộc nhiệm vụ", "nhiệm vụ kế hoạch",
        "objective", "objectives", "task", "tasks"), width=18),
    FieldSpec("programmes", "Chương trình, đề án lồng ghép", N_("Programmes"), "lookups", (
        "chương trình", "chương trình lồng ghép", "đề án", "chương trình, đề án", "lồng ghép",
        "programme", "programmes", "program"), width=18),
    FieldSpec("languages", "Ngôn ngữ", N_("Languages"), "lookups", (
        "ngôn ngữ", "ngôn ngữ truyền thông", "tiếng", "bằng tiếng", "language", "languages"), width=16),
    FieldSpec("items", "Số tin, bài, sản phẩm", N_("Items"), "int", (
        "số tin bài", "số tin, bài", "số lượng", "số lượng tin bài", "số bản tin", "số sản phẩm", "số ấn phẩm",
        "số bài", "số tin", "sản phẩm", "items", "number of items"), width=12),
    FieldSpec("sessions", "Số buổi, lượt", N_("Sessions"), "int", (
        "số buổi", "số lần", "số lượt", "số buổi, lượt", "số buổi/lượt", "số cuộc", "số lần phát",
        "sessions", "times"), width=12),
    FieldSpec("minutes", "Thời lượng (phút)", N_("Minutes"), "int", (
        "thời lượng", "số phút", "phút", "thời lượng phát", "minutes", "duration"), width=12),
    FieldSpec("reach_total", "Số lượt người được tiếp cận", N_("People reached"), "int", (
        "số người", "số người tham dự", "số người tham gia", "số người được tuyên truyền", "lượt người nghe",
        "số lượt người", "lượt người", "số người nghe", "người tham gia", "số người tiếp cận", "tổng số người",
        "số lượt người nghe", "số lượt người tham gia", "số người được tiếp cận", "people reached", "reach",
        "participants", "audience size"), width=14),
    *_reach_fields(),
    FieldSpec("partner", "Đơn vị phối hợp", N_("Partner"), "text", (
        "phối hợp", "cơ quan phối hợp", "đơn vị thực hiện", "đối tác", "cơ quan báo chí", "partner"), width=24),
    FieldSpec("cost", "Kinh phí (đồng)", N_("Cost (VND)"), "int", (
        "kinh phí", "chi phí", "kinh phí (vnđ)", "kinh phí (vnd)", "số tiền", "kinh phí thực hiện", "cost"),
        width=14),
    FieldSpec("funding", "Nguồn kinh phí", N_("Funding"), "lookup", (
        "nguồn kinh phí", "nguồn", "nguồn vốn", "funding", "funding source"), width=20),
    FieldSpec("notes", "Ghi chú", N_("Notes"), "longtext", ("ghi chú", "notes", "note", "remarks"), width=24),
    FieldSpec("uuid", "Mã hoạt động (UUID)", N_("Activity identifier"), "uuid", (
        "mã hoạt động", "uuid", "mã định danh", "identifier"), width=38),
)
BY_KEY: dict[str, FieldSpec] = {f.key: f for f in FIELDS}
REQUIRED = tuple(f.key for f in FIELDS if f.required)
LOOKUP_FIELDS = tuple(f.key for f in FIELDS if f.is_lookup)

# Header words that mark a row of totals at the bottom of a log (skipped, not an error).
TOTAL_WORDS = frozenset({"tong cong", "cong", "tong", "total", "tong so", "cong tong", "tong cong:"})


def header_names(spec: FieldSpec) -> tuple[str, ...]:
    return (spec.header, *spec.synonyms)


def vocabulary_labels(field: str) -> dict[str, tuple[str, ...]]:
    """Code → the texts (Vietnamese, English, code, other usual words) naming it."""
    vocab = {"subtype": (SUBTYPES, SUBTYPES_VI), "languages": (LANGUAGES, LANGUAGES_VI),
             "funding": (FUNDING_SOURCES, FUNDING_VI)}[field]
    english, vietnamese = vocab
    extra = EXTRA_WORDS.get(field, {})
    return {code: (vietnamese[code], english[code], code, *extra.get(code, ())) for code in english}


def nfc_key(text: str) -> str:
    """Case-folded NFC text with diacritics kept (tells "Năm" from "Nam")."""
    return " ".join(nfc(text).casefold().split())
