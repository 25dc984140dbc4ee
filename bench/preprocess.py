"""Time feature preparation on the SQuAD v1.1 dev set with the bert-base-uncased tokenizer
(384/128).

    python bench/preprocess.py [--repeats 5] [--shared ../shared]

Times, each over several repeats in one run (median reported): the tokenizer call alone (the floor),
`prepare_train_features` (array labeller), and the same preparation with the reference loop
labeller. Also reports the padding saved: real tokens vs every feature padded to max_length.
"""

import argparse, gc, statistics, sys, time
from pathlib import Path

import numpy as np

from squad_qa.alignment import answer_char_spans, cls_positions, label_windows, label_windows_loop
from squad_qa.features import prepare_train_features
from squad_qa.data import load_squad
from squad_qa.defaults import load_tokenizer


def interleaved(fns: dict, repeats: int) -> dict:
    """Run every function once per round, `repeats` rounds, so that drift in machine load hits all
    of them alike.
    A timed run includes freeing what the function returns (millions of offset tuples), so that
    every candidate
    pays for the objects it creates; cyclic GC is off while timing, as in timeit."""
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
            finally:
                gc.enable()
    return {name: (statistics.median(t), min(t), t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--shared', default=str(Path(__file__).resolve().parents[2] / 'shared'))
    parser.add_argument('--max-length', type=int, default=384)
    parser.add_argument('--stride', type=int, default=128)
    args = parser.parse_args()
    shared = Path(args.shared)
    if not (shared / 'data/squad/dev-v1.1.json').exists():
        sys.exit(f"No dev-v1.1.json under {shared}; pass --shared")
    batch = load_squad(shared / 'data/squad/dev-v1.1.json')[:]
    tokenizer = load_tokenizer(shared / 'tokenizers/bert-base-uncased')
    kw = dict(max_length=args.max_length, stride=args.stride)
    questions = [q.lstrip() for q in batch['question']]

    def tokenize():
        return tokenizer(
            questions,
            batch['context'],
            truncation='only_second',
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=False,
            **kw,
        )

    tokenize()  # warm up
    results = interleaved(
        {
            'tokenizer alone': tokenize,
            'prepare_train_features': lambda: prepare_train_features(batch, tokenizer, **kw),
            '... with the loop labeller': lambda: prepare_train_features(
                batch, tokenizer, labeller=label_windows_loop, **kw
            ),
        },
        args.repeats,
    )
    print(
        f"dev-v1.1: {len(questions):,} questions, bert-base-uncased, "
        f"max_length={args.max_length}, stride={args.stride}, "
        f"{args.repeats} interleaved repeats, GC off while timing (seconds)"
    )
    floor_median, floor_min = results['tokenizer alone'][:2]
    for name, (median, best, times) in results.items():
        print(
            f"  {name:<28} median {median:6.3f} ({median / floor_median:4.2f}x)  min {best:6.3f} "
            f"({best / floor_min:4.2f}x)"
            f"   runs: {' '.join(f'{t:.2f}' for t in times)}"
        )
    fast, loop = results['prepare_train_features'], results['... with the loop labeller']
    print(
        f"  overhead of prepare_train_features over the tokenizer: "
        f"{100 * (fast[0] / floor_median - 1):+.1f}% (medians), "
        f"{100 * (fast[1] / floor_min - 1):+.1f}% (minimums); goal: within 15%"
    )
    print(
        f"  loop labeller overhead: {100 * (loop[0] / floor_median - 1):+.1f}% (medians), "
        f"{100 * (loop[1] / floor_min - 1):+.1f}% (minimums)"
    )
    encodings = tokenize()
    sample = np.asarray(encodings['overflow_to_sample_mapping'])
    starts, ends = answer_char_spans(batch)
    cls_index = cls_positions(encodings, tokenizer)
    labelling = interleaved(
        {
            'binary search (label_windows)': lambda: label_windows(
                encodings, starts[sample], ends[sample], cls_index
            ),
            'reference loop (label_windows_loop)': lambda: label_windows_loop(
                encodings, starts[sample], ends[sample], cls_index
            ),
        },
        args.repeats,
    )
    print("  labelling alone, on the same windows:")
    for name, (median, best, times) in labelling.items():
        print(
            f"    {name:<36} median {median:6.3f}  min {best:6.3f}  "
            f"({100 * median / floor_median:.1f}% of the tokenizer's median)"
        )
    fast_l, loop_l = (labelling[k][0] for k in labelling)
    print(f"    binary search is {loop_l / fast_l:.1f}x faster than the loop")
    features = prepare_train_features(batch, tokenizer, **kw)
    real = sum(map(len, features['input_ids']))
    padded = len(features['input_ids']) * args.max_length
    print(
        f"  padding: {len(features['input_ids']):,} features, {real:,} real tokens vs {padded:,} "
        f"padded to {args.max_length} "
        f"({100 * (1 - real / padded):.1f}% saved by not padding)"
    )


if __name__ == '__main__':
    main()
