"""File checks: every file, script and folder the prompts name is committed at HEAD, and every executable a
command calls is on PATH."""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from coordinator.preflight.checker import Checker
from coordinator.preflight.report import ERROR, WARNING
from coordinator.spec.located import KeyPath
from coordinator.spec.models import PerTarget, RunStep, command_for
from coordinator.spec.params import TEMPLATE

SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "\n", "|&", ";;"}
REDIRECTIONS = {"<", ">", ">>", "2>", "&>", "<<", "<<<", ">&", "<&"}
SHELL_WORDS = {
    "cd", "echo", "export", "set", "unset", "source", ".", "test", "[", "[[", "true", "false", "exit", "read",
    "printf", "pwd", "eval", "exec", "wait", "if", "then", "else", "elif", "fi", "for", "while", "until", "do",
    "done", "case", "esac", "in", "function", "{", "}", "!", "time", "command", "builtin", "local", "return", "shift",
    "trap", "umask", "alias", "type", "hash", "ulimit",
}
INTERPRETERS = {"python", "python3", "bash", "sh", "zsh", "node", "ruby", "perl", "Rscript", "pytest", "uv"}
FILE_READERS = {"cat", "head", "tail", "less", "more", "source", ".", "wc", "jq"}
SUBSTITUTION = re.compile(r"\$\(([^()]*)\)|`([^`]*)`")


@dataclass
class CommandText:
    path: KeyPath
    command: str
    label: str
    roles: set[str]
    cwd: Path
    env: dict[str, str]
    # A command that may fail: another alternative follows, or the file is marked optional.
    fallback: bool = False


def simple_commands(command: str) -> list[list[str]]:
    """Split a shell command into simple commands (argument lists), including those inside `$(...)`."""
    text = command.replace("\\\n", " ")
    nested = [group for match in SUBSTITUTION.finditer(text) for group in match.groups() if group]
    text = SUBSTITUTION.sub(" SUBSTITUTION ", text)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return []

    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(token)
    for inner in nested:
        commands.extend(simple_commands(inner))
    return [words for words in commands if words]


def executable(words: list[str]) -> str | None:
    """Return the program a simple command runs, skipping `NAME=value` assignments and shell keywords."""
    for word in words:
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            continue
        return None if word in SHELL_WORDS else word
    return None


def named_files(words: list[str]) -> Iterator[str]:
    """Yield the files a simple command reads: the script of an interpreter, files of cat and friends,
    `python -m` modules (as paths), redirected input, and a program given by its path."""
    program = executable(words)
    if program is None:
        return
    arguments = words[words.index(program) + 1 :]
    for position, word in enumerate(arguments[:-1]):
        if word == "<":
            yield arguments[position + 1]
    if "/" in program:
        yield program
    name = PurePosixPath(program).name
    if name in INTERPRETERS and name not in ("pytest", "uv"):
        if "-c" in arguments:
            return
        if "-m" in arguments:
            module = arguments[arguments.index("-m") + 1] if arguments.index("-m") + 1 < len(arguments) else ""
            yield "module:" + module
            return
        script = next((word for word in arguments if not word.startswith("-")), None)
        if script is not None:
            yield script
    elif name in FILE_READERS:
        skip_next = False
        for word in arguments:
            if skip_next:
                skip_next = False
                continue
            if word in ("-n", "-c") or word in REDIRECTIONS:
                skip_next = True
                continue
            if not word.startswith("-") and not word.isdigit():
                yield word


def command_texts(checker: Checker) -> Iterator[CommandText]:
    incident = checker.incident
    target = incident.targets[checker.target]
    base = _workdir(checker)
    for _index, task, path, key, step, alternative in checker.task_steps():
        if not isinstance(step, RunStep):
            continue
        command = command_for(step.run, checker.target)
        if command is None:
            continue
        key_path = (*path, "run", checker.target) if isinstance(step.run, PerTarget) else (*path, "run")
        cwd = base / step.workdir if step.workdir else base
        yield CommandText(
            key_path, command, f"step {key} of task {task.id!r}", {task.role}, cwd, {**target.env, **step.env}, alternative
        )
    for index, criterion in enumerate(incident.criteria):
        command = command_for(criterion.command, checker.target)
        if command is None:
            continue
        key_path = ("criteria", index, "command") + ((checker.target,) if isinstance(criterion.command, PerTarget) else ())
        yield CommandText(key_path, command, f"criterion {criterion.id!r}", checker.criterion_roles(criterion), base, dict(target.env))
    for role_index, role in enumerate(incident.roles):
        for file_index, file in enumerate(role.files_to_read):
            if file.command:
                yield CommandText(
                    ("roles", role_index, "files_to_read", file_index, "command"),
                    file.command,
                    f"file to read {file.path!r}",
                    {role.name},
                    base,
                    dict(target.env),
                    file.optional,
                )


class TrackedFiles:
    """The files committed at HEAD and every folder above them, as repository-relative POSIX paths."""

    def __init__(self, files: set[str]) -> None:
        self.files = files
        # The repository root is not a tracked folder: a path that names it is reported.
        self.folders = {f"{parent}/" for path in files for parent in PurePosixPath(path).parents if str(parent) != "."}

    def contains(self, relative: str) -> bool:
        """Return whether `relative` is a committed file or a folder holding one."""
        return relative in self.files or relative.rstrip("/") + "/" in self.folders


