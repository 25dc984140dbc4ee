"""Chapter 12 on real data: `QuestionAnswerer` against chapter 07's reference loop on SQuAD dev,
and over long contexts with real tokenizers."""

import pytest
import torch

from conftest import shared_path
from squad_qa.defaults import load_tokenizer
from squad_qa.inference import QuestionAnswerer


@pytest.fixture(scope='module')
def answerer(toy_model_dir):
    return QuestionAnswerer(str(toy_model_dir))


def test_matches_the_reference_loop_on_dev(answerer, dev_v11):
    """Batched, length-sorted answering gives what chapter 07's loop gives on logits computed one
    window at a time, unpadded."""
    from squad_qa.features import prepare_validation_features
    from squad_qa.answers import postprocess_predictions_loop

    dev = dev_v11.select(range(80))
    short = QuestionAnswerer(answerer.model, answerer.tokenizer, max_length=128, stride=32)
    ours = short(list(dev['question']), list(dev['context']))
    features = dev.map(
        prepare_validation_features,
        batched=True,
        remove_columns=dev.column_names,
        fn_kwargs=dict(tokenizer=answerer.tokenizer, max_length=128, stride=32),
    )
    assert len(features) > 1.5 * len(dev)  # most contexts need several windows
    starts, ends = [], []
    with torch.inference_mode():
        for f in features:
            out = answerer.model(
                **{
                    k: torch.tensor([f[k]])
                    for k in ('input_ids', 'attention_mask', 'token_type_ids')
                }
            )
            starts.append(out.start_logits[0].numpy())
            ends.append(out.end_logits[0].numpy())
    for a, r, context in zip(
        ours,
        postprocess_predictions_loop(dev, features, starts, ends, max_answer_length=30),
        dev['context'],
    ):
        assert (a['answer'], a['start'], a['end']) == (r['prediction_text'], r['start'], r['end'])
        assert context[a['start'] : a['end']] == a['answer']


def test_batched_equals_one_by_one(answerer, dev_v11):
    dev = dev_v11.select(range(200, 230))
    batched = answerer(list(dev['question']), list(dev['context']), top_k=3)
    for question, context, alternatives in zip(dev['question'], dev['context'], batched):
        alone = answerer(
            question, context, top_k=3
        )  # padding in a batch changes logits in the 7th digit, not the answers
        assert [(a['answer'], a['start'], a['end']) for a in alone] == [
            (a['answer'], a['start'], a['end']) for a in alternatives
        ]
        assert [a['score'] for a in alone] == pytest.approx(
            [a['score'] for a in alternatives], abs=1e-5
        )


@pytest.mark.parametrize(
    'name', ['bert-base-cased', 'roberta-base', 'albert-base-v2', 'xlnet-base-cased']
)
def test_long_contexts_with_real_tokenizers(name, dev_v11):
    from transformers import AutoConfig, AutoModelForQuestionAnswering

    tokenizer = load_tokenizer(shared_path('tokenizers', name))
    config = AutoConfig.for_model(
        {
            'bert-base-cased': 'bert',
            'roberta-base': 'roberta',
            'albert-base-v2': 'albert',
            'xlnet-base-cased': 'xlnet',
        }[name],
        vocab_size=len(tokenizer),
        **(
            {'d_model': 32, 'n_layer': 1, 'n_head': 2, 'd_inner': 64}
            if 'xlnet' in name
            else {
                'hidden_size': 32,
                'num_hidden_layers': 1,
                'num_attention_heads': 2,
                'intermediate_size': 64,
            }
        ),
    )
    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_config(config)
    answerer = QuestionAnswerer(model, tokenizer, max_length=128, stride=32)
    dev = dev_v11.select(range(0, 400, 40))
    contexts = [
        ' '.join(dev['context'][max(0, i - 2) : i + 1]) for i in range(len(dev))
    ]  # several paragraphs: several windows
    assert len(answerer.windows(list(dev['question']), contexts)['input_ids']) > 2 * len(dev)
    for answer, context in zip(answerer(list(dev['question']), contexts, top_k=2), contexts):
        for alternative in answer:
            assert (
                alternative['answer']
                and context[alternative['start'] : alternative['end']] == alternative['answer']
            )


