"""Citations: an entry's citation marks and bibliography rendered in a CSL style by citeproc-py.

One module per job:

* ``styles``: finding, parsing and caching CSL styles; choosing their locale.
* ``patches``: the corrections to citeproc-py 0.11, each checked before it is applied.
* ``formatter``: ``CitationFormatter``, citation clusters and bibliography -> runs.
* ``markup``: citeproc-py's marked-up output -> runs (italic, bold, superscript, links).

The marks themselves (``[@key, p. 231]``) are parsed by ``tpkit.marks``; the layout stage
(``tpkit.layout``) hands their clusters over in reading order. citeproc-py is imported
lazily: ``import tpkit.citations`` stays cheap.
"""

from tpkit.citations.formatter import CitationFormatter, CiteRefLike
from tpkit.citations.styles import DEFAULT_STYLE, STYLE_ALIASES, clear_style_cache, known_locale, resolve_locale, resolve_style

__all__ = [
    "CitationFormatter",
    "CiteRefLike",
    "DEFAULT_STYLE",
    "STYLE_ALIASES",
    "clear_style_cache",
    "known_locale",
    "resolve_locale",
    "resolve_style",
]
