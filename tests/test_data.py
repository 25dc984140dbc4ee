"""Chapter 00 on the real SQuAD v1.1 dev set, over a loopback URL, through a (stubbed) Hub, and from
the command line."""

import collections, functools, http.server, json, shutil, socket, subprocess, sys, threading

import datasets
import pytest
from datasets import Dataset

from squad_qa.data import SQUAD_FEATURES, SquadFormatError, load_squad
from squad_qa.sources import HUB_SQUAD, SourceNotFoundError, fixture_path
from squad_qa.explore import AnswerNotFoundError, add_answer_ends, squad_summary


def walk_official(path):
    """The questions of an official file, read with nothing but json: the reference `load_squad`
    must equal."""
    squad = json.loads(path.read_text(encoding='utf-8'))
    return [
        dict(
            id=qa['id'],
            title=art['title'],
            context=par['context'],
            question=qa['question'],
            answers={
                'text': [a['text'] for a in qa['answers']],
                'answer_start': [a['answer_start'] for a in qa['answers']],
            },
        )
        for art in squad['data']
        for par in art['paragraphs']
        for qa in par['qas']
    ]


def test_dev_v11_rows_equal_the_file(dev_v11, dev_v11_path):
    assert dev_v11.num_rows == 10_570
    assert dev_v11.features == SQUAD_FEATURES
    assert dev_v11.to_list() == walk_official(dev_v11_path)


def test_dev_v11_summary_and_every_answer_located(dev_v11):
    summary = squad_summary(dev_v11)['value']
    assert (
        summary['articles'],
        summary['paragraphs'],
        summary['questions'],
        summary['unanswerable'],
    ) == (48, 2067, 10_570, 0)
    fixed, report = add_answer_ends(dev_v11)
    assert report.answers == summary['gold answers'] == 34_726
    for row in fixed:
        for text, start, end in zip(*row['answers'].values()):
            assert row['context'][start:end] == text, row['id']


def test_dev_v11_has_up_to_six_gold_answers(dev_v11):
    "Not 'three annotators each': chapter 01's count of questions by number of gold answers."
    counts = collections.Counter(len(a['text']) for a in dev_v11['answers'])
    assert dict(sorted(counts.items())) == {1: 3, 2: 136, 3: 8_490, 4: 759, 5: 1_147, 6: 35}


def test_dev_v11_answer_far_from_its_offset_names_the_question(dev_v11):
    row = dev_v11[0]
    moved = dev_v11.select([0]).map(
        lambda r: {
            'answers': {
                'text': r['answers']['text'],
                'answer_start': [s + 7 for s in r['answers']['answer_start']],
            }
        }
    )
    with pytest.raises(AnswerNotFoundError, match=row['id']):
        add_answer_ends(moved)


@pytest.mark.parametrize('name', ['tiny-v1.1.json', 'tiny-v2.0.json'])
def test_fixtures_equal_an_independent_reading(name):
    assert load_squad(fixture_path(name)).to_list() == walk_official(fixture_path(name))


@pytest.fixture
def served_fixtures():
    "An HTTP server on loopback serving squad_qa/fixtures; yields its base URL."
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(fixture_path().parent)
    )
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_url_is_downloaded_once_and_read_like_the_file(served_fixtures, tmp_path):
    url = f"{served_fixtures}/tiny-v2.0.json"
    from_url = load_squad(url, cache_dir=tmp_path)
    assert from_url.to_list() == load_squad(fixture_path('tiny-v2.0.json')).to_list()
    assert len(list(tmp_path.iterdir())) == 1
    assert load_squad(url, cache_dir=tmp_path).num_rows == 11  # served from the cache


def test_unreachable_url_says_what_to_do(tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError, match='local path'):
        load_squad(f"http://127.0.0.1:{port}/dev-v2.0.json", cache_dir=tmp_path)


def test_hub_name_goes_through_load_dataset_and_is_cast(monkeypatch):
    hub_like = Dataset.from_list(load_squad().to_list()).map(lambda r: {'extra': 1})
    calls = []

    def fake_load_dataset(name, split=None):
        calls.append((name, split))
        return datasets.DatasetDict(validation=hub_like) if split is None else hub_like

    monkeypatch.setattr(datasets, 'load_dataset', fake_load_dataset)
    ds = load_squad('squad_v2', split='validation')
    # the Hub's canonical name: the short one still resolves, but through a redirect
    assert calls == [(HUB_SQUAD['squad_v2'], 'validation')] and ds.features == SQUAD_FEATURES
    assert ds.to_list() == load_squad().to_list()
    assert isinstance(load_squad('squad_v2'), datasets.DatasetDict)


