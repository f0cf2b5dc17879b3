"""Domains of mail addresses: the registrable domain (``mail.mueller.co.uk`` → ``mueller.co.uk``)
for DMARC's relaxed alignment, and look-alike domains (confusable characters, one-letter
changes) of the domains a business knows."""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

#: Public mail providers: many unrelated people share these domains, so an address there says
#: nothing about who writes (a contact's name from another gmail.com address is still foreign).
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "outlook.de", "hotmail.com", "hotmail.de", "live.com",
    "live.de", "msn.com", "yahoo.com", "yahoo.de", "ymail.com", "aol.com", "aol.de", "icloud.com", "me.com",
    "mac.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "gmx.com", "web.de", "t-online.de", "freenet.de",
    "mail.de", "posteo.de", "mailbox.org", "proton.me", "protonmail.com", "arcor.de", "online.de",
    "mail.com", "yandex.ru", "mail.ru", "zoho.com", "bluewin.ch",
})

MIN_LABEL_FOR_EDITS = 5  # shorter names have too many honest neighbours ("gmx" / "gmy")

# Characters that pass for others in a mail client's font (after NFKC): Cyrillic and Greek
# letters that look Latin, digits that look like letters, and pairs that look like one letter.
_CONFUSABLE_CHARS = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "і": "l", "ј": "j", "ԁ": "d", "ɡ": "g", "ӏ": "l", "ո": "n", "ս": "u",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "τ": "t", "ι": "l", "κ": "k", "χ": "x", "υ": "u", "ε": "e",
    "0": "o", "1": "l", "i": "l", "|": "l", "!": "l", "5": "s", "ı": "l", "ł": "l", "ß": "ss",
})
_CONFUSABLE_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))

_suffixes: PublicSuffixList | None = None


def _psl() -> PublicSuffixList:
    global _suffixes
    if _suffixes is None:
        _suffixes = PublicSuffixList()
    return _suffixes


def unicode_domain(domain: str) -> str:
    """``domain`` lower case, with punycode labels (``xn--…``) decoded to what a reader sees."""
    labels = []
    for label in domain.strip().strip(".").lower().split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                pass
        labels.append(label)
    return ".".join(labels)


@lru_cache(maxsize=4096)
def registrable_domain(domain: str) -> str:
    """The domain one owner registered (``mail.mueller.co.uk`` → ``mueller.co.uk``); the domain
    itself when the suffix list does not know it."""
    domain = unicode_domain(domain)
    return _psl().privatesuffix(domain) or domain


def address_domain(address: str) -> str:
    """The registrable domain of an e-mail address, or ``""``."""
    _local, at, domain = (address or "").rpartition("@")
    return registrable_domain(domain) if at and domain else ""


def aligned(domain_a: str, domain_b: str) -> bool:
    """DMARC's relaxed alignment: both have the same registrable domain."""
    return bool(domain_a and domain_b) and registrable_domain(domain_a) == registrable_domain(domain_b)


def skeleton(text: str) -> str:
    """A form in which strings that look alike are equal (after Unicode TR 39, with a short table
    of the confusables that matter in domain names)."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_CONFUSABLE_CHARS)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    for pair, single in _CONFUSABLE_PAIRS:
        text = text.replace(pair, single)
    return text


def _one_edit_apart(a: str, b: str) -> bool:
    """One letter replaced, added, dropped, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if len(diffs) == 1:
            return True
        return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] \
            and a[diffs[1]] == b[diffs[0]]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(shorter) and shorter[i] == longer[i]:
        i += 1
    return shorter[i:] == longer[i + 1:]


def looks_like(domain: str, known: str) -> bool:
    """Whether registrable ``domain`` imitates registrable ``known`` without being it."""
    if not domain or not known or domain == known:
        return False
    if skeleton(domain) == skeleton(known):
        return True
    suffix_a, suffix_b = _psl().publicsuffix(domain) or "", _psl().publicsuffix(known) or ""
    label_a, label_b = domain[: -len(suffix_a) - 1] if suffix_a else domain, \
        known[: -len(suffix_b) - 1] if suffix_b else known
    if len(label_b) < MIN_LABEL_FOR_EDITS:
        return False
    if suffix_a == suffix_b:
        return _one_edit_apart(skeleton(label_a), skeleton(label_b))
    # the same name under another ending (mueller-gmbh.com for mueller-gmbh.de)
    return label_a == label_b and known not in PUBLIC_MAIL_DOMAINS
