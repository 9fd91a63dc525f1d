"""The HTTP probe against a real local HTTP server (urllib3 is never mocked).

Imports only the standard library, pytest, urllib3, check_echo (the probe) and pulse_echo:
`make test-urllib3-1.26` runs this file again in a virtual environment with
urllib3 1.26.x and pytest only, because older Lambda runtimes ship that line.
"""

from __future__ import annotations

import gzip
import ipaddress
import socket
import sys
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest
import urllib3
from check_echo import body as body_module
from check_echo import targets as targets_module
from check_echo.body import excerpt, first_difference
from check_echo.probe import ProbeConfig, probe
from check_echo.targets import is_public_address
from pulse_echo.pulse import Pulse
from pulse_echo.settings import ConfigError

# Local servers are on 127.0.0.1, so these tests allow private targets unless
# they are about the refusal itself.
CONFIG = ProbeConfig(
    connect_timeout=1.0,
    read_timeout=0.5,
    max_redirects=3,
    max_body_bytes=1024,
    allow_private_targets=True,
)
PUBLIC_ONLY = ProbeConfig(connect_timeout=1.0, read_timeout=0.5, max_body_bytes=1024)
BOMB_BYTES = 50 * 1024 * 1024
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"  # magic, deflate, no flags, mtime, unix


