"""Conduct detectors (plugins/conduct.py) on real-looking customer-service chat messages.

Every positive case states the exact evidence text; its span is located in
the message independently (``str.index``) and must be what the detector
reports, so spans are checked exactly. Card numbers used here are Luhn-valid
unless said otherwise (check digits computed by hand / separately).
"""

from __future__ import annotations

import pytest

from policy_eval.expression import compile_expression
from policy_eval.lang.values import UNKNOWN
from policy_eval.plugins.conduct import (
    find_accounts,
    find_bank_cards,
    find_emails,
    find_pattern,
    find_pattern_unless,
    find_phones,
    find_urls,
    find_words,
    find_words_unless,
    luhn_valid,
)

PLATFORM = ["pinduoduo.com", "yangkeduo.com", "pddpic.com"]


def spans(text: str, *evidence: str, kind: str) -> list[dict[str, object]]:
    """The expected matches: each evidence string located in the text (in order, left to right)."""
    out = []
    pos = 0
    for ev in evidence:
        start = text.index(ev, pos)
        out.append({"kind": kind, "text": ev, "start": start, "end": start + len(ev)})
        pos = start + len(ev)
    return out


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("6222021202001234567")
    assert luhn_valid("1234567812345670")
    assert not luhn_valid("6222021202001234568")


# --- bank cards --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, evidence", [
    ("亲，退款我这边直接转给你，或者你把钱打到我这张卡 6222 0212 0200 1234 567 也行", ["6222 0212 0200 1234 567"]),
    ("工行卡号：6222021202001234567，户名张三，转好了截图给我", ["6222021202001234567"]),
    ("建行 6217-0012-3456-7890-122 转账备注订单号就行", ["6217-0012-3456-7890-122"]),
    # an order label earlier in the sentence, a card label right before the number: a card
    ("订单退款打到卡号4367421234567896，别走平台了", ["4367421234567896"]),
    # full-width digits are still digits
    ("卡号６２１７００１２３４５６７８９０１２２", ["６２１７００１２３４５６７８９０１２２"]),
    # a phone number right before the card is not merged into it
    ("电话13812345678 卡号6228480012345678903", ["6228480012345678903"]),
    ("两张卡都可以：4111111111111111 或者 6222021202001234567", ["4111111111111111", "6222021202001234567"]),
    # a number right after the card is not taken for its last digits
    ("卡号4367421234567896 200块转我就行", ["4367421234567896"]),
    ("卡号 4111 1111 1111 1111 200元定金", ["4111 1111 1111 1111"]),
    ("两张卡 4111111111111111 6222021202001234567", ["4111111111111111", "6222021202001234567"]),
])
def test_bank_cards_found(text: str, evidence: list[str]) -> None:
    assert find_bank_cards(text) == spans(text, *evidence, kind="bank_card")


@pytest.mark.parametrize("text", [
    # 16-digit, Luhn-valid order numbers introduced as such are not cards
    "您的订单号：1234567812345670，已经安排发货了",
    "订单号1234567812345670麻烦帮我看下物流",
    "订单编号 2401019876543217 请核对一下",
    "运单号 1234567812345670，中通快递",
    "快递单号是4111111111111111，明天到",
    "Order No. 4111111111111111 shipped",
    # letters or other digits glued on: part of a longer identifier
    "顺丰单号SF1234567812345670",
    "拼多多订单 240101-1234567812345670 已退款",
    "流水号62220212020012345670",  # 20 digits
    # Luhn-invalid
    "卡号 6222021202001234568",
    "看一下 1234 5678 1234 5678",
    # too short to be a card
    "订单金额 4111 1111 1111",
])
def test_bank_cards_not_found(text: str) -> None:
    assert find_bank_cards(text) == []


# --- links -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "商品链接 https://mobile.yangkeduo.com/goods.html?goods_id=352718823 直接拍就行",
    "店铺首页：yangkeduo.com/mall_page.html?mall_id=1023，关注有券",
    "实拍图 https://img.pddpic.com/mms-material-img/2024-05-21/crack.jpeg",
    "拼多多官网 www.pinduoduo.com 可以查到",
    "售后邮箱 service@qq.com，或者 kefu@163.com",  # e-mail addresses are not links
    "规格 1.5kg，版本 v2.0，价格 59.90 元",
])
def test_platform_links_and_non_links_are_allowed(text: str) -> None:
    assert find_urls(text, PLATFORM) == []


