"""Agent Skills through the real `claw` CLI and the real SDK against the fake Messages API: the
listing in the `Skill` tool's description, the body only after `Skill` is called, the skill
folder's files readable, and `allowed-tools` granted only for the user's skills or a trusted folder."""

from __future__ import annotations

import json
from pathlib import Path

from claw_lsp.agent.skills import expand_arguments, load_skills, tool_list
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.fakes.fixtures import trust
from tests.unit.test_cli import KEY, claw

MAKER = "description: Makes files\nallowed-tools: Bash(touch:*)"
MAKER_READ = "description: Makes files\nallowed-tools: Read, Bash(touch:*)"
BODY = "PDF-SKILL-BODY: extract the text with pdftotext, then summarise $ARGUMENTS"


def write_skill(base: Path, folder: str, frontmatter: str, body: str = BODY) -> Path:
    """Write `<base>/<folder>/SKILL.md`; return the skill's folder."""
    skill = base / folder
    skill.mkdir(parents=True, exist_ok=True)
    (skill / "SKILL.md").write_text(f"---\n{frontmatter}\n---\n\n{body}\n")
    return skill


def skill_tool_spec(body: dict) -> dict | None:
    return next((t for t in body.get("tools", []) if t["name"] == "Skill"), None)


def run(ws: Path, api: FakeMessagesAPI, prompt: str) -> dict:
    proc = claw(ws, "-p", prompt, "--output-format", "json", env=api.env(KEY))
    assert proc.stdout, proc.stderr
    result: dict = json.loads(proc.stdout.splitlines()[-1])
    return result


def test_skill_is_listed_and_its_body_arrives_only_after_the_skill_tool_runs(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    write_skill(home / ".claude" / "skills", "pdf", "name: pdf\ndescription: Read and summarise PDF files")
    fake_api.queue(
        reply(tool_use("Skill", {"skill": "pdf", "args": "report.pdf"})),
        reply(text("Following the skill.")),
    )
    result = run(workspace, fake_api, "summarise report.pdf")
    assert result["subtype"] == "success", result
    first, second = fake_api.requests
    spec = skill_tool_spec(first.body)
    assert spec is not None
    assert spec["input_schema"]["required"] == ["skill"]
    assert set(spec["input_schema"]["properties"]) == {"skill", "args"}
    assert "<available_skills>" in spec["description"]
    assert "<name>\npdf\n</name>" in spec["description"]
    assert "Read and summarise PDF files" in spec["description"]
    assert "<location>\nuser\n</location>" in spec["description"]
    assert "PDF-SKILL-BODY" not in json.dumps(first.body)
    loaded = second.last_tool_result()
    assert loaded.startswith("Launching skill: pdf")
    assert "PDF-SKILL-BODY: extract the text with pdftotext, then summarise report.pdf" in loaded
    assert f"Base directory for this skill: {home / '.claude' / 'skills' / 'pdf'}" in loaded


def test_disable_model_invocation_hides_a_skill_from_the_model_but_not_from_the_user(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    skills = home / ".claude" / "skills"
    write_skill(skills, "deploy", "description: Deploy to production\ndisable-model-invocation: true")
    write_skill(skills, "lint", "description: Lint the code", body="LINT-BODY")
    fake_api.queue(reply(tool_use("Skill", {"skill": "deploy"})), reply(text("ok")), reply(text("deploying")))
    run(workspace, fake_api, "ship it")
    first, second = fake_api.requests
    description = skill_tool_spec(first.body)["description"]  # type: ignore[index]
    assert "lint" in description and "deploy" not in description.lower()
    assert "Unknown skill: deploy" in second.last_tool_result()
    assert "PDF-SKILL-BODY" not in json.dumps(second.body)
    # The user may still invoke it: its body (arguments expanded) is the prompt.
    result = run(workspace, fake_api, "/deploy staging")
    assert result["subtype"] == "success", result
    sent = fake_api.requests[2].body["messages"][-1]["content"]
    sent_text = sent if isinstance(sent, str) else "".join(b.get("text", "") for b in sent)
    assert "PDF-SKILL-BODY: extract the text with pdftotext, then summarise staging" in sent_text


def test_no_listed_skill_means_no_skill_tool(workspace: Path, home: Path, fake_api: FakeMessagesAPI) -> None:
    write_skill(home / ".claude" / "skills", "deploy", "description: Deploy\ndisable-model-invocation: true")
    fake_api.queue(reply(text("hi")))
    run(workspace, fake_api, "hello")
    assert skill_tool_spec(fake_api.requests[0].body) is None


def test_a_loaded_user_skill_folder_is_readable_and_nothing_beside_it(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    folder = write_skill(home / ".claude" / "skills", "pdf", "description: PDF help")
    (folder / "reference.md").write_text("REFERENCE-TEXT of the pdf skill\n")
    other = write_skill(home / ".claude" / "skills", "other", "description: Other")
    (other / "secret.md").write_text("OTHER-SECRET\n")
    (home / "private.txt").write_text("HOME-PRIVATE\n")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(folder / "reference.md")})),
        reply(tool_use("Skill", {"skill": "pdf"})),
        reply(
            tool_use("Read", {"file_path": str(folder / "reference.md")}),
            tool_use("Read", {"file_path": str(other / "secret.md")}),
            tool_use("Read", {"file_path": str(home / "private.txt")}),
        ),
        reply(text("done")),
    )
    run(workspace, fake_api, "use the pdf skill")
    before = fake_api.requests[1].tool_results()[-1]
    assert before.is_error and "REFERENCE-TEXT" not in before.text  # not loaded yet: asked, denied
    results = fake_api.requests[3].tool_results()[-3:]
    assert "REFERENCE-TEXT of the pdf skill" in results[0].text and not results[0].is_error
    assert results[1].is_error and "OTHER-SECRET" not in results[1].text
    assert results[2].is_error and "HOME-PRIVATE" not in results[2].text


