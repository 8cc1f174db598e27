from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.tansu import Broker


@pytest.fixture
def broker() -> Iterator[Broker]:
    b = Broker().start()
    yield b
    b.stop()
