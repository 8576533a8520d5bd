"""Helpers every stage shares: logging, progress bars, the CLI wrapper."""
