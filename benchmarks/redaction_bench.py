"""`core.kernel.logging.redact` on hostile input: its time must grow linearly with the text, so a
huge log line (an n8n error echoing a body, a traceback with a large argument) never stalls a
thread. Each shape is timed at 0.25, 1 and 4 MB; linear means ~4x per step, never ~16x.

    .venv/bin/python benchmarks/redaction_bench.py

Shapes: one endless word; `key=` repeated (every position a key start); lowercase `basic `
repeated and one `basic` before an endless base64-looking run; `x_` repeated (one word with a
separator at every other character); `1//` and `clx_` repeated (token prefixes without a
token); `"password": "` then an unterminated value; ordinary text with a secret every 100 chars.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.kernel.logging import redact

SHAPES: dict[str, Callable[[int], str]] = {
    "endless word": lambda n: "a" * n,
    "key= repeated": lambda n: "key=" * (n // 4),
    "_key= repeated": lambda n: "a_key=" * (n // 6),
    "basic repeated": lambda n: "basic " * (n // 6),
    "basic + endless base64": lambda n: "basic dX" + "a" * n,
    "x_ repeated": lambda n: "x_" * (n // 2),
    "1// repeated": lambda n: "1//" * (n // 3),
    "clx_ repeated": lambda n: "clx_" * (n // 4),
    "unterminated password": lambda n: '"password": "' + "a" * n,
    "text with secrets": lambda n: ("the run said token=abc123 fine; " * 3 + "x" * 4) * (n // 100),
}
SIZES = (256 * 1024, 1024 * 1024, 4 * 1024 * 1024)


def main() -> int:
    print(f"{'shape':<26}" + "".join(f"{s // 1024:>9} KB" for s in SIZES) + "   growth")
    worst = 0.0
    for name, make in SHAPES.items():
        times = []
        for size in SIZES:
            text = make(size)
            started = time.perf_counter()
            redact(text)
            times.append(time.perf_counter() - started)
        growth = times[-1] / max(times[0], 1e-9)
        worst = max(worst, growth)
        cells = "".join(f"{t * 1000:>10.0f}ms" for t in times)
        print(f"{name:<26}{cells}   {growth:5.1f}x")
    print(f"worst growth over 16x the input: {worst:.1f}x (linear: ~16x, quadratic: ~256x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
