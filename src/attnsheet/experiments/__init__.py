"""Experiments: the library code that measures, trains and counts for the site's claims.

Each section's module (`idea`, `recurrence`, `attention`, `transformer`, `cost`, `pitfalls`,
`glossary`) has functions that take plain parameters and return plain JSON-able data: no
figures, no prose, no file paths. `measure` holds the one timer, the one peak-memory reader,
the thread setting and the one power-law fit they all use. The evidence pipeline
(`attnsheet.evidence`) caches their data and hands it to the renderers and the claims.
"""
