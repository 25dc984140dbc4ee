"""Chapter 11 on real data: training through windows of SQuAD dev with real tokenizers (BERT right
padding, XLNet left padding), and the `squad-qa` command."""

import json, os, subprocess

import pytest
import torch

from conftest import shared_path
from squad_qa.defaults import load_tokenizer
from squad_qa.runs import TrainConfig
from squad_qa.features import length_grouped_batches, padded_tokens, qa_features
from squad_qa.training import train_qa


@pytest.fixture(scope='module')
def dev_sample(dev_v11):
    return dev_v11.select(range(160))


def tiny_bert(vocab_size):
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    return BertForQuestionAnswering(
        BertConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
        )
    )


def test_train_through_windows_of_dev(dev_sample):
    tokenizer = load_tokenizer(shared_path('tokenizers', 'bert-base-uncased'))
    train, held_out = dev_sample.select(range(120)), dev_sample.select(range(120, 160))
    features = qa_features(train, tokenizer, max_length=128, stride=32, train=True)
    eval_features = qa_features(held_out, tokenizer, max_length=128, stride=32)
    assert len(features) > len(train) and len(eval_features) > len(
        held_out
    )  # contexts really are cut into windows
    result = train_qa(
        tiny_bert(tokenizer.vocab_size),
        tokenizer,
        features,
        held_out,
        eval_features,
        TrainConfig(epochs=2, lr=1e-3, batch_size=16, seed=0, eval_before=True),
    )
    history = result.history
    assert list(history['epoch']) == [0, 1, 2]
    assert history['eval_loss'].iloc[-1] < history['eval_loss'].iloc[0]
    assert history['train_loss'].iloc[2] < history['train_loss'].iloc[1]
    for prediction, context in zip(result.last_eval['predictions'], held_out['context']):
        assert context[prediction['start'] : prediction['end']] == prediction['prediction_text']
    lengths = [len(ids) for ids in features['input_ids']]
    # what the history counts is what the batches padded to their longest feature hold
    assert history['tokens'].iloc[1] == padded_tokens(
        lengths, length_grouped_batches(lengths, 16, seed=0 * 1000 + 0)
    )
    assert history['real_tokens'].iloc[1] == sum(lengths)
    assert history['tokens'].iloc[1] < len(lengths) * 128


def test_xlnet_left_padding_trains_and_evaluates(dev_sample):
    from transformers import XLNetConfig, XLNetForQuestionAnsweringSimple

    tokenizer = load_tokenizer(shared_path('tokenizers', 'xlnet-base-cased'))
    assert tokenizer.padding_side == 'left'
    train, held_out = dev_sample.select(range(64)), dev_sample.select(range(64, 96))
    features = qa_features(train, tokenizer, max_length=160, stride=48, train=True)
    eval_features = qa_features(held_out, tokenizer, max_length=160, stride=48)
    torch.manual_seed(0)
    model = XLNetForQuestionAnsweringSimple(
        XLNetConfig(vocab_size=tokenizer.vocab_size, d_model=32, n_layer=2, n_head=2, d_inner=64)
    )
    result = train_qa(
        model,
        tokenizer,
        features,
        held_out,
        eval_features,
        TrainConfig(epochs=3, lr=2e-3, batch_size=8, seed=0),
    )
    assert result.history['train_loss'].iloc[-1] < result.history['train_loss'].iloc[0]
    for prediction, context in zip(result.last_eval['predictions'], held_out['context']):
        assert (
            prediction['prediction_text']
            and context[prediction['start'] : prediction['end']] == prediction['prediction_text']
        )


def run(*args, timeout=900):
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'MPLBACKEND': 'Agg'}
    return subprocess.run(
        ['squad-qa', *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_cli_demo_end_to_end(tmp_path):
    done = run(
        'demo',
        '--train-questions',
        '64',
        '--eval-questions',
        '24',
        '--epochs',
        '1',
        '--output-dir',
        str(tmp_path / 'demo'),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'EM/F1 on the validation questions' in done.stdout and 'A few answers' in done.stdout
    for name in (
        'model/model.safetensors',
        'model/tokenizer.json',
        'curves.png',
        'history.csv',
        'checkpoint-epoch1/training_state.pt',
    ):
        assert (tmp_path / 'demo' / name).exists(), name
    assert not list((tmp_path / 'demo').rglob('*.bin')) and not list(
        (tmp_path / 'demo').rglob('*.pkl')
    )


def test_cli_errors_are_one_clear_line(tmp_path):
    missing = run('train', '--data', str(tmp_path / 'nope.json'), '--model', str(tmp_path))
    assert missing.returncode == 2 and 'Could not load a QA model' in missing.stderr
    missing_data = run('evaluate', '--data', str(tmp_path / 'nope.json'))
    assert (
        missing_data.returncode == 2
        and f"No SQuAD file at {tmp_path / 'nope.json'}" in missing_data.stderr
    )
    offline = run(
        'answer', '--model', 'no-such-user/no-such-model', '--question', 'Who?', '--context', 'Ada.'
    )
    assert offline.returncode == 2 and 'Hub is unreachable' in offline.stderr, offline.stderr
    bad = {
        'version': '1.1',
        'data': [
            {
                'title': 't',
                'paragraphs': [
                    {
                        'context': 'Ada Lovelace wrote the first program.',
                        'qas': [
                            {
                                'id': 'bad-1',
                                'question': 'Who wrote it?',
                                'answers': [{'text': 'Charles Babbage', 'answer_start': 0}],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / 'bad.json').write_text(json.dumps(bad))
    unaligned = run(
        'train',
        '--data',
        str(tmp_path / 'bad.json'),
        '--epochs',
        '1',
        '--output-dir',
        str(tmp_path / 'out'),
    )
    assert unaligned.returncode == 2 and 'bad-1' in unaligned.stderr, unaligned.stderr


def test_the_run_seed_decides_a_new_qa_head():
    """`train_qa(seed=s)` starts from the QA head `load_qa_model(seed=s)` would draw, whatever seed
    the model was loaded with (it was always seed 0's before). The learning rate is so small that
    the trained head stays within 1e-6 of where it started."""
    from squad_qa.defaults import load_qa_model, toy_squad

    model, tokenizer = load_qa_model()  # its new head drawn from seed 0
    train = toy_squad('train').select(range(8))
    features = qa_features(train, tokenizer, max_length=96, stride=32, train=True)
    drawn = {seed: load_qa_model(seed=seed)[0].qa_outputs.weight.detach() for seed in (0, 7)}
    train_qa(model, tokenizer, features, config=TrainConfig(epochs=1, lr=1e-12, seed=7))
    head = model.qa_outputs.weight.detach()
    assert torch.allclose(head, drawn[7], atol=1e-6)
    assert not torch.allclose(head, drawn[0], atol=1e-3)
    assert model.qa_head_is_new is False  # taken over: a second run does not draw it again
