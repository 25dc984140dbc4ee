"""transformers 4's own tests of its question-answering pipeline (tests/pipelines/
test_pipelines_question_answering.py), ported to appendix a7's drop-in and run through
`pipeline("question-answering")` on transformers 5; plus what the drop-in adds (clear errors,
`max_question_len`, saving) and what it must leave alone (the other removed tasks)."""

import json

import numpy as np
import pytest
import transformers
from transformers import pipeline, pipelines

from squad_qa.inference import QuestionAnswerer
from squad_qa.qa_pipeline import QAPipeline, qa_inputs, register_pipeline, unregister_pipeline

TRANSFORMERS_5 = int(transformers.__version__.split('.')[0]) >= 5
TASK = 'question-answering' if TRANSFORMERS_5 else 'squad-qa'  # 4.x keeps its own pipeline
Q, C = 'Where was HuggingFace founded ?', 'HuggingFace was founded in Paris.'
KEYS = {'answer': str, 'start': int, 'end': int, 'score': float}
OTHER_REMOVED = ['summarization', 'translation_en_to_fr', 'visual-question-answering',
                 'image-to-image', 'text2text-generation']  # fmt: skip


def shape(output):
    "An output's keys and value types (a list of them for a list)."
    if isinstance(output, list):
        return [shape(o) for o in output]
    return {k: type(v) for k, v in output.items()}


def assert_same(a, b):
    "Same answers, starts and ends; scores equal to 1e-6 (batches may round differently)."
    a, b = (x if isinstance(x, list) else [x] for x in (a, b))
    assert [{**x, 'score': 0} for x in a] == [{**y, 'score': 0} for y in b]
    assert np.allclose([x['score'] for x in a], [y['score'] for y in b], atol=1e-6)


def removal(task):
    "The KeyError `pipeline(task)` raises before loading anything, or None."
    try:
        pipeline(task)
    except KeyError as err:
        return err.args[0]


@pytest.fixture(scope='module')
def qa(toy_model_dir):
    register_pipeline(TASK)
    return pipeline(TASK, model=str(toy_model_dir))


def test_registered_through_pipeline(qa):
    assert isinstance(qa, QAPipeline) and isinstance(qa, transformers.Pipeline)
    assert qa.device.type == 'cpu'


@pytest.mark.skipif(not TRANSFORMERS_5, reason='transformers 4 has no removed tasks')
def test_other_removed_tasks_still_raise(toy_model_dir):
    unregister_pipeline()
    before = {task: removal(task) for task in OTHER_REMOVED + ['question-answering']}
    assert all('has been removed' in message for message in before.values())
    assert register_pipeline() and register_pipeline()  # twice is once
    after = {task: removal(task) for task in OTHER_REMOVED}
    assert after == {task: before[task] for task in OTHER_REMOVED}
    assert 'question-answering' not in pipelines.REMOVED_TASKS
    unregister_pipeline()
    assert removal('question-answering') == before['question-answering']
    register_pipeline()
    assert isinstance(pipeline('question-answering', model=str(toy_model_dir)), QAPipeline)


def test_leaves_a_builtin_pipeline_alone(monkeypatch, capsys):
    class BuiltIn:
        pass

    tasks = dict(pipelines.PIPELINE_REGISTRY.supported_tasks, **{'qa-of-4x': {'impl': BuiltIn}})
    monkeypatch.setattr(pipelines.PIPELINE_REGISTRY, 'supported_tasks', tasks)
    assert register_pipeline('qa-of-4x') is False
    assert tasks['qa-of-4x']['impl'] is BuiltIn
    assert 'has its own' in capsys.readouterr().out
    unregister_pipeline('qa-of-4x')
    assert tasks['qa-of-4x']['impl'] is BuiltIn


def test_run_pipeline_test(qa):
    "The 4.x `run_pipeline_test`: output shapes for every way of asking."
    assert shape(qa(question=Q, context=C)) == KEYS
    assert shape(qa(question=Q, context=C, handle_impossible_answer=True)) == KEYS
    two = ['In what field is HuggingFace working ?'] * 2
    assert shape(qa(question=two, context=C)) == [KEYS, KEYS]
    contexts = ['HuggingFace is a startup based in New-York',
                'HuggingFace is a startup founded in Paris']  # fmt: skip
    questions = ['What field is HuggingFace working ?', 'In what field is HuggingFace ?']
    assert shape(qa(question=questions, context=contexts)) == [KEYS, KEYS]
    top20 = qa(question=Q, context=C, top_k=20)
    assert shape(top20) == [KEYS] * len(top20) and len(top20) > 1
    long = qa(question=Q, context=C * 20)
    assert shape(long) == KEYS
    assert_same(qa(question=Q, context=C * 20, batch_size=2), long)


