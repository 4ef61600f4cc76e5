"""Fixed vocabularies of the register.  Codes are stored; labels are translated."""

from __future__ import annotations

from dbcomm.i18n import N_, _

# Activity sub-types (the form itself is plan data: the plan's five forms).
SUBTYPES: dict[str, str] = {
    "press": N_("Press article"),
    "broadcast": N_("Radio/TV programme"),
    "loudspeaker": N_("Loudspeaker broadcast"),
    "social": N_("Social media post"),
    "event": N_("School/community event"),
    "print": N_("Printed matter"),
    "other": N_("Other"),
}

# Which sub-type a person most likely means for each of the plan's five forms.
DEFAULT_SUBTYPE_FOR_FORM: dict[str, str] = {
    "F1": "press",
    "F2": "social",
    "F3": "loudspeaker",
    "F4": "event",
    "F5": "event",
}

LANGUAGES: dict[str, str] = {
    "vi": N_("Vietnamese"),
    "thai": N_("Thai (Tai Dam/Tai Don)"),
    "hmong": N_("Hmong"),
    "dao": N_("Dao"),
    "khmu": N_("Khmu"),
    "hanhi": N_("Ha Nhi"),
    "lao": N_("Lao"),
    "other": N_("Other language"),
}

ETHNIC_GROUPS: dict[str, str] = {
    "thai": N_("Thai"),
    "hmong": N_("Hmong"),
    "kinh": N_("Kinh"),
    "dao": N_("Dao"),
    "khmu": N_("Khmu"),
    "other": N_("Other groups"),
}

AUDIENCES: dict[str, str] = {
    "pupils": N_("Pupils and students"),
    "officials": N_("Officials and civil servants"),
    "rural_workers": N_("Rural workers"),
    "families": N_("Families and clans"),
    "public": N_("General public"),
}

SEXES: dict[str, str] = {"female": N_("Women"), "male": N_("Men")}

FUNDING_SOURCES: dict[str, str] = {
    "state": N_("State budget"),
    "ntp": N_("National target programme"),
    "social": N_("Social contributions"),
    "none": N_("No cost"),
    "other": N_("Other source"),
}

OFFICE_KINDS: dict[str, str] = {
    "department": N_("Provincial department"),
    "district": N_("District-level office"),
    "commune": N_("Commune/ward People's Committee"),
}

ORG_KINDS: dict[str, str] = {
    "province": N_("Province"),
    "department": N_("Provincial department"),
    "city": N_("City"),
    "town": N_("Town"),
    "district": N_("District"),
    "commune": N_("Commune"),
    "ward": N_("Ward"),
    "township": N_("Township"),
    "other": N_("Other"),
}

# How an indicator's achieved value is obtained: reported by the office each year, or
# summed from the activity register.
INDICATOR_MEASURES: dict[str, str] = {
    "manual": N_("Reported by the office each year"),
    "activities": N_("Number of activities (from the register)"),
    "items": N_("Items, articles, programmes (from the register)"),
    "sessions": N_("Sessions, broadcasts (from the register)"),
    "minutes": N_("Minutes on air (from the register)"),
    "reach": N_("People reached (from the register)"),
}

# Reach breakdown dimensions: (dimension code, vocabulary)
REACH_DIMENSIONS: dict[str, dict[str, str]] = {
    "sex": SEXES,
    "ethnic": ETHNIC_GROUPS,
    "audience": AUDIENCES,
}


def label(vocabulary: dict[str, str], code: str | None) -> str:
    """The translated label of ``code``, or the code itself if unknown."""
    if not code:
        return ""
    return _(vocabulary[code]) if code in vocabulary else code

# What a signature check concluded (services.signing's verdicts).
SIGNATURE_VERDICTS: dict[str, str] = {
    "valid": N_("Valid"),
    "untrusted": N_("Not trusted"),
    "modified": N_("Changed after signing"),
    "invalid": N_("Invalid"),
}
