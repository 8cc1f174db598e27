"""The tenants the tests' tokens name, created as an operator creates them: through the
command bus, so a token of any other tenant is refused (401) in tests as everywhere."""

from __future__ import annotations

from crm.platform.bootstrap import Platform, ensure_tenant

TEST_TENANTS = ("default", "acme", "globex", "initech", "other")
"""Every tenant the suite's tokens name; a test that needs another creates it."""


async def create_tenants(platform: Platform, *tenants: str) -> None:
    """Create ``tenants`` (default: :data:`TEST_TENANTS`) unless they exist."""
    for tenant in tenants or TEST_TENANTS:
        await ensure_tenant(platform, tenant, operator="tests")
