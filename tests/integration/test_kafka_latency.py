"""What bounds the latency through Kafka (issue 16): the consumers' fetch wait is a setting
(Faust's worker consumer would otherwise wait 1.5 s per fetch). The relay's wake-up on
another process's commit is tested in ``test_sqlite_wake.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.analytics.projections.activity_models import CustomerActivityProjection
from crm.kernel.settings import Settings
from crm.platform.bootstrap import open_platform
from crm.platform.worker import build_app
from tests.support.tansu import Broker

pytestmark = pytest.mark.integration


def test_the_fetch_wait_setting_reads_its_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().kafka_fetch_wait_ms == 100
    monkeypatch.setenv("CRM_KAFKA_FETCH_WAIT_MS", "37")
    assert Settings().kafka_fetch_wait_ms == 37
    monkeypatch.setenv("CRM_KAFKA_FETCH_WAIT_MS", "0")
    with pytest.raises(ValueError, match="kafka_fetch_wait_ms"):
        Settings()


async def test_the_workers_faust_consumer_fetches_with_the_configured_wait(
    broker: Broker, tmp_path: Path
) -> None:
    platform = open_platform(Settings(data_dir=tmp_path / "data", bus=broker.url))
    try:
        app, _ = build_app(
            platform.runtime,
            [CustomerActivityProjection()],
            ["crm.customer.events"],
            bus_url=broker.url,
            app_id="crm-fetch-wait-test",
            fetch_wait_ms=73,
            datadir=tmp_path / "faust",
        )
        thread = app.consumer._thread
        consumer = thread._create_worker_consumer(app.transport)
        await consumer.start()
        try:
            # what the running fetcher uses, not just what was asked for
            assert consumer._fetcher._fetch_max_wait_ms == 73
            # everything else is still what Faust chose for its worker
            assert consumer._group_id == "crm-fetch-wait-test"
            assert consumer._enable_auto_commit is False
        finally:
            await consumer.stop()
    finally:
        await platform.close()
