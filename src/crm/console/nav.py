"""The console's navigation: which pages a user's menu links, and which of them is the
current one, written once per locale, role and current page (it was some fifty template
expressions on every page)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jinja2 import Environment
from markupsafe import Markup

MANAGERS = frozenset({"manager", "admin"})
ADMINS = frozenset({"admin"})


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    """Under the console's prefix; ``/`` is My day."""
    key: str
    """The text's key."""
    section: str = ""
    """The paths that make it the current page (default: its own path); My day is current
    on ``/`` alone."""
    roles: frozenset[str] | None = None
    """The roles it is offered to (None: every role)."""
    activities: bool = False
    """Offered only where the activities context runs (tasks, calendar, reports, care)."""

    @property
    def current_on(self) -> str:
        return self.section or self.path


NAV = (
    NavItem("/", "nav.my_day"),
    NavItem("/customers", "nav.customers"),
    NavItem("/pipeline", "nav.pipeline"),
    NavItem("/leads", "nav.leads"),
    NavItem("/opportunities", "nav.opportunities"),
    NavItem("/team", "nav.team", roles=MANAGERS),
    NavItem("/commissions", "nav.commissions"),
    NavItem("/tasks", "nav.tasks", activities=True),
    NavItem("/calendar", "nav.calendar", activities=True),
    NavItem("/reports/work", "nav.reports", section="/reports", activities=True),
    NavItem("/care", "nav.care", roles=MANAGERS, activities=True),
    NavItem("/tickets", "nav.tickets"),
    NavItem("/visits", "nav.visits"),
    NavItem("/kb", "nav.kb"),
    NavItem("/analytics", "nav.analytics"),
    NavItem("/admin", "nav.admin", roles=MANAGERS),
    NavItem("/imports", "nav.imports", roles=MANAGERS),
    NavItem("/users", "nav.users", roles=ADMINS),
    NavItem("/webhooks", "nav.webhooks", roles=ADMINS, activities=True),
    NavItem("/password", "nav.password"),
)


def offered(role: str, activities: bool) -> tuple[NavItem, ...]:
    """The items a user of ``role`` is offered (``activities``: that context runs here)."""
    return tuple(
        item
        for item in NAV
        if (item.roles is None or role in item.roles) and (activities or not item.activities)
    )


def current(items: tuple[NavItem, ...], prefix: str, path: str) -> int:
    """The index of the item whose page ``path`` is (-1: none): My day on the console's
    root only, any other on its section and what lies under it."""
    for i, item in enumerate(items):
        if item.current_on == "/":
            if path == prefix + "/":
                return i
        elif path.startswith(prefix + item.current_on):
            return i
    return -1


class Navigation:
    """The menu as HTML, rendered by ``_nav.html`` once per locale, role, context set and
    current page, then reused."""

    def __init__(self, templates: Environment, prefix: str) -> None:
        self.template = templates.get_template("_nav.html")
        self.prefix = prefix
        self._written: dict[tuple[str, str, bool, int], Markup] = {}

    def html(
        self, t: Callable[..., str], locale: str, role: str, activities: bool, path: str
    ) -> Markup:
        items = offered(role, activities)
        at = current(items, self.prefix, path)
        key = (locale, role, activities, at)
        written = self._written.get(key)
        if written is None:
            links = [
                (self.prefix + item.path, t(item.key), i == at) for i, item in enumerate(items)
            ]
            written = Markup(self.template.render(links=links))
            self._written[key] = written
        return written
