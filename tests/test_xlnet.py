"""Chapter 04 (XLNet) on every question of the SQuAD v1.1 dev set with the real
xlnet-base-cased tokenizer, and tiny XLNet models."""

import numpy as np
import pytest
import torch

from conftest import shared_path
from squad_qa.features import (
    QADataCollator,
    prepare_train_features,
    prepare_validation_features,
    unpad_logits,
)
from squad_qa.alignment import (
    answer_char_spans,
    cls_positions,
    label_windows,
    qa_layout,
    tokenize_windows,
)
from squad_qa.explore import add_answer_ends
from squad_qa.data import load_squad
from squad_qa.defaults import load_tokenizer
from squad_qa.decoding import postprocess_beam_predictions
from squad_qa.postprocess import postprocess_predictions
from squad_qa.predict import model_inputs
from squad_qa.xlnet import unpad_beam_outputs


@pytest.fixture(scope='module')
def xlnet():
    return load_tokenizer(shared_path('tokenizers', 'xlnet-base-cased'))


@pytest.fixture(scope='module')
def dev_batch(dev_v11):
    return dev_v11[:]


def first_answer_texts(batch, tokenizer):
    """For each question, the text its labels give back in the first window that holds its first
    answer."""
    encodings = tokenize_windows(batch, tokenizer)
    sample = np.array(encodings['overflow_to_sample_mapping'])
    starts, ends = answer_char_spans(batch)
    cls_index = cls_positions(encodings, tokenizer)
    s, e = label_windows(
        encodings, starts[sample], ends[sample], cls_index, qa_layout(tokenizer).context_id
    )
    texts = {}
    for f, i in enumerate(sample):
        if s[f] != cls_index[f]:
            offsets = encodings['offset_mapping'][f]
            texts.setdefault(int(i), batch['context'][i][offsets[s[f]][0] : offsets[e[f]][1]])
    return texts, len(sample)


def test_left_padding_keeps_labels_cls_and_p_mask_right(dev_batch, xlnet):
    features = prepare_train_features(dev_batch, xlnet)
    n = len(features['input_ids'])
    assert n == 10_848
    windows = tokenize_windows(dev_batch, xlnet)
    collate = QADataCollator(xlnet)
    for begin in range(0, n, 256):
        rows = range(begin, min(begin + 256, n))
        batch = collate([{k: features[k][i] for k in features} for i in rows])
        pads = (batch['attention_mask'] == 0).sum(1).tolist()
        for j, i in enumerate(rows):
            ids = features['input_ids'][i]
            s, e, cls = (
                features['start_positions'][i],
                features['end_positions'][i],
                features['cls_index'][i],
            )
            assert (
                ids[cls] == xlnet.cls_token_id
                and batch['input_ids'][j][batch['cls_index'][j]] == xlnet.cls_token_id
            )
            # the padded labels point at the same tokens, so they give back the same gold text
            assert (
                batch['input_ids'][j][
                    batch['start_positions'][j] : batch['end_positions'][j] + 1
                ].tolist()
                == ids[s : e + 1]
            )
            assert batch['start_positions'][j] == s + pads[j]
            seq = windows.sequence_ids(i)
            expected = [0.0 if q == 0 or k == cls else 1.0 for k, q in enumerate(seq)]
            assert (
                features['p_mask'][i] == expected
                and batch['p_mask'][j].tolist() == [1.0] * pads[j] + expected
            )
            assert features['is_impossible'][i] == float(s == e == cls)


def test_padding_at_tokenization_labels_like_the_collator(dev_batch, xlnet):
    part = {k: v[:400] for k, v in dev_batch.items()}
    padded = tokenize_windows(part, xlnet, padding='max_length')
    unpadded = tokenize_windows(part, xlnet)
    sample = np.array(padded['overflow_to_sample_mapping'])
    starts, ends = answer_char_spans(part)
    lp = label_windows(padded, starts[sample], ends[sample], cls_positions(padded, xlnet), 0)
    lu = label_windows(unpadded, starts[sample], ends[sample], cls_positions(unpadded, xlnet), 0)
    pads = np.array([384 - len(ids) for ids in unpadded['input_ids']])
    np.testing.assert_array_equal(lp[0], lu[0] + pads)
    np.testing.assert_array_equal(lp[1], lu[1] + pads)
    assert all(ids[-1] == xlnet.cls_token_id for ids in padded['input_ids'])


