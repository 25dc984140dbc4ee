"""Time postprocessing of logits for all SQuAD v1.1 dev validation features (bert-base-uncased,
384/128).

    python bench/postprocess.py [--shared ../shared] [--seed 0]

Random logits (fine for timing), in one run: the vectorised `postprocess_predictions` against the
teaching loop `postprocess_predictions_loop`, for SQuAD v1 and v2 settings; checks that the
predictions are identical.
"""

import argparse, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timing import timed_together  # noqa: E402

import numpy as np

from squad_qa.features import prepare_validation_features
from squad_qa.data import load_squad
from squad_qa.defaults import load_tokenizer
from squad_qa.postprocess import postprocess_predictions, same_predictions
from squad_qa.answers import postprocess_predictions_loop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shared', default=str(Path(__file__).resolve().parents[2] / 'shared'))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--repeats',
        type=int,
        default=11,
        help='rounds of runs (one of each version per round); the best of each is reported',
    )
    args = parser.parse_args()
    shared = Path(args.shared)
    if not (shared / 'data/squad/dev-v1.1.json').exists():
        sys.exit(f"No dev-v1.1.json under {shared}; pass --shared")
    dev = load_squad(shared / 'data/squad/dev-v1.1.json')
    tokenizer = load_tokenizer(shared / 'tokenizers/bert-base-uncased')
    features = dev.map(
        prepare_validation_features,
        batched=True,
        remove_columns=dev.column_names,
        fn_kwargs=dict(tokenizer=tokenizer, max_length=384, stride=128),
        desc='features',
    )
    width = max(map(len, features['input_ids']))
    rng = np.random.default_rng(args.seed)
    start, end = (rng.standard_normal((len(features), width)).astype(np.float32) for _ in range(2))
    print(
        f"dev-v1.1: {len(dev):,} examples, {len(features):,} features, logits {start.shape}, "
        f"n_best=20, max_answer_length=30, "
        f"best of {args.repeats} runs each"
    )
    for v2 in (False, True):
        kw = dict(n_best=20, max_answer_length=30, version_2_with_negative=v2)
        (t_vec, t_loop), (fast, slow) = timed_together(
            [
                lambda: postprocess_predictions(dev, features, start, end, **kw),
                lambda: postprocess_predictions_loop(dev, features, start, end, **kw),
            ],
            args.repeats,
        )
        same = same_predictions(fast, slow)
        print(
            f"  {'v2' if v2 else 'v1'}: vectorised {t_vec:6.3f} s, loop {t_loop:6.3f} s -> "
            f"{t_loop / t_vec:5.1f}x faster; "
            f"identical predictions (n-best lists included): {same}"
        )
        if not same:
            sys.exit("predictions differ")


if __name__ == '__main__':
    main()
