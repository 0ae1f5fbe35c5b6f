"""A MedQC Temporal worker in a process of its own (the worker-kill test): settings from ``MEDQC_*``;
with ``SLOW_STORE_S`` every store transaction waits that long before it is written (a slow database), so
the test can kill the worker in the middle of the step."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from temporalio.client import Client

from agents.orchestration.temporal_link import build_worker
from medqc.services import build_services
from medqc.settings import Settings


async def main() -> None:
    settings = Settings()
    assert settings.temporal_address
    services = await build_services(settings, seed=False)
    delay = float(os.environ.get("SLOW_STORE_S", "0"))
    if delay:
        real = services.repo.transaction

        async def slow(bundle: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            print("store-started", flush=True)
            await asyncio.sleep(delay)
            return await real(bundle, *args, **kwargs)

        services.repo.transaction = slow  # type: ignore[method-assign]
    client = await Client.connect(settings.temporal_address)
    worker = build_worker(client, services.orchestrator, task_queue=settings.temporal_task_queue)
    print("worker-ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
