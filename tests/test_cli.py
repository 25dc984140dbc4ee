"""The `squad-qa` command as a user runs it, in its own process: a real Ctrl-C (SIGINT) during
`train` exits 130 with a checkpoint that resumes, `accelerate launch -m squad_qa.cli` trains, errors
name the flags the user typed, and colours go to a terminal only (not to a file or a pipe, nor
where `NO_COLOR` is set)."""

import os, pty, signal, subprocess, sys, threading, time
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
    assert "Saved the last epoch's model" in run.stdout
    assert (out / 'model' / 'model.safetensors').exists()


def squad_qa_answer(*extra) -> list:
    return [sys.executable, '-m', 'squad_qa.cli', 'answer', '--question', 'Who wrote it?',
            '--context', 'Ada Lovelace wrote the first program in 1843.', *extra]  # fmt: skip


def environment(no_color: str | None) -> dict:
    "This environment, with `NO_COLOR` set to `no_color` (or unset for None)."
    env = {k: v for k, v in os.environ.items() if k != 'NO_COLOR'}
    return env if no_color is None else {**env, 'NO_COLOR': no_color}


def run_on_terminal(command: list, env: dict) -> tuple:
    "`(exit status, stdout, stderr)` of `command` with its standard output on a terminal (a pty)."
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child has closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, err = process.communicate(timeout=300)
    os.close(leader)
    return process.returncode, b''.join(chunks), err


def test_answer_to_a_pipe_has_no_escape_codes():
    run = subprocess.run(squad_qa_answer(), capture_output=True, timeout=300,
                         env=environment(None))  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert b'[[' in run.stdout, run.stdout  # the answer, marked in plain text
    assert b'\x1b' not in run.stdout + run.stderr
    assert b'Loading weights' not in run.stderr  # no progress bar in a log either


@pytest.mark.parametrize('no_color, coloured', [(None, True), ('1', False), ('', True)])
def test_answer_on_a_terminal_is_coloured_unless_no_color(no_color, coloured):
    code, out, err = run_on_terminal(squad_qa_answer(), environment(no_color))
    assert code == 0, err[-2000:]
    assert (b'\x1b[1;30;43m' in out) == coloured, out
    assert (b'[[' in out) == (not coloured), out


def test_errors_name_the_flag_typed():
    run = subprocess.run(squad_qa_answer('--max-length', '1024'), capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert run.returncode == 2
    last = run.stderr.strip().splitlines()[-1]
    assert '--max-length 1024 is more than' in last and 'use --max-length 512' in last, last
    assert 'max_length=' not in run.stderr
