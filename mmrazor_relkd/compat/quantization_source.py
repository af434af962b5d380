"""What mmrazor's quantization package exports and why it fails, read from its source.

The package cannot be imported on torch >= 2, so both facts come from its files without
running them:

* :func:`exported_names`: the names ``from mmrazor.structures.quantization import *``
  would give (``__all__`` where a module has one, else the names it defines and those
  it takes from its own package; names imported from elsewhere, such as ``torch`` or
  ``Dict``, are left out, so that ``mmrazor.structures``' own ``from .quantization
  import *`` cannot shadow anything with a stand-in);
* :func:`failed_torch_imports`: the real ``ImportError`` message of every ``import
  torch...`` statement in the package that fails on the installed torch. mmrazor hides
  these behind placeholders whose message is a misleading "torch>=1.13 is not
  installed properly"; these messages name the torch functions that were removed.
"""
import ast
import os
import re
from typing import Iterator, List, Optional


def _parse(path: str) -> ast.Module:
    with open(path, encoding='utf-8') as file:
        return ast.parse(file.read(), filename=path)


def _module_file(package_dir: str, relative: str) -> Optional[str]:
    """The file of ``relative`` (``'a.b'``) inside ``package_dir``, module or package."""
    base = os.path.join(package_dir, *relative.split('.'))
    for candidate in (base + '.py', os.path.join(base, '__init__.py')):
        if os.path.isfile(candidate):
            return candidate
    return None


def _literal_all(tree: ast.Module) -> Optional[List[str]]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '__all__' for t in node.targets):
            return list(ast.literal_eval(node.value))
    return None


def _defined_names(tree: ast.Module) -> Iterator[str]:
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name
        elif isinstance(node, ast.Assign):
            yield from (t.id for t in node.targets if isinstance(t, ast.Name))


def exported_names(path: str) -> List[str]:
    """Names a star import of the module (or package ``__init__``) at ``path`` gives."""
    tree = _parse(path)
    declared = _literal_all(tree)
    if declared is not None:
        return declared
    names: List[str] = [n for n in _defined_names(tree) if not n.startswith('_')]
    package_dir = os.path.dirname(path)
    for node in tree.body:
        if not (isinstance(node, ast.ImportFrom) and node.level == 1):
            continue
        source = _module_file(package_dir, node.module or '')
        for alias in node.names:
            if alias.name == '*':
                names += exported_names(source) if source else []
            else:
                names.append(alias.asname or alias.name)
    return list(dict.fromkeys(names))


def _is_torch(module: str) -> bool:
    return module == 'torch' or module.startswith('torch.')


def _torch_imports(tree: ast.Module) -> Iterator[ast.stmt]:
    """The module's imports from torch, at any depth, in source order, one statement
    per imported name (so that each missing name gets its own error)."""
    for node in sorted(ast.walk(tree), key=lambda n: getattr(n, 'lineno', 0)):
        if isinstance(node, ast.Import):
            yield from (ast.Import(names=[alias]) for alias in node.names
                        if _is_torch(alias.name))
        elif (isinstance(node, ast.ImportFrom) and node.level == 0
              and _is_torch(node.module or '')):
            yield from (ast.ImportFrom(module=node.module, names=[alias], level=0)
                        for alias in node.names)


def failed_torch_imports(package_dir: str) -> List[str]:
    """The ``ImportError`` messages of the package's torch imports that fail here.

    Each name the package's files import from torch is imported on its own (only torch
    modules are imported); the messages are Python's own, less the file path.
    """
    messages: List[str] = []
    for root, _, files in sorted(os.walk(package_dir)):
        for name in sorted(f for f in files if f.endswith('.py')):
            path = os.path.join(root, name)
            for node in _torch_imports(_parse(path)):
                module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
                code = compile(module, path, 'exec')
                try:
                    exec(code, {})
                except ImportError as err:
                    messages.append(re.sub(r' \([^()]*\)$', '', str(err)))
    return list(dict.fromkeys(messages))
