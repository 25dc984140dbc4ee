"""Ctrl-C at many moments of a run: a real SIGINT, sent to this process from inside the forward
pass, from inside `optimizer.step()`, between two steps, in the evaluation and in the epoch's
checkpoint. Each interrupted run saves `checkpoint-interrupted`; resumed from it, it must end with
the weights, the steps and the history of the run that was never interrupted, and its optimizer
must have stepped exactly as many times as its state says."""

import os, signal
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from torch.optim.optimizer import register_optimizer_step_post_hook

import squad_qa.checkpoints as checkpoints
from squad_qa.defaults import load_tokenizer, toy_squad
from squad_qa.features import qa_features
from squad_qa.runs import TrainConfig
from squad_qa.checkpoints import train_qa

CONFIG = dict(epochs=2, lr=1e-3, batch_size=8, grad_accum_steps=2, seed=5)  # 5 steps an epoch


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    "Python's own SIGINT handler, whatever this process started with (`nohup ... &` ignores it)."
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope='module')
def data():
    tokenizer = load_tokenizer()
    train, dev = toy_squad('train').select(range(80)), toy_squad('validation').select(range(24))
    features = qa_features(train, tokenizer, max_length=128, stride=32, train=True)
    return tokenizer, features, dev, qa_features(dev, tokenizer, max_length=128, stride=32)


def tiny_bert(tokenizer):
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    sizes = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    return BertForQuestionAnswering(BertConfig(vocab_size=tokenizer.vocab_size, **sizes))


def run(data, output_dir, resume_from=None, callbacks=()):
    tokenizer, features, dev, dev_features = data
    config = TrainConfig(**CONFIG, output_dir=str(output_dir))
    return train_qa(tiny_bert(tokenizer), tokenizer, features, dev, dev_features, config,
                    resume_from=resume_from, callbacks=callbacks)  # fmt: skip


def sigint():
    os.kill(os.getpid(), signal.SIGINT)


class Moment:
    "Sends one SIGINT at the `nth` call of a hook (counted from 1), then stays quiet."

    def __init__(self, nth: int):
        self.nth, self.calls = nth, 0

    def __call__(self, *_, **__):
        self.calls += 1
        if self.calls == self.nth:
            sigint()


def in_forward(nth):
    "SIGINT in the `nth` training forward pass (a batch in the middle of an accumulation if odd)."
    moment = Moment(nth)

    def hook(module, *_):
        if module.training:
            moment()

    return lambda model: model.qa_outputs.register_forward_hook(hook)


def in_evaluation(nth):
    "SIGINT in the `nth` evaluation forward pass (the model in eval mode)."
    moment = Moment(nth)

    def hook(module, *_):
        if not module.training:
            moment()

    return lambda model: model.qa_outputs.register_forward_hook(hook)


def in_optimizer_step(nth):
    "SIGINT inside the `nth` `optimizer.step()`, after the weights moved and before it returns."
    return lambda model: register_optimizer_step_post_hook(Moment(nth))


def in_epoch_checkpoint(monkeypatch):
    "SIGINT while the first epoch's checkpoint is being written."
    real, moment = checkpoints.save_checkpoint, Moment(1)

    def saving(folder, *args, **kwargs):
        if Path(folder).name.startswith('checkpoint-epoch'):
            moment()
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(checkpoints, 'save_checkpoint', saving)


@pytest.fixture(scope='module')
def whole(data, tmp_path_factory):
    return run(data, tmp_path_factory.mktemp('whole'))


def assert_same_run(resumed, whole):
    for (name, a), b in zip(resumed.model.state_dict().items(), whole.model.state_dict().values()):
        assert torch.equal(a, b), f"{name} differs from the uninterrupted run"
    assert resumed.steps.equals(whole.steps)
    columns = ['epoch', 'step', 'train_loss', 'eval_loss', 'exact', 'f1', 'tokens']
    assert resumed.history[columns].equals(whole.history[columns])


def adam_steps(checkpoint: Path) -> set:
    state = torch.load(checkpoint / 'training_state.pt', weights_only=True)['optimizer']['state']
    return {int(s['step']) for s in state.values()}


MOMENTS = {  # the moment, and the last step the interrupted run has committed
    'forward, first batch of a step': (lambda mp: in_forward(3), 1),
    'forward, second batch of a step': (lambda mp: in_forward(4), 2),
    'forward, second epoch': (lambda mp: in_forward(13), 6),
    'inside optimizer.step, first': (lambda mp: in_optimizer_step(1), 1),
    'inside optimizer.step, mid-epoch': (lambda mp: in_optimizer_step(3), 3),
    'inside optimizer.step, last of an epoch': (lambda mp: in_optimizer_step(5), 5),
    'evaluation after epoch 1': (lambda mp: in_evaluation(1), 5),
    "epoch 1's checkpoint": (in_epoch_checkpoint, 5),
}


@pytest.mark.parametrize('moment', list(MOMENTS))
def test_sigint_at_any_moment_resumes_exactly(moment, data, whole, tmp_path, monkeypatch):
    make, committed = MOMENTS[moment]
    arm = make(monkeypatch)
    handles = []
    if arm is not None:
        real_start = checkpoints._start

        def start(model, *args):
            handles.append(arm(model))  # the hooks of this run's model only
            return real_start(model, *args)

        monkeypatch.setattr(checkpoints, '_start', start)
    stopped = run(data, tmp_path)
    for handle in handles:
        handle.remove()
    monkeypatch.undo()
    checkpoint = tmp_path / 'checkpoint-interrupted'
    assert stopped.interrupted and checkpoint.exists(), moment
    assert int(stopped.steps['step'].max()) == committed
    assert adam_steps(checkpoint) == {committed}, "the optimizer stepped more than the state says"
    assert_same_run(run(data, tmp_path, resume_from=checkpoint), whole)


