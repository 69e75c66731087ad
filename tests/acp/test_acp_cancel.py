"""session/cancel mid-stream and mid-permission: the prompt ends `cancelled` within a second, a
pending permission request counts as cancelled, and the transcript goes on (a follow-up prompt
works and the model sees a consistent conversation)."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import acp.schema as acp
import pytest

from tests.acp.harness import acp_agent
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import wait_until

pytestmark = pytest.mark.asyncio


def _roles_alternate(body: dict[str, object]) -> bool:
    roles = [m["role"] for m in body["messages"]]  # type: ignore[index, union-attr]
    return roles[0] == "user" and all(a != b for a, b in itertools.pairwise(roles))


async def test_cancel_mid_stream(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("word " * 400), chunk=5, delay=0.02), reply(text("Back again.")))
    async with acp_agent(workspace, fake_api.env()) as h:
        session_id = await h.new_session(workspace)
        prompt = asyncio.ensure_future(h.prompt(session_id, "talk a lot"))
        await wait_until(lambda: h.client.of("agent_message_chunk", session_id), what="the first chunk")
        cancelled_at = time.monotonic()
        await h.conn.cancel(session_id=session_id)
        result = await asyncio.wait_for(prompt, 5)
        assert result.stop_reason == "cancelled"
        assert time.monotonic() - cancelled_at < 1.0
        shown = h.client.agent_text(session_id)
        assert 0 < len(shown) < len("word " * 400)
        # The session goes on; the model sees what was shown and the interruption.
        again = await h.prompt(session_id, "continue")
        assert again.stop_reason == "end_turn"
        body = fake_api.wait_for_requests(2)[1].body
        assert _roles_alternate(body)
        flat = str(body["messages"])
        assert shown.strip()[:50] in flat and "[Request interrupted by user]" in flat


async def test_cancel_mid_permission(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(
        reply(tool_use("Bash", {"command": "touch never.txt"}, id="toolu_wait")), reply(text("ok"))
    )
    async with acp_agent(workspace, fake_api.env()) as h:
        release = asyncio.Event()

        async def slow_answer(_request: acp.RequestPermissionRequest) -> acp.RequestPermissionResponse:
            await release.wait()  # the user has not answered when the cancel comes
            return acp.RequestPermissionResponse(outcome=acp.DeniedOutcome(outcome="cancelled"))

        h.client.answer = slow_answer
        session_id = await h.new_session(workspace)
        prompt = asyncio.ensure_future(h.prompt(session_id, "make a file"))
        await asyncio.wait_for(h.client.permission_asked.wait(), 15)
        cancelled_at = time.monotonic()
        await h.conn.cancel(session_id=session_id)
        result = await asyncio.wait_for(prompt, 5)
        assert result.stop_reason == "cancelled"
        assert time.monotonic() - cancelled_at < 1.0
        release.set()  # the client answers the request as cancelled (ACP's rule); nothing breaks
        assert not (workspace / "never.txt").exists()
        finals = [u for u in h.client.of("tool_call_update", session_id) if u.status == "failed"]
        assert [u.tool_call_id for u in finals] == ["toolu_wait"]
        again = await h.prompt(session_id, "never mind")
        assert again.stop_reason == "end_turn"
        request = fake_api.wait_for_requests(2)[1]
        assert _roles_alternate(request.body)
        [answered] = [r for r in request.tool_results() if r.tool_use_id == "toolu_wait"]
        assert answered.is_error and "Cancelled" in answered.text
