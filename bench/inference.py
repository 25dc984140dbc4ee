"""Answer the first 300 questions of SQuAD v1.1 dev with `QuestionAnswerer` and with
`transformers.pipeline`, in one run.

    python bench/inference.py [--model FOLDER] [--questions 300] [--shared ../shared]

Both use the same model and settings (384/128, max_answer_length 30). Reports questions per second
of each, how many answers agree, and every disagreement with what explains it: the pipeline's
`align_to_words` (checked by asking it again without), the context's several windows, or a tie.
The model is a fine-tuned folder if given (e.g. the output of bench/train_offline.py --output-dir),
else the embedded MiniLM fine-tuned for a minute and a half on the toy data with chapter 11's
`train_qa`, so that the answers mean something.

It also prints the floor for any exact (fp32) method on this machine: the model's floating-point
operations on the real tokens of all windows, divided by the best matrix-multiply throughput
measured here on the model's own shapes.
"""

import argparse, json, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timing import timed, timed_together  # noqa: E402

from squad_qa.data import load_squad
from squad_qa.inference import QuestionAnswerer
from squad_qa.runs import TrainConfig
from squad_qa.defaults import load_qa_model, toy_squad
from squad_qa.features import qa_features
from squad_qa.training import train_qa


def model_flops(config, window_lengths: list) -> float:
    """Floating-point operations of a BERT-style encoder over windows of these lengths (no padding):
    its matrix multiplies."""
    h, inner, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = 2 * (
        4 * h * h + 2 * h * inner
    )  # Q, K, V, output projections and the two feed-forward layers
    return layers * sum(
        n * per_token + 4 * n * n * h for n in window_lengths
    )  # + attention scores and their weighted sum


def matmul_gflops(config, tokens: int = 4096, repeats: int = 10) -> float:
    """The best GFLOP/s of torch matrix multiplies of the model's shapes on this machine (its
    practical peak)."""
    import torch

    h, inner, best = config.hidden_size, config.intermediate_size, 0.0
    for k, n in ((h, h), (h, inner), (inner, h)):
        a, b = torch.randn(tokens, k), torch.randn(k, n)
        for _ in range(3):
            a @ b
        seconds, _ = timed(lambda: a @ b, repeats)
        best = max(best, 2 * tokens * k * n / seconds / 1e9)
    return best


