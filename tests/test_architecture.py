"""The import layering of dembias (docs/architecture.md): a lower layer never imports a higher one.

Imports are read with ``ast`` (lazy imports inside functions count too), so nothing is executed. The table is keyed by
the stage packages (``dembias/workspace``, ``dembias/pluralism``, ...) and, through :data:`FLAT_MODULES`, by the flat
modules they are made of before the move into packages, so the test holds on both layouts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dembias"

#: Layer of each package; a module may import its own package and any package of a lower layer.
LAYERS: dict[str, int] = {
    "foundation": 0,  # errors, checks of user values, the small-cell rule, uncertainty tools (see FOUNDATION)
    "workspace": 1,  # files and every SQL statement
    "models": 2,  # the only place that loads weights
    "ingest": 3,  # readers
    "opinion_map": 4,  # stage 1
    "generation": 4,  # outputs to audit
    "pluralism": 5,  # stage 2 (reads the opinion map's clusters and vote groups)
    "fidelity": 5,  # stage 3
    "read": 6,  # what views need
    "plots": 6,
    "jobs": 7,  # queue, worker, runners, demo: call the stages
    "cli": 8,
}

#: Top-level modules of the foundation layer, and ``python -m dembias`` (part of the command line).
FOUNDATION = ("errors", "validation", "small_cells", "minority", "uncertainty")
GROUPS: dict[str, str] = {**dict.fromkeys(FOUNDATION, "foundation"), "__main__": "cli"}

#: The flat modules of the layout before the move (restructure.py's table), by the package they move to. Written
#: without the ``dembias.`` prefix so that the move's rewriting leaves this table as it is.
FLAT_MODULES: dict[str, str] = {
    "metrics.uncertainty": "uncertainty",
    "store": "workspace",
    "contribution_selection": "workspace",
    "annotations": "workspace",
    "migrations": "workspace",
    "devices": "models",
    "nli": "models",
    "ray_engine": "models",
    "models_available": "models",
    "pseudonym": "ingest",
    "redact": "ingest",
    "sentences": "ingest",
    "embed": "opinion_map",
    "mapping": "opinion_map",
    "votes": "opinion_map",
    "labels": "opinion_map",
    "diagnostics": "opinion_map",
    "generate": "generation",
    "prompts": "generation",
    "llm_server": "models",
    "vllm_engine": "models",
    "scoring": "pluralism",
    "align": "pluralism",
    "support": "pluralism",
    "summarize": "pluralism",
    "validate": "pluralism",
    "quality": "pluralism",
    "pluralism_tables": "pluralism",
    "metrics": "pluralism",  # the old metrics package: pluralism's metric modules, fidelity's below
    "metrics.fidelity": "fidelity",
    "fidelity_scoring": "fidelity",
    "lexical": "fidelity",
    "polarity": "fidelity",
    "interactions": "fidelity",
    "queries": "read",
    "scorecard": "read",
    "compare": "read",
    "explain": "read",
    "export": "read",
    "highlight": "read",
    "info": "read",
    "verdict": "read",
    "access": "read",
    "sample_spread": "read",
    "counts": "read",
    "run_parameters": "read",
    "report": "read",
    "report_html": "read",
    "across": "read",
    "left_out": "read",
    "vocabulary": "read",
    "page_findings": "read",
    "demo": "jobs",
    "benchmark": "jobs",
    "benchmark_spec": "jobs",
}

#: Imports that break the layering today, by (importing package, imported package): a shrinking list. Each entry
#: names why; the test fails when an entry is no longer needed, so that it is removed.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """``dembias/a/b.py`` -> ``a.b``; a package's ``__init__.py`` is the package (``""`` for dembias itself)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(name: str) -> str:
    """The package (a key of LAYERS) a module belongs to, on either layout; ``""`` for dembias itself."""
    best = max((k for k in FLAT_MODULES if name == k or name.startswith(k + ".")), key=len, default=None)
    package = FLAT_MODULES[best] if best else name.split(".")[0]
    return GROUPS.get(package, package)


def imports_of(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """Every module an import statement of this file names, with its line (relative imports resolved)."""
    name = module_name(path, root)
    here = ["dembias", *name.split(".")] if name else ["dembias"]
    if path.name != "__init__.py":
        here = here[:-1]  # the folder holding a module
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            # `from dembias import queries` names the module dembias.<package>.queries (or the flat one)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names] + [(node.lineno, base)]
    return found


def dembias_edges(root: Path = PACKAGE) -> list[tuple[str, int, str, str]]:
    """(file, line, importing package, imported package) for every import of a dembias module by dembias."""
    edges = []
    for path in sorted(root.rglob("*.py")):
        source = package_of(module_name(path, root))
        for line, target in imports_of(path, root):
            if target.startswith("dembias."):
                edges.append((str(path.relative_to(root.parent)), line, source, package_of(target[8:])))
    return edges


def upward_imports(root: Path = PACKAGE) -> list[tuple[str, int, str, str]]:
    """The imports of a package by a package of a lower (or the same other) layer."""
    return [
        (file, line, source, imported)
        for file, line, source, imported in dembias_edges(root)
        if source and imported in LAYERS and source != imported and LAYERS[imported] >= LAYERS.get(source, 99)
    ]


def test_every_module_belongs_to_a_layer():
    """A new module lands in a package of the table (or the table says where a new package sits)."""
    unplaced = sorted(
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if module_name(p) and package_of(module_name(p)) not in LAYERS
    )
    assert not unplaced, f"modules in no layer (add their package to LAYERS in {Path(__file__).name}): {unplaced}"


def test_no_layer_imports_a_higher_one():
    upward = upward_imports()
    new = sorted(
        {
            f"{f}:{n}: {s} (layer {LAYERS[s]}) imports {i} (layer {LAYERS[i]})"
            for f, n, s, i in upward
            if (s, i) not in KNOWN_UPWARD
        }
    )
    assert not new, "imports against the layering (docs/architecture.md):\n" + "\n".join(new)
    stale = set(KNOWN_UPWARD) - {(s, i) for _, _, s, i in upward}
    assert not stale, f"KNOWN_UPWARD lists imports that no longer happen; remove them: {sorted(stale)}"


def test_the_library_never_imports_streamlit():
    offending = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, target in imports_of(path)
        if target.split(".")[0] == "streamlit"
    ]
    assert not offending, f"dembias imports streamlit (only app.py and pages/ may): {offending}"


