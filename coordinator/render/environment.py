"""The jinja environment that renders prompts: a workspace's own templates first, then the project's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def project_templates() -> Path | None:
    """Return the folder of the templates that ship with coordinator, or None when none is found.

    A source checkout keeps them in `templates/` next to the package; an installed wheel carries them as
    `coordinator/_templates`.
    """
    import coordinator

    package = Path(coordinator.__file__).resolve().parent
    for folder in (package.parent / "templates", package / "_templates"):
        if folder.is_dir():
            return folder
    return None


def template_folders(*, workspace: str | Path | None = None) -> list[Path]:
    """Return the folders searched for templates, in order: `<workspace>/templates`, then the project's."""
    folders = []
    if workspace is not None:
        override = Path(workspace) / "templates"
        if override.is_dir():
            folders.append(override)
    shipped = project_templates()
    if shipped is not None:
        folders.append(shipped)
    return folders


def make_environment(*, workspace: str | Path | None = None) -> jinja2.Environment:
    """Build the environment: undefined names raise, block tags leave no blank lines, no HTML escaping."""
    import jinja2

    from coordinator.errors import CoordinatorError

    folders = template_folders(workspace=workspace)
    if not folders:
        raise CoordinatorError(
            "no template folder found: expected templates/ next to the coordinator package "
            "or coordinator/_templates in the installed package; reinstall coordinator"
        )

    from jinja2.sandbox import SandboxedEnvironment

    # A workspace's own templates come with the repository, so they render sandboxed: a template may format
    # the view data but not reach Python internals (`__globals__`, `__import__`) to run code.
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(folder)) for folder in folders])
    return SandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=True,
    )


def render_template(
    name: str, view: dict, *, workspace: str | Path | None = None, environment: jinja2.Environment | None = None
) -> str:
    """Render template `name` with `view` and tidy the markdown it produces.

    Documents rendered together share one `environment` (from `make_environment(workspace=...)`), which
    compiles each template once instead of once per document.
    """
    import jinja2

    from coordinator.errors import CoordinatorError

    environment = environment or make_environment(workspace=workspace)
    try:
        template = environment.get_template(name)
        text = template.render(**view)
    except jinja2.TemplateNotFound as error:
        searched = ", ".join(str(folder) for folder in template_folders(workspace=workspace))
        raise CoordinatorError(f"template {error.name!r} not found in {searched}") from None
    except jinja2.TemplateSyntaxError as error:
        raise CoordinatorError(f"{error.filename or name}:{error.lineno}: invalid template: {error.message}") from None
    except jinja2.UndefinedError as error:
        raise CoordinatorError(f"template {name!r} uses an undefined value: {error.message}") from None
    except jinja2.exceptions.SecurityError as error:
        raise CoordinatorError(f"template {name!r} tried an unsafe operation: {error}: fix the template") from None
    return tidy_markdown(text)


def tidy_markdown(text: str) -> str:
    """Collapse runs of blank lines outside fenced code blocks and end the text with one newline.

    Code blocks are left as written, so a snippet keeps its own blank lines.
    """
    lines: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
            elif not line.strip():
                if not lines or not lines[-1].strip():
                    continue
                line = ""
        elif match and match.group(1).startswith(fence[0]) and len(match.group(1)) >= len(fence) and line.strip() == match.group(1):
            fence = None
        lines.append(line.rstrip() if fence is None else line)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n"