def test_hub_unreachable_says_so(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(datasets, 'load_dataset', offline)
    with pytest.raises(ConnectionError, match="Offline\\? Pass the path"):
        load_squad('squad')


@pytest.mark.parametrize(
    'content, message',
    [
        ('[1, 2]', "expected a JSON object"),
        ('{"version": "1.1"}', "missing key 'data'"),
        (
            '{"data": [{"title": "t", "paragraphs": [{"context": "abc", "qas": [{"id": "q1", '
            '"question": "?", "answers": [{"text": "b", "answer_start": 1.0}]}]}]}]}',
            r"\(id 'q1'\).answers\[0\].answer_start: expected int",
        ),
        (
            '{"data": [{"title": "t", "paragraphs": [{"context": "abc", "qas": [{"id": "q1", '
            '"question": "?", "answers": []}]}]}]}',
            "no answers, and is_impossible is not true",
        ),
    ],
)
def test_malformed_files_name_the_place(tmp_path, content, message):
    path = tmp_path / 'bad.json'
    path.write_text(content)
    with pytest.raises(SquadFormatError, match=message):
        load_squad(path)


def blank_answer_file(tmp_path, text=' \t '):
    "The tiny v2.0 file with question sq-0008's first answer replaced by `text`."
    squad = json.loads(fixture_path('tiny-v2.0.json').read_text(encoding='utf-8'))
    squad['data'][1]['paragraphs'][0]['qas'][0]['answers'][0]['text'] = text
    path = tmp_path / 'blank-answer.json'
    path.write_text(json.dumps(squad))
    return path


def test_whitespace_only_answer_is_refused_by_name(tmp_path):
    "Accepted, it would crash `label_window_loop` with an IndexError chapters later."
    path = blank_answer_file(tmp_path)
    with pytest.raises(SquadFormatError) as caught:
        load_squad(path)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert str(path) in message and "(id 'sq-0008').answers[0]" in message
    assert 'only whitespace' in message and "on_error='skip'" in message
    with pytest.warns(UserWarning, match=r"(?s)skipped 1 question:.*sq-0008.*only whitespace"):
        assert load_squad(path, on_error='skip').num_rows == 10


def test_missing_path_without_json_says_no_such_file(tmp_path, monkeypatch):
    "A path that is not there is reported as a missing file, not as a Hub connection failure."
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'data').mkdir()

    def hub(*args, **kwargs):  # offline; and a path must never get here
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(datasets, 'load_dataset', hub)
    for source, hint in [('data/dev-v1.1', ''), ('no/such/path', ' (nor a folder no/such)')]:
        with pytest.raises(FileNotFoundError) as caught:
            load_squad(source)
        assert str(caught.value) == f"No SQuAD file at {source}: no such file{hint}"
    (tmp_path / 'data' / 'dev-v1.1.json').write_text('{"data": []}')
    with pytest.raises(FileNotFoundError, match=r'did you mean data/dev-v1\.1\.json\?'):
        load_squad('data/dev-v1.1')
    # no folder `someone/` here: it may be a Hub name, and the Hub fails too; the file comes first
    with pytest.raises(SourceNotFoundError) as caught:
        load_squad('someone/dev-v1.1')
    assert isinstance(caught.value, FileNotFoundError) and isinstance(caught.value, ConnectionError)
    assert str(caught.value).startswith('No SQuAD file at someone/dev-v1.1: no such file')
    assert "We couldn't connect" in str(caught.value)


def test_skip_mode_warns_with_counts(tmp_path):
    squad = json.loads(fixture_path('tiny-v2.0.json').read_text(encoding='utf-8'))
    squad['data'][1]['paragraphs'][0]['qas'][0]['question'] = ''
    path = tmp_path / 'one-bad.json'
    path.write_text(json.dumps(squad))
    with pytest.warns(UserWarning, match=r"(?s)skipped 1 questions?:.*sq-0008.*empty question"):
        assert load_squad(path, on_error='skip').num_rows == 10


def test_command_line_summary():
    exe = shutil.which('squad-qa-data')
    cmd = (
        [exe]
        if exe
        else [
            sys.executable,
            '-c',
            'import sys; from squad_qa.cli import data_main; sys.exit(data_main())',
        ]
    )
    out = subprocess.run(
        cmd + [str(fixture_path('tiny-v1.1.json'))], capture_output=True, text=True, check=True
    ).stdout
    assert 'questions' in out and '2 repaired (1 by +1, 1 by +2)' in out
