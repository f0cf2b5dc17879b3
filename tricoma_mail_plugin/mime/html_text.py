"""HTML to readable plain text, for the text alternative of mail we send."""
from __future__ import annotations

import html as html_entities
import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "section", "article", "header", "footer", "table", "tr", "h1", "h2", "h3",
           "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "hr"}
_SKIPPED = {"script", "style", "head", "title", "template"}
_ANY_TAG = re.compile(r"<[^<>]*>?")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.links: list[str | None] = []
        self.quote_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self._newline()
        elif tag == "li":
            self._newline()
            self.parts.append("• ")
        elif tag in ("td", "th"):
            self.parts.append("\t")
        elif tag in _BLOCKS:
            self._paragraph()
            if tag == "blockquote":
                self.quote_depth += 1
        if tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and href.startswith(("http://", "https://")):
                self.parts.append(f" ({href})")
        elif tag in _BLOCKS:
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
            self._paragraph()

    def handle_data(self, data):
        if self.skipping:
            return
        text = re.sub(r"\s+", " ", data)
        if self.quote_depth and (not self.parts or self.parts[-1].endswith("\n")):
            text = "> " * self.quote_depth + text.lstrip()
        self.parts.append(text)

    def parse_marked_section(self, i, report=1):
        # The standard library asserts on a marked section it does not know ("<![>", "<![x"):
        # skip it up to the next ">" as browsers skip a bogus comment.
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i + 3)
            return len(self.rawdata) if end < 0 else end + 1

    def _newline(self):
        self.parts.append("\n")

    def _paragraph(self):
        self.parts.append("\n\n")


def html_to_plain_text(html: str) -> str:
    """The readable text of any HTML: never raises, whatever the markup."""
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
        text = "".join(collector.parts)
    except Exception:  # noqa: BLE001 - a parser surprise must not cost the mail its text
        text = html_entities.unescape(_ANY_TAG.sub(" ", html))
    lines = [line.rstrip() for line in text.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
