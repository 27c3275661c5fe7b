"""Text from outside (a learner's YAML, an export file, a pod name, a server's answer) made safe to show.

A terminal obeys escape sequences, XML forbids most control characters, a spreadsheet runs a cell that starts with
`=`: each output format gets the one function it needs. Pure, no imports from labtools.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the Unicode bidirectional overrides and isolates that
# make text display in another order than it reads ("Trojan source").
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What XML 1.0 allows (https://www.w3.org/TR/xml/#charsets), everything else is escaped before it reaches a parser.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# A spreadsheet treats a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, one_line: bool = False) -> str:
    """`text` with every control character shown as an escape (`\\x1b`), so that printing it does nothing but
    print it. Tabs and newlines stay unless `one_line`."""
    return (_UNSAFE_ONE_LINE if one_line else _UNSAFE).sub(_escape, str(text))


def xml_text(text: object) -> str:
    """`text` safe for an XML document: printable, and nothing XML 1.0 forbids (lone surrogates, U+FFFE...)."""
    return _NOT_XML.sub(_escape, printable(text))


def inert_cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text and never runs: a leading formula character gets a `'` in
    front, as OWASP recommends. Numbers stay numbers."""
    if not isinstance(value, str):
        return value
    text = printable(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
