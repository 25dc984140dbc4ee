"""A real browser test of the app: Voilà serves apps/answer_app.ipynb, Debian's Chromium (driven by
Playwright) types a context and a question."""

import os, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import pytest

from conftest import IN_CI

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get('SQUAD_QA_CHROMIUM', '/usr/bin/chromium')
ARTIFACTS = Path(os.environ.get('SQUAD_QA_ARTIFACTS', ROOT / 'artifacts'))
CONTEXT = (
    "Ostermark Glassworks is a glassmaking company founded by Ines Belquin in 1911. "
    "Its headquarters are in Dorwick, "
    "and it employs around 3,400 people. Its most successful product is a lamp, first sold in 1932."
)
QUESTION = "Where are the headquarters of Ostermark Glassworks?"


def requirement(ok: bool, reason: str):
    """Skip when something the browser test needs is missing, except in CI (CI=true), where .ci/run
    installs it: fail there."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{reason}; with CI=true this is an error, not a skip")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def voila_url(toy_model_dir):
    requirement(
        shutil.which('voila') is not None or _importable('voila'),
        "Voilà is not installed (pip install voila)",
    )
    port = free_port()
    env = {**os.environ, 'SQUAD_QA_APP_MODEL': str(toy_model_dir), 'MPLBACKEND': 'Agg'}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / 'voila.log', 'w')
    server = subprocess.Popen(
        [
            sys.executable,
            '-m',
            'voila',
            str(ROOT / 'apps' / 'answer_app.ipynb'),
            '--no-browser',
            f'--port={port}',
            '--Voila.ip=127.0.0.1',
            '--show_tracebacks=True',
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    url = f'http://127.0.0.1:{port}/'
    try:
        for _ in range(120):
            if server.poll() is not None:
                pytest.fail(f"Voilà exited with {server.returncode}; see {ARTIFACTS / 'voila.log'}")
            try:
                urllib.request.urlopen(url + 'voila/static/', timeout=1)
            except urllib.error.HTTPError:
                break  # the server answers
            except OSError:
                time.sleep(0.5)
                continue
            break
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_app_in_a_real_browser(voila_url, toy_model_dir):
    requirement(_importable('playwright'), "Playwright is not installed (pip install playwright)")
    requirement(Path(CHROMIUM).exists(), f"No Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    from squad_qa.inference import QuestionAnswerer

    expected = QuestionAnswerer(str(toy_model_dir), handle_impossible_answer=True)(
        QUESTION, CONTEXT
    )
    assert not expected['no_answer'] and expected['answer'] in CONTEXT
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
        )
        try:
            page = browser.new_page(viewport={'width': 1200, 'height': 1000})
            # Voilà streams the page while it runs the notebook (loading the model): return once
            # the response starts, then wait for the widgets themselves
            page.goto(voila_url, timeout=300_000, wait_until='commit')
            context_box = page.locator('.qa-context-input textarea')
            try:
                context_box.wait_for(timeout=300_000)
            except Exception:
                page.screenshot(path=str(ARTIFACTS / 'app_timeout.png'), full_page=True)
                raise
            page.locator('.qa-output mark.qa-answer').first.wait_for(
                timeout=60_000
            )  # the prefilled example is answered
            context_box.fill(CONTEXT)
            question_box = page.locator('.qa-question-input input')
            question_box.fill(QUESTION)
            question_box.press('Enter')
            page.get_by_text(f'Q: {QUESTION}').wait_for(timeout=60_000)
            highlighted = page.locator('.qa-output mark.qa-answer')
            highlighted.first.wait_for(timeout=60_000)
            text = ''.join(highlighted.all_inner_texts())
            page.screenshot(path=str(ARTIFACTS / 'app_screenshot.png'), full_page=True)
        finally:
            browser.close()
    assert text == expected['answer'], (text, expected)
    assert (ARTIFACTS / 'app_screenshot.png').stat().st_size > 10_000
