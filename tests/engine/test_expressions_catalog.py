"""Every function, filter, test and operator of KESTRA.md §6.3-6.4, with the values Kestra produces.

Pure tests (no Django, no database): run with ``pytest tests/engine/test_expressions_catalog.py``.
"""

from __future__ import annotations

import base64
import datetime
import importlib.util
import re
from typing import Any

import pytest
from jinja2.exceptions import TemplateRuntimeError, UndefinedError

from apps.engine.expressions import render, render_typed, using_services
from apps.engine.expressions.catalog import FILTERS, FUNCTIONS, TESTS

CONTEXT: dict[str, Any] = {
    "flow": {"id": "hello", "namespace": "company.team"},
    "inputs": {"name": "World", "empty": None, "count": 5, "date": "2013-09-08T16:19:12.123456789Z"},
    "items": [3, 1, 2],
    "mapping": {"a": 1, "b": None},
    "nested": {"a": {"b": [1, 2]}},
    "vars": {
        "greeting": "Hello {{ inputs.name }}",
        "indirect": "{{ vars.greeting }}",
        "literal": "{{ secret('DB_PASSWORD') }}",
    },
    "taskrun": {"value": "v2"},
    "parents": [{"taskrun": {"value": "p1"}}],
    "outputs": {"each": {"p1": {"v1": {"r": 1}, "v2": {"r": 2}}}},
    "a_date": datetime.date(2024, 3, 10),
    "a_datetime": datetime.datetime(2024, 3, 10, 8, 30, tzinfo=datetime.UTC),
}


class FakeServices:
    """A ``RenderServices`` double: fixed secrets, KV entries, files and logs."""

    def __init__(self) -> None:
        self.masked: list[str] = []
        self.kv_calls: list[tuple[str | None, str, bool]] = []

    def secret(self, name: str) -> str:
        secrets = {"DB_PASSWORD": "pa55", "JSON_SECRET": '{"user": "admin", "port": 5432}'}
        if name not in secrets:
            raise KeyError(f"Cannot find secret for key '{name}'.")
        return secrets[name]

    def kv(self, namespace: str | None, key: str, error_on_missing: bool) -> Any:
        self.kv_calls.append((namespace, key, error_on_missing))
        if key == "missing":
            if error_on_missing:
                raise KeyError(f"The key '{key}' does not exist in the namespace '{namespace}'.")
            return None
        return {"field": f"{namespace or 'company.team'}/{key}"}

    def read(self, path: str) -> str:
        return f"content of {path}"

    def file_size(self, path: str) -> int:
        return 1024

    def file_uri(self, path: str) -> str:
        return f"kestra:///company/team/_files/{path}"

    def error_logs(self) -> list[dict[str, Any]]:
        return [{"taskId": "fail", "level": "ERROR", "message": "boom"}]

    def mark_secret(self, value: str) -> None:
        self.masked.append(value)


def r(source: str, **extra: Any) -> str:
    return render(source, {**CONTEXT, **extra}, services=FakeServices())


# -- functions ----------------------------------------------------------------------------------

FUNCTION_CASES = [
    ("{{ fromJson('{\"a\": [1, 2]}').a[1] }}", "2", "fromJson"),
    ("{{ json('{\"a\": true}').a }}", "true", "json-function"),
    ("{{ yaml('a: [1, 2]\nb: x').b }}", "x", "yaml-function"),
    ("{{ yaml('when: 2024-01-02').when }}", "2024-01-02", "yaml-keeps-dates-as-strings"),
    ("{{ fromIon('{a: 1, b: \"x\", c: [true, null]}') }}", '{"a":1,"b":"x","c":[true,null]}', "fromIon"),
    ("{{ fromIon('{a: 1}\n{a: 2}', allRows=true) }}", '[{"a":1},{"a":2}]', "fromIon-allRows"),
    ("{{ render(vars.greeting) }}", "Hello World", "render"),
    ("{{ render(vars.indirect) }}", "Hello World", "render-recursive"),
    ("{{ render(vars.indirect, recursive=false) }}", "Hello {{ inputs.name }}", "render-not-recursive"),
    ("{{ renderOnce(vars.indirect) }}", "Hello {{ inputs.name }}", "renderOnce"),
    ("{{ currentEachOutput(outputs.each).r }}", "2", "currentEachOutput"),
    ("{{ range(1, 5, 2) }}", "[1,3,5]", "range"),
    ("{{ max(1, 7, 3) }}", "7", "max"),
    ("{{ min(4, 2.5, 9) }}", "2.5", "min"),
    ("{{ printContext().flow.id }}", "hello", "printContext"),
    ("{{ fetchContext().inputs.name }}", "World", "fetchContext"),
    ("{{ secret('DB_PASSWORD') }}", "pa55", "secret"),
    ("{{ secret('JSON_SECRET', subkey='port') }}", "5432", "secret-subkey"),
    ("{{ kv('my_key').field }}", "company.team/my_key", "kv"),
    ("{{ kv('my_key', 'other.ns').field }}", "other.ns/my_key", "kv-namespace"),
    ("{{ kv('missing') is null }}", "true", "kv-missing-is-null"),
    ("{{ read('data/file.txt') }}", "content of data/file.txt", "read"),
    ("{{ fileURI('data/file.txt') }}", "kestra:///company/team/_files/data/file.txt", "fileURI"),
    ("{{ fileSize('kestra:///x') }}", "1024", "fileSize"),
    (
        "{% for log in errorLogs() %}{{ log.taskId }}: {{ log.message }}{% endfor %}",
        "fail: boom",
        "errorLogs",
    ),
    ("{{ randomInt(4, 5) }}", "4", "randomInt"),
    ("{{ uuid() | length }}", "36", "uuid-length"),
    ("{{ id() | length > 10 }}", "true", "id"),
    ("{{ now(format='yyyy') == now(format='yyyy', timeZone='UTC') }}", "true", "now-format"),
]


