"""Plain domain types and rules: no Qt, no database session."""
