"""WebFetch against a real HTTP server on 127.0.0.1: permission rules (ask / allow / deny by
domain), HTML to markdown, the download and text caps, redirects (same host followed, another host
reported), no API key on the wire; in process (real SDK, fake Messages API) and through `claw -p`."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.agent.loop import Agent
from claw_lsp.tools import web
from claw_lsp.tools.web import normalize_url, permitted_redirect
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.unit.test_cli import KEY, claw, result_of
from tests.unit.test_loop import collect
from tests.unit.test_loop_sdk import make_agent, tool_results

__all__ = ["make_agent"]  # the fixture, used by name

PAGE = """<!doctype html><html><head><title>Docs</title><style>body{color:red}</style>
<script>alert("no")</script></head><body><nav><a href="/">Home</a></nav>
<h1>Install guide</h1><p>Run <code>pip install claw</code> and then <b>restart</b>.</p>
<ul><li>first step</li><li>second step</li></ul><pre><code>claw --version</code></pre></body></html>"""


@dataclass
class Site:
    """A small web site on 127.0.0.1 (a real HTTP server in a thread) that records its requests."""

    port: int = 0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def send(self, status: int, body: bytes, ctype: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state.requests.append((self.path, dict(self.headers.items())))
            if self.path == "/docs":
                self.send(200, PAGE.encode(), "text/html; charset=utf-8")
            elif self.path == "/big":
                self.send(200, b"<p>" + b"word " * 20_000 + b"</p>", "text/html")
            elif self.path == "/data.json":
                self.send(200, json.dumps({"version": "1.2.3"}).encode(), "application/json")
            elif self.path == "/moved":
                self.send(301, b"", "text/plain", Location="/docs")
            elif self.path == "/elsewhere":
                self.send(302, b"", "text/plain", Location=f"http://localhost:{state.port}/docs")
            elif self.path == "/blob":
                self.send(200, b"\x00\x01\x02" * 10, "application/octet-stream")
            else:
                self.send(404, b"<h1>Not found</h1>", "text/html")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def fetch_turns(fake_api: FakeMessagesAPI, url: str, prompt: str = "How do I install it?") -> None:
    fake_api.queue(
        reply(tool_use("WebFetch", {"url": url, "prompt": prompt}, id="toolu_web")),
        reply(text("Done.")),
    )


def result_text(fake_api: FakeMessagesAPI) -> tuple[str, bool]:
    (result,) = tool_results(fake_api.requests[1])
    content = result["content"]
    body = content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
    return body, bool(result.get("is_error"))


async def test_default_mode_asks_and_a_refusal_fetches_nothing(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, site: Site
) -> None:
    fetch_turns(fake_api, site.url("/docs"))
    agent = make_agent(permissionMode="default")
    _, finished = await collect(agent, "read the docs")
    assert finished.stop_reason == "end_turn", finished.error
    (asked,) = agent.prompter.asked  # type: ignore[attr-defined]
    assert asked.tool_name == "WebFetch" and asked.subject == "domain:127.0.0.1"
    assert asked.suggested_rule == "WebFetch(domain:127.0.0.1)"
    body, is_error = result_text(fake_api)
    assert is_error and "denied" in body
    assert site.requests == []


async def test_allow_rule_fetches_and_html_comes_back_as_markdown(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, site: Site
) -> None:
    fetch_turns(fake_api, site.url("/docs"))
    agent = make_agent(permissionMode="default", permissions={"allow": ["WebFetch(domain:127.0.0.1)"]})
    _, finished = await collect(agent, "read the docs")
    assert finished.stop_reason == "end_turn", finished.error
    assert agent.prompter.asked == []  # type: ignore[attr-defined]
    body, is_error = result_text(fake_api)
    assert not is_error, body
    assert "# Install guide" in body
    assert "Run `pip install claw` and then **restart**." in body
    assert "- first step\n- second step" in body
    assert "claw --version" in body and "Prompt: How do I install it?" in body
    assert "alert" not in body and "color:red" not in body and "<p>" not in body
    # The request carried no credentials of any kind.
    ((path, headers),) = site.requests
    assert path == "/docs"
    lowered = {k.lower(): v for k, v in headers.items()}
    assert not {"authorization", "x-api-key", "cookie"} & set(lowered)
    assert KEY not in json.dumps(headers) and "test-key" not in json.dumps(headers)


async def test_deny_rule_refuses_even_in_bypass_mode(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, site: Site
) -> None:
    fetch_turns(fake_api, site.url("/docs"))
    agent = make_agent(
        permissionMode="bypassPermissions", permissions={"deny": ["WebFetch(domain:127.0.0.1)"]}
    )
    await collect(agent, "read the docs")
    body, is_error = result_text(fake_api)
    assert is_error and "denied by the rule WebFetch(domain:127.0.0.1)" in body
    assert site.requests == []


async def test_a_rule_for_another_domain_does_not_allow_this_one(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, site: Site
) -> None:
    fetch_turns(fake_api, site.url("/docs"))
    agent = make_agent(permissionMode="default", permissions={"allow": ["WebFetch(domain:example.com)"]})
    await collect(agent, "read the docs")
    assert len(agent.prompter.asked) == 1  # type: ignore[attr-defined]
    assert site.requests == []


async def test_caps_hold_for_download_and_returned_text(
    make_agent: Callable[..., Agent],
    fake_api: FakeMessagesAPI,
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(web, "MAX_DOWNLOAD_BYTES", 5_000)
    fetch_turns(fake_api, site.url("/big"))
    agent = make_agent(permissionMode="bypassPermissions")
    await collect(agent, "read it")
    body, is_error = result_text(fake_api)
    assert not is_error and "the download stopped at 5000 bytes" in body
    assert body.count("word") < 1_000

    monkeypatch.setattr(web, "MAX_DOWNLOAD_BYTES", 10 * 1024 * 1024)
    monkeypatch.setattr(web, "MAX_MARKDOWN_CHARS", 300)
    fake_api.requests.clear()
    fetch_turns(fake_api, site.url("/big"))
    await collect(agent, "read it again")
    body, _ = result_text(fake_api)
    content = body.split("\n\n", 1)[1]
    assert len(content) == 300 and "characters cut at the end" in body


async def test_same_host_redirect_is_followed_another_host_is_reported(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, site: Site
) -> None:
    fetch_turns(fake_api, site.url("/moved"))
    agent = make_agent(permissionMode="bypassPermissions")
    await collect(agent, "read it")
    body, _ = result_text(fake_api)
    assert "# Install guide" in body and f"Fetched {site.url('/docs')}" in body

    fake_api.requests.clear()
    site.requests.clear()
    fetch_turns(fake_api, site.url("/elsewhere"), prompt="Summarise")
    await collect(agent, "read the other one")
    body, is_error = result_text(fake_api)
    target = site.url("/docs", host="localhost")
    assert not is_error
    assert body.startswith("REDIRECT DETECTED: The URL redirects to a different host.")
    assert f"Redirect URL: {target}" in body and "Status: 302 Found" in body
    assert f'- url: "{target}"' in body and '- prompt: "Summarise"' in body
    assert [p for p, _ in site.requests] == ["/elsewhere"]  # not followed


async def test_errors_json_and_binary(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, site: Site
) -> None:
    agent = make_agent(permissionMode="bypassPermissions")
    for path, expect_error, expected in [
        ("/nope", True, "status code 404"),
        ("/data.json", False, '{"version": "1.2.3"}'),
        ("/blob", True, "binary content"),
    ]:
        fake_api.requests.clear()
        fetch_turns(fake_api, site.url(path))
        await collect(agent, f"fetch {path}")
        body, is_error = result_text(fake_api)
        assert is_error == expect_error and expected in body, (path, body)


def test_urls_are_checked_and_upgraded_except_for_this_machine() -> None:
    assert normalize_url("http://example.com/a?b=1") == "https://example.com/a?b=1"
    assert normalize_url("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"
    assert normalize_url("http://localhost/x") == "http://localhost/x"
    for bad in ("ftp://example.com/", "file:///etc/passwd", "https://user:pw@example.com/", "example.com"):
        with pytest.raises(Exception, match=r"URL|user name"):
            normalize_url(bad)
    assert permitted_redirect("https://example.com/a", "https://www.example.com/b")
    assert not permitted_redirect("https://example.com/a", "https://evil.com/b")
    assert not permitted_redirect("https://example.com/a", "http://example.com/b")
    assert not permitted_redirect("https://example.com/a", "https://example.com:8443/b")


# -- through the CLI ---------------------------------------------------------------------------


def _cli_fetch(ws: Path, fake_api: FakeMessagesAPI, url: str) -> tuple[dict[str, Any], str]:
    fake_api.queue(
        reply(tool_use("WebFetch", {"url": url, "prompt": "What does it say?"})),
        reply(text("Page: {{tool_result}}")),
    )
    proc = claw(ws, "-p", "fetch it", "--output-format", "json", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    return result_of(proc), fake_api.requests[-1].last_tool_result()


def test_cli_user_allow_rule_fetches_but_an_untrusted_project_rule_is_held_back(
    workspace: Path, fake_api: FakeMessagesAPI, site: Site, isolated_state: Path
) -> None:
    project = workspace / ".claw" / "settings.json"
    project.parent.mkdir()
    project.write_text(json.dumps({"permissions": {"allow": ["WebFetch(domain:127.0.0.1)"]}}))
    _, seen = _cli_fetch(workspace, fake_api, site.url("/docs"))
    assert "Permission denied" in seen and site.requests == []

    user = isolated_state / "XDG_CONFIG_HOME" / "claw" / "settings.json"
    user.parent.mkdir(parents=True)
    user.write_text(json.dumps({"permissions": {"allow": ["WebFetch(domain:127.0.0.1)"]}}))
    result, seen = _cli_fetch(workspace, fake_api, site.url("/docs"))
    assert "# Install guide" in seen and "# Install guide" in result["result"]
    assert [p for p, _ in site.requests] == ["/docs"]
