"""Start bqemulator on loopback with DuckDB kept from downloading extensions.

Run with the emulator's own Python (its pinned packages conflict with the project's):

    EMULATOR_PYTHON serve_emulator.py --port PORT --grpc-port PORT --extension-dir DIR --project ID

bqemulator runs `INSTALL spatial` (and `INSTALL avro` unless format extensions are off) on its DuckDB
connections, which downloads from the DuckDB extension repository. This launcher copies the spatial
extension shipped by the `duckdb-extension-spatial` wheel into DIR and opens every DuckDB connection with
that extension directory, an unreachable repository and autoinstall off, so nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

UNREACHABLE_REPOSITORY = "http://127.0.0.1:9"


def install_spatial(extension_dir: Path) -> None:
    """Copy the spatial extension from its wheel into DuckDB's layout under `extension_dir`."""
    import duckdb
    import duckdb_extension_spatial

    version = f"v{duckdb.__version__}"
    platform = duckdb.connect(":memory:").execute("SELECT platform FROM pragma_platform()").fetchone()[0]
    source = Path(duckdb_extension_spatial.__file__).parent / "extensions" / version / "spatial.duckdb_extension"
    target = extension_dir / version / platform / "spatial.duckdb_extension"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copyfile(source, target)


def keep_extensions_local(extension_dir: Path) -> None:
    """Make every later `duckdb.connect` use `extension_dir` and a repository that cannot be reached."""
    import duckdb

    original = duckdb.connect
    settings = {
        "extension_directory": str(extension_dir),
        "custom_extension_repository": UNREACHABLE_REPOSITORY,
        "autoinstall_known_extensions": False,
    }

    def connect(database=":memory:", read_only=False, config=None, **options):
        return original(database, read_only=read_only, config={**(config or {}), **settings}, **options)

    duckdb.connect = connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="REST port on 127.0.0.1")
    parser.add_argument("--grpc-port", type=int, required=True, help="gRPC port on 127.0.0.1")
    parser.add_argument("--extension-dir", type=Path, required=True, help="DuckDB extension directory")
    parser.add_argument("--project", default="test-project", help="default project id")
    arguments = parser.parse_args()

    install_spatial(arguments.extension_dir)
    keep_extensions_local(arguments.extension_dir)
    os.environ["BQEMU_ENABLE_FORMAT_EXTENSIONS"] = "false"

    from bqemulator.cli import main as emulator

    emulator(
        [
            "start",
            "--rest-host", "127.0.0.1",
            "--rest-port", str(arguments.port),
            "--grpc-host", "127.0.0.1",
            "--grpc-port", str(arguments.grpc_port),
            "--ephemeral",
            "--project", arguments.project,
            "--log-level", "warning",
            "--log-format", "console",
        ],
        standalone_mode=True,
    )


if __name__ == "__main__":
    main()
