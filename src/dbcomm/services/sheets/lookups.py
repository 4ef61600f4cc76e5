"""What a free-text cell can stand for: the plan's forms, objectives and tasks, programmes, the
directory's places, and the fixed vocabularies — matched without regard to case or diacritics,
with suggestions for the values that match nothing exactly (``difflib``)."""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from dbcomm.domain.text import fold, vi_sort_key
from dbcomm.services.sheets import fields as F
from dbcomm.store.models import CommForm, Organisation, Plan, PlanNode, Programme

# "F3 – Hệ thống …", "2.1 - Tuyên truyền …", "P4: …": a code first, then its name.
CODE_PREFIX = re.compile(r"^\s*([A-Za-z]{0,3}\d+(?:\.\d+)*)\s*(?:[-–—:)]|\.\s)\s*\S")
_CODE_ONLY = re.compile(r"^[A-Za-z]{0,3}\d+(?:\.\d+)*$")
_PLACE_PREFIXES = ("thi tran ", "phuong ", "xa ", "thanh pho ", "thi xa ", "huyen ", "tinh ", "ban ", "thon ")

folded = functools.lru_cache(maxsize=16384)(fold)  # the same few values on thousands of rows

AUTO_SCORE = 0.75  # a suggestion this good (and clearly ahead of the next) is proposed
SUGGEST_SCORE = 0.45


@dataclass(frozen=True)
class Choice:
    """Something a value can be mapped to: ``target`` is what dbcomm stores (a form, objective or
    programme code, a place's id as text, a vocabulary code); ``label`` is what the person sees."""

    target: str
    label: str


@dataclass
class Catalogue:
    """The choices of one field, with the texts that name each exactly (folded)."""

    name: str  # the field's key
    choices: list[Choice]
    exact: dict[str, str] = field(default_factory=dict)  # folded text → target ("" when ambiguous)
    keys: dict[str, list[str]] = field(default_factory=dict)  # target → its folded names

    def add(self, target: str, *names: str) -> None:
        for name in names:
            key = fold(name)
            if not key:
                continue
            self.keys.setdefault(target, [])
            if key not in self.keys[target]:
                self.keys[target].append(key)
            if key in self.exact and self.exact[key] != target:
                self.exact[key] = ""  # two choices share this name: never matched blindly
            else:
                self.exact[key] = target

    def label_of(self, target: str) -> str:
        return next((c.label for c in self.choices if c.target == target), target)


@dataclass(frozen=True)
class PlaceFacts:
    id: int
    name: str
    valid_from: date | None
    valid_to: date | None


@dataclass
class Lookups:
    """Every catalogue for one plan, read once."""

    plan_id: int
    plan_start: int
    plan_end: int
    catalogues: dict[str, Catalogue]
    form_ids: dict[str, int]  # code → id
    form_names: dict[str, str]  # code → name
    node_ids: dict[str, int]
    programme_ids: dict[str, int]
    places: dict[int, PlaceFacts]

    @functools.cached_property
    def form_codes(self) -> dict[int, str]:
        return {i: code for code, i in self.form_ids.items()}


def _without_brackets(text: str) -> str:
    return re.sub(r"\s*\([^)]*\)", "", text).strip()


def _place_short(name: str) -> str:
    key = fold(name)
    for prefix in _PLACE_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def load(session: Session, plan_id: int) -> Lookups:
    plan = session.get(Plan, plan_id)
    assert plan is not None
    forms = list(session.scalars(select(CommForm).where(CommForm.plan_id == plan_id).order_by(CommForm.ordinal)))
    nodes = list(session.scalars(select(PlanNode).where(PlanNode.plan_id == plan_id).order_by(PlanNode.ordinal)))
    programmes = list(session.scalars(select(Programme).where(Programme.plan_id == plan_id)
                                      .order_by(Programme.ordinal)))
    orgs = list(session.scalars(select(Organisation).order_by(Organisation.name_sort)))
    cats: dict[str, Catalogue] = {}

    form_cat = Catalogue("form", [Choice(f.code, f"{f.code} – {f.name}") for f in forms])
    for f in forms:
        form_cat.add(f.code, f.code, f.name, f"{f.code} – {f.name}", _without_brackets(f.name))
        # the examples the plan gives in brackets ("loa truyền thanh, bảng tin, họp thôn bản") are
        # what offices write: each names its form too
        for inside in re.findall(r"\(([^)]*)\)", f.name):
            form_cat.add(f.code, *(e.strip() for e in re.split(r"[,;]", inside) if len(e.strip()) >= 3))
    cats["form"] = form_cat

    node_cat = Catalogue("objectives", [Choice(n.code, f"{n.code} – {n.title}") for n in nodes])
    for n in nodes:
        word = "muc tieu" if n.kind == "objective" else "nhiem vu"
        node_cat.add(n.code, n.code, n.title, f"{n.code} – {n.title}", f"{word} {n.code}")
    cats["objectives"] = node_cat

    prog_cat = Catalogue("programmes", [Choice(p.code, f"{p.code} – {p.name}") for p in programmes])
    for p in programmes:
        prog_cat.add(p.code, p.code, p.name, f"{p.code} – {p.name}")
    cats["programmes"] = prog_cat

    # Places: the office's own area first; a name found twice shows its parent.
    by_id = {o.id: o for o in orgs}
    names = [fold(o.name) for o in orgs]
    ordered = sorted(orgs, key=lambda o: (not o.in_area, o.name_sort))
    place_choices = []
    for o in ordered:
        label = o.name
        if names.count(fold(o.name)) > 1 and o.parent_id in by_id:
            label = f"{o.name} ({by_id[o.parent_id].name})"
        place_choices.append(Choice(str(o.id), label))
    place_cat = Catalogue("place", place_choices)
    for o in ordered:
        place_cat.add(str(o.id), o.name, o.code)
    # "Mường Phăng" for "Xã Mường Phăng": only where the short name is not another unit's
    shorts: dict[str, list[Organisation]] = {}
    for o in ordered:
        shorts.setdefault(_place_short(o.name), []).append(o)
    for short, found in shorts.items():
        if short not in place_cat.exact:
            in_area = [o for o in found if o.in_area]
            pick = in_area if len(in_area) == 1 else found
            if len(pick) == 1:
                place_cat.add(str(pick[0].id), short)
    cats["place"] = place_cat

    for name in ("subtype", "languages", "funding"):
        labels = F.vocabulary_labels(name)
        cat = Catalogue(name, [Choice(code, names_[0]) for code, names_ in labels.items()])
        for code, names_ in labels.items():
            cat.add(code, *names_)
        cats[name] = cat

    return Lookups(
        plan_id=plan_id, plan_start=plan.start_year, plan_end=plan.end_year, catalogues=cats,
        form_ids={f.code: f.id for f in forms}, form_names={f.code: f.name for f in forms},
        node_ids={n.code: n.id for n in nodes}, programme_ids={p.code: p.id for p in programmes},
        places={o.id: PlaceFacts(o.id, o.name, o.valid_from, o.valid_to) for o in orgs})


