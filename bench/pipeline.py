"""Compare appendix a7's drop-in `QAPipeline` with transformers 4's built-in question-answering
pipeline on the first questions of SQuAD v1.1 dev: answer, start, end and score of every answer.

    python bench/pipeline.py [--model FOLDER] [--questions 300] [--shared ../shared]

Needs a transformers 4 environment, where the built-in pipeline still exists (transformers 5
removed it), e.g. `python -m venv /tmp/tf4 && /tmp/tf4/bin/pip install torch==2.13.0 -e . &&
/tmp/tf4/bin/pip install 'transformers>=4.45,<5'` (squad_qa asks for transformers 5: pip warns
about the downgrade, which is the point here). Ours is registered as the task 'squad-qa' next to
it. The model is a fine-tuned folder if given, else chapter 12's toy model (trained once and
cached). Each setting prints how many questions got identical answers (same texts, starts and ends,
scores within 1e-4), the largest score difference, the time of each, and the first disagreements.
"""

import argparse, time
from pathlib import Path

from squad_qa.data import load_squad
from squad_qa.inference import cache_dir, toy_qa_model
from squad_qa.qa_pipeline import register_pipeline

SETTINGS = ({}, {'top_k': 3}, {'handle_impossible_answer': True},
            {'align_to_words': False, 'top_k': 2})  # fmt: skip


def as_list(output) -> list:
    "A pipeline output (a dict, or a list for top_k > 1) as a list of answers."
    return output if isinstance(output, list) else [output]


def agree(a: list, b: list, tolerance: float = 1e-4) -> bool:
    "Same answers, starts and ends, in the same order, with scores within `tolerance`."
    return len(a) == len(b) and all(
        x['answer'] == y['answer'] and x['start'] == y['start'] and x['end'] == y['end']
        and abs(x['score'] - y['score']) <= tolerance
        for x, y in zip(a, b)
    )  # fmt: skip


def timed_answers(qa, questions: list, contexts: list, settings: dict) -> tuple[list, float]:
    "Every output of `qa` and the seconds they took."
    start = time.perf_counter()
    outputs = qa(question=questions, context=contexts, **settings)
    return [as_list(o) for o in outputs], time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', help='a fine-tuned QA model folder (default: the toy model)')
    parser.add_argument('--questions', type=int, default=300, help='first N dev questions')
    parser.add_argument('--shared', default=str(Path(__file__).resolve().parents[2] / 'shared'))
    args = parser.parse_args()
    if args.questions < 1:
        parser.error(f'--questions {args.questions}: compare at least 1 question')
    import transformers
    from transformers import pipeline

    if int(transformers.__version__.split('.')[0]) >= 5:
        raise SystemExit(f'transformers {transformers.__version__} has no built-in '
                         'question-answering pipeline to compare with: run this in a '
                         'transformers 4 environment (see the docstring)')  # fmt: skip
    dev_path = Path(args.shared) / 'data' / 'squad' / 'dev-v1.1.json'
    if not dev_path.exists():
        raise SystemExit(f'{dev_path} not found: pass --shared, the folder with data/squad/')
    dev = load_squad(dev_path).select(range(args.questions))
    if args.model is None:
        toy_qa_model()
    model = args.model or str(cache_dir() / 'minilm-toy-1200x2')
    builtin = pipeline('question-answering', model=model, device=-1)
    register_pipeline('squad-qa')
    ours = pipeline('squad-qa', model=model, device=-1)
    print(f'transformers {transformers.__version__}: {type(builtin).__name__} against '
          f'{type(ours).__name__}, {len(dev)} questions, model {model}')  # fmt: skip
    questions, contexts = list(dev['question']), list(dev['context'])  # 4.x wants lists
    for settings in SETTINGS:
        theirs, their_time = timed_answers(builtin, questions, contexts, settings)
        mine, my_time = timed_answers(ours, questions, contexts, settings)
        same = [agree(a, b) for a, b in zip(theirs, mine)]
        worst = max(abs(x['score'] - y['score']) for a, b in zip(theirs, mine)
                    for x, y in zip(a, b))  # fmt: skip
        print(f'{settings or "defaults"}: {sum(same)}/{len(same)} identical, largest score '
              f'difference {worst:.1e}; built-in {their_time:.1f} s, ours {my_time:.1f} s')
        for i in [i for i, s in enumerate(same) if not s][:5]:
            print(f'  question {i}: built-in {theirs[i]}\n  {" " * len(str(i))}   ours {mine[i]}')


if __name__ == '__main__':
    main()
