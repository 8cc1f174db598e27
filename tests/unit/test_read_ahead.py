"""``read_ahead``: the next page is asked for while one is processed, nothing is lost or
reordered, and stopping early closes the source."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from crm.kernel.projection import read_ahead


class Source:
    def __init__(self, pages: int) -> None:
        self.pages = pages
        self.asked: list[int] = []
        self.closed = False

    async def read(self) -> AsyncIterator[int]:
        try:
            for i in range(self.pages):
                self.asked.append(i)
                await asyncio.sleep(0)
                yield i
        finally:
            self.closed = True


async def test_every_page_in_order_with_the_next_one_asked_for_meanwhile() -> None:
    source = Source(5)
    seen = []
    async for page in read_ahead(source.read()):
        await asyncio.sleep(0.001)  # processing: the next read has started by now
        assert source.asked[-1] == min(page + 1, 4)
        seen.append(page)
    assert seen == [0, 1, 2, 3, 4]
    assert source.closed


async def test_stopping_early_closes_the_source() -> None:
    source = Source(100)
    pages = read_ahead(source.read())
    async for page in pages:
        if page == 2:
            break
    await pages.aclose()  # type: ignore[attr-defined]
    assert source.closed
    assert len(source.asked) <= 4


async def test_an_error_of_the_source_reaches_the_consumer_in_its_place() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("disk gone")

    seen: list[int] = []

    async def consume() -> None:
        async for page in read_ahead(failing()):
            seen.append(page)

    with pytest.raises(RuntimeError, match="disk gone"):
        await consume()
    assert seen == [1]
