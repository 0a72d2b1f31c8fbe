"""The thread pool the codecs share: pyarrow and ISA-L release the GIL, so threads use every core."""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

WORKERS = max(2, os.cpu_count() or 2)
_POOL: ThreadPoolExecutor | None = None

T = TypeVar("T")
R = TypeVar("R")


def pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(WORKERS, thread_name_prefix="vpcflow")
    return _POOL


def ordered_map(fn: Callable[[T], R], items: Iterable[T], ahead: int = WORKERS + 1) -> Iterator[R]:
    """`map` on the pool, results in input order, at most `ahead` items in flight (flat memory)."""
    pending: collections.deque = collections.deque()
    items = iter(items)
    try:
        while True:
            while len(pending) < ahead:
                item = next(items, None)
                if item is None:
                    break
                pending.append(pool().submit(fn, item))
            if not pending:
                return
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
