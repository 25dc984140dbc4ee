"""Tokens processed in one epoch over the training questions of bench/train_offline.py (SQuAD v1.1
dev articles 0-37).

    python bench/tokens_per_epoch.py [--shared ../shared] [--batch-size 16]

For 384/128 and 160/48 windows (embedded MiniLM tokenizer): every feature padded to max_length (the
seeds), padded to the longest feature of its batch (dynamic padding), and dynamic padding with
length grouping (`TrainConfig`'s default, chapter 09).
"""

import argparse, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from train_offline import split_dev  # noqa: E402

from squad_qa.defaults import load_tokenizer  # noqa: E402
from squad_qa.features import length_grouped_batches, padded_tokens, qa_features  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shared', default=str(Path(__file__).resolve().parents[2] / 'shared'))
    parser.add_argument('--batch-size', type=int, default=16)
    args = parser.parse_args()
    path = Path(args.shared) / 'data/squad/dev-v1.1.json'
    if not path.exists():
        sys.exit(f"No dev-v1.1.json under {args.shared}; pass --shared")
    train, _ = split_dev(path)
    tokenizer = load_tokenizer()
    print(f"{len(train):,} questions, batches of {args.batch_size}")
    for max_length, stride in ((384, 128), (160, 48)):
        lengths = [
            len(ids)
            for ids in qa_features(
                train, tokenizer, max_length=max_length, stride=stride, train=True
            )['input_ids']
        ]
        full = len(lengths) * max_length
        dynamic = padded_tokens(
            lengths, length_grouped_batches(lengths, args.batch_size, group_by_length=False)
        )
        grouped = padded_tokens(lengths, length_grouped_batches(lengths, args.batch_size))
        print(
            f"  {max_length}/{stride}: {len(lengths):,} features; padded to max_length {full:,}; "
            f"dynamic padding {dynamic:,} ({dynamic / full:.0%}); "
            f"dynamic + grouped by length {grouped:,} ({grouped / full:.0%}); real tokens "
            f"{sum(lengths):,} ({sum(lengths) / full:.0%})"
        )


if __name__ == '__main__':
    main()
