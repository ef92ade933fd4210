"""A guard on the model's own replies: no doses, no advice to stop a prescribed medicine, no self-harm methods.

China's internet-diagnosis rules (互联网诊疗监管细则（试行）, 2022) forbid AI-generated prescriptions, so a generated
reply may name a medicine but must not say how much of it to take, or tell a patient to stop, halve or skip one.
The reply is cut into sentences (at 。！？；!?; and line breaks); a sentence that gives
- a dose: an amount with a drug unit ("0.5g", "两片", "10毫升") per time or per day or for a named medicine, or a
  dosing frequency ("一日三次", "每8小时一次") for a medicine,
- advice to stop, halve, skip, cut down, space out or switch a medicine on one's own ("降压药可以停掉", "药量减半",
  "隔天吃一次", "喘了再吃", "换成中药调理"), the verb near the medicine's name,
- a self-harm method: a lethal amount ("安定吃几十片就会死"), a means with what it kills (unless the sentence sends to
  care: "吃多了安眠药可能有生命危险，请立即去急诊"), ways ranked or named ("最快的方法是..."), how to cut, hang,
  burn charcoal, jump, hoard pills or not be found,
is replaced by a short note, and the rest of the reply stays. Telling someone *not* to stop a medicine on their own,
or to follow the doctor, is left alone, as are non-drug amounts and frequencies ("每天运动三十分钟", "热敷每次15分钟",
"每天喝水1500毫升").

:class:`StreamGuard` applies the same check to streamed text: it holds back only the sentence being written, so a
reader never sees text that is then taken back, and its output equals :func:`guard_reply` on the whole reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOTES = {
    "dose": "（具体用药和剂量请遵医嘱，在医生或药师指导下使用。）",
    "stop_medication": "（是否停药、减量或换药，请咨询开药的医生，不要自行调整。）",
    "self_harm_method": "（如果你有伤害自己的想法，请拨打心理援助热线12356，或拨打120、110。）",
}
REASONS = tuple(NOTES)

_N = r"(?<![a-z0-9])(?:\d+(?:\.\d+)?(?:\s*[-~～至到]\s*\d+(?:\.\d+)?)?|[零一二两三四五六七八九十百半几]+|\d+/\d+)"
_MASS = r"(?:mg|μg|ug|mcg|毫克|微克|iu|国际单位)(?![a-z/]*(?:dl|l\b|/l|/dl|/kg/))"  # never written for food or water
_VOLUME = r"(?:g|克|ml|毫升|l|升)(?![a-z])"
_COUNT = r"(?:片|粒|颗|丸|袋|包|支|贴|喷|滴|揿|枚|勺|瓶盖|个?单位)"
_PER = (
    r"每次|一次|每回|每日|一日|每天|一天|每晚|每早|早晚|每[0-9一二两三四六八十]+(?:个)?小时|每周|一周|睡前|饭前|饭后"
    r"|餐前|餐后|顿服|bid|tid|qd|qid|q\d+h"
)
# A medicine named by a common stem, a dosage form, or a verb of taking medicine.
_DRUG = (
    r"药|霉素|抗生素|西林|头孢|沙星|他汀|洛尔|地平|普利|沙坦|格列|双胍|胰岛素|布洛芬|对乙酰氨基酚|扑热息痛|阿司匹林|激素|泼尼松"
    r"|地塞米松|华法林|氯吡格雷|甲硝唑|奥美拉唑|拉唑|替丁|西汀|舍曲林|帕罗西汀|安定|唑仑|西泮|左甲状腺素|优甲乐|硝酸甘油"
    r"|维生素|叶酸|钙片|铁剂|胶囊|颗粒|冲剂|口服液|糖浆|丸|滴剂|滴眼液|眼药水|喷雾|软膏|乳膏|栓|针剂|注射|静滴|肌注|输液"
    r"|服用|口服|服药|含服|吃药|用药|剂"
)
_FOOD = (
    r"水|盐|糖(?!浆)|油|蛋白|奶|鸡蛋|蛋|水果|蔬菜|肉|鱼|饭|粥|汤|酒|咖啡|茶|果汁|坚果|核桃|枣|膳食|纤维|脂肪|热量"
    r"|食物|饮食|摄入"
)
_NOT = r"(?:不要|别|不能|不可|不可以|切勿|勿|不宜|不应|不应该|不得|避免|千万不要|禁止|不建议|无需|不需)"
_OWN = r"(?:自行|擅自|随意|私自|自己|随便|盲目)?"
# Stopping, halving, skipping, cutting down, spacing out or switching a medicine, however it is said.
_STOP = (
    r"(?:停掉|停用|停药|停了|停服|停吃|停打|先停|停一停|停[一两三几]?天|停下来?|断药|断掉|戒掉|减半|减量|减掉|减[到成至]"
    r"|减(?:少)?(?:一点|一些|剂量|药量|用量|次数)|少吃(?:一半|点|些)|吃一半|掰开|隔天|隔[一两]天|[两三]天(?:吃|用|打)?一次"
    r"|吃一天停一天|跳过|漏服(?:也|一两次)?[^，。]{0,6}没(?:关系|事)|不吃也(?:行|可以|没事)|可以不(?:吃|用|打)"
    r"|不用(?:再|天天|每天)?(?:吃|用|打)|不必(?:再)?(?:吃|用)|没必要(?:再)?吃|不需要(?:再)?(?:吃|用|打)|别再(?:吃|用|打)"
    r"|不要再(?:吃|用)|不打了|不吃了|换成|换(?:一种|别的)|改(?:吃|用|成|为|打)|想吃(?:的时候)?再吃|(?:喘|疼|痛|难受)了?再吃"
    r"|自己(?:调|减|加))"
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
_COUNT_FOOD = re.compile(rf"{_N}\s*{_COUNT}(?:左右)?的?(?:{_FOOD})")
_VOLUME_FOOD = re.compile(
    rf"(?:{_FOOD})[^，。]{{0,6}}{_N}\s*(?:{_VOLUME})|{_N}\s*(?:{_VOLUME})(?:左右)?的?(?:{_FOOD})"
)
_PER_RE = re.compile(_PER)
_DRUG_RE = re.compile(_DRUG)
_FREQUENCY = re.compile(
    rf"(?:每日|一日|每天|一天|日|每晚|早晚){{1}}(?:吃|服|用|服用|口服|涂|滴|喷)?(?:{_N})次|每(?:{_N})(?:个)?小时(?:吃|服|用)?一次"
    r"|bid|tid|qid|qd|q\d+h|(?:早中晚|早晚)各(?:吃|服|用)?"
)
_STOP_RE = re.compile(rf"{_STOP}(?!后|会|可能|容易|导致|引起|引致|反应|反跳|反弹|反冲|综合征|时间|衣物)")
_NEGATED_STOP = re.compile(  # "不要自行停药", and "如果随便停药的话" (what happens then) say not to
    rf"(?:{_NOT}|如果|要是|一旦|假如|若是?){_OWN}[^，。]{{0,12}}(?:停|减|断|少吃|不吃|跳过|漏服|换|改)"
)
_NEAR = 20  # characters between a stop verb and the medicine it is about
# Stopping because of a reaction and seeing a doctor ("有过敏反应要立即停药并就医") is the advice we want.
_STOP_AND_SEE = re.compile(r"停[^，。]{0,6}(?:就医|看医生|去医院|就诊|急诊)")
_DOCTOR = re.compile(
    r"遵医嘱|在医生|医生[^，。]{0,4}(?:指导|同意|决定|评估|调整)|(?:咨询|问问?|请教|告诉)[^，。]{0,4}(?:医生|医师|药师|大夫)"
    r"|经医生|由医生|医师指导|复诊|是否(?:需要)?(?:停|减)"
)
_MEANS = (
    r"药|片|粒|颗|瓶|安眠|安定|唑仑|西泮|农药|百草枯|敌敌畏|老鼠药|鼠药|煤气|一氧化碳|烧炭|炭|上吊|绳|跳|楼|层|高处|割|刀|腕"
    r"|动脉|静脉|卧轨|河|江|湖|水|塑料袋|胰岛素|酒"
)
_LETHAL = r"(?:(?<!杀)(?<!死)死|没命|致死|致命|丧命|没救|生命危险|自杀|自尽|轻生|结束生命|窒息而|人就没了)"
_THEN = r"(?:就|会|能|可以|可能|才|必|一定|更|最|容易|导致|让人|造成)"
# a means with what it kills ("百草枯喝一口就没救了"): a warning that sends to care says it too ("...请立即去急诊")
_LETHAL_MEANS = re.compile(rf"(?:{_MEANS})[^。]{{0,14}}{_THEN}[^。，]{{0,6}}{_LETHAL}")
_WARNING = re.compile(r"请|立即|马上|急诊|120|就医|拨打|热线|防止|预防|注意|锁好|保管|远离|千万|不要|别")
_SELF_HARM = re.compile(
    # an amount with what it kills ("安定吃几十片就会死", "吃多少会死"), whatever follows
    rf"{_N}\s*(?:{_COUNT}|{_MASS}|{_VOLUME}|瓶|板|盒)[^。]{{0,10}}{_THEN}?[^。，]{{0,6}}{_LETHAL}"
    rf"|(?:吃多少|多少(?:片|粒|颗|克))[^，。]{{0,6}}{_LETHAL}|致死(?:剂?量|的量)|死得[^，。]{{0,4}}(?:快|容易|痛苦|干脆|彻底)"
    # ways and their ranking ("自杀最快的方法是跳楼", "最无痛的死法")
    r"|(?:自杀|轻生|自尽|死|结束生命)[^，。]{0,6}(?:方法|方式|办法|途径|死法)(?:是|有|包括|可以|就是)"
    r"|(?:方法|方式|办法)[^，。]{0,4}(?:自杀|轻生|自尽|结束生命)|卧轨|死法"
    r"|(?:最|比较|更)(?:无痛|不痛|快|有效|容易|干脆|彻底|舒服)的?[^，。]{0,3}(?:死|自杀|自尽|轻生|结束生命|致命|成功)"
    r"|(?:不痛苦|无痛)地?(?:死|自杀|结束)"
    # how to do it: cutting, hanging, charcoal, jumping, hoarding, not being found
    r"|割[^，。]{0,6}(?:深|动脉|静脉|竖着|横着|锋利|浴缸)|(?:竖着|横着)割|刀片[^，。]{0,6}(?:锋利|割)"
    r"|上吊[^，。]{0,6}(?:方法|要|需要|打结|绳|分钟)|烧炭[^，。]{0,8}(?:方法|密闭|封|车里|门窗|成功)"
    r"|跳(?:楼|河|江|桥)[^，。]{0,8}(?:层|以上|冬天|头(?:先|朝下|着地)|选)|从[^，。]{0,6}(?:楼|层|高处)[^，。]{0,6}跳下[^，。]{0,8}(?:死|没命)"
    r"|(?:分几次|几家药店)[^，。]{0,6}买|攒够|别人(?:就)?(?:救不了|发现不了)|没人的地方(?:做|进行)"
)
# A sentence ends at one of these characters; "." only when no digit follows ("0.5g" is one amount).
_BOUNDARY = re.compile(r"[。！？；!?;\n]|\.(?!\d)")
_SENTENCE = re.compile(r"(?:[^。！？；!?;\n.]|\.(?=\d))*(?:[。！？；!?;\n]|\.(?!\d)|$)")
_CONTENT = re.compile(r"[^\s。！？；!?;.，,、]")


def _is_dose(sentence: str, drug: bool) -> bool:
    if _DRUG_MASS.search(sentence):
        return True
    drug = drug or bool(_DRUG_RE.search(sentence))
    if _FREQUENCY.search(sentence) and drug:
        return True
    for match in _AMOUNT.finditer(sentence):
        if _COUNT_FOOD.match(sentence, match.start()) or _VOLUME_FOOD.search(sentence):
            continue
        if drug or _PER_RE.search(sentence):
            return True
    return False


def _is_stop(sentence: str) -> bool:
    if _DOCTOR.search(sentence) or _STOP_AND_SEE.search(sentence) or not _STOP_RE.search(sentence):
        return False
    stripped = _NEGATED_STOP.sub("", sentence)  # "不要自行停药" is the advice we want
    drugs = [m.start() for m in _DRUG_RE.finditer(stripped)]
    # the medicine is named near the verb: "少吃点粉丝……另外药物上服食" cuts down on food, not on a medicine
    return any(abs(d - m.start()) <= _NEAR for m in _STOP_RE.finditer(stripped) for d in drugs)


def check_sentence(sentence: str, after_drug: bool = False) -> str | None:
    """The reason one sentence must not be shown (a key of :data:`NOTES`), or None.

    `after_drug`: the sentence before named a medicine, so "一日三次。" alone is its dosing.
    """
    text = sentence.lower()
    if _SELF_HARM.search(text) or (_LETHAL_MEANS.search(text) and not _WARNING.search(text)):
        return "self_harm_method"
    if _is_stop(text):
        return "stop_medication"
    if _is_dose(text, after_drug):
        return "dose"
    return None


def split_sentences(text: str) -> list[str]:
    """The reply's sentences, each with the one character that closes it; joined they give `text` back."""
    return [s for s in _SENTENCE.findall(text) if s]