@pytest.mark.parametrize(
    ("source", "expected"), [case[:2] for case in FUNCTION_CASES], ids=[c[2] for c in FUNCTION_CASES]
)
def test_functions(source: str, expected: str) -> None:
    assert r(source) == expected


def test_now_default_format_is_kestra_iso() -> None:
    value = render("{{ now(timeZone='UTC') }}", {})
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", value)
    assert value[:4] == str(datetime.datetime.now(datetime.UTC).year)
    assert re.fullmatch(
        r"\d{2}:\d{2}\+05:30", render("{{ now(format='HH:mmXXX', timeZone='Asia/Kolkata') }}", {})
    )


def test_now_with_locale_and_existing_format_arguments() -> None:
    value = render("{{ now(format='EEEE', timeZone='UTC', existingFormat='iso', locale='en_US') }}", {})
    assert value in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def test_uuid_and_id_are_random_identifiers() -> None:
    uuids = {render("{{ uuid() }}", {}) for _ in range(5)}
    assert len(uuids) == 5
    assert all(
        re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", u) for u in uuids
    )
    ids = {render("{{ id() }}", {}) for _ in range(5)}
    assert len(ids) == 5
    assert all(re.fullmatch(r"[0-9A-Za-z]{15,22}", i) for i in ids)


def test_random_int_is_within_bounds_and_checks_them() -> None:
    values = {int(render("{{ randomInt(1, 4) }}", {})) for _ in range(100)}
    assert values <= {1, 2, 3}
    with pytest.raises(TemplateRuntimeError, match="upper is less than lower"):
        render("{{ randomInt(5, 1) }}", {})


def test_render_does_not_render_values_recursively_by_itself() -> None:
    # Kestra >= 0.14: a variable holding an expression is text until passed to render().
    assert r("{{ vars.greeting }}") == "Hello {{ inputs.name }}"


def test_render_typed_keeps_native_function_results() -> None:
    assert render_typed("{{ fromJson('[1, 2]') }}", {}) == [1, 2]
    assert render_typed("{{ kv('my_key') }}", CONTEXT, services=FakeServices()) == {
        "field": "company.team/my_key"
    }


def test_secret_marks_the_value_for_masking() -> None:
    services = FakeServices()
    assert render("{{ secret('JSON_SECRET', subkey='user') }}", CONTEXT, services=services) == "admin"
    assert services.masked == ["admin"]


def test_secret_errors_are_clear() -> None:
    with pytest.raises(TemplateRuntimeError, match=r"Cannot find secret for key 'NOPE'\."):
        r("{{ secret('NOPE') }}")
    with pytest.raises(TemplateRuntimeError, match="Cannot find secret sub-key 'nope'"):
        r("{{ secret('JSON_SECRET', subkey='nope') }}")
    with pytest.raises(TemplateRuntimeError, match="another namespace"):
        r("{{ secret('DB_PASSWORD', namespace='other.ns') }}")


