"Timing shared by the benchmark scripts."
import gc, time


def timed(fn, repeats:int):
    "Best of `repeats` runs (cyclic GC off while timing, as in timeit), and the last result."
    best, result = float('inf'), None
    for _ in range(repeats):
        gc.collect(); gc.disable()
        try: began = time.perf_counter(); result = fn(); best = min(best, time.perf_counter() - began)
        finally: gc.enable()
    return best, result
