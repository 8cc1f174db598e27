"""The key store contract: every KeyStore adapter runs these tests unchanged.

An adapter's test module defines an async ``key_store`` fixture and a ``reopen`` fixture
(opening the same store again, as another process would), then subclasses
:class:`KeyStoreContract`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import uuid4

from crm.kernel.keys import KeyStore, decrypt, encrypt


def subject() -> str:
    return f"customer-{uuid4()}"


class KeyStoreContract:
    async def test_get_or_create_gives_each_subject_its_own_lasting_key(
        self, key_store: KeyStore
    ) -> None:
        a, b = subject(), subject()
        first = await key_store.get_or_create([a, b, a])
        assert set(first) == {a, b}
        assert all(len(k) == 32 for k in first.values())
        assert first[a] != first[b]
        assert await key_store.get_or_create([a]) == {a: first[a]}
        assert await key_store.get([a, b]) == first

    async def test_get_leaves_out_subjects_without_a_key(self, key_store: KeyStore) -> None:
        known, unknown = subject(), subject()
        keys = await key_store.get_or_create([known])
        assert await key_store.get([known, unknown]) == keys
        assert await key_store.get([unknown]) == {}
        assert await key_store.get([]) == {}
        assert await key_store.get_or_create([]) == {}
        assert not await key_store.is_erased(unknown)  # get never creates
        assert await key_store.get([unknown]) == {}

    async def test_an_erased_key_is_gone_for_good(self, key_store: KeyStore) -> None:
        gone, kept = subject(), subject()
        keys = await key_store.get_or_create([gone, kept])
        token = encrypt(keys[gone], gone, "email", "ada@example.com")
        await key_store.erase(gone)
        assert await key_store.is_erased(gone)
        assert not await key_store.is_erased(kept)
        assert await key_store.get([gone, kept]) == {kept: keys[kept]}
        # no new key is ever handed out for an erased subject, so nothing new is readable
        assert await key_store.get_or_create([gone, kept]) == {kept: keys[kept]}
        assert await key_store.get_or_create([gone]) == {}
        assert decrypt(keys[kept], "email", encrypt(keys[kept], kept, "email", "x")) == "x"
        assert token.startswith("enc:v1:")

    async def test_a_subject_erased_before_it_had_a_key_never_gets_one(
        self, key_store: KeyStore
    ) -> None:
        s = subject()
        await key_store.erase(s)
        assert await key_store.is_erased(s)
        assert await key_store.get_or_create([s]) == {}
        await key_store.erase(s)  # erasing twice is harmless
        assert await key_store.is_erased(s)

    async def test_concurrent_get_or_create_of_one_subject_gives_one_key(
        self, key_store: KeyStore, reopen: Callable[[], KeyStore]
    ) -> None:
        other = reopen()
        try:
            for _ in range(5):
                s = subject()
                results = await asyncio.gather(
                    *(store.get_or_create([s]) for store in (key_store, other) for _ in range(5))
                )
                assert len({r[s] for r in results}) == 1
                assert await key_store.get([s]) == results[0]
        finally:
            await other.close()

    async def test_a_burst_of_get_or_create_answers_each_call_with_its_own_subjects(
        self, key_store: KeyStore
    ) -> None:
        """Many calls at once (a store may serve them in one transaction): each gets exactly
        the keys it asked for, one key per subject across calls, an erased subject none."""
        shared, erased = subject(), subject()
        await key_store.erase(erased)
        asked = [[subject(), shared] + ([erased] if i % 7 == 0 else []) for i in range(60)]
        results = await asyncio.gather(*(key_store.get_or_create(a) for a in asked))
        for wanted, got in zip(asked, results, strict=True):
            assert set(got) == set(wanted) - {erased}
        assert len({got[shared] for got in results}) == 1
        every = {s for wanted in asked for s in wanted} - {erased}
        assert await key_store.get(every) == {s: k for got in results for s, k in got.items()}

    async def test_keys_and_erasures_survive_reopening(
        self, key_store: KeyStore, reopen: Callable[[], KeyStore]
    ) -> None:
        kept, gone = subject(), subject()
        keys = await key_store.get_or_create([kept, gone])
        await key_store.erase(gone)
        other = reopen()
        try:
            assert await other.get([kept, gone]) == {kept: keys[kept]}
            assert await other.is_erased(gone)
            assert await other.get_or_create([gone]) == {}
        finally:
            await other.close()