def test_kv_passes_its_arguments_to_the_host() -> None:
    services = FakeServices()
    render(
        "{{ kv('a') }}{{ kv('b', 'ns2', true) }}{{ kv('c', errorOnMissing=true) }}",
        CONTEXT,
        services=services,
    )
    assert services.kv_calls == [(None, "a", False), ("ns2", "b", True), (None, "c", True)]
    with pytest.raises(TemplateRuntimeError, match="The key 'missing' does not exist"):
        r("{{ kv('missing', errorOnMissing=true) }}")


@pytest.mark.parametrize(
    "source",
    [
        "{{ secret('X') }}",
        "{{ kv('k') }}",
        "{{ read('f') }}",
        "{{ fileURI('f') }}",
        "{{ fileSize('f') }}",
        "{{ errorLogs() }}",
    ],
    ids=["secret", "kv", "read", "fileURI", "fileSize", "errorLogs"],
)
def test_host_functions_without_services_fail_clearly(source: str) -> None:
    name = source[3 : source.index("(")]
    with pytest.raises(TemplateRuntimeError, match=rf"^{name}\(\) is not available here$"):
        render(source, CONTEXT)


def test_using_services_installs_services_for_a_block() -> None:
    with using_services(FakeServices()):
        assert render("{{ secret('DB_PASSWORD') }}", CONTEXT) == "pa55"
    with pytest.raises(TemplateRuntimeError, match="not available"):
        render("{{ secret('DB_PASSWORD') }}", CONTEXT)


def test_current_each_output_needs_the_current_path() -> None:
    with pytest.raises(TemplateRuntimeError, match="No execution outputs for the current task runs path"):
        r("{{ currentEachOutput(outputs.each) }}", parents=[{"taskrun": {"value": "nope"}}])


def test_print_context_exposes_variables_only() -> None:
    context = render_typed("{{ printContext() }}", {"a": 1, "b": {"c": 2}})
    assert context == {"a": 1, "b": {"c": 2}}


@pytest.mark.skipif(importlib.util.find_spec("cryptography") is None, reason="cryptography is not installed")
def test_encrypt_and_decrypt_round_trip() -> None:
    key = base64.b64encode(b"k" * 32).decode()
    encrypted = render("{{ encrypt(key, 'my secret') }}", {"key": key})
    assert encrypted != "my secret"
    assert len(base64.b64decode(encrypted)) == 12 + len("my secret") + 16  # IV + ciphertext + GCM tag
    assert render("{{ decrypt(key, value) }}", {"key": key, "value": encrypted}) == "my secret"
    with pytest.raises(TemplateRuntimeError, match="can not be decrypted"):
        render("{{ decrypt(key, value) }}", {"key": base64.b64encode(b"x" * 32).decode(), "value": encrypted})


@pytest.mark.skipif(importlib.util.find_spec("cryptography") is not None, reason="cryptography is installed")
@pytest.mark.parametrize(
    "source", ["{{ encrypt(key, 'x') }}", "{{ decrypt(key, 'eA==') }}"], ids=["encrypt", "decrypt"]
)
def test_encrypt_and_decrypt_explain_the_missing_package(source: str) -> None:
    with pytest.raises(TemplateRuntimeError, match="needs the 'cryptography' Python package"):
        render(source, {"key": base64.b64encode(b"k" * 32).decode()})


# -- date filters -------------------------------------------------------------------------------

