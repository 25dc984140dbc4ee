"""The `squad-qa` command as a user runs it, in its own process: a real Ctrl-C (SIGINT) during
`train` exits 130 with a checkpoint that resumes, and `accelerate launch -m squad_qa.cli` trains."""

import os, signal, subprocess, sys, threading, time
from pathlib import Path

import pytest

TINY_RUN = ['--max-train-questions', '96', '--max-eval-questions', '8', '--epochs', '1',
            '--batch-size', '8', '--max-length', '128', '--stride', '32']  # fmt: skip


def squad_qa_train(output_dir: Path, *extra) -> list:
    return [sys.executable, '-m', 'squad_qa.cli', 'train', '--output-dir', str(output_dir),
            *TINY_RUN, *extra]  # fmt: skip


def test_sigint_during_train_exits_130_and_resumes(tmp_path):
    out = tmp_path / 'run'
    command = squad_qa_train(out, '--max-train-questions', '400')  # the last flag wins
    # the child gets Python's Ctrl-C even where this process was started ignoring it (`... &`)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    printed = []

    def collect():
        for byte in iter(lambda: process.stdout.read(1), b''):
            printed.append(byte)

    reader = threading.Thread(target=collect)
    reader.start()
    deadline = time.monotonic() + 300
    while b'epoch 1/1' not in b''.join(printed) and time.monotonic() < deadline:
        time.sleep(0.2)  # the loop's progress bar: it is training
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=300)
    reader.join()
    output = b''.join(printed).decode(errors='replace')
    assert process.returncode == 130, output[-2000:]
    checkpoint = out / 'checkpoint-interrupted'
    assert 'resume with --resume' in output and checkpoint.exists(), output[-2000:]
    resumed = subprocess.run([*command, '--resume', str(checkpoint)], capture_output=True,
                             text=True, timeout=900)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (out / 'model' / 'model.safetensors').exists()


def test_accelerate_launch_on_cpu_trains(tmp_path):
    launcher = Path(sys.executable).with_name('accelerate')
    if not launcher.exists():
        pytest.skip("accelerate's launcher is not installed next to this Python")
    out = tmp_path / 'launched'
    command = [str(launcher), 'launch', '--cpu', '--num_processes', '1', '--num_machines', '1',
               '--mixed_precision', 'no', '--dynamo_backend', 'no',
               '-m', 'squad_qa.cli', 'train', '--output-dir', str(out), *TINY_RUN]  # fmt: skip
    env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, (run.stdout + run.stderr)[-2000:]
    assert 'Saved the model' in run.stdout
    assert (out / 'model' / 'model.safetensors').exists()
