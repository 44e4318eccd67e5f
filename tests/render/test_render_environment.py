from pathlib import Path

import pytest

import coordinator
from coordinator.errors import CoordinatorError
from coordinator.render import render_coordination, render_role_prompt
from coordinator.render.environment import make_environment, project_templates, template_folders, tidy_markdown

PROJECT_TEMPLATES = Path(coordinator.__file__).resolve().parent.parent / "templates"


def test_project_templates_found_next_to_package():
    assert project_templates() == PROJECT_TEMPLATES


def test_workspace_templates_searched_first(tmp_path):
    (tmp_path / "templates").mkdir()

    assert template_folders(workspace=tmp_path) == [tmp_path / "templates", PROJECT_TEMPLATES]


def test_workspace_without_templates_ignored(tmp_path):
    assert template_folders(workspace=tmp_path) == [PROJECT_TEMPLATES]


def test_workspace_template_overrides_project(incident, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "role.md.j2").write_text(
        "# Our own prompt for {{ role.name }}\n\n{% for item in criteria %}* {{ item }}\n{% endfor %}",
        encoding="utf-8",
    )

    prompt = render_role_prompt(incident, "ops", "prod", workspace=tmp_path)
    note = render_coordination(incident, "prod", workspace=tmp_path)

    assert prompt.startswith("# Our own prompt for ops\n\n* Props collected for today (>1000 records)\n")
    assert note.startswith("# Coordination Notes: Fixture pipeline recovery\n")


def test_workspace_template_can_use_project_partials(incident, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "role.md.j2").write_text(
        '{% from "_blocks.md.j2" import render_blocks %}{{ render_blocks(tasks[0].steps) }}',
        encoding="utf-8",
    )

    prompt = render_role_prompt(incident, "ops", "prod", workspace=tmp_path)

    assert prompt.startswith("```bash\n# Option A: Use deployment script\n")


def test_undefined_value_rejected():
    environment = make_environment()
    template = environment.from_string("{{ missing }}")

    with pytest.raises(Exception, match="missing"):
        template.render()


def test_markdown_not_escaped():
    environment = make_environment()

    assert environment.from_string("{{ text }}").render(text="<b> & 'x'") == "<b> & 'x'"


def test_template_syntax_error_names_file(incident, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "role.md.j2").write_text("{% if %}\n", encoding="utf-8")

    with pytest.raises(CoordinatorError, match=r"role\.md\.j2:1: invalid template"):
        render_role_prompt(incident, "ops", "prod", workspace=tmp_path)


def test_tidy_collapses_blank_lines_outside_code():
    text = "a\n\n\n\nb\n```\nx\n\n\ny\n```\n\n\nc\n\n"

    assert tidy_markdown(text) == "a\n\nb\n```\nx\n\n\ny\n```\n\nc\n"


def test_tidy_keeps_longer_fence_open():
    text = "````\n```\n\n\ninner\n```\n````\n\n\nend"

    assert tidy_markdown(text) == "````\n```\n\n\ninner\n```\n````\n\nend\n"


def test_workspace_template_cannot_run_code(tmp_path):
    from coordinator.errors import CoordinatorError
    from coordinator.render.environment import render_template

    (tmp_path / "templates").mkdir()
    attack = "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('echo pwned').read() }}"
    (tmp_path / "templates" / "attack.md.j2").write_text(attack, encoding="utf-8")

    with pytest.raises(CoordinatorError) as error:
        render_template("attack.md.j2", {}, workspace=tmp_path)

    assert "unsafe" in str(error.value) or "undefined" in str(error.value)