DATE = "{% set d = '2013-09-08T16:19:12.123456Z' %}"
DATE_CASES = [
    ("{{ '2013-09-08T16:19:12Z' | date('yyyy-MM-dd') }}", "2013-09-08", "pattern"),
    ("{{ d | date }}", "2013-09-08T16:19:12.123456Z", "default-iso"),
    ("{{ d | date('iso') }}", "2013-09-08T16:19:12.123456Z", "iso"),
    ("{{ d | date('iso_sec') }}", "2013-09-08T16:19:12Z", "iso_sec"),
    ("{{ d | date('sql') }}", "2013-09-08 16:19:12.123456", "sql"),
    ("{{ d | date('sql_seq') }}", "2013-09-08 16:19:12", "sql_seq"),
    (
        "{{ d | date('iso_date_time', timeZone='Europe/Paris') }}",
        "2013-09-08T18:19:12.123456+02:00[Europe/Paris]",
        "iso_date_time",
    ),
    ("{{ d | date('iso_date') }}", "2013-09-08Z", "iso_date"),
    ("{{ d | date('iso_time', timeZone='+01:00') }}", "17:19:12.123456+01:00", "iso_time"),
    ("{{ d | date('iso_local_date') }}", "2013-09-08", "iso_local_date"),
    ("{{ d | date('iso_instant', timeZone='Asia/Tokyo') }}", "2013-09-08T16:19:12.123456Z", "iso_instant"),
    ("{{ d | date('iso_local_date_time') }}", "2013-09-08T16:19:12.123456", "iso_local_date_time"),
    ("{{ d | date('iso_ordinal_date') }}", "2013-251Z", "iso_ordinal_date"),
    ("{{ d | date('iso_week_date') }}", "2013-W36-7Z", "iso_week_date"),
    ("{{ d | date('rfc_1123_date_time') }}", "Sun, 8 Sep 2013 16:19:12 GMT", "rfc_1123"),
    ("{{ d | date('medium') }}", "Sep 8, 2013, 4:19:12\u202fPM", "style-medium"),
    ("{{ d | date('yyyy-MM-dd HH:mm:ss.SSS') }}", "2013-09-08 16:19:12.123", "java-millis"),
    ("{{ d | date(\"EEEE, MMMM d, yy 'at' h:mm a\") }}", "Sunday, September 8, 13 at 4:19 PM", "java-texts"),
    (
        "{{ d | date('HH:mm z (VV, XXX, Z)', timeZone='America/New_York') }}",
        "12:19 EDT (America/New_York, -04:00, -0400)",
        "zones",
    ),
    ("{{ d | date(format='dd/MM/yyyy', timeZone='Pacific/Auckland') }}", "09/09/2013", "named-arguments"),
    (
        "{{ '08/09/2013 16:19' | date('iso_sec', existingFormat='dd/MM/yyyy HH:mm') }}",
        "2013-09-08T16:19:00Z",
        "existingFormat",
    ),
    (
        "{{ '2013-09-08 16:19:12' | date('iso_sec', existingFormat='sql_seq') }}",
        "2013-09-08T16:19:12Z",
        "existingFormat-named",
    ),
    ("{{ 1378657152 | date('iso_sec') }}", "2013-09-08T16:19:12Z", "epoch-seconds"),
    ("{{ a_date | date('iso_sec') }}", "2024-03-10T12:00:00Z", "date-is-noon"),
    ("{{ a_datetime | date('iso_sec', timeZone='Europe/Paris') }}", "2024-03-10T09:30:00+01:00", "datetime"),
    ("{{ '2013-09-08T16:19:12+02:00' | date('iso_sec') }}", "2013-09-08T14:19:12Z", "offset-input"),
    ("{{ d | dateAdd(-1, 'DAYS', format='iso_sec') }}", "2013-09-07T16:19:12Z", "dateAdd-days"),
    ("{{ d | dateAdd(90, 'MINUTES', 'HH:mm') }}", "17:49", "dateAdd-minutes"),
    ("{{ '2024-01-31T10:00:00Z' | dateAdd(1, 'MONTHS', 'yyyy-MM-dd') }}", "2024-02-29", "dateAdd-month-end"),
    (
        "{{ '2024-03-30T12:00:00+01:00' | dateAdd(1, 'DAYS', 'iso_sec', timeZone='Europe/Paris') }}",
        "2024-03-31T12:00:00+02:00",
        "dateAdd-dst",
    ),
    ("{{ d | timestamp }}", "1378657152", "timestamp"),
    ("{{ d | timestampMicro }}", "1378657152123456", "timestampMicro"),
    ("{{ inputs.date | timestampNano }}", "1378657152123456789", "timestampNano"),
    (
        "{{ '2013-09-08 18:19' | timestamp(timeZone='Europe/Paris', existingFormat='yyyy-MM-dd HH:mm') }}",
        "1378657140",
        "timestamp-zone",
    ),
]


@pytest.mark.parametrize(
    ("source", "expected"), [case[:2] for case in DATE_CASES], ids=[c[2] for c in DATE_CASES]
)
def test_date_filters(source: str, expected: str) -> None:
    assert r(DATE + source) == expected


def test_timestamp_is_a_number_and_the_others_strings() -> None:
    assert render_typed("{{ 0 | timestamp }}", {}) == 0
    assert render_typed("{{ 1 | timestampMicro }}", {}) == "1000000"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'not a date' | date }}", "could not be parsed"),
        ("{{ '2013-09-08' | date(timeZone='Mars/Olympus') }}", "Unknown time-zone ID: Mars/Olympus"),
        ("{{ '2013-09-08' | date('yyyy-bb') }}", "Unknown pattern letter: b"),
        ("{{ '2013-09-08' | dateAdd(1, 'FORTNIGHTS') }}", "Unsupported unit: FORTNIGHTS"),
        ("{{ '2013-09-08' | date(timeZone='../../etc/passwd') }}", "invalid format"),
    ],
    ids=["bad-input", "bad-zone", "bad-pattern", "bad-unit", "zone-path"],
)
def test_date_errors_are_clear(source: str, message: str) -> None:
    with pytest.raises(TemplateRuntimeError, match=re.escape(message)):
        r(source)


