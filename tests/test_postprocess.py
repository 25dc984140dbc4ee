"""Chapter 07 and appendix a4 on the SQuAD v1.1 dev set: the round trip through oracle logits,
and the array postprocessing against the loop."""

import json

import numpy as np
import pytest

from conftest import shared_path
from squad_qa.features import prepare_validation_features
from squad_qa.defaults import load_tokenizer
from squad_qa.metrics import (
    compute_exact,
    read_prediction_files,
    squad_metrics,
    write_prediction_files,
)
from squad_qa.answers import oracle_logits, postprocess_predictions_loop
from squad_qa.postprocess import postprocess_predictions, same_predictions


@pytest.fixture(scope='module')
def dev_features(dev_v11):
    tokenizer = load_tokenizer(shared_path('tokenizers', 'bert-base-uncased'))
    return dev_v11.map(
        prepare_validation_features,
        batched=True,
        remove_columns=dev_v11.column_names,
        fn_kwargs=dict(tokenizer=tokenizer, labels=True),
    )


def test_round_trip_file_features_oracle_postprocess_metrics(dev_v11, dev_features, tmp_path):
    predictions = postprocess_predictions(dev_v11, dev_features, *oracle_logits(dev_features))
    first_gold = [a['text'][0] for a in dev_v11['answers']]
    expressible = [p['prediction_text'] == g for p, g in zip(predictions, first_gold)]
    # every question whose first gold answer the tokenization can express exactly is an exact match
    assert all(
        max(compute_exact(t, p['prediction_text']) for t in a['text'])
        for p, a, ok in zip(predictions, dev_v11['answers'], expressible)
        if ok
    )
    # the ones that cannot: 9 answers longer than max_answer_length=30 tokens, and 32 that start
    # or end inside a token, whose labelled tokens cover more than the answer ('golden' for
    # 'gold'), never less
    misses = [
        (p['prediction_text'], g)
        for p, g, ok in zip(predictions, first_gold, expressible)
        if not ok
    ]
    assert len(misses) == 41
    unlimited = postprocess_predictions(
        dev_v11, dev_features, *oracle_logits(dev_features), max_answer_length=1000
    )
    inside_tokens = [
        (p['prediction_text'], g)
        for p, g in zip(unlimited, first_gold)
        if p['prediction_text'] != g
    ]
    assert len(inside_tokens) == 32 and all(g in p for p, g in inside_tokens)
    scores = squad_metrics(predictions, dev_v11.to_list())
    assert (
        round(scores['exact_match'], 2) == 99.70
        and round(squad_metrics(unlimited, dev_v11.to_list())['exact_match'], 2) == 99.78
    )
    write_prediction_files(predictions, tmp_path / 'predictions.json')
    assert (
        squad_metrics(read_prediction_files(tmp_path / 'predictions.json'), dev_v11.to_list())
        == scores
    )
    assert len(json.loads((tmp_path / 'predictions.json').read_text())) == 10_570


@pytest.mark.parametrize('v2', [False, True])
def test_array_postprocessing_equals_the_loop_on_random_logits(dev_v11, dev_features, v2):
    part = dev_v11.select(range(2000))
    wanted = set(part['id'])
    feats = dev_features.filter(
        lambda ids: [i in wanted for i in ids], input_columns='example_id', batched=True
    )
    rng = np.random.default_rng(1)
    start, end = (rng.standard_normal((len(feats), 384)).astype(np.float32) for _ in range(2))
    kw = dict(n_best=20, max_answer_length=30, version_2_with_negative=v2)
    assert same_predictions(
        postprocess_predictions(part, feats, start, end, **kw),
        postprocess_predictions_loop(part, feats, start, end, **kw),
    )


def test_trainer_style_padding_and_per_batch_logits(dev_v11, dev_features):
    part, feats = dev_v11.select(range(64)), dev_features.select(range(66))
    ids = set(part['id'])
    feats = feats.filter(lambda i: i in ids, input_columns='example_id')
    start, end = oracle_logits(feats, noise=2.0, seed=3)
    padded = [
        np.pad(a, ((0, 0), (0, 16)), constant_values=-100) for a in (start, end)
    ]  # Trainer.predict pads with -100
    batches = [
        [a[i : i + 8, : max(map(len, feats['input_ids'][i : i + 8]))] for i in range(0, len(a), 8)]
        for a in (start, end)
    ]
    reference = postprocess_predictions(part, feats, start, end)
    assert same_predictions(postprocess_predictions(part, feats, *padded), reference)
    assert same_predictions(postprocess_predictions(part, feats, *batches), reference)


def test_logit_rows_must_match_features(dev_v11, dev_features):
    start, end = oracle_logits(dev_features.select(range(10)))
    with pytest.raises(ValueError, match='rows of logits'):
        postprocess_predictions(dev_v11, dev_features.select(range(11)), start, end)


