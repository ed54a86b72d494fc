"""Every entry of every word list and pattern list of the conduct policy, one test each.

The lists are data (policies/conduct). The words each list must catch are pinned in
tests/data/conduct_lists.yaml, and one test per entry is generated from that file, so deleting a word
from the policy fails that word's test. For each entry this file finds the rules whose conditions use
the list and checks both sides: a merchant message carrying it violates
that rule (quoting it where the rule's message quotes evidence), the same text from the buyer does not.
Patterns cannot be turned into matching text mechanically, so each pattern has hand-written examples
below; a pattern added to the policy without an example fails ``test_every_pattern_has_an_example``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_eval.api import Outcome, Rulebook
from policy_eval.resources import bundled_policies
from policy_eval.rulebook.yamlload import load_yaml

POLICY_FILE = bundled_policies() / "conduct" / "v1.yaml"
DATA, _ = load_yaml(POLICY_FILE.read_text(encoding="utf-8"), str(POLICY_FILE))
POLICY_ID = DATA["policy"]["id"]
PARAMS: dict[str, Any] = DATA["params"]

# Example texts per pattern, by position in the list (written from what each pattern is meant to catch).
PATTERN_EXAMPLES: dict[str, list[str]] = {
    "bank_account_patterns": ["退款请打到我的银行卡号 6222 0000 1111 2222 333", "转到 建设银行 6227 0000 1111 2222 33", "直接转工行 6222 0212 3456 789 就行",
                              "打到 6227 0000 1111 2222 33 户名王五", "卡号：陆贰贰贰零贰壹贰叁肆伍陆柒捌玖零，打款后发货", "对公账户 ６２１７０００１２３４５６７８９０"],
    "street_address_patterns": ["我们店在幸福路128号，欢迎来看看", "我们档口就在十三行新中国大厦", "我们店在万达广场B1层，欢迎来试", "我们店就在江汉路步行街"],
    "defamation_patterns": ["拼多多就是垃圾", "这个垃圾平台就会偏袒买家", "平台那些小二都是吃干饭的", "别家都是假货，只有我们是正品", "其它家卖的都是假的，便宜没好货", "拼夕夕上能有什么好东西",
                            "平台客服都是一群骗子", "客服就是一帮骗子",
                            "平台客服乱判，都是一群骗子", "你就是个骗子，想白嫖我们的东西", "你这种职业差评师我见多了",
                            "买家都是刁民", "拼多多就是割韭菜", "平台规则都是坑商家的", "别家的蜂蜜都是糖水勾兑", "平台小二乱判，我们也没办法", "你就是个碰瓷的", "快递员就是个小偷", "隔壁家老板人品有问题", "隔壁那家就是个黑店"],
    "contact_account_patterns": ["vx联系我 abc12345", "扣扣 是 12345678 加一下", "➕V：cupshop88 私聊",
                                 "亲，支付宝直接转我 13812345678", "Hi, contact us on WhatsApp +86 138 1234 5678",
                                 "有问题打电话，微信同号 138 1234 5678", "亲，V信：幺三八幺二三四五六七八",
                                 "亲，扣扣：2八5九3零1七4六", "亲，V❤：jiajia_888 备注拼多多", "亲，视频这里发不了，我的微信号是：", "亲，q：2859301746，加我发你", "加我微亻言：jiajia_888", "抠抠 2859301746", "转我吱付宝 13812345678"],
    "advertising_patterns": ["淘宝搜“小王家居”就能找到我们", "去 www.taobao.com/shop/123 下单更便宜",
                             "复制这段￥Xy7kP2aBcD￥打开手机淘宝", "我们抖音也有店",
                             "亲，加.我.微.信",  # (spaced: tests/golden/conduct_refusals.yaml)
                             "亲，jia wo wei xin", "长按识别图中二维码加我", "我小红书号 jiajia_closet88",
                             "差价直接发我支付宝就行", "亲，TB搜 佳佳小屋 还有", "狗东上有我们旗舰店",
                             "亲，进我们的Q裙：563829104"],
    "insult_patterns": ["滚，不卖给你了", "你个傻 逼", "sb，自己看说明书", "你是猪吗", "你是不是傻", "cnm，退什么退",
                        "F**k off", "妈的，又是你", "你就是个二百五", "长得丑还挑三拣四", "你这种人真恶心", "你是不是二啊", "你是nt吧", "爬，不卖了", "tmd，催什么催", "说了八百遍了，你是不是听不懂中文", "你这人脑子是不是有问题", "你个傻🙄逼"],
    "threat_patterns": ["再给差评后果自负", "把你的电话和地址发到网上", "你等着，看我怎么让你好看", "你等着，我们有你的电话和地址", "敢给差评的话，出门当心点", "给差评你自己掂量", "顺着网线过去打你", "你孩子在哪上学我们都知道", "再闹就让你在网上出名", "我带人去你家找你", "你再闹试试，我弄si你", "我知道你住幸福小区3栋", "我让你全家不得安宁", "你敢给差评试试看"],
    "other_purpose_patterns": ["我们仓库缺打包工，包吃住月薪6000", "可以介绍你去借款，额度高利息低", "帮我拍一单空包",
                               "带你一起赚钱", "小姐姐单身吗",
                               "拍一单我返你本金加8元", "招 jz 宝妈", "我这有口子，不看征信，秒下", "帮我kan一刀", "五星好评，截图发我返5元红包", "帮我🔪一刀", "帮忙shua个单", "需要用钱吗？我这有渠道，额度5万，秒批", "带图评价，找客服领2元红包"],
    "illegal_patterns": ["充值一百就能提现", "可以开别的公司的发票", "我们可以用别的公司开票，加4个点", "我们有菠菜群", "送你瑟瑟的小视频🔞", "溜冰的货私聊，纯度高"],
    "pyramid_patterns": ["他们再介绍的人你也有提成"],
}

def _value(name: str) -> list[str]:
    spec = PARAMS[name]
    return list(spec["value"] if isinstance(spec, dict) else spec)


def _rules_using(name: str) -> list[str]:
    """Rules whose decision (forbid/require) names the list."""
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    out = []
    for rule in DATA["rules"]:
        decision = " ".join(str(rule.get(k, "")) for k in ("forbid", "require"))
        if pattern.search(decision):
            out.append(rule["id"])
    return out


def _quotes_evidence(rule_id: str) -> bool:
    rule = next(r for r in DATA["rules"] if r["id"] == rule_id)
    return "{evidence}" in str(rule.get("message", ""))


WORD_LISTS = sorted(n for n, spec in PARAMS.items()
                    if n.endswith("_words") and isinstance(spec, dict) and spec.get("type") == "list<string>")
EXPECTED: dict[str, list[str]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "conduct_lists.yaml").read_text(encoding="utf-8"))
WORDS = [(name, str(word)) for name, words in sorted(EXPECTED.items()) for word in words]
PATTERNS = [(name, i, text) for name, texts in PATTERN_EXAMPLES.items() for i, text in enumerate(texts)]


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return Rulebook.load()


def _chat(sender: str, text: str) -> dict[str, Any]:
    messages = [
        {"id": "m1", "sender": "buyer", "sent_at": "2024-05-21T10:00:00+08:00", "text": "你好，在吗", "attachments": []},
        {"id": "m2", "sender": "merchant", "sent_at": "2024-05-21T10:01:00+08:00", "text": "您好，请问有什么可以帮您",
         "attachments": []},
        {"id": "m3", "sender": sender, "sent_at": "2024-05-21T10:02:00+08:00", "text": text, "attachments": []},
    ]
    if sender == "buyer":
        messages.append({"id": "m4", "sender": "merchant", "sent_at": "2024-05-21T10:03:00+08:00",
                         "text": "好的，我们看一下", "attachments": []})
    return {"kind": "chat", "case_id": "LIST-1", "store_id": "S-1", "captured_at": "2024-05-21T12:00:00+08:00",
            "messages": messages}


def _verdict(book: Rulebook, case: dict[str, Any], rule_id: str) -> Any:
    result = book.evaluate(case)
    full = f"{POLICY_ID}/{rule_id}"
    found = [r for r in result.results if r.full_id == full]
    assert found, f"no verdict for {full}"
    return found[0]


def test_the_lists_are_found() -> None:
    # the conduct policy's lists named in the issue; guards against this file silently testing nothing
    assert {"reactionary_words", "insult_words", "advertising_words", "threat_words"} <= set(WORD_LISTS)
    assert len(WORDS) >= 90
    for name in WORD_LISTS:
        assert _rules_using(name), f"{name} is used by no rule"


def test_every_policy_word_is_listed_here() -> None:
    assert set(WORD_LISTS) == set(EXPECTED)
    for name in WORD_LISTS:
        assert sorted(map(str, EXPECTED[name])) == sorted(_value(name)), name


def test_every_pattern_has_an_example() -> None:
    lists = {n for n, spec in PARAMS.items() if n.endswith("_patterns") and isinstance(spec, dict)}
    assert lists == set(PATTERN_EXAMPLES)
    for name in lists:
        assert len(PATTERN_EXAMPLES[name]) == len(_value(name)), name


@pytest.mark.parametrize(("name", "word"), WORDS, ids=[f"{n}:{w}" for n, w in WORDS])
def test_a_merchant_message_with_the_word_violates(book: Rulebook, name: str, word: str) -> None:
    # (a pickup word followed by a consent question is the self-pickup notice 争议处理规则 2.2.5 requires, which
    # no-store-addresses excuses: those words are asked without one)
    text = f"亲，{word}，谢谢" if name == "store_address_words" else f"亲，{word}，这样可以吗"
    for rule_id in _rules_using(name):
        verdict = _verdict(book, _chat("merchant", text), rule_id)
        assert verdict.outcome is Outcome.VIOLATED, (rule_id, word, verdict.message)
        if _quotes_evidence(rule_id):
            assert word in (verdict.message or ""), (rule_id, word, verdict.message)


@pytest.mark.parametrize(("name", "word"), WORDS, ids=[f"{n}:{w}" for n, w in WORDS])
def test_the_same_word_from_the_buyer_is_not_the_merchants_violation(book: Rulebook, name: str, word: str) -> None:
    text = f"亲，{word}，这样可以吗"
    for rule_id in _rules_using(name):
        verdict = _verdict(book, _chat("buyer", text), rule_id)
        assert verdict.outcome is not Outcome.VIOLATED, (rule_id, word, verdict.message)


@pytest.mark.parametrize(("name", "index", "text"), PATTERNS, ids=[f"{n}[{i}]" for n, i, _ in PATTERNS])
def test_each_pattern_example_violates_from_the_merchant_only(book: Rulebook, name: str, index: int,
                                                              text: str) -> None:
    rules = _rules_using(name)
    assert rules
    for rule_id in rules:
        assert _verdict(book, _chat("merchant", text), rule_id).outcome is Outcome.VIOLATED, (rule_id, text)
        assert _verdict(book, _chat("buyer", text), rule_id).outcome is not Outcome.VIOLATED, (rule_id, text)


def test_policy_file_is_the_bundled_one() -> None:
    assert Path(POLICY_FILE).is_file()