# -- other filters ------------------------------------------------------------------------------

FILTER_CASES = [
    ("{{ 'this is a long sentence.' | abbreviate(7) }}", "this...", "abbreviate"),
    ("{{ -7 | abs }} {{ -7.5 | abs }}", "7 7.5", "abs"),
    ("{{ 'test' | base64encode }}", "dGVzdA==", "base64encode"),
    ("{{ 'dGVzdA==' | base64decode }}", "test", "base64decode"),
    ("{{ 'article title' | capitalize }}", "Article title", "capitalize"),
    ("{{ inputs.empty | default('fallback') }}", "fallback", "default-null"),
    ("{{ missing.deep | default('fallback') }}", "fallback", "default-undefined"),
    (
        "{{ '' | default('fallback') }} {{ [] | default('x') }} {{ 0 | default(1) }}",
        "fallback x 0",
        "default-empty",
    ),
    ("{{ items | first }} {{ 'abc' | first }}", "3 a", "first"),
    ("{{ items | last }} {{ 'abc' | last }}", "2 c", "last"),
    ("{{ items | join(', ') }} {{ [1, null] | join }}", "3, 1, 2 1null", "join"),
    (
        "{{ items | length }} {{ 'abc' | length }} {{ mapping | length }} {{ null | length }}",
        "3 3 2 0",
        "length",
    ),
    ("{{ 'HeLLo' | lower }}", "hello", "lower"),
    ("{{ 'HeLLo' | upper }}", "HELLO", "upper"),
    ("{{ [1, 2] | merge([3]) }} {{ {'a': 1} | merge({'a': 2, 'b': 3}) }}", '[1,2,3] {"a":2,"b":3}', "merge"),
    ("{{ items | reverse }} {{ 'abc' | reverse }}", "[2,1,3] cba", "reverse"),
    ("{{ items | rsort }}", "[3,2,1]", "rsort"),
    ("{{ items | sort }} {{ ['b', 'a'] | sort }}", '[1,2,3] ["a","b"]', "sort"),
    ("{{ items | slice(1, 3) }} {{ 'abcdef' | slice(2) }}", "[1,2] cdef", "slice"),
    ("{{ 'a,b,,c,,' | split(',') }}", '["a","b","","c"]', "split"),
    ("{{ 'a1b2c3' | split('\\\\d', 2) }}", '["a","b2c3"]', "split-regex-limit"),
    ("{{ 'article title' | title }} {{ 'mIxed cAse' | title }}", "Article Title MIxed CAse", "title"),
    ("{{ '  padded \\n' | trim }}|", "padded \\n|", "trim"),
    ("{{ 'The string ü@foo-bar' | urlencode }}", "The+string+%C3%BC%40foo-bar", "urlencode"),
    ("{{ 'The+string+%C3%BC%40foo-bar' | urldecode }}", "The string ü@foo-bar", "urldecode"),
    ("{{ 'hello' | md5 }}", "5d41402abc4b2a76b9719d911017c592", "md5"),
    ("{{ 'hello' | sha1 }}", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", "sha1"),
    ("{{ 'hello' | sha256 }}", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", "sha256"),
    (
        "{{ 'hello' | sha512 }}",
        "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7"
        "2323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
        "sha512",
    ),
    (
        "{{ mapping | toJson }} {{ mapping | toJson(includeNulls=true) }}",
        '{"a":1} {"a":1,"b":null}',
        "toJson",
    ),
    ("{{ mapping | json }} {{ null | json }}", '{"a":1} null', "json-filter"),
    (
        "{{ {'a': 1, 'my-key': [1.5, 'x', null, true]} | toIon }}",
        "{a:1,'my-key':[1.5e0,\"x\",null,true]}",
        "toIon",
    ),
    (
        "{{ {'a': [1, 2], 'b': 'true', 'c': null} | yaml }}",
        'a:\n  - 1\n  - 2\nb: "true"\nc: null\n',
        "yaml-filter",
    ),
    ("{{ 'line1\nline2' | indent(2) }}", "line1\n  line2", "indent"),
    ("{{ 'line1\nline2' | nindent(2, '-') }}", "\n--line1\n--line2", "nindent"),
    ("{{ [1, 2, 3, 4, 5] | chunk(2) }}", "[[1,2],[3,4],[5]]", "chunk"),
    ("{{ [[1, 2], [3], 4] | flatten }}", "[1,2,3,4]", "flatten"),
    ("{{ mapping | keys }} {{ ['x', 'y'] | keys }}", '["a","b"] [0,1]', "keys"),
    ("{{ {'a': 1, 'b': 'x'} | values }}", '[1,"x"]', "values"),
    (
        "{{ 'x' | className }} {{ 1 | className }} {{ 1.5 | className }} {{ items | className }}",
        "java.lang.String java.lang.Long java.lang.Double java.util.ArrayList",
        "className",
    ),
    ("{{ '42' | number('INT') + 1 }} {{ '4.5' | number }} {{ '12' | number }}", "43 4.5 12", "number"),
    ("{{ '0.1' | number('BIGDECIMAL') + ('0.2' | number('BIGDECIMAL')) }}", "0.3", "number-bigdecimal"),
    (
        "{{ '1.5' | number('DOUBLE') * 2 }} {{ '9000000000' | number('LONG') }}",
        "3.0 9000000000",
        "number-types",
    ),
    (
        "{{ 1234567.891 | numberFormat('#,##0.00') }} {{ 0.5 | numberFormat('0.00') }}",
        "1,234,567.89 0.50",
        "numberFormat",
    ),
    ("{{ 3.14159 | numberformat('#.##') }} {{ 1234.5678 | numberFormat }}", "3.14 1,234.568", "numberformat"),
    (
        "{{ 0.125 | numberFormat('#.##') }} {{ 0.42 | numberFormat('#%') }}",
        ".12 42%",
        "numberFormat-half-even",
    ),
    ("{{ \"it's\" | escapeChar('single') }}", "it\\'s", "escapeChar-single"),
    ("{{ 'say \"hi\"' | escapeChar('double') }}", 'say \\"hi\\"', "escapeChar-double"),
    ("{{ \"it's\" | escapeChar('shell') }}", "it'\\''s", "escapeChar-shell"),
    ("{{ 'Hello' | replace({'l': 'L', 'H': 'J'}) }}", "JeLLo", "replace"),
    (
        "{{ 'John Smith' | replace({'(\\\\w+) (\\\\w+)': '$2, $1'}, regexp=true) }}",
        "Smith, John",
        "replace-regexp",
    ),
    ("{{ {'a': 'x1', 'b': ['y1', 2]} | replace({'1': '!'}) }}", '{"a":"x!","b":["y!","2"]}', "replace-map"),
    ("{{ 'Hello World! Ça va_bien' | slugify }}", "hello-world-ca-va-bien", "slugify"),
    (
        "{{ 'kestra.io' | startsWith('kestra') }} {{ 'kestra.io' | startsWith('io') }}",
        "true false",
        "startsWith",
    ),
    ("{{ 'kestra.io' | endsWith('.io') }}", "true", "endsWith"),
    ("{{ 'a.b.c' | substringBefore('.') }} {{ 'abc' | substringBefore('x') }}", "a abc", "substringBefore"),
    ("{{ 'a.b.c' | substringBeforeLast('.') }}", "a.b", "substringBeforeLast"),
    ("{{ 'a.b.c' | substringAfter('.') }} [{{ 'abc' | substringAfter('x') }}]", "b.c []", "substringAfter"),
    ("{{ 'a.b.c' | substringAfterLast('.') }}", "c", "substringAfterLast"),
    ("{{ nested | jq('.a.b[]') }}", "[1,2]", "jq"),
    ("{{ nested | jq('.a.b | length') | first }}", "2", "jq-first"),
    (
        '{{ \'{"items": [{"id": 1}, {"id": 2}]}\' | jq(\'.items[] | select(.id > 1) | .id\') }}',
        "[2]",
        "jq-string",
    ),
    ("{{ nested | jq('.a | keys') }} {{ nested | jq('.missing') }}", '[["b"]] [null]', "jq-keys"),
]


@pytest.mark.parametrize(
    ("source", "expected"), [case[:2] for case in FILTER_CASES], ids=[c[2] for c in FILTER_CASES]
)
def test_filters(source: str, expected: str) -> None:
    assert r(source) == expected


@pytest.mark.parametrize(
    "name",
    sorted(set(FILTERS) - {"default", "length", "json", "toJson", "yaml", "toIon"}),
)
def test_filters_give_null_for_null(name: str) -> None:
    arguments = {
        "abbreviate": "(3)",
        "chunk": "(2)",
        "dateAdd": "(1, 'DAYS')",
        "escapeChar": "('single')",
        "indent": "(2)",
        "nindent": "(2)",
        "jq": "('.')",
        "replace": "({'a': 'b'})",
        "split": "(',')",
        "startsWith": "('a')",
        "endsWith": "('a')",
        "substringBefore": "('.')",
        "substringBeforeLast": "('.')",
        "substringAfter": "('.')",
        "substringAfterLast": "('.')",
    }
    assert render_typed(f"{{{{ null | {name}{arguments.get(name, '')} }}}}", {}) is None


@pytest.mark.parametrize("name", sorted(FILTERS), ids=sorted(FILTERS))
def test_filters_fail_on_undefined_input(name: str) -> None:
    if name == "default":
        assert render("{{ missing | default('x') }}", {}) == "x"
        return
    with pytest.raises(UndefinedError, match="Unable to find `missing`"):
        render(f"{{{{ missing | {name} }}}}", {})


def test_serializers_of_null() -> None:
    assert render_typed("{{ null | toJson }}|{{ null | yaml }}|{{ null | toIon }}", {}) == "null|null|null"


def test_typed_filters_keep_native_values() -> None:
    assert render_typed("{{ nested | jq('.a.b[]') }}", CONTEXT) == [1, 2]
    assert render_typed("{{ '42' | number('INT') }}", {}) == 42
    assert render_typed("{{ [[1], [2]] | flatten }}", {}) == [1, 2]
    assert render_typed("{{ 'a' | startsWith('a') }}", {}) is True


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'x' | number('INT') }}", "'x' is not a valid INT"),
        ("{{ '3000000000' | number('INT') }}", "is not a valid INT"),
        ("{{ [1, 2] | slice(1, 5) }}", "toIndex must be smaller than or equal to the length"),
        ("{{ 'x' | escapeChar('nope') }}", "either 'single', 'double', or 'shell'"),
        ("{{ 'x' | chunk(0) }}", "can only be applied to lists"),
        ("{{ 'x' | values }}", "'values' filter can only be applied to Map"),
        ("{{ {'a': 1} | jq('.a | foo') }}", "jq: foo/0 is not defined"),
        ("{{ 'not json' | jq('.') }}", "Unable to parse jq value"),
        ("{{ 1 | md5 }}", "needs a string to hash"),
        ("{{ 'x' | indent(-1) }}", "positive integer"),
        ("{{ ['a', 1] | sort }}", "same comparable type"),
    ],
    ids=[
        "number",
        "number-int-range",
        "slice",
        "escapeChar",
        "chunk",
        "values",
        "jq-unknown",
        "jq-input",
        "md5",
        "indent",
        "sort",
    ],
)
def test_filter_errors_are_clear(source: str, message: str) -> None:
    with pytest.raises(TemplateRuntimeError, match=re.escape(message)):
        r(source)


