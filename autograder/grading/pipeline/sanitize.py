"""HTML that is safe to open on the course's own origin.

Feedback pages show what students wrote and what their code displayed, and
teaching assistants open them where the instructor's tools live. Everything
that can come from a notebook passes an allow-list built on nh3 (the Rust
ammonia sanitizer, which parses as a browser does):

- :func:`clean_fragment` keeps text, formatting, lists, tables, code, links
  (``http``, ``https``, ``mailto``, in-page) and images (web URLs and
  ``data:image/…;base64`` in ``<img src>`` only), with classes and a few
  harmless ``style`` properties. Scripts, event handlers (``on…=``), frames,
  objects, forms, ``<base>``, ``<meta>``, SVG and MathML are removed, as are
  ``javascript:``, ``vbscript:`` and other ``data:`` URLs and styles with
  ``expression(``, ``url(`` or escapes.
- :func:`sanitize_page` does the same to a whole page's ``<body>`` and
  rebuilds its ``<head>`` from the charset, the title as text, the style
  sheets and only the scripts the caller trusts (the template's MathJax).

MathJax reads ``$…$`` from the text, so math survives; so do PNG and JPEG
outputs, pandas tables and code highlighting (pygments classes).
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nh3

SAFE_TAGS = frozenset(
    {
        *("a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup"),
        *("dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "main"),
        *("mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub"),
        *("summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"),
        "var",
    }
)
# Removed together with everything inside them: their text is code or markup, never prose.
DROPPED_WITH_CONTENT = frozenset(
    {
        *("script", "style", "iframe", "frame", "frameset", "object", "embed", "applet"),
        *("noscript", "noembed", "noframes", "template", "xmp", "textarea", "select"),
        *("svg", "math", "title"),
    }
)
SAFE_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir", "align", "style"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "table": {"border"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "li": {"value"},
    "details": {"open"},
    "div": {"tabindex"},
}
# What pandas and nbconvert's ANSI colours write in ``style``; nothing that moves or overlays.
SAFE_STYLE_PROPERTIES = frozenset(
    {
        *("color", "background-color", "text-align", "vertical-align", "white-space"),
        *("font-weight", "font-style", "text-decoration"),
    }
)
URL_SCHEMES = frozenset({"http", "https", "mailto", "data"})  # data: is narrowed below
SAFE_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,", re.IGNORECASE)
CSS_TRICKS = re.compile(
    r"expression\s*\(|url\s*\(|javascript:|vbscript:|-moz-binding|behavior\s*:|@import|\\",
    re.IGNORECASE,
)
# The same tricks in a style sheet, where web fonts (``url(``), glyph escapes (``\e001``)
# and selectors such as ``a[href^="javascript:"]`` are legitimate.
STYLE_SHEET_TRICKS = re.compile(
    r"expression\s*\(|url\s*\(\s*['\"]?\s*(java|vb)script:|-moz-binding|behavior\s*:",
    re.IGNORECASE,
)
# Characters browsers ignore inside a URL's scheme ("java\tscript:").
_URL_NOISE = re.compile(r"[\x00-\x20]")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Narrow what the allow-list lets through: data URLs, and styles that smuggle code."""
    if attribute in ("href", "src"):
        url = _URL_NOISE.sub("", value).lower()
        if url.startswith("data:"):
            is_image = tag == "img" and attribute == "src" and SAFE_DATA_IMAGE.match(url)
            return value if is_image else None
    if attribute == "style" and CSS_TRICKS.search(value):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(SAFE_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in SAFE_ATTRIBUTES.items()},
    attribute_filter=_attribute_filter,
    url_schemes=set(URL_SCHEMES),
    filter_style_properties=set(SAFE_STYLE_PROPERTIES),
    strip_comments=True,
    link_rel="noopener noreferrer",
)


def clean_fragment(fragment: str | bytes) -> str:
    """``fragment`` with everything outside the allow-list removed (see the module docstring)."""
    text = fragment.decode() if isinstance(fragment, bytes) else str(fragment)
    return _CLEANER.clean(text)


@dataclass(frozen=True)
class Script:
    """A ``<script>`` element as the page's parser saw it: attributes and text."""

    attributes: tuple[tuple[str, str], ...]
    text: str

    def to_html(self) -> str:
        attributes = "".join(f' {name}="{html.escape(value)}"' for name, value in self.attributes)
        return f"<script{attributes}>{self.text}</script>"


