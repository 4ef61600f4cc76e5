"""dbcomm: communication-activity register for Plan 386/KH-UBND (Điện Biên)."""

__version__ = "0.1.0"