# --- splitting and matching ------------------------------------------------------------------


def items(field_key: str, text: str, catalogue: Catalogue | None = None) -> list[str]:
    """The values in one cell: a multi-valued column ("1.1; 2.3", "Tiếng Việt, Tiếng Thái") is
    split on ";" and new lines, then on "," unless that would cut a known name in pieces."""
    text = text.strip()
    if not text:
        return []
    if F.BY_KEY[field_key].kind != "lookups":
        return [text]
    out: list[str] = []
    for part in re.split(r"[;\n]+", text):
        part = part.strip()
        if not part:
            continue
        if "," not in part or (catalogue is not None and folded(part) in catalogue.exact):
            out.append(part)  # one value, possibly a name with commas in it
            continue
        pieces = [p.strip() for p in part.split(",") if p.strip()]
        if all(_CODE_ONLY.match(p) or (catalogue is not None and fold(p) in catalogue.exact) for p in pieces):
            out.extend(pieces)  # "1.1, 2.3", "Tiếng Việt, Tiếng Thái"
        elif CODE_PREFIX.match(part) or field_key != "languages":
            out.append(part)  # "2.1 – Tuyên truyền …, …": one name with commas
        else:
            out.extend(pieces)
    return out


def exact(catalogue: Catalogue, value: str) -> str | None:
    """The target ``value`` names exactly (by name or code, or "CODE – name"), else None."""
    key = folded(value)
    target = catalogue.exact.get(key)
    if target:
        return target
    if target == "":
        return None  # ambiguous
    if catalogue.name in ("form", "objectives", "programmes"):
        m = CODE_PREFIX.match(value)
        if m:
            return catalogue.exact.get(folded(m.group(1))) or None
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.replace("-", ""))  # "pa-nô" is "pano"; "bản)" is "bản"


def _similarity(value: str, name: str) -> float:
    if value == name:
        return 1.0
    score = difflib.SequenceMatcher(None, value, name, autojunk=False).ratio()
    words_v, words_n = _words(value), set(_words(name))
    if words_v:
        overlap = sum(1 for w in words_v if w in words_n) / len(words_v)
        score = max(score, 0.7 * overlap if overlap < 1 or len(words_v) < 2 else 0.78)  # "họp bản": both words
    if len(value) >= 3 and re.search(rf"(^|\W){re.escape(value)}($|\W)", name):
        score = max(score, 0.75 + 0.2 * len(value) / max(len(name), 1))
    # a short name inside the value as whole words ("pano" in "pano, ap phich")
    joined_v, joined_n = " ".join(words_v), " ".join(_words(name))
    if len(joined_n) >= 4 and re.search(rf"(^| ){re.escape(joined_n)}($| )", joined_v):
        score = max(score, 0.75 + 0.2 * len(joined_n) / max(len(joined_v), 1))
    return score


@dataclass(frozen=True)
class Scored:
    target: str
    label: str
    score: float  # 0–1


def suggest(catalogue: Catalogue, value: str, limit: int = 3) -> list[Scored]:
    """The closest choices to a value matching none exactly, best first."""
    key = fold(value)
    if catalogue.name == "place":
        key = _place_short(value) or key
    best: dict[str, float] = {}
    for target, names in catalogue.keys.items():
        best[target] = max(_similarity(key, name) for name in names)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], vi_sort_key(catalogue.label_of(kv[0]))))
    return [Scored(t, catalogue.label_of(t), round(s, 3)) for t, s in ranked[:limit] if s >= SUGGEST_SCORE]


def proposal(catalogue: Catalogue, value: str) -> tuple[str | None, list[Scored]]:
    """(the target to propose or None, the suggestions shown with it)."""
    hit = exact(catalogue, value)
    if hit:
        return hit, [Scored(hit, catalogue.label_of(hit), 1.0)]
    found = suggest(catalogue, value)
    if found and found[0].score >= AUTO_SCORE and (len(found) == 1 or found[0].score - found[1].score >= 0.1):
        return found[0].target, found
    return None, found
