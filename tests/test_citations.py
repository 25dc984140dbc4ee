"""Every claim about a tutorial carries its evidence, and the evidence is really in the tutorial.

A citation, in any markdown cell of `nbs/` (and `apps/`), is the tutorial's file in bold, a colon
and one line of it quoted verbatim as inline code, usually in a quote block under the claim:

    > **002-preprocessing-trainer.txt**: `if offset[context_start][0] > start_char`

A learner in Colab, who has no `../shared`, sees the line being discussed; these tests check, where
`../shared/tutorials` exists (and in CI), that

- each quote occurs in the named file (whitespace-normalised: runs of spaces and newlines count as
  one space);
- a cell that names a tutorial as learners know it ("the DistilBERT Colab notebook", ...) cites
  that tutorial's file, and a cell that speaks of "the tutorials" in general cites at least one.
"""

import json
import re
from pathlib import Path

import pytest

from conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*ROOT.glob('nbs/*.ipynb'), *ROOT.glob('apps/*.ipynb')])

# `**file**: ` then a code span of one or more backticks (a double-backtick span may hold a `)
CITATION = re.compile(r'\*\*(\d{3}-[a-z0-9+-]+\.txt)\*\*:\s+(`+)(.+?)\2(?!`)', re.S)

# the names learners know the tutorials by, and the files they stand for
NAMES = {
    'the DistilBERT and ALBERT Colab notebooks': (
        '000-distilbert-benchmark.txt',
        '001-albert-benchmark.txt',
    ),
    'the DistilBERT Colab notebook': ('000-distilbert-benchmark.txt',),
    'the ALBERT Colab notebook': ('001-albert-benchmark.txt',),
    'the preprocessing+Trainer notebook': ('002-preprocessing-trainer.txt',),
    'the BERT fine-tuning notebook': ('003-bert-finetuning.txt',),
    'the Hugging Face course': ('004-hf-course-question-answering.txt',),
}
GENERAL = re.compile(r'\bthe tutorials\b', re.I)


def normalise(text: str) -> str:
    "Runs of whitespace as one space, ends stripped."
    return ' '.join(text.split())


def citations(markdown: str) -> list:
    "(file, quote) of every citation in a markdown text."
    return [(name, normalise(quote)) for name, _, quote in CITATION.findall(markdown)]


def markdown_cells(path: Path):
    "(index, text) of each markdown cell of a notebook."
    cells = json.loads(path.read_text(encoding='utf-8'))['cells']
    for i, cell in enumerate(cells):
        if cell['cell_type'] == 'markdown':
            yield i, ''.join(cell['source'])


def wrong_quotes(markdown: str, tutorials: Path) -> list:
    "One line for each citation whose quote is not in its file (or whose file does not exist)."
    problems = []
    for name, quote in citations(markdown):
        path = tutorials / name
        if not path.exists():
            problems.append(f'{name} does not exist in {tutorials}')
        elif quote not in normalise(path.read_text(encoding='utf-8')):
            problems.append(f'{name} has no line `{quote}`')
    return problems


def uncited_names(markdown: str) -> list:
    "One line for each tutorial the text names without citing its file."
    cited = {name for name, _ in citations(markdown)}
    text = markdown
    problems = []
    for name, files in NAMES.items():  # longest names first, so that 'and ALBERT' is not read twice
        if re.search(re.escape(name), text, re.I):
            uncited = [f for f in files if f not in cited]
            problems += [f'names {name!r} but cites no line of {f}' for f in uncited]
            text = re.sub(re.escape(name), '', text, flags=re.I)
    if GENERAL.search(markdown) and not cited:
        problems.append("speaks of 'the tutorials' but cites none of them")
    return problems


@pytest.fixture(scope='module')
def tutorials():
    return shared_path('tutorials')


def test_every_quote_is_in_its_tutorial(tutorials):
    problems, count = [], 0
    for path in NOTEBOOKS:
        for i, text in markdown_cells(path):
            count += len(citations(text))
            where = f'{path.relative_to(ROOT)} cell {i}'
            problems += [f'{where}: {p}' for p in wrong_quotes(text, tutorials)]
    assert count > 0, 'no citations found: the pattern no longer matches the notebooks'
    assert not problems, '\n'.join(problems)


def test_every_cell_that_names_a_tutorial_cites_it():
    problems = []
    for path in NOTEBOOKS:
        for i, text in markdown_cells(path):
            problems += [f'{path.relative_to(ROOT)} cell {i}: {p}' for p in uncited_names(text)]
    assert not problems, '\n'.join(problems)


def test_the_checks_fail_on_a_wrong_quote_and_a_missing_citation(tutorials):
    right = '> **002-preprocessing-trainer.txt**: `trainer.train()`'
    assert citations(right) == [('002-preprocessing-trainer.txt', 'trainer.train()')]
    assert wrong_quotes(right, tutorials) == []
    wrong = right.replace('trainer.train()', 'trainer.train(resume_from_checkpoint=True)')
    assert len(wrong_quotes(wrong, tutorials)) == 1
    assert len(wrong_quotes(right.replace('002', '009'), tutorials)) == 1
    spread = '**000-distilbert-benchmark.txt**: ``for  epoch\nin``'  # whitespace is normalised
    assert citations(spread) == [('000-distilbert-benchmark.txt', 'for epoch in')]
    claim = 'The BERT fine-tuning notebook shuffles its batches.'
    assert len(uncited_names(claim)) == 1
    assert uncited_names(claim + '\n> **003-bert-finetuning.txt**: `shuffle`') == []
    both = 'The DistilBERT and ALBERT Colab notebooks pickle the model.'
    assert len(uncited_names(both + '\n> **000-distilbert-benchmark.txt**: `x`')) == 1
    assert len(uncited_names('As the tutorials do.')) == 1
