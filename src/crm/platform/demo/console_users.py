"""The demo company's people as console users: each may sign in at ``/console`` with
:data:`DEMO_PASSWORD` (printed when the demo is generated), in the tenant the demo fills.

Added through the command bus as the system, like ``crm users add``; a user already there is
left as they are, so it can run on every start of a demo."""

from __future__ import annotations

from crm.console import register_user_commands
from crm.console.teams import CreateTeam, recorded
from crm.console.users import AddUser, hash_password, load_user, system_context
from crm.platform.bootstrap import Platform
from crm.platform.demo.company import users

DEMO_PASSWORD = "demo-console-2026"
"""Known on purpose: a demo's data is made up. Never use the demo on real data."""

NAMES = {
    "admin": ("Ada Admin", "en"),
    "mgr-nora": ("Nora Lind", "en"),
    "mgr-sam": ("王珊 Wang Shan", "zh-CN"),
    "rep-ana": ("Ana Silva", "en"),
    "rep-ben": ("Ben Okafor", "en"),
    "rep-cai": ("蔡明 Cai Ming", "zh-CN"),
    "rep-dee": ("Dee Patel", "en"),
    "agent-ivy": ("Ivy Chen", "zh-CN"),
    "agent-jon": ("Jon Berg", "en"),
    "agent-kim": ("Kim Lee", "en"),
}


async def add_console_users(platform: Platform, tenant: str) -> list[str]:
    """Add the demo's people as console users of ``tenant`` (those not there yet), and
    their teams as team records."""
    bus = platform.runtime.commands
    register_user_commands(bus)
    password_hash = hash_password(DEMO_PASSWORD)
    added = []
    for user_id, role, team in users():
        if await load_user(bus, tenant, user_id) is not None:
            continue
        name, locale = NAMES.get(user_id, (user_id, "en"))
        command = AddUser(user_id, name, role, password_hash, team, locale)
        await bus.execute(command, system_context(tenant, platform.runtime.clock.now(), "demo"))
        added.append(user_id)
    ctx = system_context(tenant, platform.runtime.clock.now(), "demo")
    for team in sorted({team for _, _, team in users() if team is not None}):
        if not await recorded(bus, tenant, team):  # the demo's teams as records
            await bus.execute(CreateTeam(team, team.replace("-", " ").title()), ctx)
    return added