def write_response(
    status: int, headers: dict[str, str], chunks: list[bytes], pause: float = 0.0
) -> Callable[[BaseHTTPRequestHandler], None]:
    """A route handler that sends headers, then each chunk with ``pause`` seconds between."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True  # the body ends when the connection does
        try:
            request.send_response(status)
            for name, value in headers.items():
                request.send_header(name, value)
            request.end_headers()
            for chunk in chunks:
                request.wfile.write(chunk)
                request.wfile.flush()
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass

    return handler


def compressed(data_size: int, wbits: int) -> bytes:
    """``data_size`` zero bytes compressed with ``wbits`` (gzip, zlib or raw deflate), 1 MiB at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(data_size // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "deflate-raw": -zlib.MAX_WBITS}


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """50 MiB of zeros in each encoding: about 50 KiB on the wire each."""
    return {name: compressed(BOMB_BYTES, wbits) for name, wbits in ENCODINGS.items()}


@pytest.fixture
def refused_port() -> int:
    """A local port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unaccepting_port() -> Iterator[int]:
    """A port whose listen backlog is full, so the kernel drops new SYNs: connects hang (Linux)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    time.sleep(0.05)
    try:
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


# --- success and the exact comparison ---


def test_matching_body_is_success_with_status_and_elapsed_ms(http_server):
    url = http_server.route("/health", body=b"ok")

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.ok is True
    assert result.reason is None
    assert result.http_status == 200
    assert isinstance(result.elapsed_ms, int)
    assert result.elapsed_ms >= 0
    assert result.expected_excerpt is None
    assert result.received_excerpt is None


def test_probe_identifies_itself_and_asks_only_for_encodings_it_decodes(http_server):
    url = http_server.route("/health", body=b"ok")

    probe(Pulse(url, "ok"), CONFIG)

    (request,) = http_server.requests_to("/health")
    assert request.method == "GET"
    assert request.headers["User-Agent"].startswith("pulse-echo/")
    assert request.headers["User-Agent"].endswith(" check_echo")
    assert request.headers["Accept-Encoding"] == "gzip, deflate"


def test_any_2xx_status_with_the_body_is_success(http_server):
    url = http_server.route("/created", status=203, body=b"ok")

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.ok
    assert result.http_status == 203


def test_non_ascii_expected_body_is_compared_as_utf8(http_server):
    url = http_server.route("/jp", body="稼働中".encode())

    assert probe(Pulse(url, "稼働中"), CONFIG).ok


def test_no_whitespace_is_stripped_a_trailing_newline_is_a_wrong_body(http_server):
    url = http_server.route("/health", body=b"ok\n")

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.ok is False
    assert result.reason == "wrong_body"
    assert result.http_status == 200
    assert result.expected_excerpt == "ok"
    assert result.received_excerpt == "ok\\n"
    assert "at byte 2" in result.detail


def test_wrong_body_gives_short_escaped_excerpts_around_the_first_difference(http_server):
    expected = "x" * 500 + "status: ok"
    url = http_server.route("/health", body=("x" * 500 + "status: \x1bdown\t\\").encode())

    result = probe(Pulse(url, expected), CONFIG)

    assert result.reason == "wrong_body"
    assert "at byte 508" in result.detail
    assert result.expected_excerpt.startswith("…")
    assert result.expected_excerpt.endswith("status: ok")
    assert result.received_excerpt.endswith("status: \\x1bdown\\t\\\\")
    assert len(result.received_excerpt) < 100


def test_empty_expected_body_matches_an_empty_answer(http_server):
    url = http_server.route("/empty", status=204, body=b"")

    assert probe(Pulse(url, ""), CONFIG).ok


# --- status codes ---


def test_server_error_is_http_status_without_reading_the_body(http_server):
    # The 500's body is far over the cap: it must not turn into body_too_large.
    url = http_server.route("/health", status=500, body=b"x" * 100_000)

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.ok is False
    assert result.reason == "http_status"
    assert result.http_status == 500
    assert "HTTP 500" in result.detail


def test_not_found_is_http_status(http_server):
    result = probe(Pulse(http_server.url("/nowhere"), "ok"), CONFIG)

    assert (result.reason, result.http_status) == ("http_status", 404)


# --- pulse v2 match rules: contains, status, max_response_ms, status-only ---


def test_contains_all_texts_is_success_wherever_they_are(http_server):
    url = http_server.route("/json", body=b'{"status": "ok", "version": "1.2.3", "db": "up"}')

    result = probe(Pulse(url, contains=('"status": "ok"', '"db": "up"')), CONFIG)

    assert result.ok, result.detail
    assert "contains every text" in result.detail


def test_contains_miss_is_wrong_body_naming_the_missing_text(http_server):
    url = http_server.route("/json", body=b'{"status": "degraded", "db": "up"}')

    result = probe(Pulse(url, contains=('"db": "up"', '"status": "ok"')), CONFIG)

    assert (result.ok, result.reason, result.http_status) == (False, "wrong_body", 200)
    assert 'does not contain ""status": "ok""' in result.detail
    assert "of the" not in result.detail  # only one of the texts is missing
    assert result.expected_excerpt == '"status": "ok"'
    assert result.received_excerpt == '{"status": "degraded", "db": "up"}'


def test_contains_counts_every_missing_text_and_escapes_them(http_server):
    url = http_server.route("/health", body=b"all fine\n")

    result = probe(Pulse(url, contains=("line\none", "two", "fine")), CONFIG)

    assert result.reason == "wrong_body"
    assert 'does not contain "line\\none" (2 of the 3 texts are missing)' in result.detail
    assert result.expected_excerpt == "line\\none"
    assert result.received_excerpt == "all fine\\n"


def test_contains_is_compared_as_utf8_bytes(http_server):
    url = http_server.route("/jp", body="状態: 稼働中".encode())

    assert probe(Pulse(url, contains=("稼働中",)), CONFIG).ok
    assert probe(Pulse(url, contains=("停止",)), CONFIG).reason == "wrong_body"


def test_body_and_contains_together_must_both_hold(http_server):
    url = http_server.route("/health", body=b"ok")

    assert probe(Pulse(url, "ok", contains=("o",)), CONFIG).ok
    result = probe(Pulse(url, "ok", contains=("k", "fine")), CONFIG)
    assert result.reason == "wrong_body"
    assert '"fine"' in result.detail


def test_status_only_pulse_succeeds_on_any_2xx_without_reading_the_body(http_server):
    # 5 MB is far over the 1 KiB cap: a status-only probe never reads it.
    url = http_server.route("/big", status=204, body=b"x" * (5 * 1024 * 1024))

    result = probe(Pulse(url), CONFIG)

    assert result.ok, result.detail
    assert result.http_status == 204
    assert "status accepted" in result.detail


def test_status_only_probe_of_a_compression_bomb_holds_no_body(http_server, bombs):
    url = http_server.route("/bomb", body=bombs["gzip"], headers={"Content-Encoding": "gzip"})

    tracemalloc.start()
    try:
        result = probe(Pulse(url), CONFIG)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.ok
    assert peak < 2 * 1024 * 1024


def test_accepted_status_list_makes_a_401_the_healthy_answer(http_server):
    url = http_server.route("/private", status=401, body=b"login required")

    assert probe(Pulse(url, status=(401, 403)), CONFIG).ok
    assert probe(Pulse(url, status=(401,), contains=("login",)), CONFIG).ok
    result = probe(Pulse(url, status=(401,), body="welcome"), CONFIG)
    assert (result.reason, result.http_status) == ("wrong_body", 401)


def test_status_outside_the_accepted_list_stays_http_status_and_says_what_was_accepted(http_server):
    url = http_server.route("/open", status=200, body=b"ok")

    result = probe(Pulse(url, "ok", status=(401, 403)), CONFIG)

    assert (result.ok, result.reason, result.http_status) == (False, "http_status", 200)
    assert result.detail == f"HTTP 200 from {url} (the pulse accepts 401, 403)"


def test_accepted_error_status_with_a_bomb_body_is_still_bounded(http_server, bombs):
    url = http_server.route(
        "/bomb", status=503, body=bombs["deflate"], headers={"Content-Encoding": "deflate"}
    )

    tracemalloc.start()
    try:
        result = probe(Pulse(url, status=(503,), contains=("maintenance",)), CONFIG)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert (result.reason, result.http_status) == ("body_too_large", 503)
    assert peak < 2 * 1024 * 1024


def test_redirect_with_an_accepted_status_is_the_answer_not_followed(http_server):
    http_server.route("/new", body=b"ok")
    url = http_server.route("/old", status=301, headers={"Location": "/new"}, body=b"moved")

    result = probe(Pulse(url, status=(301,)), CONFIG)

    assert (result.ok, result.http_status) == (True, 301)
    assert http_server.requests_to("/new") == []
    assert probe(Pulse(url, status=(301,), body="moved"), CONFIG).ok
    followed = probe(Pulse(url, "ok"), CONFIG)
    assert (followed.ok, followed.http_status) == (True, 200)


def test_answer_later_than_max_response_ms_is_slow_and_says_both_numbers(http_server):
    url = http_server.route("/slow", body=b"ok", delay=0.2)

    result = probe(Pulse(url, "ok", max_response_ms=1), CONFIG)

    assert (result.ok, result.reason, result.http_status) == (False, "slow", 200)
    assert result.elapsed_ms >= 200
    assert f"answered in {result.elapsed_ms} ms" in result.detail
    assert "max_response_ms of 1 ms" in result.detail


def test_answer_within_max_response_ms_is_success(http_server):
    url = http_server.route("/fast", body=b"ok")

    assert probe(Pulse(url, "ok", max_response_ms=900_000), CONFIG).ok


def test_wrong_answer_that_is_also_slow_is_reported_as_the_wrong_answer(http_server):
    url = http_server.route("/slow", status=500, body=b"err", delay=0.2)
    assert probe(Pulse(url, "ok", max_response_ms=1), CONFIG).reason == "http_status"

    url = http_server.route("/slow-body", body=b"bad", delay=0.2)
    assert probe(Pulse(url, "ok", max_response_ms=1), CONFIG).reason == "wrong_body"


def test_no_answer_at_all_is_a_timeout_not_slow(http_server):
    url = http_server.route("/never", body=b"ok", delay=3.0)

    assert probe(Pulse(url, "ok", max_response_ms=1), CONFIG).reason == "timeout"


def test_a_pulse_without_url_is_not_probed():
    with pytest.raises(ValueError, match="without url"):
        probe(Pulse(), CONFIG)


# --- timeouts and network errors ---


def test_target_that_never_answers_is_a_read_timeout(http_server):
    url = http_server.route("/slow", body=b"ok", delay=3.0)

    started = time.monotonic()
    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.reason == "timeout"
    assert result.http_status is None
    assert "0.5 s" in result.detail
    assert time.monotonic() - started < 2.0


def test_target_that_stalls_in_the_middle_of_the_body_is_a_timeout(http_server):
    url = http_server.route(
        "/stall",
        handler=write_response(200, {"Content-Length": "10"}, [b"ok", b"more"], pause=3.0),
    )

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.reason == "timeout"
    assert result.http_status == 200


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux dropping SYNs to a full backlog")
def test_target_that_does_not_accept_the_connection_is_a_connect_timeout(unaccepting_port):
    config = ProbeConfig(connect_timeout=0.3, read_timeout=5.0, allow_private_targets=True)

    result = probe(Pulse(f"http://127.0.0.1:{unaccepting_port}/", "ok"), config)

    assert result.reason == "timeout"
    assert "connecting to" in result.detail


def test_refused_connection_is_a_connection_failure(refused_port):
    result = probe(Pulse(f"http://127.0.0.1:{refused_port}/health", "ok"), CONFIG)

    assert result.reason == "connection"
    assert "refused" in result.detail.lower()


@pytest.mark.parametrize("config", [CONFIG, PUBLIC_ONLY], ids=["urllib3-resolves", "probe-resolves"])
def test_name_that_does_not_resolve_is_dns(config):
    # .invalid is reserved (RFC 6761): it never resolves. With private targets
    # refused the probe resolves the name itself; otherwise urllib3 does.
    result = probe(Pulse("http://no-such-host.invalid/health", "ok"), config)

    assert result.reason == "dns"
    assert "no-such-host.invalid" in result.detail


def test_https_to_a_plain_http_port_is_a_tls_failure(http_server):
    http_server.route("/health", body=b"ok")

    result = probe(Pulse(f"https://127.0.0.1:{http_server.port}/health", "ok"), CONFIG)

    assert result.reason == "tls"


def test_body_shorter_than_its_content_length_is_a_connection_failure(http_server):
    # urllib3 2.x raises IncompleteRead here and 1.26 does not: same answer on both.
    url = http_server.route("/short", handler=write_response(200, {"Content-Length": "100"}, [b"ok"]))

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.reason == "connection"
    assert result.http_status == 200


def test_deadline_bounds_a_target_that_drips_bytes_slowly(http_server):
    # Each byte comes within the read timeout, so only the deadline stops it.
    url = http_server.route(
        "/drip", handler=write_response(200, {"Content-Length": "100"}, [b"x"] * 100, pause=0.1)
    )

    started = time.monotonic()
    result = probe(Pulse(url, "x" * 100), CONFIG, deadline=time.monotonic() + 0.5)

    assert result.reason == "timeout"
    assert "remaining time" in result.detail
    assert time.monotonic() - started < 1.5


# --- bounded body ---


def test_plain_body_over_the_cap_is_body_too_large(http_server):
    url = http_server.route("/big", body=b"x" * (5 * 1024 * 1024))

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.reason == "body_too_large"
    assert result.http_status == 200
    assert "1024 bytes" in result.detail


def test_body_of_exactly_the_cap_is_read_whole(http_server):
    url = http_server.route("/exact", body=b"y" * 1024)

    assert probe(Pulse(url, "y" * 1024), CONFIG).ok


def test_chunked_body_over_the_cap_is_body_too_large(http_server):
    chunk = b"4000\r\n" + b"z" * 0x4000 + b"\r\n"
    url = http_server.route(
        "/chunked", handler=write_response(200, {"Transfer-Encoding": "chunked"}, [chunk] * 100)
    )

    assert probe(Pulse(url, "ok"), CONFIG).reason == "body_too_large"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_compression_bomb_stops_at_the_cap_with_bounded_memory(http_server, bombs, encoding):
    header = "deflate" if encoding.startswith("deflate") else encoding
    url = http_server.route("/bomb", body=bombs[encoding], headers={"Content-Encoding": header})

    tracemalloc.start()
    try:
        result = probe(Pulse(url, "ok"), CONFIG)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.reason == "body_too_large"
    # 50 MiB decoded would be the unbounded case; the probe holds the cap plus a read chunk.
    assert peak < 2 * 1024 * 1024


@pytest.mark.parametrize("encoding", [*ENCODINGS, "x-gzip"])
def test_compressed_body_within_the_cap_is_decoded_and_compared(http_server, encoding):
    wbits = ENCODINGS.get(encoding, ENCODINGS["gzip"])
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    payload = compressor.compress(b"all good") + compressor.flush()
    header = "deflate" if encoding.startswith("deflate") else encoding
    url = http_server.route("/z", body=payload, headers={"Content-Encoding": header})

    assert probe(Pulse(url, "all good"), CONFIG).ok


def test_concatenated_gzip_members_are_all_decoded(http_server):
    url = http_server.route(
        "/z", body=gzip.compress(b"all ") + gzip.compress(b"good"), headers={"Content-Encoding": "gzip"}
    )

    assert probe(Pulse(url, "all good"), CONFIG).ok


def test_gzip_bomb_in_many_small_members_is_bounded(http_server):
    member = gzip.compress(bytes(1000))
    url = http_server.route("/z", body=member * 200, headers={"Content-Encoding": "gzip"})

    assert probe(Pulse(url, "ok"), CONFIG).reason == "body_too_large"


def test_unsupported_content_encoding_is_a_clear_failure(http_server):
    url = http_server.route("/br", body=b"\x0b\x01\x80ok\x03", headers={"Content-Encoding": "br"})

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.ok is False
    assert result.reason == "wrong_body"
    assert "'br'" in result.detail
    assert "cannot decode" in result.detail


def test_corrupt_gzip_body_is_a_clear_failure(http_server):
    url = http_server.route(
        "/z", body=GZIP_HEADER + b"\xff not deflate", headers={"Content-Encoding": "gzip"}
    )

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.reason == "wrong_body"
    assert "cannot decode the gzip body" in result.detail


# --- hostile and broken answers ---


def write_raw(data: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    """A route handler that writes ``data`` as the whole response, status line included, then closes."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True
        try:
            request.wfile.write(data)
            request.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    return handler


@pytest.mark.parametrize(
    "length", ["\u00b2", "1\u00b9", "-1", "0x2", " "], ids=["superscript", "1-sup", "neg", "hex", "space"]
)
def test_content_length_that_is_not_a_number_is_ignored_not_a_crash(http_server, length):
    # str.isdigit() is True for "²" (latin-1 0xB2) but int() refuses it: a server must not
    # be able to crash the probe, and with it every other record of the event.
    url = http_server.route("/cl", handler=write_response(200, {"Content-Length": length}, [b"ok"]))

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.ok, result.detail


def test_truncated_gzip_body_is_a_wrong_body_not_a_match(http_server):
    # The deflate data of "ok" is complete but the gzip trailer (CRC, size) never came:
    # without its end the body is not known to be "ok".
    url = http_server.route(
        "/z", handler=write_response(200, {"Content-Encoding": "gzip"}, [gzip.compress(b"ok")[:-8]])
    )

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.reason == "wrong_body"
    assert "truncated" in result.detail


def test_truncated_gzip_that_decodes_to_a_prefix_of_the_answer_is_a_wrong_body(http_server):
    data = gzip.compress(b"ok" + bytes(range(256)) * 4)
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    cut = next(n for n in range(len(data)) if decoder.copy().decompress(data[:n]) == b"ok")
    url = http_server.route("/z", handler=write_response(200, {"Content-Encoding": "gzip"}, [data[:cut]]))

    assert probe(Pulse(url, "ok"), CONFIG).reason == "wrong_body"


def test_deflate_body_cut_after_one_byte_does_not_match_an_empty_expectation(http_server):
    url = http_server.route("/d", handler=write_response(200, {"Content-Encoding": "deflate"}, [b"x"]))

    assert probe(Pulse(url, ""), CONFIG).reason == "wrong_body"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_empty_body_with_a_content_encoding_is_an_empty_body(http_server, encoding):
    # Judgment call: no bytes at all is an empty answer (a 204 often keeps the header),
    # not a truncated stream.
    url = http_server.route("/e", status=204, body=b"", headers={"Content-Encoding": encoding})

    assert probe(Pulse(url, ""), CONFIG).ok


def test_bytes_after_a_complete_gzip_member_are_ignored(http_server):
    url = http_server.route(
        "/z", body=gzip.compress(b"ok") + b"trailing garbage", headers={"Content-Encoding": "gzip"}
    )

    assert probe(Pulse(url, "ok"), CONFIG).ok


@pytest.mark.parametrize("encoding", ["gzip, gzip", "deflate, gzip", "zstd", "br", "compress"])
def test_encodings_the_probe_did_not_ask_for_are_refused_never_decoded_by_urllib3(http_server, encoding):
    # The probe asks for gzip and deflate only and reads with decode_content=False: urllib3
    # (which decodes br/zstd when their modules are installed) never decodes, unbounded.
    url = http_server.route("/x", body=gzip.compress(b"ok"), headers={"Content-Encoding": encoding})

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.reason == "wrong_body"
    assert "cannot decode" in result.detail


@pytest.mark.parametrize("status", [304, 199, 999])
def test_status_outside_2xx_and_redirects_is_http_status(http_server, status):
    url = http_server.route(
        "/s", handler=write_raw(f"HTTP/1.1 {status} Odd\r\nContent-Length: 0\r\n\r\n".encode())
    )

    result = probe(Pulse(url, ""), CONFIG)

    assert (result.reason, result.http_status) == ("http_status", status)


@pytest.mark.parametrize(
    "answer",
    [b"HTTP/1.1 abc Weird\r\n\r\n", b"ok\n", b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n"],
    ids=["bad-status", "http-0.9", "huge-header"],
)
def test_answer_that_is_not_http_is_a_connection_failure_naming_the_real_error(http_server, answer):
    # urllib3 1.26 first calls getresponse(buffering=True), catches the TypeError and
    # suppresses it as the context of the real error: the detail must not name it.
    url = http_server.route("/raw", handler=write_raw(answer))

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.reason == "connection"
    assert "buffering" not in result.detail


def test_internationalised_host_name_is_probed_without_the_idna_module(http_server, monkeypatch):
    # The Lambda runtimes ship no "idna" module: urllib3 then refuses a non-ASCII host
    # ("connection"). The probe sends the ASCII (IDNA, xn--) form, as browsers do.
    monkeypatch.setitem(sys.modules, "idna", None)  # "import idna" fails, as on Lambda
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host in ("xn--bcher-kva.example", b"xn--bcher-kva.example"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    http_server.route("/health", body=b"ok")

    result = probe(Pulse(f"http://B\u00fccher.example:{http_server.port}/health", "ok"), CONFIG)

    assert result.ok, result.detail
    assert "redirected" not in result.detail
    assert http_server.requests[0].headers["Host"] == f"xn--bcher-kva.example:{http_server.port}"


def test_host_name_that_is_not_valid_idna_is_a_dns_failure():
    result = probe(Pulse("http://" + "\u00fc" * 70 + ".example/", "ok"), CONFIG)

    assert result.reason == "dns"


# --- redirects ---


def test_one_redirect_is_followed_and_relative_location_resolved(http_server):
    http_server.route("/new/health", body=b"ok")
    url = http_server.route("/old/health", status=301, headers={"Location": "../new/health"}, body=b"")

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.ok
    assert result.http_status == 200
    assert "redirected to " + http_server.url("/new/health") in result.detail


def test_redirect_body_is_never_read(http_server, bombs):
    # A redirect carrying a gzip bomb and announcing 10 MB it never sends:
    # draining it would decompress 50 MiB or wait for bytes that never come.
    http_server.route("/target", body=b"ok")
    http_server.route(
        "/hop",
        handler=write_response(
            302,
            {
                "Location": http_server.url("/target"),
                "Content-Encoding": "gzip",
                "Content-Length": str(10_000_000),
            },
            [bombs["gzip"]],
            pause=5.0,
        ),
    )

    patient = ProbeConfig(read_timeout=3.0, max_body_bytes=1024, allow_private_targets=True)
    tracemalloc.start()
    try:
        started = time.monotonic()
        result = probe(Pulse(http_server.url("/hop"), "ok"), patient)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.ok
    assert elapsed < 1.5  # well under the read timeout: nothing waited for the unsent body
    assert peak < 2 * 1024 * 1024


def test_redirect_loop_is_too_many_redirects(http_server):
    url = http_server.route("/loop", status=302, headers={"Location": "/loop"}, body=b"")

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.reason == "too_many_redirects"
    assert result.http_status == 302
    assert len(http_server.requests_to("/loop")) == CONFIG.max_redirects + 1


def test_zero_redirects_allowed_refuses_the_first(http_server):
    http_server.route("/target", body=b"ok")
    url = http_server.route("/hop", status=307, headers={"Location": "/target"}, body=b"")
    config = ProbeConfig(read_timeout=0.5, max_redirects=0, allow_private_targets=True)

    assert probe(Pulse(url, "ok"), config).reason == "too_many_redirects"
    assert http_server.requests_to("/target") == []


@pytest.mark.parametrize(
    "location", ["ftp://example.com/health", "file:///etc/passwd", "mailto:ops@example.com"]
)
def test_redirect_to_a_non_http_url_is_not_followed(http_server, location):
    url = http_server.route("/hop", status=302, headers={"Location": location}, body=b"")

    result = probe(Pulse(url, "ok"), CONFIG)

    assert result.reason == "http_status"
    assert result.http_status == 302


def test_redirect_without_location_is_an_http_status_failure(http_server):
    url = http_server.route("/hop", status=302, body=b"")

    assert probe(Pulse(url, "ok"), CONFIG).reason == "http_status"


# --- private targets ---


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_target_is_refused_by_default_without_a_request(http_server, host):
    http_server.route("/health", body=b"ok")

    result = probe(Pulse(f"http://{host}:{http_server.port}/health", "ok"), ProbeConfig())

    assert result.ok is False
    assert result.reason == "private_target"
    # The operator's word first (the module input), the function's variable in parentheses.
    assert result.detail.endswith("set the module input allow_private_targets = true (ALLOW_PRIVATE_TARGETS)")
    assert http_server.requests == []


def test_private_target_is_probed_when_allowed(http_server):
    url = http_server.route("/health", body=b"ok")

    assert probe(Pulse(url, "ok"), ProbeConfig(allow_private_targets=True)).ok


def test_redirect_to_a_private_address_is_refused(http_server, monkeypatch):
    # Only 127.0.0.1 counts as public here, so the first hop passes the check
    # and the redirect's target, 127.0.0.2, must be refused before any request.
    real = targets_module.is_public_address
    monkeypatch.setattr(
        targets_module, "is_public_address", lambda address: str(address) == "127.0.0.1" or real(address)
    )
    url = http_server.route(
        "/hop", status=302, headers={"Location": f"http://127.0.0.2:{http_server.port}/x"}, body=b""
    )

    result = probe(Pulse(url, "ok"), PUBLIC_ONLY)

    assert result.reason == "private_target"
    assert "127.0.0.2" in result.detail
    assert [r.path for r in http_server.requests] == ["/hop"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # instance metadata
        "0.0.0.0",
        "224.0.0.251",  # multicast
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",  # instance metadata over IPv6
        "fec0::1",  # site-local
        "ff02::1",  # multicast
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_non_public_addresses_are_not_public(address):
    assert is_public_address(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_public(address):
    assert is_public_address(ipaddress.ip_address(address)) is True


# --- pure helpers and configuration ---


def test_excerpt_escapes_control_characters_backslashes_and_invalid_utf8():
    assert excerpt(b"ok\r\n\t\\ \x00\xff") == "ok\\r\\n\\t\\\\ \\x00\\xff"
    assert excerpt("稼働中".encode()) == "稼働中"


def test_excerpt_is_short_and_marks_cuts():
    data = b"a" * 1000 + b"B" + b"c" * 1000

    text = excerpt(data, 1000)

    assert text.startswith("…")
    assert text.endswith("…")
    assert "B" in text
    assert len(text) <= body_module.EXCERPT_BYTES + 2


def test_first_difference():
    assert first_difference(b"ok", b"ok") == 2
    assert first_difference(b"ok", b"ok\n") == 2
    assert first_difference(b"okay", b"oh") == 1
    assert first_difference(b"", b"x") == 0


def test_config_from_env_defaults(monkeypatch):
    for name in (
        "PROBE_CONNECT_TIMEOUT_SECONDS",
        "PROBE_READ_TIMEOUT_SECONDS",
        "PROBE_MAX_REDIRECTS",
        "PROBE_MAX_BODY_BYTES",
        "ALLOW_PRIVATE_TARGETS",
    ):
        monkeypatch.delenv(name, raising=False)

    assert ProbeConfig.from_env() == ProbeConfig(3.0, 5.0, 3, 65536, False)


def test_config_from_env_reads_every_variable(monkeypatch):
    monkeypatch.setenv("PROBE_CONNECT_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("PROBE_READ_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("PROBE_MAX_REDIRECTS", "0")
    monkeypatch.setenv("PROBE_MAX_BODY_BYTES", "10")
    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "true")

    assert ProbeConfig.from_env() == ProbeConfig(0.5, 2.0, 0, 10, True)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PROBE_CONNECT_TIMEOUT_SECONDS", "0"),
        ("PROBE_READ_TIMEOUT_SECONDS", "soon"),
        ("PROBE_MAX_REDIRECTS", "-1"),
        ("PROBE_MAX_BODY_BYTES", "0"),
        ("ALLOW_PRIVATE_TARGETS", "maybe"),
    ],
)
def test_invalid_config_names_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError, match=name):
        ProbeConfig.from_env()


def test_runs_on_the_installed_urllib3_line():
    # Both lines are exercised: .venv has 2.x, .venv-urllib3-1.26 has 1.26.x.
    assert urllib3.__version__.split(".")[0] in ("1", "2")