@pytest.mark.parametrize("text, evidence", [
    ("淘宝店更便宜：https://item.taobao.com/item.htm?id=7712093，拍下备注拼多多",
     ["https://item.taobao.com/item.htm?id=7712093"]),
    ("点这个链接https://m.tb.cn/h.5Xq2Z点开领券", ["https://m.tb.cn/h.5Xq2Z"]),
    ("加群领福利 fuli.xyz 注册就送", ["fuli.xyz"]),
    ("（详情见 https://evil.cn/a）。", ["https://evil.cn/a"]),
    ("(see https://evil.cn/a).", ["https://evil.cn/a"]),
    # look-alikes of the platform domains
    ("官方售后入口 yangkeduo.com.evil.cn/login", ["yangkeduo.com.evil.cn/login"]),
    ("新店 pinduoduo-shop.com 上新了", ["pinduoduo-shop.com"]),
    ("https://yangkeduo.com@evil.top/pay 付款", ["https://yangkeduo.com@evil.top/pay"]),
    # full-width
    ("ｗｗｗ．ｆｕｌｉ．ｔｏｐ 领券", ["ｗｗｗ．ｆｕｌｉ．ｔｏｐ"]),
    ("两个链接 http://a.cn/1 和 https://mobile.yangkeduo.com/x 还有 WWW.JD.COM/shop",
     ["http://a.cn/1", "WWW.JD.COM/shop"]),
])
def test_other_links_are_flagged_with_their_span(text: str, evidence: list[str]) -> None:
    assert find_urls(text, PLATFORM) == spans(text, *evidence, kind="url")


def test_allowed_domains_come_from_the_policy() -> None:
    text = "抖音小店 https://v.douyin.com/iRNBho/ 也有"
    assert find_urls(text, PLATFORM) == spans(text, "https://v.douyin.com/iRNBho/", kind="url")
    assert find_urls(text, PLATFORM + ["douyin.com"]) == []
    assert find_urls(text, []) != []


# --- phones, e-mails, accounts -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, evidence", [
    ("有问题直接打我电话 138 1234 5678", ["138 1234 5678"]),
    ("手机15912345678，微信同号", ["15912345678"]),
    ("联系 +86-139-0000-1111 王经理", ["+86-139-0000-1111"]),
    ("电话：１３８１２３４５６７８", ["１３８１２３４５６７８"]),
    ("138-1234-5678或者17700001111都行", ["138-1234-5678", "17700001111"]),
])
def test_phones_found(text: str, evidence: list[str]) -> None:
    assert find_phones(text) == spans(text, *evidence, kind="phone")


@pytest.mark.parametrize("text", [
    "订单号 240521-138123456789012 已发货",
    "单号138123456789",  # twelve digits
    "圆通 YT1381234567890",
    "金额 12345678901 元",
    "座机 0571-88881234",
])
def test_phones_not_found(text: str) -> None:
    assert find_phones(text) == []


@pytest.mark.parametrize("text, evidence", [
    ("发我邮箱 kefu_2024@163.com，我把发票给你", ["kefu_2024@163.com"]),
    ("邮箱abc.def@company.com.cn谢谢", ["abc.def@company.com.cn"]),
    ("邮箱：ｓｈｏｐ＠ｑｑ．ｃｏｍ", ["ｓｈｏｐ＠ｑｑ．ｃｏｍ"]),
])
def test_emails_found(text: str, evidence: list[str]) -> None:
    assert find_emails(text) == spans(text, *evidence, kind="email")


@pytest.mark.parametrize("text", ["@客服小王 在吗", "邮箱我稍后发您", "价格@59.9 起"])
def test_emails_not_found(text: str) -> None:
    assert find_emails(text) == []


@pytest.mark.parametrize("text, evidence", [
    ("亲，平台退款太慢了，加我微信：cup_shop88 直接给你退", ["微信：cup_shop88"]),
    ("加我vx Lucky_88 发你优惠券", ["vx Lucky_88"]),
    ("V信：shop-2024 备注拼多多", ["V信：shop-2024"]),
    ("扣扣 12345678 在线", ["扣扣 12345678"]),
    ("QQ群号：987654321，进群领券", ["QQ群号：987654321"]),
    ("支付宝账号：13812345678 直接转", ["支付宝账号：13812345678"]),
    ("微信号是 wxid_abc123.", ["微信号是 wxid_abc123"]),
    ("加微信 cup_shop88 或者 qq 2233445566", ["微信 cup_shop88", "qq 2233445566"]),
])
def test_accounts_found(text: str, evidence: list[str]) -> None:
    assert find_accounts(text) == spans(text, *evidence, kind="account")


