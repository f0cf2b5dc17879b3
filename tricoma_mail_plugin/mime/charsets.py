"""Charset labels as browsers read them, and bytes whose charset nobody declared.

Shared by the body decoder (:mod:`.parse`) and the header decoder (:mod:`.headers`), so a body
and a header that name the same charset are read the same way.
"""
from __future__ import annotations

import codecs
import functools
import re


def usable_encoding(charset: str | None) -> str | None:
    """The Python codec for a mail charset label, read as WHATWG Encoding reads it
    (``iso-8859-1`` is windows-1252, ``CHINESEBIG5`` is Big5), or ``None`` when there is none."""
    if not charset or not isinstance(charset, str):
        return None
    return _codec_name(charset.strip().strip("\"'").lower()[:64])


@functools.lru_cache(maxsize=256)
def _codec_name(name: str) -> str | None:
    name = _CHARSET_ALIASES.get(name, name)
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _UNFIT_CODECS:
        return None
    return info.name


def decode_unlabelled(data: bytes) -> str:
    """Bytes of unknown charset: UTF-8 if they mostly are, else cp1252, never failing."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    sample = data[:65_536]
    valid = sum(1 for _ in _UTF8_SEQUENCE.finditer(sample))
    if valid:
        invalid = sample.decode("utf-8", "replace").count("\ufffd") - sample.count("\ufffd".encode())
        if invalid * 4 <= valid:
            return data.decode("utf-8", "replace")
    return data.decode("cp1252", "replace")


def repair_surrogates(text: str) -> str:
    """Turn undecoded 8-bit bytes (kept by the email parser as surrogates) into characters."""
    if not _SURROGATE.search(text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return decode_unlabelled(data)


_SURROGATE = re.compile("[\ud800-\udfff]")
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")

# WHATWG's decoding practice: labels that mean a superset in real mail.
_CHARSET_ALIASES = {
    "x-unknown": "", "unknown": "", "unknown-8bit": "", "x-user-defined": "", "default": "",
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252", "latin1": "cp1252",
    "latin-1": "cp1252", "l1": "cp1252", "iso-8859-9": "cp1254", "iso-8859-11": "cp874",
    "tis-620": "cp874", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "euc-cn": "gb18030", "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "shift_jis": "cp932",
    "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "windows-31j": "cp932",
    "x-mac-roman": "mac-roman", "macintosh": "mac-roman", "utf8": "utf-8",
    "chinesebig5": "big5", "big5-hkscs": "big5hkscs", "x-x-big5": "big5", "cn-big5": "big5",
    "csbig5": "big5", "x-euc-jp": "euc_jp",
    "windows-1252": "cp1252",
}
# Codecs that exist in Python but are no mail charsets and turn bytes into surprises.
_UNFIT_CODECS = frozenset({"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"})
