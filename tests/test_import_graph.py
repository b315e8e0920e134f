"""The package's import graph has no circles, counting imports inside functions too.

A circle worked around with a function-local import still ties two modules into one: neither can be
read, tested or moved without the other. Every ``import`` of an mmmixer module anywhere in a file is
an edge here (``mmmixer.a.b`` imports ``mmmixer.a`` only when it names it).
"""

import ast
from pathlib import Path

from tests.helpers import REPO

PACKAGE = REPO / 'mmmixer'


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path: Path, name: str, modules: set[str]) -> set[str]:
    """Which of ``modules`` the file ``path`` (module ``name``) imports: absolute or relative, at any depth,
    or names in a string (imported by name with importlib, as the front door's command table does). A
    registry's ``locations=[...]`` is not an edge: mmengine imports those to fill the registry, which the
    modules listed there must import first."""
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    tree = ast.parse(path.read_text(), str(path))
    registry_locations = {
        id(constant)
        for keyword in ast.walk(tree)
        if isinstance(keyword, ast.keyword) and keyword.arg == 'locations'
        for constant in ast.walk(keyword.value)
    }
    # Dotted strings: module paths (a scope name such as 'mmmixer' is not an import).
    found = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and '.' in node.value
        and id(node) not in registry_locations
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = package.split('.')[: len(package.split('.')) - (node.level - 1)]
                base = '.'.join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f'{base}.{alias.name}' for alias in node.names)  # `from pkg import module`
    return {module for module in found if module in modules and module != name}


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob('*.py'))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, module_name(path), modules) for path in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, str] = {}  # 'open' while on the current path, 'done' after

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 'open'
        for target in sorted(graph[module]):
            if state.get(target) == 'open':
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[module] = 'done'
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_the_scanner_finds_a_circle_through_a_function_local_import(tmp_path):
    """The converters' old circle, in miniature: formats imported mixer inside a function."""
    package = tmp_path / 'pkg'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'mixer.py').write_text('from pkg.formats import load\n')
    (package / 'formats.py').write_text('def load():\n    from .mixer import rename\n')
    modules = {'pkg', 'pkg.mixer', 'pkg.formats'}
    graph = {name: imported_modules(package / f'{name[4:]}.py', name, modules) for name in ('pkg.mixer', 'pkg.formats')}
    assert graph == {'pkg.mixer': {'pkg.formats'}, 'pkg.formats': {'pkg.mixer'}}
    assert find_cycle(graph) == ['pkg.formats', 'pkg.mixer', 'pkg.formats']


def test_mmmixer_has_no_import_circles():
    graph = import_graph()
    assert 'mmmixer.converters.formats' in graph and graph['mmmixer.converters.formats']  # the scan sees imports
    cycle = find_cycle(graph)
    assert cycle is None, 'import circle: ' + ' -> '.join(cycle)
