#!/usr/bin/env python3
"""Colab, simulated: run each notebook's install cell, as written, and its import cells as Colab
would.

Run with the Python of a fresh environment that holds only what Colab preinstalls that matters here
(torch, and Colab's ipywidgets 7.7.1). A stub `google.colab` module makes the install cells think
they are in Colab. Each install cell runs as written with one change: the source it installs from,
`git+` and settings.ini's `git_url` (the one place it is named, see `.ci/install_cell.py`), is
swapped for the checkout under test. Every code cell whose statements are all imports (the setup
cells: `fastcore.test`, `nbdev.showdoc`, the chapter's own imports) then runs; an `ImportError`
anywhere fails the run, naming the notebook and cell. With `--keep ipywidgets==7.7.1`, a package
that the install cells upgrade or downgrade fails the run too.

    python .ci/colab_sim.py --source file:///path/to/checkout --keep ipywidgets==7.7.1 nbs/*.ipynb
"""
import argparse, ast, json, sys, tempfile
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from install_cell import git_source  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('notebooks', nargs='+')
parser.add_argument('--source', required=True, help='what to install instead of the git URL')
parser.add_argument('--keep', action='append', default=[], help='NAME==VERSION that must not move')
args = parser.parse_args()

stub = Path(tempfile.mkdtemp()) / 'google'
(stub / 'colab').mkdir(parents=True)
(stub / '__init__.py').write_text('')
(stub / 'colab' / '__init__.py').write_text('"A stand-in for Colab\'s module, for CI."\n')
sys.path.insert(0, str(stub.parent))
import google.colab  # noqa: E402,F401  (the install cells look for it in sys.modules)


def only_imports(source: str) -> bool:
    body = ast.parse(source).body
    return bool(body) and all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in body)


def moved_packages() -> list:
    "The `--keep` packages whose installed version is no longer the one given."
    kept = [spec.split('==') for spec in args.keep]
    moved = [(name, want) for name, want in kept if version(name) != want]
    return [f'{name} is {version(name)}, not {want}' for name, want in moved]


failed = []
for path in args.notebooks:
    cells = [c for c in json.loads(Path(path).read_text())['cells'] if c['cell_type'] == 'code']
    namespace = {'__name__': '__colab__'}
    for i, cell in enumerate(cells):
        source = ''.join(cell['source'])
        install = 'google.colab' in source and 'pip' in source
        if install and source.count(git_source()) != 1:
            failed.append(f'{path} code cell {i}: does not install from {git_source()}')
            break
        if not (install or only_imports(source)):
            continue
        try:
            code = source.replace(git_source(), args.source)
            exec(compile(code, f'{path} cell {i}', 'exec'), namespace)
        except Exception as err:
            failed.append(f"{path} code cell {i}: {type(err).__name__}: {err}")
            break
        failed += [f'{path} code cell {i}: {moved}' for moved in moved_packages()]
    print(f"{path}: {'FAILED' if failed and failed[-1].startswith(path) else 'ok'}", flush=True)
print('\n'.join(failed) or 'Colab simulation: every notebook installs and imports')
sys.exit(1 if failed else 0)
