#!/usr/bin/env python3
"""The Colab install cell: one text, made from `settings.ini`'s `git_url`, first code cell of every
notebook.

In Colab a notebook opened from GitHub has no `settings.ini` beside it, so each notebook carries the
cell; this script keeps every copy equal to the one made from `settings.ini`, the one place the
source is named. CI's Colab simulation (`.ci/colab_sim.py`) runs the cell as written, with only
that source swapped for the checkout under test.

    python .ci/install_cell.py          # exit 1 and name each notebook whose cell differs
    python .ci/install_cell.py --write  # rewrite the cells that differ
"""
import configparser, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob('nbs/*.ipynb'))  # apps/ are served by Voilà, not opened in Colab


def git_source() -> str:
    "The pip source of the course library: `git+` and settings.ini's `git_url`."
    config = configparser.ConfigParser(delimiters=['='])
    config.read(ROOT / 'settings.ini', encoding='utf-8')
    return 'git+' + config['DEFAULT']['git_url']


def install_cell() -> str:
    "The install cell's source, as every notebook must carry it."
    return '\n'.join([
        '#| hide',
        '# In Colab, this cell installs the course library and what its notebooks import.',
        'import subprocess, sys',
        '',
        "if 'google.colab' in sys.modules:",
        f"    spec = 'squad_qa[notebooks] @ {git_source()}'",
        "    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', spec], check=True)",
    ])


def is_install_cell(cell: dict) -> bool:
    source = ''.join(cell['source'])
    return cell['cell_type'] == 'code' and 'google.colab' in source and 'pip' in source


def main(write: bool) -> int:
    expected, wrong = install_cell(), []
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding='utf-8'))
        code = [c for c in nb['cells'] if c['cell_type'] == 'code']
        if not code or not is_install_cell(code[0]):
            wrong.append(f'{path.relative_to(ROOT)}: the first code cell is not the install cell')
            continue
        if ''.join(code[0]['source']) == expected:
            continue
        if write:
            code[0]['source'] = expected.splitlines(keepends=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
            print(f'{path.relative_to(ROOT)}: install cell rewritten')
        else:
            wrong.append(f'{path.relative_to(ROOT)}: the install cell differs from settings.ini\'s')
    print('\n'.join(wrong) or f'every notebook installs from {git_source()}')
    if wrong:
        print('run: python .ci/install_cell.py --write')
    return 1 if wrong else 0


if __name__ == '__main__':
    sys.exit(main('--write' in sys.argv[1:]))