def test_xlnet_and_bert_labels_give_back_the_same_text(dev_batch, xlnet):
    bert = load_tokenizer(shared_path('tokenizers', 'bert-base-cased'))
    x, _ = first_answer_texts(dev_batch, xlnet)
    b, _ = first_answer_texts(dev_batch, bert)
    gold = [a['text'][0] for a in dev_batch['answers']]
    both = [i for i in range(len(gold)) if i in x and i in b]
    both_exact = [i for i in both if x[i] == gold[i] == b[i]]
    assert len(both) == 10_570 and len(both_exact) == 10_527
    assert (
        sum(x[i] == gold[i] for i in both) == 10_531
        and sum(b[i] == gold[i] for i in both) == 10_539
    )
    assert sum(x[i] == b[i] for i in both) == 10_553
    # wherever one of them is exact and they disagree, the other covers more than the answer
    for i in both:
        if x[i] != b[i]:
            assert gold[i] in x[i] and gold[i] in b[i]


@pytest.mark.parametrize('head', ['simple', 'beam'])
def test_tiny_xlnet_heads_train_and_evaluate_on_left_padded_batches(xlnet, head):
    from transformers import AutoModelForQuestionAnswering, XLNetConfig, XLNetForQuestionAnswering

    torch.manual_seed(0)
    ds, _ = add_answer_ends(load_squad())
    config = XLNetConfig(
        vocab_size=len(xlnet),
        d_model=32,
        n_layer=2,
        n_head=2,
        d_inner=64,
        start_n_top=4,
        end_n_top=3,
        pad_token_id=xlnet.pad_token_id,
    )
    model = (
        AutoModelForQuestionAnswering.from_config(config)
        if head == 'simple'
        else XLNetForQuestionAnswering(config)
    )
    train = ds.map(
        prepare_train_features,
        batched=True,
        remove_columns=ds.column_names,
        fn_kwargs=dict(tokenizer=xlnet, max_length=48, stride=16),
    )
    collate = QADataCollator(xlnet)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for step in range(6):
        batch = collate(
            [
                train[i]
                for i in range(step * 4 % len(train), min(step * 4 % len(train) + 4, len(train)))
            ]
        )
        assert (batch['attention_mask'][:, 0] == 0).any() or batch[
            'attention_mask'
        ].all()  # padded on the left, if at all
        loss = model(**model_inputs(batch, model)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert all(np.isfinite(losses))
    valid = ds.map(
        prepare_validation_features,
        batched=True,
        remove_columns=ds.column_names,
        fn_kwargs=dict(tokenizer=xlnet, max_length=48, stride=16),
    )
    model.eval()
    batch = collate([valid[i] for i in range(len(valid))])
    with torch.inference_mode():
        if head == 'simple':
            out = model(**model_inputs(batch, model))
            predictions = postprocess_predictions(
                ds,
                valid,
                unpad_logits(out.start_logits, batch['attention_mask'], 'left'),
                unpad_logits(out.end_logits, batch['attention_mask'], 'left'),
                version_2_with_negative=True,
            )
        else:
            out = model(
                **{
                    k: batch[k]
                    for k in (
                        'input_ids',
                        'attention_mask',
                        'token_type_ids',
                        'p_mask',
                        'cls_index',
                    )
                }
            )
            predictions = postprocess_beam_predictions(
                ds,
                valid,
                **unpad_beam_outputs(out, batch['attention_mask']),
                version_2_with_negative=True,
            )
    assert len(predictions) == len(ds)
    for p, ex in zip(predictions, ds):
        assert p['prediction_text'] in ex['context']
        if p['start'] is not None:
            assert ex['context'][p['start'] : p['end']] == p['prediction_text']
        assert 0.0 <= p['no_answer_probability'] <= 1.0
