"""The site generator's adapter: everything that knows MkDocs, Material or mkdocs-jupyter.

* `mkdocs_hooks.py`: the MkDocs hook events (run the evidence build, add its files, glossary
  tooltips, TeX to MathML, the notebook pages, the footer line);
* `notebook_page.py`: mkdocs-jupyter's HTML made to look like the rest of the site.

The evidence pipeline (`attnsheet.evidence`) and the experiments know none of these: they
write staged files (Markdown fragments, SVG, JSON) that another generator could include.
`hooks/evidence.py` is the one-line shim MkDocs loads.
"""