def test_without_the_hold_a_sigint_in_optimizer_step_is_refused(data, tmp_path, monkeypatch):
    """The test above can fail: with the interrupt no longer held to the end of the batch, a SIGINT
    inside `optimizer.step()` stops the run mid-step, and no `checkpoint-interrupted` can be saved
    (it would claim a step the weights are past): the run refuses to save, and says so."""

    class NoHold:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(checkpoints, '_HoldInterrupt', NoHold)
    handle = register_optimizer_step_post_hook(Moment(3))
    try:
        with pytest.raises(checkpoints.InterruptedStepError, match='inside optimizer step 3'):
            run(data, tmp_path)
    finally:
        handle.remove()
    assert not (tmp_path / 'checkpoint-interrupted').exists()


def fail_in_step(nth: int, error: type):
    "An `Adam._init_group` that raises `error` in step `nth`, after its first group has stepped."
    real, calls = torch.optim.Adam._init_group, []

    def init_group(optimizer, group, *args, **kwargs):
        calls.append(1)  # two groups a step (chapter 10's `param_groups`)
        if len(calls) == 2 * nth:
            raise error('injected inside optimizer.step()')
        return real(optimizer, group, *args, **kwargs)

    return init_group


@pytest.mark.parametrize('error', [KeyboardInterrupt, RuntimeError])
def test_an_error_inside_optimizer_step_saves_no_checkpoint(error, data, tmp_path, monkeypatch):
    """An exception raised inside `optimizer.step()` itself, not a held Ctrl-C, leaves one parameter
    group stepped and the other not. No checkpoint may then claim the step was not taken: the run
    saves none (the last consistent one is the epoch's) and says so. Without the guard a raised
    `KeyboardInterrupt` saved `checkpoint-interrupted` with the groups' steps {2, 3}."""
    monkeypatch.setattr(torch.optim.Adam, '_init_group', fail_in_step(3, error))
    expected = checkpoints.InterruptedStepError if error is KeyboardInterrupt else error
    with pytest.raises(expected) as raised:
        run(data, tmp_path)
    assert not (tmp_path / 'checkpoint-interrupted').exists()
    if error is KeyboardInterrupt:
        assert 'no checkpoint saved' in str(raised.value)


def test_cuda_rng_is_taken_with_the_step(data, tmp_path, monkeypatch):
    """The CUDA random states are captured at the same moment as the CPU one, at the last committed
    step, not when the checkpoint is written. Checked on the CPU: a stand-in CUDA state that is a
    copy of the CPU generator's, taken by the same code path, must equal the saved CPU state even
    though a forward pass with dropout ran after the step (the first batch of step 2)."""
    monkeypatch.setattr(checkpoints, '_cuda_rng_states', lambda: [torch.get_rng_state()])
    monkeypatch.setattr(checkpoints, '_set_cuda_rng_states', lambda states: None)
    tokenizer, features, dev, dev_features = data
    model = tiny_bert(tokenizer)

    def third_forward(module, *_):
        third_forward.calls += 1
        if module.training and third_forward.calls == 3:
            raise KeyboardInterrupt  # in the forward pass: nothing half-stepped

    third_forward.calls = 0
    model.qa_outputs.register_forward_hook(third_forward)
    config = TrainConfig(**CONFIG, output_dir=str(tmp_path))
    stopped = train_qa(model, tokenizer, features, config=config)
    assert stopped.interrupted and int(stopped.steps['step'].max()) == 1
    saved = torch.load(tmp_path / 'checkpoint-interrupted' / 'training_state.pt', weights_only=True)
    assert torch.equal(saved['cuda_rng'][0], saved['torch_rng'])
    assert not torch.equal(saved['torch_rng'], torch.get_rng_state())  # dropout drew since


class ScaledAccelerator(Accelerator):
    "Accelerate with an fp16-style gradient scaler on the CPU, its scale doubling every step."

    made = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scaler = torch.amp.GradScaler('cpu', init_scale=2.0**4, growth_interval=1)
        ScaledAccelerator.made.append(self)


def test_gradient_scaler_is_restored_on_resume(data, tmp_path, monkeypatch):
    """fp16's `GradScaler` state is saved and restored: a resumed run goes on from the scale it had
    (without the restore it restarted at its initial scale, here 16 instead of 64)."""
    import accelerate

    monkeypatch.setattr(accelerate, 'Accelerator', ScaledAccelerator)
    whole_run = run(data, tmp_path / 'whole')
    whole_scale = ScaledAccelerator.made[-1].scaler.get_scale()
    stopped = run(data, tmp_path / 'stopped', callbacks=[stop_at(2)])
    checkpoint = tmp_path / 'stopped' / 'checkpoint-interrupted'
    saved = torch.load(checkpoint / 'training_state.pt', weights_only=True)
    assert stopped.interrupted and saved['scaler']['scale'] == 2.0**4 * 2**2
    resumed = run(data, tmp_path / 'stopped', resume_from=checkpoint)
    assert ScaledAccelerator.made[-1].scaler.get_scale() == whole_scale == 2.0**4 * 2**10
    assert_same_run(resumed, whole_run)


def stop_at(step):
    "A callback that stops the run, like Ctrl-C between two steps, after optimizer step `step`."

    def callback(state, **_):
        if state.step == step:
            raise KeyboardInterrupt

    return callback


def test_an_ignored_sigint_stays_ignored(data, whole, tmp_path):
    "Where SIGINT is ignored (`nohup ... &`), one inside `optimizer.step()` stops nothing."
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    handle = register_optimizer_step_post_hook(Moment(3))
    try:
        finished = run(data, tmp_path)
    finally:
        handle.remove()
    assert not finished.interrupted
    assert_same_run(finished, whole)
