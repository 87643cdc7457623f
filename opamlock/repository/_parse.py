"""Parse many opam files, in worker processes when there are enough to pay for them.

Workers send back the *compact* encoding, already marshalled: that is what the index stores, and
it crosses the process boundary far cheaper than pickled syntax trees. Functions here are
module-level so that they work with every multiprocessing start method (spawn included).
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext

from opamlock.repository import compact

__all__ = ["Parsed", "parse_all"]

# (sha256 hex of the opam bytes, marshalled compact tree or None, error (message, line, col) or None)
Parsed = tuple[str, bytes | None, tuple[str, int, int] | None]

#: Below this many files a pool costs more (start-up, pickling) than it saves.
POOL_THRESHOLD = 400
_CHUNK = 300


def parse_one(data: bytes, filename: str) -> Parsed:
    from opamlock.opamfile import OpamSyntaxError

    digest = hashlib.sha256(data).hexdigest()
    try:
        tree = compact.parse(data, filename)
    except OpamSyntaxError as e:
        where = (int(getattr(e, "line", 0)), int(getattr(e, "col", 0)))
        return digest, None, (str(getattr(e, "message", e)), *where)
    except Exception as e:
        return digest, None, (f"internal parser error: {type(e).__name__}: {e}", 0, 0)
    return digest, marshal.dumps(tree), None


def _parse_chunk(chunk: list[tuple[bytes, str]]) -> list[Parsed]:
    return [parse_one(data, name) for data, name in chunk]


Progress = Callable[[int], AbstractContextManager[Callable[[int], None]]]


def _no_progress(total: int) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda n: None)


def parse_all(
    items: Sequence[tuple[bytes, str]],
    *,
    jobs: int | None = None,
    progress: Progress = _no_progress,
) -> list[Parsed]:
    """Parse ``(bytes, filename)`` items, returning results in the same order.

    ``progress(total)`` is entered only once the workers exist, so that no progress-bar thread is
    running when they are forked.
    """
    n = len(items)
    if jobs is None:
        jobs = min(2, os.cpu_count() or 1)
    if jobs <= 1 or n < POOL_THRESHOLD:
        out: list[Parsed] = []
        with progress(n) as advance:
            for i, (data, name) in enumerate(items):
                out.append(parse_one(data, name))
                if i % 200 == 199:
                    advance(200)
            advance(n % 200)
        return out
    chunks = [list(items[i : i + _CHUNK]) for i in range(0, n, _CHUNK)]
    results: list[list[Parsed] | None] = [None] * len(chunks)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: dict[Future[list[Parsed]], int] = {
            pool.submit(_parse_chunk, c): i for i, c in enumerate(chunks)
        }
        with progress(n) as advance:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    results[i] = fut.result()
                    advance(len(chunks[i]))
    return [r for chunk in results if chunk is not None for r in chunk]