# -- tests --------------------------------------------------------------------------------------

TEST_CASES = [
    ("{{ '{\"a\": 1}' is json }} {{ 'nope' is json }} {{ mapping is json }}", "true false true", "json"),
    ("{{ inputs.empty is null }} {{ inputs.name is null }}", "true false", "null"),
    (
        "{{ '' is empty }} {{ ' ' is empty }} {{ [] is empty }} {{ {} is empty }} {{ 'x' is empty }}",
        "true true true true false",
        "empty",
    ),
    ("{{ 4 is even }} {{ 3 is even }} {{ -2 is even }}", "true false true", "even"),
    ("{{ 3 is odd }} {{ 4 is odd }} {{ -3 is odd }}", "true false true", "odd"),
    (
        "{{ items is iterable }} {{ 'abc' is iterable }} {{ mapping is iterable }}",
        "true false false",
        "iterable",
    ),
    ("{{ mapping is map }} {{ items is map }}", "true false", "map"),
    (
        "{{ inputs.name is defined }} {{ inputs.empty is defined }} {{ nope.deep is defined }}",
        "true false false",
        "defined",
    ),
    ("{{ inputs.name is not null }} {{ 'x' is not empty }}", "true true", "is-not"),
]


@pytest.mark.parametrize(
    ("source", "expected"), [case[:2] for case in TEST_CASES], ids=[c[2] for c in TEST_CASES]
)
def test_tests(source: str, expected: str) -> None:
    assert r(source) == expected


