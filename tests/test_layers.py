"""Imports go downward only: domain <- projections <- auditing <- entry points (api, web, scripts).

Read from the source's syntax tree, so an import hidden inside a function counts as much as
one at the top of a module: a function-level import that dodges a cycle is a layer mistake.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = {"api", "web", "scripts", "tests"}
# package -> the top-level packages of this project it must never import
FORBIDDEN = {
    "audit_service": {"projections", "auditing"} | ENTRY_POINTS,
    "projections": {"auditing"} | ENTRY_POINTS,
    "auditing": ENTRY_POINTS,
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a module, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name.split(".")[0]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(package: str) -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, top in imported_packages(path):
            if top in FORBIDDEN[package]:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_from_the_layers_above_it(package):
    assert violations(package) == []


def test_the_check_sees_an_import_hidden_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from projections.queries import ReadModels\n"
                      "    import auditing.chain\n")
    assert imported_packages(module) == [(2, "projections"), (3, "auditing")]


def test_the_auditing_code_lives_in_its_own_package():
    assert not (ROOT / "audit_service" / "audit").exists()
    assert not (ROOT / "projections" / "integrity.py").exists()
    for name in ("chain", "signing", "export", "verify", "replay", "board", "records",
                 "integrity", "access", "bootstrap"):
        assert (ROOT / "auditing" / f"{name}.py").is_file(), name