@pytest.mark.parametrize('as_dataset', [False, True])
def test_questions_without_any_features_get_empty_answers(as_dataset):
    """Every feature filtered out: one empty answer per question, as the loop gives (the empty id
    column is Arrow's null type)."""
    from datasets import Dataset

    examples, features = (
        {'id': ['a', 'b'], 'context': ['Paris is big.', 'Rome is old.']},
        {'example_id': [], 'offset_mapping': []},
    )
    if as_dataset:
        examples, features = Dataset.from_dict(examples), Dataset.from_dict(features)
    no_logits = np.zeros((0, 8), np.float32)
    for v2 in (False, True):
        ours = postprocess_predictions(
            examples, features, no_logits, no_logits, version_2_with_negative=v2
        )
        assert same_predictions(
            ours,
            postprocess_predictions_loop(
                examples, features, no_logits, no_logits, version_2_with_negative=v2
            ),
        )
        assert [(r['id'], r['prediction_text'], len(r['n_best'])) for r in ours] == [
            ('a', '', 0),
            ('b', '', 0),
        ]


PARIS = {'id': ['q'], 'context': ['Paris is the capital of France.']}
PARIS_OFFSETS = [None, [0, 5], [6, 8], [9, 12], [13, 20], [21, 23], [24, 30], [30, 31], None]
PARIS_LOGITS = (
    np.array([[0, 8, 1, 2, 3, 1, 4, 0, 0]], np.float32),
    np.array([[0, 7, 1, 2, 5, 1, 3, 2, 0]], np.float32),
)


def _read_by(windows: int, postprocess=postprocess_predictions, **kw) -> dict:
    features = {'example_id': ['q'] * windows, 'offset_mapping': [PARIS_OFFSETS] * windows}
    start, end = (a.repeat(windows, 0) for a in PARIS_LOGITS)
    return postprocess(PARIS, features, start, end, n_best=5, **kw)[0]


@pytest.mark.parametrize('v2', [False, True])
def test_an_answer_in_two_windows_is_listed_once_at_its_best(v2):
    """Two windows with the same logits on "Paris" (as two windows read an answer in their
    overlap): the n-best list and the no-answer probability are those of one window."""
    once, twice = _read_by(1, version_2_with_negative=v2), _read_by(2, version_2_with_negative=v2)
    assert [c['text'] for c in twice['n_best']].count('Paris') == 1
    assert list(twice['n_best']) == list(once['n_best'])
    assert twice.get('no_answer_probability') == once.get('no_answer_probability')
    assert same_predictions(
        [twice], [_read_by(2, postprocess_predictions_loop, version_2_with_negative=v2)]
    )


def test_the_better_window_gives_a_shared_span_its_score():
    """The same span in two windows with different scores: listed once, with the higher score."""
    features = {'example_id': ['q', 'q'], 'offset_mapping': [PARIS_OFFSETS] * 2}
    start = np.concatenate([PARIS_LOGITS[0], PARIS_LOGITS[0] + [[0, 1, 0, 0, 0, 0, 0, 0, 0]]])
    end = PARIS_LOGITS[1].repeat(2, 0)
    record = postprocess_predictions(PARIS, features, start, end, n_best=5)[0]
    assert [c['text'] for c in record['n_best']].count('Paris') == 1
    assert record['prediction_text'] == 'Paris' and record['score'] == 8 + 1 + 7


def test_no_span_twice_on_the_dev_set(dev_v11, dev_features):
    """All of dev in 384/128 windows, with logits that are a function of each token's characters,
    so that windows agree where they overlap (as a model nearly does): no n-best list holds a span
    twice, and the arrays still give the loop's records."""
    rng = np.random.default_rng(2)
    by_char = rng.standard_normal((2, 1 + max(map(len, dev_v11['context'])))).astype(np.float32)
    shape = (len(dev_features), 384)
    start, end = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    for f, offsets in enumerate(dev_features['offset_mapping']):
        at = [(i, o) for i, o in enumerate(offsets) if o is not None]
        start[f, [i for i, _ in at]] = by_char[0, [o[0] for _, o in at]]
        end[f, [i for i, _ in at]] = by_char[1, [o[1] for _, o in at]]
    predictions = postprocess_predictions(dev_v11, dev_features, start, end)
    spans = [[(c['start'], c['end']) for c in p['n_best']] for p in predictions]
    assert all(len(set(s)) == len(s) for s in spans)
    assert sum(len(s) < 20 for s in spans) < 10  # still n_best candidates, nearly everywhere
    assert same_predictions(
        predictions, postprocess_predictions_loop(dev_v11, dev_features, start, end)
    )


def test_beam_head_no_answer_fields_are_log_probabilities():
    """XLNet's beam head: null_score is log P(no answer) and score_diff the log-odds of no answer
    against the best span, both on the scale of the span scores (log-probabilities)."""
    import math

    from squad_qa.decoding import postprocess_beam_predictions

    one = {'id': ['q'], 'context': ['alpha beta gamma delta']}
    offsets = [[None, [0, 5], [6, 10], [11, 16], [17, 22], None]]
    features = {'example_id': ['q'], 'offset_mapping': offsets, 'cls_index': [5]}
    record = postprocess_beam_predictions(
        one, features, [[0.6, 0.4]], [[1, 3]], [[0.5, 0.9, 0.3, 0.05]], [[2, 4, 3, 3]], [1.0],
        version_2_with_negative=True,
    )[0]  # fmt: skip
    p_none = 1 / (1 + math.exp(-1.0))
    assert record['no_answer_probability'] == pytest.approx(p_none)
    assert record['null_score'] == pytest.approx(math.log(p_none))
    assert record['score_diff'] == pytest.approx(math.log(p_none / ((1 - p_none) * 0.36)))
    assert record['prediction_text'] == ''  # P(no answer) 0.73 > 0.5
