"""Use cases a person performs.  Each owns its transaction and returns plain data."""