def why_different(ours: dict, unaligned: dict, windows: int) -> str:
    "Why the pipeline's answer differs from ours, given its answer with `align_to_words=False`."
    if (ours['start'], ours['end']) == (unaligned['start'], unaligned['end']):
        return (
            "the pipeline's align_to_words: it widens its 12 best spans to whole words and adds "
            'the probabilities of those with the same text; without it, it gives our span'
        )
    if windows > 1:
        return (
            'several windows: the pipeline compares per-window probabilities, we compare logit sums'
        )
    return 'one window, token spans that differ: a tie or a rounding difference'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shared', default=str(Path(__file__).resolve().parents[2] / 'shared'))
    parser.add_argument(
        '--model',
        default=None,
        help='fine-tuned model folder (default: MiniLM fine-tuned on the toy data here)',
    )
    parser.add_argument('--questions', type=int, default=300)
    parser.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help="windows per batch (default: QuestionAnswerer's, 8 on a CPU)",
    )
    parser.add_argument(
        '--repeats',
        type=int,
        default=5,
        help='rounds (one run of ours and of the per-question pipeline each); the best is reported',
    )
    args = parser.parse_args()
    path = Path(args.shared) / 'data/squad/dev-v1.1.json'
    if not path.exists():
        sys.exit(f"No dev-v1.1.json under {args.shared}; pass --shared")
    import torch
    import transformers
    from transformers import pipeline
    from transformers.pipelines import SUPPORTED_TASKS

    if 'question-answering' not in SUPPORTED_TASKS:
        sys.exit(
            f"transformers {transformers.__version__} has no question-answering pipeline (5.3 "
            "removed it): run this bench where transformers 4 is installed, e.g. python -m venv "
            "/tmp/tf4 && /tmp/tf4/bin/pip install torch==2.13.0 'transformers>=4.45,<5' -e . && "
            "/tmp/tf4/bin/python bench/inference.py"
        )
    dev = load_squad(path).select(range(args.questions))
    if args.model:
        model, tokenizer = load_qa_model(args.model)
    else:
        model, tokenizer = load_qa_model()
        train = toy_squad('train').select(range(1200))
        model = train_qa(
            model,
            tokenizer,
            qa_features(train, tokenizer, max_length=192, stride=64, train=True),
            config=TrainConfig(epochs=2, lr=1e-4, seed=0),
        ).model
    model.eval()
    questions, contexts = list(dev['question']), list(dev['context'])
    settings = dict(max_seq_len=384, doc_stride=128, max_answer_len=30)
    answerer = QuestionAnswerer(
        model, tokenizer, max_length=384, stride=128, batch_size=args.batch_size
    )
    qa_pipeline = pipeline('question-answering', model=model, tokenizer=tokenizer, device=-1)

    with torch.inference_mode():
        (t_ours, t_pipe), (ours, theirs) = timed_together(
            [
                lambda: answerer(questions, contexts),
                lambda: [
                    qa_pipeline(question=q, context=c, **settings)
                    for q, c in zip(questions, contexts)
                ],
            ],
            args.repeats,
        )
        t_pipe_batched, theirs_batched = timed(
            lambda: qa_pipeline(
                question=questions, context=contexts, batch_size=answerer.batch_size, **settings
            ),
            1,
        )

    windows = answerer.windows(questions, contexts)
    per_question = {}
    for example_id in windows['example_id']:
        per_question[example_id] = per_question.get(example_id, 0) + 1
    differences = []
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if (a['answer'], a['start'], a['end']) == (b['answer'], b['start'], b['end']):
            continue
        with torch.inference_mode():  # the pipeline again, its spans left at token boundaries
            unaligned = qa_pipeline(
                question=questions[i], context=contexts[i], align_to_words=False, **settings
            )
        differences.append(
            {
                'question': dev[i]['id'],
                'ours': a['answer'],
                'pipeline': b['answer'],
                'windows': per_question[f'q{i}'],
                'why': why_different(a, unaligned, per_question[f'q{i}']),
            }
        )
    print(
        f"{len(dev)} questions of dev-v1.1, {len(windows['input_ids'])} windows (384/128), CPU "
        f"threads {torch.get_num_threads()}"
    )
    print(
        f"  QuestionAnswerer (batch {answerer.batch_size}): {t_ours:6.2f} s  "
        f"{len(dev) / t_ours:6.1f} questions/s"
    )
    print(
        f"  pipeline, one call per question:   {t_pipe:6.2f} s  {len(dev) / t_pipe:6.1f} "
        f"questions/s  -> ours is {t_pipe / t_ours:.2f}x faster"
    )
    print(
        f"  pipeline, one call, batch_size={answerer.batch_size}: {t_pipe_batched:6.2f} s  "
        f"{len(dev) / t_pipe_batched:6.1f} questions/s  -> ours is {t_pipe_batched / t_ours:.2f}x "
        f"faster"
    )
    flops, peak = (
        model_flops(model.config, [len(ids) for ids in windows['input_ids']]),
        matmul_gflops(model.config),
    )
    floor = flops / (peak * 1e9)
    print(
        f"  floor: {flops / 1e12:.2f} TFLOP on the real tokens; matrix multiplies here reach "
        f"{peak:.0f} GFLOP/s at best, so no exact "
        f"method can take less than {floor:.2f} s: at most {t_pipe / floor:.2f}x the per-question "
        f"pipeline "
        f"(which runs at {flops / t_pipe / 1e9:.0f} GFLOP/s, ours at {flops / t_ours / 1e9:.0f})"
    )
    same = len(dev) - len(differences)
    print(
        f"  same answer and span: {same} of {len(dev)}; batched pipeline equals per-question "
        f"pipeline: "
        f"{sum(a['answer'] == b['answer'] for a, b in zip(theirs, theirs_batched))} of {len(dev)}"
    )
    for d in differences:
        print('   ', json.dumps(d, ensure_ascii=False))


if __name__ == '__main__':
    main()
