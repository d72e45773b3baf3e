"""Web derivations of metrics.md and events.md: page_path, hosts, every channel rule (first match
wins), device type from user_agent, and the bot rule. One DataFrame per concern, one collect."""


from __future__ import annotations

from products.web_user_analytics import transform


def test_channel_and_bot_lists_are_those_of_metrics_md():
    assert transform.PAID_MEDIUMS == ("cpc", "ppc", "paid", "paidsearch", "display")
    assert transform.SOCIAL_HOSTS == ("facebook.", "t.co", "twitter.", "x.com", "linkedin.", "instagram.", "reddit.")
    assert transform.SEARCH_HOSTS == ("google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.")
    assert transform.BOT_MARKERS == ("bot", "crawler", "spider", "slurp", "curl", "wget", "python-requests",
                                     "headlesschrome")
