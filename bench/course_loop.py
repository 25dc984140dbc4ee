"""Where the Hugging Face course's labelling loop and chapter 02's rule disagree on SQuAD v1.1 dev
(first gold answer, 384/128 windows), per tokenizer; both labels' text is printed for a few.

    python bench/course_loop.py [--shared ../shared] [bert-base-uncased roberta-base ...]
"""

import argparse
from pathlib import Path

import numpy as np

from squad_qa.alignment import answer_char_spans, cls_positions, label_windows, tokenize_windows
from squad_qa.data import load_squad
from squad_qa.defaults import load_tokenizer
from squad_qa.labellers import course_labels  # the course's loop, as appendix a2 reproduces it


def disagreements(dev, tokenizer, shown: int = 2) -> tuple[int, int]:
    "Features and questions whose labels differ; prints the first `shown` texts."
    encodings = tokenize_windows(dev, tokenizer)
    sample = np.asarray(encodings['overflow_to_sample_mapping'])
    starts, ends = answer_char_spans(dev)
    cls_index = cls_positions(encodings, tokenizer)
    rule = np.stack(label_windows(encodings, starts[sample], ends[sample], cls_index), 1)
    features, questions = 0, set()
    for f, i in enumerate(sample.tolist()):
        if rule[f, 0] == cls_index[f]:
            continue  # the answer is not whole in this window
        seq, offsets = encodings.sequence_ids(f), encodings['offset_mapping'][f]
        first, last = seq.index(1), len(seq) - 1 - seq[::-1].index(1)
        course = course_labels(offsets, first, last, starts[i], ends[i])
        ours = tuple(rule[f].tolist())
        if course == ours:
            continue
        features, questions = features + 1, questions | {i}
        if features <= shown:
            text = [dev['context'][i][offsets[a][0] : offsets[b][1]] for a, b in (course, ours)]
            print(f"  {dev['id'][i]}: course {course} {text[0]!r}, rule {ours} {text[1]!r}")
    return features, len(questions)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('names', nargs='*', default=['bert-base-uncased', 'roberta-base',
                                                     'albert-base-v2'])  # fmt: skip
    parser.add_argument('--shared', default='../shared')
    args = parser.parse_args()
    dev = load_squad(Path(args.shared) / 'data/squad/dev-v1.1.json')[:]
    for name in args.names:
        tokenizer = load_tokenizer(Path(args.shared) / 'tokenizers' / name)
        features, questions = disagreements(dev, tokenizer)
        print(f"{name}: labels differ on {features} features ({questions} questions)")
