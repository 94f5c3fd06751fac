"""Command-line entry points; each parses flags and gin, then makes one call."""
