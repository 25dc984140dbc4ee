#!/usr/bin/env python3
"""Colab, simulated: run each notebook's install cell and its import cells as Colab would.

Run with the Python of a fresh environment that holds only what Colab preinstalls that matters here
(torch). A stub `google.colab` module makes the install cells think they are in Colab, and
`SQUAD_QA_INSTALL` points them at this checkout instead of GitHub. Every code cell whose statements
are all imports (the setup cells: `fastcore.test`, `nbdev.showdoc`, the chapter's own imports)
then runs; an `ImportError` anywhere fails the run, naming the notebook and cell.

    export SQUAD_QA_INSTALL='squad_qa[notebooks] @ file:///path/to/checkout'
    python .ci/colab_sim.py nbs/*.ipynb
"""
import ast, json, sys, tempfile
from pathlib import Path

stub = Path(tempfile.mkdtemp()) / 'google'
(stub / 'colab').mkdir(parents=True)
(stub / '__init__.py').write_text('')
(stub / 'colab' / '__init__.py').write_text('"A stand-in for Colab\'s module, for CI."\n')
sys.path.insert(0, str(stub.parent))
import google.colab  # noqa: E402,F401  (the install cells look for it in sys.modules)


def only_imports(source: str) -> bool:
    body = ast.parse(source).body
    return bool(body) and all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in body)


failed = []
for path in sys.argv[1:]:
    cells = [c for c in json.loads(Path(path).read_text())['cells'] if c['cell_type'] == 'code']
    namespace = {'__name__': '__colab__'}
    for i, cell in enumerate(cells):
        source = ''.join(cell['source'])
        install = 'google.colab' in source and 'pip' in source
        if not (install or only_imports(source)):
            continue
        try:
            exec(compile(source, f'{path} cell {i}', 'exec'), namespace)
        except Exception as err:
            failed.append(f"{path} code cell {i}: {type(err).__name__}: {err}")
            break
    print(f"{path}: {'FAILED' if failed and failed[-1].startswith(path) else 'ok'}", flush=True)
print('\n'.join(failed) or 'Colab simulation: every notebook installs and imports')
sys.exit(1 if failed else 0)