# -- operators ----------------------------------------------------------------------------------

OPERATOR_CASES = [
    (
        "{{ missing ?? 'a' }} {{ inputs.empty ?? 'b' }} {{ inputs.name ?? 'c' }}",
        "a b World",
        "null-coalescing",
    ),
    ("{{ missing ??? 'a' }}|{{ inputs.empty ??? 'b' }}", "a|", "undefined-coalescing"),
    ("{{ inputs.count > 3 ? 'big' : 'small' }}", "big", "ternary"),
    ("{{ true and false }} {{ true or false }} {{ not true }}", "false true false", "logic"),
    (
        "{{ 1 == 1 }} {{ 1 != 1 }} {{ 1 < 2 }} {{ 1 > 2 }} {{ 2 <= 2 }} {{ 2 >= 3 }}",
        "true false true false true false",
        "comparisons",
    ),
    (
        "{{ items contains 1 }} {{ 'kestra' contains 'str' }} {{ mapping contains 'a' }}",
        "true true true",
        "contains",
    ),
    ("{{ inputs.name is null }} {{ inputs.name is not null }}", "false true", "is"),
    ("{{ 1..3 }} {{ 'a'..'c' }}", '[1,2,3] ["a","b","c"]', "range"),
    (
        "{{ 1 + 2 }} {{ 5 - 7 }} {{ 3 * 4 }} {{ 7 / 2 }} {{ 7.0 / 2 }} {{ -7 % 3 }}",
        "3 -2 12 3 3.5 -1",
        "math",
    ),
    ("{{ 'a' ~ null ~ 1 ~ true }}", "a1true", "concat"),
    ('{{ "Hello #{inputs.name}!" }}', "Hello World!", "interpolation"),
]