def _grant_script(api: FakeMessagesAPI) -> None:
    api.queue(
        reply(tool_use("Skill", {"skill": "maker"})),
        reply(tool_use("Bash", {"command": "touch made-by-skill.txt"})),
        reply(text("done")),
    )


def test_allowed_tools_of_a_user_skill_run_without_a_question(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    write_skill(home / ".claude" / "skills", "maker", MAKER_READ)
    _grant_script(fake_api)
    run(workspace, fake_api, "make it")
    assert (workspace / "made-by-skill.txt").exists()
    assert not fake_api.requests[2].tool_results()[-1].is_error


def test_allowed_tools_of_a_project_skill_are_held_back_in_an_untrusted_folder(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    write_skill(workspace / ".claude" / "skills", "maker", MAKER)
    _grant_script(fake_api)
    run(workspace, fake_api, "make it")
    assert not (workspace / "made-by-skill.txt").exists()
    assert "not granted" in fake_api.requests[1].last_tool_result()
    denied = fake_api.requests[2].tool_results()[-1]
    assert denied.is_error and "denied" in denied.text.lower()


def test_allowed_tools_of_a_project_skill_apply_once_the_folder_is_trusted(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    trust(workspace)
    write_skill(workspace / ".claw" / "skills", "maker", MAKER)
    _grant_script(fake_api)
    run(workspace, fake_api, "make it")
    assert (workspace / "made-by-skill.txt").exists()
    assert "<location>\nproject\n</location>" in skill_tool_spec(fake_api.requests[0].body)["description"]  # type: ignore[index]


def test_grants_end_with_the_prompt(workspace: Path, home: Path, fake_api: FakeMessagesAPI) -> None:
    write_skill(home / ".claude" / "skills", "maker", MAKER)
    _grant_script(fake_api)
    first = run(workspace, fake_api, "make it")
    (workspace / "made-by-skill.txt").unlink()
    fake_api.queue(reply(tool_use("Bash", {"command": "touch made-by-skill.txt"})), reply(text("no")))
    resume = ("--resume", first["session_id"])
    proc = claw(workspace, "-p", "again", *resume, "--output-format", "json", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    assert not (workspace / "made-by-skill.txt").exists()


def test_frontmatter_and_arguments_parse_like_claude_code(workspace: Path, home: Path) -> None:
    assert tool_list("Read, Bash(git add:*) Grep") == ("Read", "Bash(git add:*)", "Grep")
    assert tool_list(["Read", "Edit"]) == ("Read", "Edit")
    expanded = expand_arguments("PR $1 prio $2: $ARGUMENTS", '12 "very high"')
    assert expanded == 'PR 12 prio very high: 12 "very high"'
    assert expand_arguments("Do it.", "now") == "Do it.\n\nARGUMENTS: now"
    assert expand_arguments("Cost $10 and $1", "a") == "Cost $10 and a"
    # A broken skill is reported, the rest load; the user's wins a name clash with the project's.
    write_skill(workspace / ".claude" / "skills", "broken", "description: [unclosed")
    write_skill(workspace / ".claude" / "skills", "same", "description: project one")
    write_skill(home / ".claude" / "skills", "same", "description: user one")
    found = load_skills([workspace])
    assert found.skills["same"].description == "user one"
    assert "broken" not in found.skills and any("broken" in w for w in found.warnings)