class StreamGuard:
    """The guard for streamed text: :meth:`feed` returns what may be shown now, :meth:`finish` the rest.

    Only the sentence being written is held back (and a final "." until the next character shows it is no decimal
    point), so `"".join(feed(p) for p in pieces) + finish()` equals `guard_reply("".join(pieces)).text` however the
    text is cut into pieces. Consecutive replaced sentences give one note.
    """

    def __init__(self):
        self.pending, self.reasons, self.last_note, self.after_drug = "", [], None, False

    def _check(self, sentence: str) -> str:
        if not _CONTENT.search(sentence):  # punctuation or a line break alone
            return sentence if self.last_note is None else sentence.replace(sentence.strip("\n"), "", 1)
        reason = check_sentence(sentence, self.after_drug)
        self.after_drug = bool(_DRUG_RE.search(sentence.lower()))
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


def guard_reply(text: str) -> GuardResult:
    """Replace each sentence of a generated reply that gives a dose, says to stop a medicine, or a self-harm method.

    Args:
        text: the model's reply.

    Returns:
        A :class:`GuardResult`; `text` is unchanged (and `changed` False) when nothing was found.
    """
    guard = StreamGuard()
    shown = guard.feed(text) + guard.finish()
    return GuardResult(shown, bool(guard.reasons), tuple(guard.reasons))