@pytest.mark.parametrize(
    ("source", "expected"), [case[:2] for case in OPERATOR_CASES], ids=[c[2] for c in OPERATOR_CASES]
)
def test_operators(source: str, expected: str) -> None:
    assert r(source) == expected


# -- completeness -------------------------------------------------------------------------------

KESTRA_FUNCTIONS = {
    "now",
    "secret",
    "kv",
    "read",
    "fileURI",
    "fileSize",
    "fromJson",
    "json",
    "yaml",
    "fromIon",
    "render",
    "renderOnce",
    "currentEachOutput",
    "errorLogs",
    "encrypt",
    "decrypt",
    "uuid",
    "id",
    "randomInt",
    "printContext",
    "fetchContext",
    "range",
    "max",
    "min",
}
KESTRA_FILTERS = {
    "date",
    "dateAdd",
    "timestamp",
    "timestampMicro",
    "timestampNano",
    "jq",
    "toJson",
    "json",
    "toIon",
    "yaml",
    "indent",
    "nindent",
    "chunk",
    "flatten",
    "keys",
    "values",
    "className",
    "number",
    "numberFormat",
    "escapeChar",
    "replace",
    "slugify",
    "startsWith",
    "endsWith",
    "substringBefore",
    "substringBeforeLast",
    "substringAfter",
    "substringAfterLast",
    "urldecode",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "abbreviate",
    "abs",
    "base64encode",
    "base64decode",
    "capitalize",
    "default",
    "first",
    "last",
    "join",
    "length",
    "lower",
    "upper",
    "merge",
    "reverse",
    "rsort",
    "sort",
    "slice",
    "split",
    "title",
    "trim",
    "urlencode",
}
KESTRA_TESTS = {"json", "null", "empty", "even", "odd", "iterable", "map", "defined"}


def test_catalog_has_every_kestra_name() -> None:
    assert set(FUNCTIONS) >= KESTRA_FUNCTIONS
    assert set(FILTERS) >= KESTRA_FILTERS
    assert set(TESTS) >= KESTRA_TESTS


def _all_sources() -> str:
    cases = FUNCTION_CASES + DATE_CASES + FILTER_CASES + TEST_CASES
    return "\n".join(case[0] for case in cases)


def test_every_catalog_entry_has_a_case() -> None:
    sources = _all_sources()
    used_functions = set(re.findall(r"(\w+)\(", sources))
    used_filters = set(re.findall(r"\|\s*(\w+)", sources))
    used_tests = set(re.findall(r"\bis (?:not )?(\w+)", sources))
    assert set(FUNCTIONS) - used_functions <= {"encrypt", "decrypt"}  # covered above, need `cryptography`
    assert set(FILTERS) - used_filters == set()
    assert set(TESTS) - used_tests == set()
