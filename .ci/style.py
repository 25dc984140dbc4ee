#!/usr/bin/env python3
"""The style checks of the developers' guide, over the package, bench, tests, apps and notebooks.

`ruff check` (lines of at most 100 characters, no `;`-joined statements, no named lambdas, no unused
imports; see ruff.toml), less the `__all__` lists that nbdev writes itself, plus what ruff has no
rule for: chained conditional expressions (`a if x else b if y else c`).

    python .ci/style.py    # exit 1 and list the findings when there are any
"""
import ast, json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHS = ['squad_qa', 'bench', 'tests', 'apps', 'nbs', '.ci']


def generated_lines(path: Path) -> set:
    "Line numbers of the `__all__ = [...]` assignment nbdev writes at the top of a module."
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in tree.body:
        names = [getattr(t, 'id', '') for t in getattr(node, 'targets', [])]
        if isinstance(node, ast.Assign) and '__all__' in names:
            return set(range(node.lineno, node.end_lineno + 1))
    return set()


def ruff_findings() -> list:
    result = subprocess.run(['ruff', 'check', '--output-format=json', *PATHS], cwd=ROOT,
                            capture_output=True, text=True)
    findings = []
    for f in json.loads(result.stdout or '[]'):
        path = Path(f['filename'])
        line = f['location']['row']
        generated = line == 1 or line in generated_lines(path)  # nbdev's header and `__all__`
        if path.suffix == '.py' and path.parent.name == 'squad_qa' and generated:
            continue
        cell = f" cell {f['location'].get('cell')}" if path.suffix == '.ipynb' else ''
        findings.append(f"{path.relative_to(ROOT)}:{line}{cell}: {f['code']} {f['message']}")
    return findings


def sources():
    "(name, Python source) of every module, script and notebook code cell."
    for folder in PATHS:
        for path in sorted((ROOT / folder).rglob('*.py')):
            if path.name != '_modidx.py':
                yield str(path.relative_to(ROOT)), path.read_text(encoding='utf-8')
        for path in sorted((ROOT / folder).rglob('*.ipynb')):
            if '.ipynb_checkpoints' in path.parts:
                continue
            cells = json.loads(path.read_text(encoding='utf-8'))['cells']
            for i, cell in enumerate(cells):
                if cell['cell_type'] == 'code':
                    code = ''.join(cell['source'])
                    magic = ('!', '%')  # shell and magic lines are not Python
                    lines = ['' if s.lstrip().startswith(magic) else s for s in code.split('\n')]
                    yield f"{path.relative_to(ROOT)} cell {i}", '\n'.join(lines)


def chained_conditionals() -> list:
    findings = []
    for name, source in sources():
        try:
            tree = ast.parse(source)
        except SyntaxError as err:
            findings.append(f"{name}: does not parse: {err}")
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.IfExp) and any(isinstance(part, ast.IfExp)
                                                   for part in (node.body, node.orelse)):
                findings.append(f"{name}:{node.lineno}: chained conditional expression")
    return findings


if __name__ == '__main__':
    found = ruff_findings() + chained_conditionals()
    print('\n'.join(found) or 'style: no findings')
    sys.exit(1 if found else 0)
