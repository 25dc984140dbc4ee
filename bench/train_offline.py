"""Fine-tune the offline default (embedded MiniLM) with chapter 11's `train_qa` on SQuAD v1.1 dev
articles 0-37, evaluate on held-out articles.

    python bench/train_offline.py [--shared ../shared] [--questions 4500] [--max-length 160]
    [--stride 48] ...

Training data: the questions of articles 0-37 of dev-v1.1.json (shuffled with --seed, the first
--questions kept), first answer as the label. Evaluation: the first 500 questions of articles
38-47, never trained on, with the official v1.1 metric over all gold answers. Prints the recipe,
the training time, EM/F1, and the tokens processed per epoch with dynamic padding and length
grouping against padding every feature to max_length.
"""

import argparse, json, sys, time
from pathlib import Path

import numpy as np

from squad_qa.data import records_to_dataset, squad_records
from squad_qa.runs import TrainConfig
from squad_qa.decoding import evaluate_qa
from squad_qa.defaults import load_qa_model
from squad_qa.features import padded_tokens, length_grouped_batches, qa_features
from squad_qa.training import train_qa


def split_dev(
    path: Path, train_articles=range(0, 38), eval_articles=range(38, 48), eval_questions: int = 500
):
    "Training and evaluation `Dataset`s from disjoint articles of the official file."
    squad = json.loads(path.read_text(encoding='utf-8'))

    def pick(articles):
        return {'version': squad['version'], 'data': [squad['data'][i] for i in articles]}

    train = records_to_dataset(squad_records(pick(train_articles), f'{path.name} articles 0-37')[0])
    held_out = records_to_dataset(
        squad_records(pick(eval_articles), f'{path.name} articles 38-47')[0]
    )
    return train, held_out.select(range(min(eval_questions, len(held_out))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shared', default=str(Path(__file__).resolve().parents[2] / 'shared'))
    parser.add_argument(
        '--questions', type=int, default=4500, help='training questions (of 8,582 in articles 0-37)'
    )
    parser.add_argument('--max-length', type=int, default=160)
    parser.add_argument('--stride', type=int, default=48)
    parser.add_argument(
        '--negatives',
        type=float,
        default=0.3,
        help='fraction of windows without the answer kept for training (labelled CLS)',
    )
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--lr', type=float, default=1.5e-4)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--warmup', type=float, default=0.1)
    parser.add_argument('--no-group-by-length', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--mixed-precision', default='auto')
    parser.add_argument('--output-dir', default=None)
    parser.add_argument(
        '--eval-max-length',
        type=int,
        default=None,
        help='window length for evaluation (default: --max-length)',
    )
    args = parser.parse_args()
    path = Path(args.shared) / 'data/squad/dev-v1.1.json'
    if not path.exists():
        sys.exit(f"No dev-v1.1.json under {args.shared}; pass --shared")

    train, held_out = split_dev(path)
    train = train.shuffle(seed=args.seed).select(range(min(args.questions, len(train))))
    model, tokenizer = load_qa_model()
    windows = dict(max_length=args.max_length, stride=args.stride)
    features = qa_features(train, tokenizer, train=True, **windows)
    rng = np.random.default_rng(args.seed)
    has_answer = np.asarray(features['start_positions']) != 0
    keep = np.flatnonzero(has_answer | (rng.random(len(features)) < args.negatives))
    features = features.select(keep)
    eval_length = args.eval_max_length or args.max_length
    eval_features = qa_features(
        held_out,
        tokenizer,
        max_length=eval_length,
        stride=args.stride if eval_length == args.max_length else eval_length // 4,
    )
    lengths = [len(ids) for ids in features['input_ids']]
    print(
        f"Training: {len(train):,} questions -> {int(has_answer.sum()):,} windows with the answer "
        f"+ {len(features) - int(has_answer[keep].sum()):,} "
        f"without ({len(features):,} features, {args.max_length}/{args.stride}); evaluation: "
        f"{len(held_out):,} questions, {len(eval_features):,} features"
    )

    config = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        warmup_ratio=args.warmup,
        seed=args.seed,
        group_by_length=not args.no_group_by_length,
        mixed_precision=args.mixed_precision,
        output_dir=args.output_dir,
    )
    began = time.perf_counter()
    result = train_qa(model, tokenizer, features, config=config)
    train_seconds = time.perf_counter() - began
    began = time.perf_counter()
    evaluation = evaluate_qa(result.model, tokenizer, held_out, eval_features)
    eval_seconds = time.perf_counter() - began

    ungrouped = padded_tokens(
        lengths,
        length_grouped_batches(lengths, args.batch_size, seed=args.seed, group_by_length=False),
    )
    grouped = padded_tokens(
        lengths, length_grouped_batches(lengths, args.batch_size, seed=args.seed)
    )
    full = len(lengths) * args.max_length
    tokens = int(result.history['tokens'].sum()) if len(result.history) else 0
    metrics = evaluation['metrics']
    metrics = {
        'exact': metrics.get('exact', metrics.get('exact_match')),
        'f1': metrics['f1'],
    }  # v1.1 names it exact_match
    device = str(next(result.model.parameters()).device)
    print(
        json.dumps(
            {
                'recipe': {
                    k: getattr(args, k)
                    for k in (
                        'questions',
                        'max_length',
                        'stride',
                        'negatives',
                        'epochs',
                        'lr',
                        'batch_size',
                        'warmup',
                        'seed',
                    )
                }
                | {
                    'group_by_length': not args.no_group_by_length,
                    'eval_max_length': eval_length,
                    'mixed_precision': args.mixed_precision,
                    'device': device,
                },
                'train_seconds': round(train_seconds, 1),
                'eval_seconds': round(eval_seconds, 1),
                'exact': round(metrics['exact'], 2),
                'f1': round(metrics['f1'], 2),
                'tokens_per_second': round(tokens / train_seconds),
                'tokens_per_epoch': {
                    'padded_to_max_length': full,
                    'dynamic_padding': ungrouped,
                    'dynamic_padding_grouped': grouped,
                    'real': sum(lengths),
                },
            },
            indent=1,
        )
    )
    print(
        f"\nEM {metrics['exact']:.1f} / F1 {metrics['f1']:.1f} on {len(held_out)} held-out "
        f"questions after {train_seconds / 60:.1f} min of training; "
        f"tokens per epoch: {grouped:,} grouped vs {ungrouped:,} ungrouped vs {full:,} padded to "
        f"{args.max_length} "
        f"({grouped / full:.0%} / {ungrouped / full:.0%} of it)"
    )


if __name__ == '__main__':
    main()