def test_bad_input_raises(qa):
    for question, context in (('', C), (None, C), (Q, ''), (Q, None)):
        with pytest.raises(ValueError, match='cannot be'):
            qa(question=question, context=context)
    with pytest.raises(ValueError, match='top_k=0'):
        qa(question=Q, context=C, top_k=0)
    with pytest.raises(ValueError, match="2 questions but 3 contexts"):
        qa(question=[Q, Q], context=[C, C, C])
    with pytest.raises(ValueError, match="leaves 0 of max_seq_len=32"):
        qa(question='Where was it founded? ' * 10, context=C * 10, max_seq_len=32, doc_stride=8)
    with pytest.raises(ValueError, match='doc_stride=40 is larger than max_seq_len=32'):
        qa(question=Q, context=C, max_seq_len=32, doc_stride=40)
    with pytest.raises(ValueError, match='use max_seq_len=512 or less'):
        qa(question=Q, context=C, max_seq_len=1000)
    with pytest.raises(TypeError, match='did you mean max_seq_len'):
        qa(question=Q, context=C, max_seq_length=512)


def test_small_model(qa):
    "4.x's test_small_model_pt, with our toy model's answer."
    assert qa(question=Q, context=C) | {'score': None} == {
        'score': None, 'start': 27, 'end': 32, 'answer': 'Paris'}


def test_iterator(qa):
    "4.x's test_small_model_pt_iterator: a generator is answered lazily, one output an input."
    data = ({'question': Q, 'context': C} for _ in range(10))
    outputs = qa(data)
    assert not isinstance(outputs, list)
    assert_same(list(outputs), [qa(question=Q, context=C)] * 10)


def test_softmax_trick(toy_model_dir):
    "4.x's test_small_model_pt_softmax_trick: logits times a million give a finite score."

    class HugeLogits(QAPipeline):
        def _forward(self, prepared):
            read = super()._forward(prepared)
            scale = [np.asarray(x) * 1e6 for x in read['start_logits']]
            return {**read, 'start_logits': scale,
                    'end_logits': [np.asarray(x) * 1e6 for x in read['end_logits']]}

    qa = pipeline(TASK, model=str(toy_model_dir), pipeline_class=HugeLogits)
    output = qa(question=Q, context=C)
    assert np.isfinite(output['score']) and 0 <= output['score'] <= 1
    assert output['answer'] == 'Paris'


def test_duplicate_handling(qa):
    "4.x's test_duplicate_handling: no answer text twice in top_k=10."
    answers = [o['answer'] for o in qa(question='Who is the chancellor of Germany?',
                                       context='Angela Merkel was the chancellor of Germany.',
                                       top_k=10)]  # fmt: skip
    assert len(answers) == len(set(answers))


def test_answer_in_two_windows_scores_their_sum(qa):
    "4.x (fast tokenizers) adds an answer's scores in the windows that share it; so does ours."
    from squad_qa.defaults import toy_squad

    dev = toy_squad('validation')
    context = ' '.join(dict.fromkeys(dev['context'][:12]))
    question, short = dev[7]['question'], qa.settings(max_seq_len=64, doc_stride=32)
    best = qa(question=question, context=context, max_seq_len=64, doc_stride=32)
    read = qa._forward(qa.preprocess([(question, context)], **short))
    in_window = []
    for w in range(len(read['start_logits'])):
        found = []
        qa._window_answers(read, w, found, context, 12, short['max_answer_len'], True)
        in_window += [a['score'] for a in found if a['answer'].lower() == best['answer'].lower()]
    assert len(in_window) > 1, in_window  # the overlap case: two windows read the answer
    assert best['score'] == pytest.approx(sum(in_window), abs=1e-9)
    assert best['score'] > max(in_window)  # added, not the larger of the two


def test_impossible_answer_is_empty(qa):
    outputs = qa(question=Q, context=C, handle_impossible_answer=True, top_k=50)
    empty = [o for o in outputs if o['answer'] == '']
    assert empty and empty[0]['start'] == empty[0]['end'] == 0


def test_align_to_words(qa):
    "Aligned answers start and end on word boundaries; unaligned ones may not."
    context = 'Huggingface was founded in Paris.'

    def cuts_a_word(i):
        return 0 < i < len(context) and context[i - 1].isalnum() and context[i].isalnum()

    def on_boundaries(answer):
        return not cuts_a_word(answer['start']) and not cuts_a_word(answer['end'])

    aligned = qa(question='Who was founded?', context=context, top_k=30)
    raw = qa(question='Who was founded?', context=context, top_k=30, align_to_words=False)
    assert all(on_boundaries(a) and a['answer'] for a in aligned)
    assert not all(on_boundaries(a) for a in raw)
    assert all(a['start'] < a['end'] and a['score'] > 0 for a in aligned + raw)


