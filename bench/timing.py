"Timing shared by the benchmark scripts."

import gc, time


def timed(fn, repeats: int):
    "Best of `repeats` runs (cyclic GC off while timing, as in timeit), and the last result."
    (best,), (result,) = timed_together([fn], repeats)
    return best, result


def timed_together(fns: list, repeats: int):
    """Best of `repeats` runs of each of `fns`, taken in turns (one run of each per round, so that
    all of them see the same machine: a shared machine's speed drifts over seconds), and the last
    result of each."""
    best, results = [float('inf')] * len(fns), [None] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            gc.collect()
            gc.disable()
            try:
                began = time.perf_counter()
                results[i] = fn()
                best[i] = min(best[i], time.perf_counter() - began)
            finally:
                gc.enable()
    return best, results