@pytest.mark.parametrize("text", [
    "可以用微信支付吗？",
    "支付宝付款也可以的",
    "我没有微信，只用拼多多聊天",
    "twx12345 是型号",
    "qq音乐会员不包含",
    "这款添加vitamin C和玻尿酸",  # a Latin keyword (加v) running into a word is no account
])
def test_accounts_not_found(text: str) -> None:
    assert find_accounts(text) == []


# --- words and patterns ------------------------------------------------------------------------------------

def test_find_words_reports_every_occurrence_in_order() -> None:
    text = "去淘宝店买，淘宝店便宜，或者闲鱼"
    assert find_words(text, ["闲鱼", "淘宝店"]) == spans(text, "淘宝店", "淘宝店", "闲鱼", kind="word")
    assert find_words("PDD 垃圾", ["pdd"]) == [{"kind": "word", "text": "PDD", "start": 0, "end": 3}]
    assert find_words("没什么", ["", "不存在"]) == []


def test_find_words_unless_drops_only_occurrences_inside_an_unless_match() -> None:
    refusal = ["(?:不能|没有)[^，。]{0,4}"]
    text = "不能加我微信，加我微信"
    # the first occurrence lies inside 不能加我微信; the second, after the comma, is still found
    assert find_words_unless(text, ["加我微信"], refusal) == [{"kind": "word", "text": "加我微信", "start": 7,
                                                              "end": 11}]
    # a match that covers only part of the word does not excuse it: 没有问题加我 ends inside 加我微信
    assert len(find_words_unless("没有问题加我微信", ["加我微信"], refusal)) == 1
    # a longer harmless word, matched on the lower-cased text
    assert find_words_unless("去死皮膏 QUSI", ["去死", "qusi"], ["去死皮", "qusi"]) == []
    assert find_words_unless("你去死", ["去死"], ["去死皮"]) == spans("你去死", "去死", kind="word")
    assert find_words_unless("加我微信", ["加我微信"], []) == spans("加我微信", "加我微信", kind="word")


def test_a_context_with_groups_excuses_only_the_word_between_them() -> None:
    # group 1 ends where the word must begin (a refusal right before it), group 2 begins where it must end
    # (the phrase closing right after it); a word listed right after an excused one is excused too
    refusal = ["(不能|没有|不用)[^，。？、]{1,8}?([哦的]{0,2}(?:[，。、]|$))"]
    words = ["加我微信", "网贷", "私下交易"]
    assert find_words_unless("平台规定不能加我微信哦，有问题这里说", words, refusal) == []
    assert find_words_unless("不能私下交易、加我微信。", words, refusal) == []  # the second one listed after it
    # something between the negation and the word, or after the word before the phrase closes: counted
    assert len(find_words_unless("不用征信网贷，秒到账", words, refusal)) == 1
    assert len(find_words_unless("还没有加我微信的亲可以加一下哦", words, refusal)) == 1
    assert len(find_words_unless("能不能加我微信？", words, refusal)) == 1  # a question closes nothing here


def test_find_pattern_unless() -> None:
    warning = ["让您[^。]{0,12}客服都是骗子"]
    assert find_pattern_unless("凡是让您加微信退款的客服都是骗子", "客服都是骗子", warning) == []
    text = "平台的客服都是骗子"
    assert find_pattern_unless(text, "客服都是骗子", warning) == spans(text, "客服都是骗子", kind="pattern")


def test_find_pattern() -> None:
    text = "门店地址：杭州市西湖区文三路398号，欢迎到店"
    assert find_pattern(text, "[一-龥]{1,12}(路|街|大道|巷)[0-9]{1,5}号") == \
        spans(text, "杭州市西湖区文三路398号", kind="pattern")


# --- from the condition language -------------------------------------------------------------------------------

def test_detectors_in_conditions_return_typed_evidence() -> None:
    expr = compile_expression('find_bank_cards("卡号：6222021202001234567")[0]')
    assert str(expr.type) == "match"
    assert expr.evaluate() == {"kind": "bank_card", "text": "6222021202001234567", "start": 3, "end": 22}
    assert compile_expression('len(find_bank_cards("订单号：1234567812345670")) == 0').evaluate() is True
    domains = compile_expression('len(find_urls("https://mobile.yangkeduo.com/g", ["yangkeduo.com"]))')
    assert domains.evaluate() == 0
    # a missing text is unknown, not "no evidence"
    missing = compile_expression("len(find_phones(text)) > 0", case_schema={"type": "object", "properties": {
        "text": {"type": "string"}}})
    assert missing.evaluate({}) is UNKNOWN
