"Shared fixtures: the reference folder `../shared` (real SQuAD data and tokenizers)."

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get('SQUAD_QA_SHARED') or Path(__file__).resolve().parents[2] / 'shared')
IN_CI = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


def shared_path(*parts) -> Path:
    """A path under ../shared; skips the test when missing (a user's fresh clone), fails in CI where
    it must be there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = (
            f"{path} not found: the reference data folder ../shared is missing "
            "(or set SQUAD_QA_SHARED)"
        )
        if IN_CI:
            pytest.fail(f"{reason}; with CI=true this is an error, not a skip")
        pytest.skip(reason)
    return path


@pytest.fixture(scope='session')
def dev_v11_path():
    return shared_path('data', 'squad', 'dev-v1.1.json')


@pytest.fixture(scope='session')
def dev_v11(dev_v11_path):
    from squad_qa.data import load_squad

    return load_squad(dev_v11_path)


@pytest.fixture(scope='session')
def toy_model_dir():
    "The embedded MiniLM fine-tuned on 1,200 toy questions (chapter 12's `toy_qa_model`, cached)."
    from squad_qa.inference import cache_dir, toy_qa_model

    toy_qa_model()
    return cache_dir() / 'minilm-toy-1200x2'
