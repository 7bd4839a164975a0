"""The shared presentation helpers: one percent format, one escape, one table, one chart, one language scheme."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citydata.errors import CitydataError
from citydata.render.fmt import one_decimal, pct
from citydata.render.html import esc, table
from citydata.render.i18n import check_lang, http_lang
from citydata.render.svg import line_chart, rate_bars


@given(st.floats(min_value=0, max_value=1))
def test_pct_is_the_rate_times_100_to_one_decimal(value: float) -> None:
    text = pct(value)
    assert re.fullmatch(r"\d{1,3}\.\d%", text)
    assert abs(float(text[:-1]) - value * 100) <= 0.05 + 1e-9


def test_no_data_is_a_dash_not_zero() -> None:
    assert pct(None) == "—" and pct(0) == "0.0%" and pct(0.8333) == "83.3%"
    assert one_decimal(12.0) == "12" and one_decimal(3.45) == "3.5" and one_decimal(2.25) == "2.2"


@given(st.text())
def test_esc_leaves_no_markup(value: str) -> None:
    out = esc(value)
    assert "<" not in out and ">" not in out and '"' not in out


def test_table_escapes_headers_and_wraps_plain_cells() -> None:
    html = table(["a<b"], [["x", '<td class="n">1</td>']], attrs=' id="t"')
    assert html == ('<table id="t"><thead><tr><th>a&lt;b</th></tr></thead>'
                    '<tbody><tr><td>x</td><td class="n">1</td></tr></tbody></table>')


def test_line_chart_breaks_at_missing_values_and_keeps_exact_values() -> None:
    svg = line_chart(["01", "02", "03", "04"], [{"key": "county", "label": "全县", "values": [0.5, None, 0.8, 0.9]}],
                     0.8, "目标", "c", title="采集率")
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 1  # 01 alone, 03–04 joined
    assert 'data-values="0.5,,0.8,0.9"' in svg and 'class="target" data-value="0.8"' in svg
    assert "目标 80.0%" in svg and 'aria-label="采集率"' in svg


def test_rate_bars_label_every_bar_with_its_exact_value() -> None:
    svg = rate_bars([{"key": "water", "label": "供水", "collection_rate": 0.25}], [("collection_rate", "采集")],
                    0.8, "目标", "b")
    assert 'data-key="water" data-metric="collection_rate" data-value="0.25"' in svg and "25.0%" in svg


def test_one_language_scheme_with_zh_only_as_an_http_alias() -> None:
    assert check_lang("zh-CN") == "zh-CN" and check_lang("EN") == "en" and check_lang(None) == "zh-CN"
    with pytest.raises(CitydataError, match="unknown language 'zh': use zh-CN or en"):
        check_lang("zh")
    assert http_lang("zh") == "zh-CN" and http_lang("zh-cn") == "zh-CN" and http_lang("en-US") == "en"
    with pytest.raises(CitydataError, match="unknown language 'fr'"):
        http_lang("fr")
