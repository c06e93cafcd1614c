"""Renderers: from an experiment's data to what a reader sees (figures, captions, tables).

One module per section (`render/cost.py` for `docs/cost.md`). A renderer takes the data of
the experiments its evidence item names (positionally) and returns `spec.Rendered`; it never
measures and never picks a file path (the pipeline places its output, `stage.py`). Every
number in a caption or alt text is read from the data. Shared pieces are in `common.py`.
"""