def test_contexts_shorter_than_n_best():
    """A one-line context has fewer tokens than n_best=20: no question token or [SEP] may become
    part of an answer."""
    from transformers import BertConfig, BertForQuestionAnswering

    tokenizer = load_tokenizer(shared_path('tokenizers', 'bert-base-uncased'))
    torch.manual_seed(0)
    model = BertForQuestionAnswering(
        BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
        )
    )
    answerer = QuestionAnswerer(model, tokenizer)
    for context in ['Paris is big.', 'Yes.', 'The cat sat on the mat in the warm afternoon sun.']:
        for answer in answerer(
            'What is the name of the largest city in the whole country of France?',
            context,
            top_k=20,
        ):
            assert context[answer['start'] : answer['end']] == answer['answer'] and answer['answer']


def _paris_reading(windows: int) -> dict:
    "A hand-made reading: `windows` windows that hold the whole context, with the same logits."
    import numpy as np

    offsets = [None, (0, 5), (6, 8), (9, 12), (13, 20), (21, 23), (24, 30), (30, 31), None]
    start = np.array([0, 8, 1, 2, 3, 1, 4, 0, 0.0], np.float32)
    end = np.array([0, 7, 1, 2, 5, 1, 3, 2, 0.0], np.float32)
    features = {'example_id': ['q0'] * windows, 'offset_mapping': [offsets] * windows}
    return {'features': features, 'start_logits': [start] * windows, 'end_logits': [end] * windows}


@pytest.mark.parametrize('v2', [False, True])
def test_an_answer_in_a_window_overlap_counts_once(answerer, v2):
    """Two windows with the same logits on "Paris": 'Paris' once among the alternatives, with the
    probability it has in one window (counted once per window, it had half)."""
    paris = 'Paris is the capital of France.'
    one, two = (
        answerer('Which city?', paris, top_k=5, handle_impossible_answer=v2,
                 reading=_paris_reading(n))
        for n in (1, 2)
    )  # fmt: skip
    assert [a['answer'] for a in two].count('Paris') == 1
    assert two == one
    assert two[0]['answer'] == 'Paris' and two[0]['score'] > 0.5


def test_real_windows_list_each_answer_once(answerer, dev_v11):
    """Contexts of three paragraphs in 128/64 windows (half of each window is overlap): no
    alternative twice, and the scores of all alternatives add up to at most 1."""
    dev = dev_v11.select(range(0, 300, 30))
    contexts = [' '.join(dev['context'][max(0, i - 2) : i + 1]) for i in range(len(dev))]
    short = QuestionAnswerer(answerer.model, answerer.tokenizer, max_length=128, stride=64)
    assert len(short.windows(list(dev['question']), contexts)['input_ids']) > 3 * len(dev)
    for alternatives in short(list(dev['question']), contexts, top_k=20):
        spans = [(a['start'], a['end']) for a in alternatives]
        assert len(set(spans)) == len(spans)
        assert sum(a['score'] for a in alternatives) <= 1 + 1e-9


def test_a_batch_names_every_bad_input(answerer):
    long_question = 'why ' * 400
    questions = ['Who?', long_question, None, '', {'q': 'Why?'}, long_question]
    contexts = ['Ada.', 'Ada.', 'Ada.', ' ', 'Ada.', 'Ada. ' * 200]
    with pytest.raises(ValueError) as err:
        answerer(questions, contexts)
    message = str(err.value)
    assert message.startswith('6 bad inputs: ') and '\n' not in message
    for part in ("'q1'", 'question 2 is NoneType, not text', 'question 3 is empty',
                 'context 3 is empty', 'question 4 is dict, not text', "'q5'"):  # fmt: skip
        assert part in message
    assert 'question 0' not in message and "'q0'" not in message
    with pytest.raises(TypeError, match='2 bad inputs: question 0 is int.*context 1 is bytes'):
        answerer([1, 'Who?'], ['Ada.', b'Ada.'])
