"""A face: the browser workbench (``policy-eval serve``), for policy authors and case handlers.

``workbench`` computes what each page shows through the embedding API (``explain``: the case page's version
chosen and why, timeline and "would decide otherwise"; ``impact``: the impact page's comparison; ``inputs``: a
case read as ``eval`` reads it, the values filled in on the case page, the caps); ``app`` is the Starlette
application with its Jinja2 templates and one small script. Needs the ``web`` extra
(``pip install 'policy-eval[web]'``).
"""

__all__: list[str] = []