def test_the_dashboard_stays_thin():
    """app.py and pages/ read through dembias.read (cached by pages/ui/cache.py): no DuckDB, no SQL of their own."""
    files = [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]
    offending = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offending += [
                f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names if n.split(".")[0] == "duckdb"
            ]
        if "SELECT " in source and " FROM " in source:
            offending.append(f"{path.relative_to(ROOT)} holds SQL")
    assert not offending, offending


def test_metric_modules_stay_pure():
    """The metric formulas (``*.metrics`` after the move, ``metrics/*`` before) never read or write a workspace."""
    offending = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if not (name.endswith(".metrics") or name.startswith("metrics.")):
            continue
        offending += [
            f"{path.relative_to(ROOT)}:{line}: {target}"
            for line, target in imports_of(path)
            if target.startswith("dembias.") and package_of(target.removeprefix("dembias.")) == "workspace"
        ]
    assert not offending, f"metric modules import the workspace: {offending}"


#: Spelled so that the move's rewriting (which renames ``dembias.<old module>`` everywhere) leaves these cases as they are.
PKG = "dembias"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (f"from {PKG}.queries import cluster_table\n", "read"),  # flat layout
        ("from dembias import queries\n", "read"),
        ("from dembias.read.queries import cluster_table\n", "read"),  # package layout
        (f"import {PKG}.metrics.fidelity as f\n", "fidelity"),  # flat layout
        ("import dembias.fidelity.metrics as f\n", "fidelity"),  # package layout
        ("def f():\n    from dembias.jobs import submit\n", "jobs"),  # a lazy import counts
        ("from ..read import queries\n", "read"),  # a relative import
    ],
)
def test_an_upward_import_is_caught_in_every_form(tmp_path, source, expected):
    """The checks are not vacuous: the workspace importing a higher layer is found, whatever the import's form."""
    root = tmp_path / "dembias"
    (root / "workspace").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "workspace" / "__init__.py").write_text("")
    (root / "workspace" / "probe.py").write_text(source, encoding="utf-8")
    found = upward_imports(root)
    assert {(s, i) for _, _, s, i in found} == {("workspace", expected)}


#: Where SQL may be written: the workspace (every statement on the files) and the dashboard's read-only view
#: queries. Everything else calls their functions, so a statement has one home and a reader finds it there.
SQL_HOMES = ("workspace", "read/queries")
SQL_START = re.compile(
    r"^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|WITH|COPY|ATTACH|DETACH|PRAGMA|INSTALL|LOAD|"
    r"CHECKPOINT|BEGIN|COMMIT|ROLLBACK)\b"
)
SQL_CALLS = frozenset({"execute", "executemany", "sql", "query", "read_sql"})


def sql_in(source: str) -> list[tuple[int, str]]:
    """(line, what) for every SQL text and every call that runs SQL in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_START.match(node.value):
            found.append((node.lineno, f"SQL text {node.value.strip()[:40]!r}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            found.append((node.lineno, f".{node.func.attr}(...)"))
    return found


def test_every_sql_statement_lives_in_the_workspace_or_the_view_queries():
    """No SQL text and no call that runs SQL outside ``workspace/`` and ``read/queries/`` (docs/architecture.md)."""
    offending = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(tuple(f"{home}/" for home in SQL_HOMES)):
            continue
        offending += [f"dembias/{relative}:{line} {what}" for line, what in sql_in(path.read_text(encoding="utf-8"))]
    assert not offending, "SQL outside workspace/ and read/queries/:\n" + "\n".join(offending)


def test_the_dashboard_holds_no_sql():
    """``app.py`` and ``pages/`` ask ``dembias.read`` (through ``pages/ui/cache.py``); they never run SQL."""
    scripts = [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]
    offending = [
        f"{path.relative_to(ROOT).as_posix()}:{line} {what}"
        for path in scripts
        for line, what in sql_in(path.read_text(encoding="utf-8"))
    ]
    assert len(scripts) > 5
    assert not offending, "SQL in the dashboard:\n" + "\n".join(offending)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('con.execute("SELECT 1")\n', 2),  # the text and the call
        ('SQL = """\nINSERT INTO votes VALUES (1)"""\n', 1),
        ('q = f"DELETE FROM {table} WHERE id = ?"\n', 1),
        ('con.sql("(SELECT 1) UNION (SELECT 2)")\n', 2),
        ('label = "Select a debate"\nnote = "selected contributions"\n', 0),  # words, not SQL
        ("frame.query('a > 1')\n", 1),  # a pandas query counts too: it is a query language outside the workspace
    ],
)
def test_the_sql_finder_sees_statements_and_calls(source, expected):
    assert len(sql_in(source)) == expected