class ProgramFinder:
    """shutil.which for the commands of one incident, remembering each result: a large incident calls the
    same few programs hundreds of times, with the same environment."""

    def __init__(self) -> None:
        self._paths: dict[tuple[tuple[str, str], ...], str] = {}
        self._found: dict[tuple[str, str], bool] = {}

    def on_path(self, program: str, env: dict[str, str]) -> bool:
        from coordinator.runner.shell import command_environment

        key = tuple(sorted(env.items()))
        if key not in self._paths:
            # The same PATH the runner gives a step: this installation's folder first, then the target's env.
            self._paths[key] = command_environment(env).get("PATH", "")
        search_path = self._paths[key]
        if (program, search_path) not in self._found:
            self._found[(program, search_path)] = shutil.which(program, path=search_path) is not None
        return self._found[(program, search_path)]


def check_files(checker: Checker) -> None:
    tracked = _tracked_paths(checker)
    _check_named_paths(checker, tracked)
    finder = ProgramFinder()
    for text in command_texts(checker):
        _check_command(checker, text, tracked, finder)


def _check_named_paths(checker: Checker, tracked: TrackedFiles | None) -> None:
    base = _workdir(checker)
    for role_index, role in enumerate(checker.incident.roles):
        for file_index, file in enumerate(role.files_to_read):
            problem = _missing(checker, base, file.path, tracked)
            if problem:
                severity = WARNING if file.optional else ERROR
                checker.add(("roles", role_index, "files_to_read", file_index, "path"), f"file to read {problem}", severity=severity, roles={role.name})
    for task_index, task in enumerate(checker.incident.tasks):
        for file_index, path in enumerate(task.files_to_modify):
            problem = _missing(checker, base, path, tracked)
            if problem:
                # A task may create the file it modifies, so this only warns.
                checker.add(("tasks", task_index, "files_to_modify", file_index), f"file to modify {problem}", severity=WARNING, roles={task.role})


def _check_command(checker: Checker, text: CommandText, tracked: TrackedFiles | None, finder: ProgramFinder) -> None:
    severity = WARNING if text.fallback else ERROR
    fallback = " (another alternative follows, so this one only warns)" if text.fallback else ""
    for words in simple_commands(text.command):
        program = executable(words)
        if program is not None and "/" not in program and not TEMPLATE.search(program) and "$" not in program:
            if not finder.on_path(program, text.env):
                checker.add(
                    text.path,
                    f"{text.label} calls {program!r}, which is not on PATH: install it or fix the command{fallback}",
                    severity=severity,
                    roles=text.roles,
                )
        for name in named_files(words):
            if name.startswith("module:"):
                problem = _missing_module(checker, text.cwd, name[len("module:") :], tracked)
            else:
                problem = _missing(checker, text.cwd, name, tracked)
            if problem:
                checker.add(text.path, f"{text.label} names {problem}{fallback}", severity=severity, roles=text.roles)


def _missing(checker: Checker, cwd: Path, name: str, tracked: TrackedFiles | None) -> str | None:
    """Return why `name` (a path relative to `cwd`) is not usable, or None when it is committed at HEAD."""
    if not name or any(mark in name for mark in ("$", "*", "?", "{{", "~")):
        return None
    candidate = (cwd / name) if not os.path.isabs(name) else Path(name)
    resolved = Path(os.path.normpath(candidate))
    try:
        relative = resolved.relative_to(_resolved(checker.repo)).as_posix()
    except ValueError:
        return None if resolved.exists() else f"{name!r}, which does not exist"
    if tracked is None:
        return None if resolved.exists() else f"{name!r}, which does not exist in {checker.repo}"
    if tracked.contains(relative):
        return None
    if resolved.exists():
        return f"{name!r}, which exists in the work tree but is not committed at HEAD: commit it, or fix the path"
    return f"{name!r}, which is not in the repository at HEAD: commit it, or fix the path"


@functools.lru_cache(maxsize=16)
def _resolved(folder: Path) -> Path:
    """Return `folder` with its links resolved, once per folder: a large incident names thousands of paths."""
    return folder.resolve()


def _missing_module(checker: Checker, cwd: Path, module: str, tracked: TrackedFiles | None) -> str | None:
    """Return why `python -m module` cannot run from the repository; modules not from it are not checked."""
    if not module or not (cwd / module.split(".")[0]).exists():
        return None
    as_path = module.replace(".", "/")
    for candidate in (f"{as_path}.py", f"{as_path}/__init__.py", f"{as_path}/__main__.py"):
        if _missing(checker, cwd, candidate, tracked) is None:
            return None
    return f"module {module!r}, which has no {as_path}.py at HEAD: commit it, or fix the module name"


def _tracked_paths(checker: Checker) -> TrackedFiles | None:
    """Return the files committed at HEAD; None (with a warning) when the repository has no HEAD."""
    from coordinator.gitops.repository import GitError, committed_files

    try:
        return TrackedFiles(committed_files(checker.repo))
    except GitError as error:
        checker.add((), f"files are checked in the work tree instead of at HEAD: {error}", severity=WARNING)
        return None


def _workdir(checker: Checker) -> Path:
    folder = Path(checker.incident.targets[checker.target].workdir)
    return folder if folder.is_absolute() else (checker.repo / folder).resolve()