def scripts_in(markup: str) -> frozenset[Script]:
    """The ``<script>`` elements of ``markup`` before any ``<body>``.

    This is how a caller names the scripts a page may keep: pass it the
    markup a template writes for them (nbconvert's MathJax macro, say).
    """
    reader = _HeadReader(markup)
    reader.read()
    return frozenset(part for part in reader.kept if isinstance(part, Script))


def sanitize_page(page: str, trusted_scripts: Collection[Script] = ()) -> str:
    """A whole HTML page made safe: head rebuilt from safe parts, body cleaned.

    The head keeps its charset, its title (as text), its style sheets (unless
    they hold a CSS trick) and the scripts in ``trusted_scripts``, exactly as
    given. Everything from ``<body>`` on goes through :func:`clean_fragment`;
    a page without ``<body>`` or ``</head>`` is all body. Sanitising a
    sanitised page leaves it as it is.
    """
    reader = _HeadReader(page)
    body_at = reader.read()
    if body_at is None:  # no head to speak of: all of it is body
        reader.kept, body_at = [], 0
    head = [part for part in reader.kept if not isinstance(part, Script) or part in trusted_scripts]
    body = page[body_at:]
    lang = f' lang="{html.escape(reader.lang)}"' if reader.lang else ""
    return (
        f"<!DOCTYPE html>\n<html{lang}>\n<head>\n"
        + "\n".join(part if isinstance(part, str) else part.to_html() for part in head)
        + f"\n</head>\n<body>\n{clean_fragment(body).strip()}\n</body>\n</html>\n"
    )


def sanitize_file(path: Path, trusted_scripts: Collection[Script] = ()) -> bool:
    """Rewrite the page at ``path`` with :func:`sanitize_page`; return whether it changed."""
    page = path.read_text(encoding="utf-8")
    safe = sanitize_page(page, trusted_scripts)
    if safe != page:
        path.write_text(safe, encoding="utf-8")
    return safe != page


class _BodyStarts(Exception):
    pass


class _HeadReader(HTMLParser):
    """Collects the safe parts of a page's head and finds where its body starts.

    ``kept`` holds ready HTML strings (meta, title, style) and :class:`Script`
    records, in page order. Anything else in the head is dropped, and since
    every kept part is written out again here, a parser that disagrees with
    the browser can lose a part but never smuggle one in.
    """

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self._page = page
        self.kept: list[str | Script] = []
        self.lang = ""
        self._open: tuple[str, list[tuple[str, str]], list[str]] | None = None

    def read(self) -> int | None:
        """Parse the head; return the offset of the body in the page, or None."""
        try:
            self.feed(self._page)
            self.close()
        except _BodyStarts:
            line, column = self.getpos()
            return sum(len(text) + 1 for text in self._page.split("\n")[: line - 1]) + column
        return None

    def handle_starttag(self, tag, attrs):
        attributes = [(name, value or "") for name, value in attrs]
        if tag == "body":
            raise _BodyStarts
        if self._open is not None:
            return
        if tag == "html":
            self.lang = dict(attributes).get("lang", "")
        elif tag == "meta":
            self._keep_meta(dict(attributes))
        elif tag in ("title", "style", "script"):
            self._open = (tag, attributes, [])

    def handle_endtag(self, tag):
        if tag == "head":
            raise _BodyStarts
        if self._open is None or tag != self._open[0]:
            return
        name, attributes, pieces = self._open
        self._open = None
        text = "".join(pieces)
        if name == "title":
            self.kept.append(f"<title>{html.escape(text)}</title>")
        elif name == "style" and "</" not in text and not STYLE_SHEET_TRICKS.search(text):
            self.kept.append(f"<style>{text}</style>")
        elif name == "script":
            self.kept.append(Script(tuple(attributes), text))

    def handle_data(self, data):
        if self._open is not None:
            self._open[2].append(data)

    def _keep_meta(self, attributes: dict[str, str]) -> None:
        if "charset" in attributes:
            self.kept.append(f'<meta charset="{html.escape(attributes["charset"])}">')
        elif attributes.get("name") == "viewport":
            content = html.escape(attributes.get("content", ""))
            self.kept.append(f'<meta name="viewport" content="{content}">')
