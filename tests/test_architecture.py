"""The layers drawn in the README hold: no upward import between apps, no import cycle between modules."""

import subprocess
import sys
import tomllib
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import grimp

BASE_DIR = Path(__file__).resolve().parents[1]
CONFIG = BASE_DIR / "pyproject.toml"


def test_no_package_imports_a_layer_above_it():
    # The command a developer runs, on the contract in pyproject.toml; its report names each broken chain.
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [lint_imports, "--config", CONFIG, "--no-cache", "--no-logo"],
        cwd=BASE_DIR, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_import_cycle_between_modules():
    root_packages = tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]["root_packages"]
    graph = grimp.build_graph(*root_packages, cache_dir=None)
    modules = {m for m in graph.modules if "tests" not in m.split(".")}
    imports = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    try:
        TopologicalSorter(imports).prepare()
    except CycleError as error:
        cycle = error.args[1]
        # Each module in the cycle is imported by the next one.
        lines = [
            f"{importer} -> {imported} (l.{', '.join(str(d['line_number']) for d in details)})"
            for importer, imported in zip(cycle[1:], cycle[:-1], strict=True)
            for details in [graph.get_import_details(importer=importer, imported=imported)]
        ]
        raise AssertionError("Import cycle:\n  " + "\n  ".join(lines)) from None