def test_argument_handler():
    "4.x's QuestionAnsweringArgumentHandlerTests, on `qa_inputs`."
    pair = {'question': Q, 'context': C}
    for asked in (qa_inputs(Q, C), qa_inputs(question=Q, context=C), qa_inputs(pair),
                  qa_inputs([pair])):  # fmt: skip
        assert asked == [(Q, C)]
    assert qa_inputs(question=[Q, Q], context=C) == [(Q, C)] * 2
    assert qa_inputs(question=[Q, Q], context=[C, C]) == [(Q, C)] * 2
    assert qa_inputs([pair, pair]) == [(Q, C)] * 2
    with pytest.warns(FutureWarning):
        assert qa_inputs(X=pair) == [(Q, C)]
    with pytest.warns(FutureWarning):
        assert qa_inputs(data=[pair]) == [(Q, C)]
    for bad in ({'context': C}, [{'question': Q}]):
        with pytest.raises(KeyError):
            qa_inputs(bad)
    for bad in ((None, C), ('', C), (Q, None), (Q, '')):
        with pytest.raises(ValueError):
            qa_inputs(*bad)
        with pytest.raises(ValueError):
            qa_inputs(question=bad[0], context=bad[1])
        with pytest.raises(ValueError):
            qa_inputs([pair, {'question': bad[0], 'context': bad[1]}])
    for args, kwargs in (((None,), {}), ((1,), {}), ((), {'Y': None}),
                         ((), {'question': {'This': 'Is weird'}, 'context': C}),
                         ((), {'question': [Q, Q, Q], 'context': [C, C]})):  # fmt: skip
        with pytest.raises(ValueError):
            qa_inputs(*args, **kwargs)


def test_defaults_and_settings(toy_model_dir, qa):
    settings = qa.settings()
    assert {k: settings[k] for k in ('top_k', 'max_answer_len', 'max_seq_len', 'doc_stride',
                                     'max_question_len', 'align_to_words',
                                     'handle_impossible_answer')} == {
        'top_k': 1, 'max_answer_len': 15, 'max_seq_len': 384, 'doc_stride': 128,
        'max_question_len': 64, 'align_to_words': True, 'handle_impossible_answer': False}
    three = pipeline(TASK, model=str(toy_model_dir), top_k=3)
    assert len(three(question=Q, context=C)) == 3
    assert isinstance(three(question=Q, context=C, top_k=1), dict)


def test_max_question_len_cuts(qa):
    long_question = 'Where in the big city was HuggingFace founded, ' * 8 + 'and when?'
    cut = qa(question=long_question, context=C * 30, max_question_len=10)
    tokens = qa.tokenizer(long_question, add_special_tokens=False, return_offsets_mapping=True)
    by_hand = long_question[: tokens['offset_mapping'][9][1]]
    assert_same(cut, qa(question=by_hand, context=C * 30, max_question_len=500))


def test_single_window_top_span_is_the_answerers(qa, toy_model_dir):
    "On one window, p_start * p_end orders spans like chapter 12's logit sums: same best span."
    from squad_qa.defaults import toy_squad

    dev = toy_squad('validation').select(range(60))
    answerer = QuestionAnswerer(qa.model, qa.tokenizer, max_answer_length=15)
    ours = answerer(list(dev['question']), list(dev['context']))
    theirs = qa(question=list(dev['question']), context=list(dev['context']), align_to_words=False)
    assert [(o['start'], o['end']) for o in ours] == [(t['start'], t['end']) for t in theirs]


def test_save_pretrained_reloads_without_remote_code(qa, tmp_path):
    qa.save_pretrained(tmp_path)
    assert not list(tmp_path.glob('*.py'))
    assert 'custom_pipelines' not in json.loads((tmp_path / 'config.json').read_text())
    again = pipeline(TASK, model=str(tmp_path))
    assert_same(again(question=Q, context=C), qa(question=Q, context=C))


def test_device_zero_without_a_gpu(toy_model_dir):
    "The preprocessing+Trainer notebook's `device=0`: the first GPU, or the CPU without one."
    import torch

    qa = pipeline(TASK, model=str(toy_model_dir), device=0)
    assert qa.device.type == ('cuda' if torch.cuda.is_available() else 'cpu')
    assert qa(context=C, question=Q)['answer']


def test_slow_tokenizer_is_refused_in_one_line(qa):
    "A slow tokenizer has no offsets: the first call says so and what to load instead."
    slow_class = getattr(transformers, 'BertTokenizerLegacy', None)  # transformers 5's name
    if slow_class is None:
        pytest.skip('this transformers has no slow BERT tokenizer class')
    from squad_qa.defaults import embedded_model_dir  # its vocab.txt: the toy model's vocabulary

    slow = slow_class.from_pretrained(str(embedded_model_dir()))
    with pytest.raises(TypeError, match='slow, pure-Python tokenizer'):
        QAPipeline(qa.model, slow)(question=Q, context=C)
