"""The console's menu: what each role is offered, which page is the current one, and the
menu written once per locale, role and page, then reused."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

from crm.console.i18n import Translator
from crm.console.nav import Navigation, current, offered

NAV_TEMPLATE = (
    '{% for href, label, here in links %}<a href="{{ href }}"{% if here %} current{% endif %}>'
    "{{ label }}</a>{% endfor %}"
)


def paths(role: str, activities: bool = True) -> list[str]:
    return [item.path for item in offered(role, activities)]


def test_each_role_is_offered_its_pages() -> None:
    rep, manager, admin = paths("sales_rep"), paths("manager"), paths("admin")
    assert not {"/team", "/admin", "/users"} & set(rep)
    assert {"/team", "/care", "/admin", "/imports"} <= set(manager)
    assert not {"/users", "/webhooks"} & set(manager)
    assert {"/users", "/webhooks"} <= set(admin)
    without = paths("admin", activities=False)  # no activities context: none of its pages
    assert not {"/tasks", "/calendar", "/reports/work", "/care", "/webhooks"} & set(without)
    assert (rep[0], rep[-1]) == ("/", "/password")


def test_the_current_page_is_its_section_and_my_day_only_the_root() -> None:
    items = offered("manager", True)
    at = {item.path: i for i, item in enumerate(items)}
    assert current(items, "/console", "/console/") == at["/"]
    assert current(items, "/console", "/console/customers/42/sales") == at["/customers"]
    assert current(items, "/console", "/console/reports/pipeline") == at["/reports/work"]
    assert current(items, "/console", "/console/notifications") == -1


def test_the_menu_is_written_once_per_locale_role_and_page() -> None:
    env = Environment(
        loader=DictLoader({"_nav.html": NAV_TEMPLATE}), autoescape=select_autoescape()
    )
    navigation = Navigation(env, "/console")
    en, zh = Translator("en"), Translator("zh-CN")
    first = navigation.html(en, "en", "manager", True, "/console/pipeline")
    assert '<a href="/console/pipeline" current>Pipeline</a>' in first
    assert first.count(" current") == 1
    again = navigation.html(en, "en", "manager", True, "/console/pipeline?x=1")
    assert again is first  # the same page of the same menu: reused
    other = navigation.html(en, "en", "manager", True, "/console/leads")
    assert '<a href="/console/leads" current>' in other
    assert other is not first
    assert ">客户</a>" in navigation.html(zh, "zh-CN", "manager", True, "/console/")
    assert "/console/admin" not in navigation.html(en, "en", "sales_rep", True, "/console/")
