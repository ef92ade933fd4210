"""A guard on the model's own replies: no doses, no advice to stop a prescribed medicine, no self-harm methods.

China's internet-diagnosis rules (互联网诊疗监管细则（试行）, 2022) forbid AI-generated prescriptions, so a generated
reply may name a medicine but must not say how much of it to take, or tell a patient to stop, halve or skip one.
The reply is cut into sentences (at 。！？；!?; and line breaks), and each is read for three structures:
- a dose: an amount with a drug unit or count ("0.5g", "两片", "1-2粒", "半袋", "两茶匙", "一剂") for a
  medicine, per time or per day, or after a verb of taking ("吃两片", "加到两片"); or a dosing frequency
  ("一日三次", "每隔四小时一次", "一周两针") for a medicine. A medicine is a word for one, a stem of drug names
  (INN endings as written in Chinese: 头孢, 沙星, 他汀, 洛尔, 地平, 普利, 唑, 嗪, 韦 ...), a dosage form, a verb
  of taking medicine, or a word in Latin letters;
- advice to stop, pause, cut down, skip, space out or switch a medicine on one's own (a verb of stopping or
  reducing within 20 characters of the medicine or of a counted amount: "降压药可以停掉", "这药别吃了", "减到一半",
  "隔三天吃一次", "吃不吃都行", "换成中药调理"), unless the sentence leaves it to a doctor ("遵医嘱", "咨询医生",
  "是否停药"), says not to ("不要自行停药"), tells what stopping would do ("擅自停药可能诱发发作"), tells what was
  done ("已经停用"), or stops food, a habit or a symptom ("戒掉酒瘾", "中止癫痫发作");
- a self-harm method: a means with the deed done with it, told as a way to die or to hurt oneself (`self_harm.py`
  has the readings in full), backed up by a small shipped classifier (`guard_classifier.py`) on the sentences the
  readings neither find nor clear that name a means or an end.
A sentence found is replaced by a short note, and the rest of the reply stays. Non-drug amounts and frequencies
("每天运动三十分钟", "热敷每次15分钟", "每天喝水1500毫升") and drug names alone are left alone.

:class:`StreamGuard` applies the same check to streamed text: it holds back only the sentence being written, so a
reader never sees text that is then taken back, and its output equals :func:`guard_reply` on the whole reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .amounts import COUNT as _COUNT
from .amounts import MASS as _MASS
from .amounts import NUMBER as _N
from .amounts import VOLUME as _VOLUME
from .self_harm import is_method, topic_after

NOTES = {
    "dose": "（具体用药和剂量请遵医嘱，在医生或药师指导下使用。）",
    "stop_medication": "（是否停药、减量或换药，请咨询开药的医生，不要自行调整。）",
    "self_harm_method": "（如果你有伤害自己的想法，请拨打心理援助热线12356，或拨打120、110。）",
}
REASONS = tuple(NOTES)

_PER = (
    r"每次|一次|每回|一回|每顿|一顿|每遍|每日|一日|每天|一天|每晚|每早|早晚|早上|晚上|中午|上午|下午|睡前|睡觉前|饭前|饭后|餐前"
    r"|餐后|每[0-9一二两三四六八十]+(?:个)?小时|每周|一周|每公斤|每千克|按体重|顿服|bid|tid|qd|qid|q\d+h"
)
_DRUG = (
    r"药|霉素|环素|孢素|扰素|抗生素|维生素|激素|胰岛素|黄连素|甲状腺素|头孢|西林|沙星|他汀|洛尔|地平|普利|沙坦|格列|双胍|唑|嗪"
    r"|替丁|西汀|曲林|西泮|米松|尼松|泼尼|的松|奈德|特罗|司特|莫司|米特|蝶呤|氯喹|嘌醇|司他|沙班|瑞洛|塞米|必利|那非|鲁肽|韦"
    r"|酮(?!体|症)|(?<!三)酯|嘧啶|西坦|[西氮硫]平|酸[钠钾镁钙锂铁锌]|洛芬|昔布|氨基酚|匹林|扑热息痛|华法林|氯吡格雷|硝酸甘油"
    r"|甲钴胺|地高辛|培酮|乐克|尔敏|优甲乐|美林|泰诺|芬必得|思密达|妈咪爱|达喜|拜新同|波立维|钙片|铁剂|叶酸|胶囊|颗粒|冲剂"
    r"|口服液|混悬液|糖浆|滴剂|滴眼液|眼药水|眼膏|喷雾|吸入剂|气雾剂|软膏|乳膏|(?<!血)栓(?!塞)|贴剂|针剂|打针|注射|静滴"
    r"|静脉滴注|肌注|输液|缓释|控释|肠溶|(?<!睾)丸(?!子)|(?<![\d一二两三四五六七八九十半几照拍胸图切薄大小整])片(?!子|刻|面)"
    r"|服用|口服|服药|漏服|含服|嚼服|吃药|用药|剂(?!量)|(?<![a-z])(?!mmol|umol|covid|hello)[a-z]{5,}"
)
_FOOD = (
    r"(?<![咳气药露])水|盐|糖(?!浆)|油|蛋白|奶|鸡蛋|蛋|水果|蔬菜|肉|鱼|饭(?![前后])|粥|汤|酒|咖啡|茶(?!匙)|果汁|坚果|核桃|枣|姜|蒜"
    r"|米|面|膳食|纤维|脂肪|热量|食物|饮食|摄入"
)
_NOT = (
    r"(?:不要|别|不能|不可|不可以|切勿|勿|不宜|不应|不应该|不得|避免|千万不要|禁止|不建议|不主张|无需|不需|并不是说|不是说|并非|防止"
    r"|难以|很难|无法)"
)
_OWN = r"(?:自行|擅自|随意|私自|自己|随便|盲目)?"
_UNTIL = r"(?=了|也|[，。；！？,.;!?]|$|[^，。；]{0,3}药)"  # "别吃了", "可以不吃。", "别再吃药"; not "别吃柚子"
_ENDS = r"(?=了|也|[，。；！？,.;!?]|$|[^，。；]{0,4}了)"  # "就不用吃。", "不用吃药了"; not "不需要服用保肝药"
_TAKE = r"(?:吃|用|打|喷|服|带|服用|使用|涂|去打|补)"
# Stopping, pausing, cutting down, skipping, spacing out or switching a medicine, however it is said.
_STOP = (
    r"(?:停(?:掉|用|药|了|服|吃|打|下来?|一停|一段时间|一阵子?|[一两三四五六七八九十几\d]+(?:天|周|个?月|个?星期))|暂停|先停"
    r"|就停|可以停|停(?=[，。；！,]|$)|(?:中断|中止|终止|停止)(?=治疗|服|用|吃|打|注射|下来|了|一段|[^，。]{0,3}药)|(?<![阻诊判])断(?:掉|了|药)|撤(?:掉|了|药|下)|戒掉|拿掉|去掉|省掉|省了|免了|收起来"
    r"|放一放|先放(?:一放|放|着)|减(?:半|量|掉|到|成|至|为|下来?|[一两半]?片|点|些|一半"
    r"|少(?=剂量|药量|用量|次数|一点|一些|服|吃|用|[一两半]?片|到))"
    rf"|(?:降|调)(?:到|为|成|至){_N}?{_COUNT}|往下调|调(?:小|低|少)|(?:降低|减低|减小|下调|减少)(?:剂量|药量|用量)"
    r"|(?:药量|剂量|用量)[^，。]{0,6}(?:减少|降低|减小|下调|减|降|[小少]一?点|[小少]些)|加倍|翻倍|双倍|少(?:吃|打|用|服|喷)(?:一半|点|些|一顿|一次|[一两三四五六\d])"
    r"|吃一半|半量|掰开|跳过|空一顿|吃一天停一天|漏(?:服|吃|打)[^，。]{0,6}(?:没关系|没事|不要紧|问题不大|也行|可以)"
    r"|隔(?:天|日|[一两三四五六七\d]+天)|[两三四五六七\d]+天(?:吃|用|打|服)?一次|(?:别|不用|不必)天天"
    r"|间隔[^，。]{0,4}(?:拉长|延长|长一点|加大)|(?:拉长|延长|加大)[^，。]{0,3}间隔"
    r"|(?:吃|用|打)不(?:吃|用|打)[^，。]{0,4}(?:都行|也行|行|可以|无所谓|没关系|一样|没事|不大)|不按时|想起来再"
    r"|(?:没必要|不用|不必|不需要)(?:吃|用)(?:那么|这么)(?:多|久|长)|留(?:一种|一个|一样)就|挑一种|吃到[^，。]{0,8}为止"
    rf"|不(?:吃|用|打|喷|服|涂)也(?:行|可以|没事|没关系)|(?:可以|就)不(?:吃|用|打|带|服|喷){_UNTIL}|不(?:吃|打|用)了"
    rf"|不再{_TAKE}|别(?:再)?(?:吃|用|打|喷|服){_UNTIL}|不要再(?:吃|用|打){_UNTIL}"
    rf"|(?:不用|不必|没必要|不需要|无需|用不着)(?:去)?(?:(?:再|天天|每天|一直|继续|坚持|接着){_TAKE}|{_TAKE}(?:{_ENDS}|满|够|完))"
    r"|换成|换用|换(?:一种|别的|个)|改(?:吃|用|成|为|打|服)|替换|代替|替代(?!疗法|治疗)"
    r"|(?:喘|疼|痛|难受|不舒服|高)了?(?:的时候)?再(?:吃|用)|想吃(?:的时候)?再吃|自己(?:调|减|加))"
)


@dataclass(frozen=True)
class GuardResult:
    """Outcome of :func:`guard_reply`.

    Args:
        text: the reply as it may be shown (flagged sentences replaced by a note).
        changed: whether any sentence was replaced.
        reasons: what was found, in reply order, without repeats (a subset of :data:`REASONS`).
    """

    text: str
    changed: bool
    reasons: tuple[str, ...] = ()


_AMOUNT = re.compile(rf"{_N}\s*(?:{_MASS}|{_VOLUME}|{_COUNT})")
_DRUG_MASS = re.compile(rf"{_N}\s*{_MASS}")
_COUNTED = re.compile(rf"{_N}\s*(?:{_MASS}|{_COUNT})")
# a count after a verb of taking or of changing the amount: "吃两片扑尔敏", "吃个两三片", "可以加到两片", "一次贴一张"
_TAKE_COUNT = re.compile(
    rf"(?:吃|服|含|嚼|吞|喝|用|打|注射|喷|滴|补|来|给|各|加到|加至|增加到|增至|加|减到|调到|改为)个?{_N}(?:{_COUNT}|(?<=贴.)张)"
    rf"|贴{_N}张"
)
# an amount of food: "每天喝水1500毫升", "孩子一天喝三次奶，每次150毫升", "两片面包", "50克左右的小米"
_FOOD_AMOUNT = re.compile(
    rf"(?:{_FOOD})[^。]{{0,6}}{_N}\s*(?:{_VOLUME})|{_N}\s*(?:{_VOLUME}|{_COUNT})(?:左右)?的?[^，。]{{0,3}}(?:{_FOOD})"
)
_PER_RE = re.compile(_PER)
_DRUG_RE = re.compile(_DRUG)
_FREQUENCY = re.compile(
    rf"(?:每日|一日|每天|一天|(?<![同当今昨明次])日|每晚|早晚|每周|一周|每星期|一星期)"
    rf"(?:吃|服|喝|含|用|打|贴|服用|口服|涂|滴|喷)?(?:{_N})(?:次|针|回|顿|遍)"
    rf"|(?:每隔?|隔)?(?:{_N})(?:个)?小时再?(?:吃|服|用|换|贴|打|喷|滴)?一次|{_N}次/[日天d]|bid|tid|qid|qd|q\d+h"
    r"|(?:早中晚|早晚)各(?:吃|服|用|涂|滴|喷)?"
)
_STOP_RE = re.compile(rf"{_STOP}(?!后|以后|之后|会|可能|容易|导致|引起|引致|反应|反跳|反弹|反冲|综合征|时间|衣物)")
# going on with a medicine no one names ("不必坚持吃了") is about a medicine too
_KEEP_ON = re.compile(rf"(?:不用|不必|没必要|不需要|无需|用不着)(?:再)?(?:继续|坚持|接着){_TAKE}")
# "不要自行停药", "胶囊不要掰开吃": a negation before the verb says not to
_NEGATED_STOP = re.compile(
    rf"{_NOT}{_OWN}[^，。]{{0,12}}(?:停|减|断|撤|戒|少吃|不吃|跳过|漏|换|改|掰|降|调|加|拿掉|去掉|省|隔|替|代替|中断|不再)"
)
# what stopping would do ("擅自停掉抗癫痫药可能诱发发作", "...这样容易复发") describes a risk, it advises nothing
_HARM_AFTER = re.compile(
    r"(?<!不)(?:可能|会|易|导致|引起|诱发|造成|引发|出现)[^，。]{0,8}(?:复发|病发|反复|反弹|反跳|加重|发作|危险|风险|恶化|升高|高"
    r"|波动|戒断"
    r"|撤药|不良|后果|失控|控制不好|心梗|中风|血栓)|而(?:诱发|引起|导致|引发|发生|出现)|有关|所致|引起的|诱发的|导致的"
)
# what a verb stops when it is no medicine: "戒掉酒瘾", "停止吸烟", "换成粗粮"
_HABIT = re.compile(
    rf"[^，。]{{0,2}}(?:{_FOOD}|烟|瘾|槟榔|零食|甜|辣|饮料|熬夜|手机|游戏|运动|工作|活动|发作|出血|疼|痛|症状|攻击|怀孕|妊娠|母乳|喂奶|哺乳"
    r"|喂养)"
)
_DONE = re.compile(r"(?:已经|已|曾经?|早就)$")
_NEAR = 20  # characters between a stop verb and the medicine it is about
# Stopping because of a reaction and seeing a doctor ("有过敏反应要立即停药并就医") is the advice we want.
_STOP_AND_SEE = re.compile(r"停[^，。]{0,6}(?:就医|看医生|去医院|就诊|急诊)")
# medicines put away for safety ("把家里的药收起来，由专人保管") are not stopped
_SAFEKEEPING = re.compile(r"保管|锁起来|够不着|拿不到|碰不到")
_NO_DOCTOR = re.compile(r"(?:不用|不必|无需|没必要|用不着)再?去?(?:问|咨询|找|看|请教)问?(?:医生|医师|大夫|药师)")
_DOCTOR = re.compile(
    r"医嘱|在医生|按医生|听医生|由医生|经医生|医生[^，。]{0,4}(?:指导|同意|决定|评估|调整|允许|安排|方案|看了)"
    r"|(?:咨询|问问?|请教|告诉|联系|找|和|跟|与)[^，。]{0,6}(?:医生|医师|药师|大夫)|医师指导"
    r"|(?:遵照|遵从|遵循|按照|依照)[^，。]{0,4}(?:医生|医师|大夫|处方)"
    r"|(?:是否|要不要|能不能|可不可以|该不该|是不是该|需不需要)(?:需要)?[^，。]{0,4}(?:停|减|换|调)"
)
# 换药 of a wound is a dressing, not a medicine switched
_DRESSING = re.compile(r"换(?:一次|一下|一回)?药")
_WOUND = re.compile(r"伤口|创面|刀口|纱布|敷料|疮")
# A sentence ends at one of these characters; "." only when no digit follows ("0.5g" is one amount).
_BOUNDARY = re.compile(r"[。！？；!?;\n]|\.(?!\d)")
_SENTENCE = re.compile(r"(?:[^。！？；!?;\n.]|\.(?=\d))*(?:[。！？；!?;\n]|\.(?!\d)|$)")
_CONTENT = re.compile(r"[^\s。！？；!?;.，,、]")


def _is_dose(sentence: str, drug: bool, after_drug: bool) -> bool:
    amounts = [m.start() for m in _AMOUNT.finditer(sentence)]
    if amounts or "张" in sentence:
        if _DRUG_MASS.search(sentence) or _TAKE_COUNT.search(sentence) and not _FOOD_AMOUNT.search(sentence):
            return True
    if (drug or after_drug) and _FREQUENCY.search(sentence):
        return True
    if not amounts or not (drug or _PER_RE.search(sentence)):
        return False
    food = [m.span() for m in _FOOD_AMOUNT.finditer(sentence)]
    return any(not any(start <= a < end for start, end in food) for a in amounts)


def _is_stop(sentence: str) -> bool:
    if not _STOP_RE.search(sentence) or _STOP_AND_SEE.search(sentence) or _SAFEKEEPING.search(sentence):
        return False
    if _DOCTOR.search(_NO_DOCTOR.sub("", sentence)):  # "不用问医生" leaves nothing to a doctor
        return False
    if _WOUND.search(sentence):
        sentence = _DRESSING.sub("换敷料", sentence)
    stripped = _NEGATED_STOP.sub("", sentence)  # "不要自行停药" is the advice we want
    if _KEEP_ON.search(stripped) and not _HARM_AFTER.search(stripped):
        return True
    # the medicine named or counted ("从8片降到2片") near the verb: "少吃点粉丝……另外药物上服食" cuts down on food
    drugs = [m.start() for m in _DRUG_RE.finditer(stripped)] + [m.start() for m in _COUNTED.finditer(stripped)]
    for verb in _STOP_RE.finditer(stripped):
        if _HARM_AFTER.search(stripped, verb.end(), verb.end() + _NEAR) or _HABIT.match(stripped, verb.end()):
            continue
        if _DONE.search(stripped, 0, verb.start()):  # "已经停用干扰素八个月了" tells what was done
            continue
        if any(abs(d - verb.start()) <= _NEAR for d in drugs):
            return True
    return False


def drug_positions(sentence: str) -> list[int]:
    """Where a lowercased sentence names a medicine (a word for one, a drug-name stem, a dosage form, ...)."""
    return [m.start() for m in _DRUG_RE.finditer(sentence)]


def _read(sentence: str, after_drug: bool, harm_topic: bool, backstop: bool = True) -> tuple[str | None, bool]:
    """The reason a lowercased sentence must not be shown, or None; and whether it names a medicine."""
    drugs = drug_positions(sentence)
    if is_method(sentence, drugs, harm_topic, backstop):
        return "self_harm_method", bool(drugs)
    if _is_stop(sentence):
        return "stop_medication", bool(drugs)
    return ("dose" if _is_dose(sentence, bool(drugs), after_drug) else None), bool(drugs)


def check_sentence(
    sentence: str, after_drug: bool = False, harm_topic: bool = False, backstop: bool = True
) -> str | None:
    """The reason one sentence must not be shown (a key of :data:`NOTES`), or None.

    `after_drug`: the sentence before named a medicine, so "一日三次。" alone is its dosing. `harm_topic`: an earlier
    sentence spoke of suicide or self-harm without sending to care, so a means recommended here is a method.
    `backstop`: False reads self-harm methods by the rules alone, without the classifier (for measuring them).
    """
    return _read(sentence.lower(), after_drug, harm_topic, backstop)[0]


def split_sentences(text: str) -> list[str]:
    """The reply's sentences, each with the one character that closes it; joined they give `text` back."""
    return [s for s in _SENTENCE.findall(text) if s]


