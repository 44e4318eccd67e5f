"""`python -m bench`: run the benchmarks and write bench/RESULTS.md and bench/results.json."""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import sysconfig
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bench import report
from bench.harness import BENCH_DIR, REPOSITORY, BenchContext, BenchError, Section, run_command

# Each benchmark is a module of this package with `run(context) -> Section`, run in this order.
BENCHMARKS = {
    "check-round": "bench.check_round",
    "board-commands": "bench.board_commands",
    "many-agents": "bench.many_agents",
    "size": "bench.size",
    "bigquery-bytes": "bench.bigquery_bytes",
}
COMMAND = "python3 -m uv run python -m bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs of each case (default 5)")
    # 16 is the smallest scale with at least 1M props rows and 100k analytics rows in the sandbox.
    parser.add_argument("--scale", type=int, default=16,
                        help="sandbox scale for the check round: `coord sandbox init --scale N` (default 16)")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS),
                        help="run only this benchmark; repeatable")
    parser.add_argument("--out", type=Path, default=BENCH_DIR, help="folder for RESULTS.md and results.json")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and print where it is")
    options = parser.parse_args(argv)
    if options.runs < 1:
        parser.error(f"--runs {options.runs}: must be at least 1")
    if not 1 <= options.scale <= 200:
        parser.error(f"--scale {options.scale}: must be from 1 to 200, as for `coord sandbox init --scale`")
    if options.out.exists() and not options.out.is_dir():
        parser.error(f"--out {options.out}: is not a folder; name a folder for RESULTS.md and results.json")

    started = datetime.now(timezone.utc)
    machine = report.machine()
    scratch = Path(tempfile.mkdtemp(prefix="coord-bench-"))
    # Every process of the bench keeps what sqlglot computes in the scratch folder, never in the user's cache.
    # A benchmark that wants another cache names it for its own commands.
    os.environ["COORD_SQL_CACHE"] = str(scratch / "sql-cache.json")
    context = BenchContext(runs=options.runs, scratch=scratch, scale=options.scale)
    sections: list[Section] = []
    try:
        compile_bytecode()
        for name in options.only or list(BENCHMARKS):
            print(f"bench: {name} …", file=sys.stderr, flush=True)
            module = importlib.import_module(BENCHMARKS[name])
            sections.append(module.run(context))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; nothing written", file=sys.stderr)
        return 130
    finally:
        if options.keep:
            print(f"bench: scratch folder kept at {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    command = " ".join([COMMAND, *(argv if argv is not None else sys.argv[1:])])
    settings = {"command": command, "runs": options.runs, "scale": options.scale, "only": options.only}
    if options.only and "check-round" not in options.only:
        machine.pop("soda_packages", None)
    options.out.mkdir(parents=True, exist_ok=True)
    written = report.write(sections, settings, started, machine, options.out)
    for line in report.missed_goals(sections):
        print(f"bench: goal not met: {line}", file=sys.stderr)
    print(f"bench: wrote {written} and {written.with_name('results.json')}", file=sys.stderr)
    return 0


def compile_bytecode() -> None:
    """Compile the environment's packages and coordinator's modules to bytecode before anything is timed.

    Python writes bytecode on a module's first import, so a user's second `coord` start finds it. Where that
    is switched off (PYTHONDONTWRITEBYTECODE, as on some build machines), every start would compile every
    module again and the bench would measure the compiler instead of the command.
    """
    folders = [sysconfig.get_paths()["purelib"], str(REPOSITORY / "coordinator")]
    run_command([sys.executable, "-m", "compileall", "-q", "-j", "0", *folders])


if __name__ == "__main__":
    sys.exit(main())
