"""The spreadsheet bridge: import an Excel or CSV log, write a blank template, export the register
and the report tables.  A wizard drives the import step by step:

1. ``open_source(path, options)`` → ``SourceInfo``: what the file is, its sheets, the CSV encoding
   detected (``encoding_candidates`` to let the person choose);
2. ``preview(info, sheet)`` → ``SheetPreview``: the header found and the first rows;
3. ``propose_mapping(db, preview)`` → ``ColumnMapping`` (remembered or recognised column names);
   ``mapping_from_columns`` for the person's own choice, ``check_mapping`` to refuse a bad one;
4. ``value_suggestions(db, request)`` → what each form, place, objective … written in the sheet is
   proposed to mean; ``proposed_value_map`` to start from, ``choices`` for the lists;
5. ``dry_run(db, request)`` → ``DryRun``: every row that will not be imported, and why;
6. ``apply_import(db, request, expected_sha256=dry.sha256)`` → ``ImportResult``, in one transaction.

The file and the rows read last are remembered between these steps (keyed by the file's
SHA-256), so that a log is read once, not three times; ``forget()`` lets go of them.

``write_template``, ``export_register`` and ``export_report`` write files; ``source_of`` says which
file and row an imported activity came from.
"""

from dbcomm.services.sheets.encodings import ENCODINGS, Candidate
from dbcomm.services.sheets.export import (
    ExportCancelled,
    ExportResult,
    export_register,
    export_report,
    report_tables,
)
from dbcomm.services.sheets.fields import FIELDS, FieldSpec
from dbcomm.services.sheets.importing import (
    DryRun,
    ImportCancelled,
    ImportRequest,
    ImportResult,
    RowOutcome,
    RowPreview,
    RowProblem,
    SourceMark,
    ValueSuggestion,
    apply_import,
    choices,
    dry_run,
    proposed_value_map,
    source_of,
    sources,
    undo_import,
    value_suggestions,
)
from dbcomm.services.sheets.lookups import Choice, Scored
from dbcomm.services.sheets.mapping import (
    ColumnInfo,
    ColumnMapping,
    MappingError,
    SheetPreview,
    check_mapping,
    mapping_from_columns,
    preview,
    propose_mapping,
)
from dbcomm.services.sheets.reading import (
    MAX_ROWS,
    SheetFileError,
    SheetInfo,
    SourceInfo,
    SourceOptions,
    forget,
    open_source,
)
from dbcomm.services.sheets.template import write_template

__all__ = [
    "ENCODINGS", "FIELDS", "MAX_ROWS", "Candidate", "Choice", "ColumnInfo", "ColumnMapping", "DryRun",
    "ExportCancelled", "ExportResult", "FieldSpec", "ImportCancelled", "ImportRequest", "ImportResult", "MappingError", "RowOutcome",
    "RowPreview", "RowProblem", "Scored", "SheetFileError", "SheetInfo", "SheetPreview", "SourceInfo",
    "SourceMark", "SourceOptions", "ValueSuggestion", "apply_import", "check_mapping", "choices", "dry_run",
    "export_register", "export_report", "forget", "mapping_from_columns", "open_source", "preview", "propose_mapping",
    "proposed_value_map", "report_tables", "source_of", "sources", "undo_import", "value_suggestions", "write_template",
]