class StreamGuard:
    """The guard for streamed text: :meth:`feed` returns what may be shown now, :meth:`finish` the rest.

    Only the sentence being written is held back (and a final "." until the next character shows it is no decimal
    point), so `"".join(feed(p) for p in pieces) + finish()` equals `guard_reply("".join(pieces)).text` however the
    text is cut into pieces. Consecutive replaced sentences give one note.
    """

    def __init__(self, backstop: bool = True):
        self.pending, self.reasons, self.last_note = "", [], None
        self.after_drug = self.harm_topic = False
        self.backstop = backstop  # False: self-harm methods by the readings alone, without the classifier

    def _check(self, sentence: str) -> str:
        if not _CONTENT.search(sentence):  # punctuation or a line break alone
            return sentence if self.last_note is None else sentence.replace(sentence.strip("\n"), "", 1)
        lowered = sentence.lower()
        reason, self.after_drug = _read(lowered, self.after_drug, self.harm_topic, self.backstop)
        self.harm_topic = topic_after(lowered, self.harm_topic)
        if reason is None:
            self.last_note = None
            return sentence
        if reason not in self.reasons:
            self.reasons.append(reason)
        repeated, self.last_note = NOTES[reason] == self.last_note, NOTES[reason]
        return "" if repeated else NOTES[reason]

    def feed(self, piece: str) -> str:
        """Add a piece of the reply; returns the checked text of the sentences it completed."""
        self.pending += piece
        ends = [m.end() for m in _BOUNDARY.finditer(self.pending) if m.end() < len(self.pending) or m.group() != "."]
        if not ends:
            return ""
        done, self.pending = self.pending[: ends[-1]], self.pending[ends[-1] :]
        return "".join(self._check(s) for s in split_sentences(done))

    def finish(self) -> str:
        """The checked rest of the reply, once generation has ended."""
        rest, self.pending = self.pending, ""
        return "".join(self._check(s) for s in split_sentences(rest))


def guard_reply(text: str, backstop: bool = True) -> GuardResult:
    """Replace each sentence of a generated reply that gives a dose, says to stop a medicine, or a self-harm method.

    Args:
        text: the model's reply.
        backstop: False reads self-harm methods by the readings alone, without the classifier (for measuring them).

    Returns:
        A :class:`GuardResult`; `text` is unchanged (and `changed` False) when nothing was found.
    """
    guard = StreamGuard(backstop)
    shown = guard.feed(text) + guard.finish()
    return GuardResult(shown, bool(guard.reasons), tuple(guard.reasons))
