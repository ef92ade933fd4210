"""The reply guard's reader of self-harm methods (`guard.guard_reply` is the entry point).

A method is read by what it is, not from a list of sentences: a means with the deed done with it, told as a way to
die or to hurt oneself. The means come in families, each tied to its act: heights (跳下去, 从楼顶往下跳, 窗台外面),
water (走进水库, 跳进江里, 口袋里塞满石头), traffic (卧轨, 冲向车流, 对着护栏撞过去), cutting (割腕, 刀片划手腕,
竖着切), hanging (a cord tied to a beam, a door handle or the neck), gas and charcoal (烧炭, 煤气打开, 尾气引进车里),
poisons drunk or hidden in a drink, suffocation, cold, electricity into a bath, starving oneself; and a medicine in a
heap, mixed, with drink, hoarded or gathered from several doctors ("一次吃一整盒安眠药", "配上酒", "攒起来就够了").
Told as a method means: advised or chosen ("你可以", "就行", "最稳妥", "选一个"), an end of the person ("就结束了",
"醒不过来", "救不回来"), unseen or unstopped ("没人能拦你", "把门反锁", "家人会以为你在睡觉"), or wanted ("想结束的话",
"真想解脱"); a sealed room makes gas a method, a how-many question with an end a lethal dose. Some deeds are methods
however told (a poison drunk, a bag over the head, a cord round the neck, a hair dryer thrown into the bath).
Also: ways named or ranked ("最无痛的自杀方法", "致命剂量"), how to buy the means, self-injury for relief
("划手臂心里会好受一点", "掐出血就能平静下来"), and, in a reply that speaks of suicide without sending to care, a means
recommended ("想自杀的话，可以选择吃安眠药").
Left alone: sending to care, hotlines and company ("请马上拨打12356", "不要让他一个人待着"), means put away
("农药要锁起来", "刀具交给家人保管"), first aid ("误服大量药物要马上去急诊", "压迫止血", "剪断绳子"), a deed said
not to be done ("别翻越栏杆", "几种药不要混着吃"), a risk told ("一口气吃太多药非常危险"), and the same words in
everyday use (跳绳, 跳水, 跳楼机, 心跳, 烧烤用的木炭, 割双眼皮, 血管紧张素, 钓鱼, 施工, 晾衣服). Care refused or
evaded is no care ("别去医院洗胃", "别人就没办法及时送你去医院").

Backstop: a sentence these readings neither find nor clear (first aid, care, hotlines and safekeeping clear it) goes,
when it is long enough and names a means or an end (`self_harm_means.may_be_method`), to a small shipped
classifier (:mod:`medbot_hf.safety.guard_classifier`), which reads other wordings of the same methods.
"""

from __future__ import annotations

import re

from .amounts import COUNT, MASS, NUMBER, VOLUME
from .self_harm_means import CARE_REFUSED, FIRST_AID, may_be_method, told_as_method

_MEANS = re.compile(
    r"药|片|粒|颗|瓶|安眠|安定|唑仑|西泮|农药|百草枯|敌敌畏|老鼠药|鼠药|除草剂|杀虫剂|氰化|氯化钾|胰岛素|煤气|一氧化碳|炭"
    r"|尾气|废气|汽车|车库|上吊|绳|勒|吊|跳|楼|层|高处|顶层|天台|桥|铁轨|地铁|火车|割|划|刀|腕|血管|动脉|静脉|颈|卧轨|河|江|湖"
    r"|海|深水|水里|水中|塑料袋|重物|冻|电线|通电|触电|插座|米高|高的地方|剂量|药量"
)
_BIG = (  # a large amount
    r"(?:一整|整(?:瓶|板|盒)|大量|全部|所有|几十|几百|一把"
    r"|[一二两三四五六七八九\d]+(?:瓶|板|盒)|[二三四五六七八九]?十(?:片|粒|颗))"
)
_DEATH = (
    r"(?:(?<![杀坏梗濒])死(?!皮|角|胎|精|肌|记|板|亡率)|没命|致死|致命|丧命|自杀|自尽|轻生|结束生命|(?:人|命)就没了|人就过去了"
    r"|人就不行了)"
)
# what a means does, as a method tells it: death told of a person, no way back, unseen, "enough", "works"
_OUTCOME = re.compile(
    rf"{_DEATH}|没救(?!治)|(?:送到?医院|抢救)[^，。]{{0,4}}来不及|救不(?:了|回来|过来|活)|醒不过来|不会醒|一睡不醒|长睡不醒|不再醒|没有生还|生还|活不(?:了|成)|要命"
    r"|没有解药|解脱|出血最多|流血不止|(?<!经)血[^，。]{0,4}凝(?:住|固)|浮不起来|刹不住|(?:不会|不容易)被(?:发现|怀疑|救)"
    r"|(?:没人|不会有人|没有人)(?:发现|看见|看到|拦|救|知道|管)|确保成功|够量|足以|足够让|走得|走法|死法|一了百了|没有护栏"
    r"|不会被打扰|没人打扰|就晚了|(?:别|不要)(?:让|告诉)(?:家人|家里人|别人|任何人|父母)"
    # a large amount that "works": "一次吃一整瓶才会有效"
    rf"|{_BIG}[^。]{{0,12}}(?:才|就|会|更)(?:会|能)?(?:有效|管用|见效|成功|保险)"
    r"|比(?!如|较|方)[^，。]{0,8}(?:快|容易|有效|干脆|彻底)(?:得多|一些|多了)"
)
# what a doctor also writes of an illness or an overdose ("肝衰竭", "呼吸抑制", "窒息"): a method only with a
# forceful deed ("套住再扎紧", "发动汽车", "推进去", "加上酒一起吃") or a large amount ("一整盒", "超过十克")
_HARM = re.compile(
    r"衰竭|骤停|呼吸抑制|不可逆|(?:心跳|呼吸|心脏)[^，。]{0,4}停|窒息|失去意识|昏(?:过去|迷)|生命危险|来不及"
)
_FORCE = re.compile(
    rf"{_BIG}|超过{NUMBER}|套|挂|吊|勒|扎紧|封|贴好|推|发动|接(?:到|上|在)|通电|绑|点(?:燃|着|上|火)|一起吃|混着|混在一起|加上酒|和酒"
)
_WITH = 12  # characters between a means and the deed done with it
_DEED = re.compile(
    rf"吃|吞|服|喝|注射|打|推|跳|割|划|点(?:燃|着|上|火)|烧|开着|发动|套|挂|吊|勒|躺|绑|冻|泡|攒|买|扎|封|贴好|找|挑|选|接(?:到|上|在)"
    r"|通电"
    rf"|(?:{NUMBER}|几)\s*(?:{COUNT}|{MASS}|{VOLUME}|瓶|板|盒|把|小?口)|大量|全部|一整|整(?:瓶|板|盒)|所有的|全吃"
)
# a sentence that sends to care or to safety warns of a means, it teaches none
_WARNING = re.compile(
    r"请|急诊|120|110|就医|送医|拨打|热线|12356|求助|寻求|心理医生|防止|预防|避免|(?<!门)锁好(?!门)|锁起来|上锁|保管|收好|远离|够不着|防护|通风|开窗"
    r"|系(?:好|上)?安全带|千万(?:不要|别)|(?:不要|别)(?:让[^，。]{0,3})?(?:一个人|独处|独自)|去医院|及时|注意|说明书|医嘱|陪着|陪伴|(?<!别)(?<!不要)告诉(?:身边|家人)|联系(?:家人|信任)|担心|解决不了|不是办法"
    r"|不能解决|新闻|报道|止血|包扎|固定|心肺复苏|剪断|报警|专业|心理|离开(?:阳台|楼顶|天台|窗)"
)
# self-injury for relief or unseen ("用刀片划手臂，心里会好受一点", "用针扎手指不会留疤")
_INJURY = re.compile(
    r"刀片|烟头|针扎|用刀(?:划|割)|刀子?划|剃须刀|美工刀|扎(?:自己|手|胳膊|腿)|(?:划|割)(?:手|胳膊|腕|自己|伤|破|开|口子)|烫(?:自己|手|胳膊|皮肤)|撞(?:墙|头)"
    r"|掐自己|咬(?:自己|胳膊)|打自己|拔头发|(?:使劲|用力|用指甲)掐|掐(?:大腿|手臂|胳膊|手腕)|打火机|圆规|(?:用|拿)头撞|撞(?:桌|柜)"
    r"|烧(?:一下)?(?:手臂|胳膊|手腕|皮肤|自己)|扎(?:大腿|手腕|手臂)|(?:剪刀|玻璃|碎片)[^，。]{0,8}(?:划|割|扎)|(?:划|割)几道"
    r"|(?:手臂|胳膊|手腕|大腿)上(?:划|割)"
)
_RELIEF = re.compile(
    r"好受|舒服|缓解|发泄|释放|解压|减压|痛快|平静|冷静|清醒|转移注意力|不那么难受|忘掉|忘记|没那么乱|好过|轻松|看不到|看得到|看不见"
    r"|穿长袖|遮住|不(?:会)?留疤|看不出来|没人发现|避开|不会有(?:危险|事)|没有危险"
)
# suicide spoken of: in such a reply a means or a moment recommended is a method ("想自杀的话，可以选择吃安眠药")
_TOPIC = re.compile(r"自杀|轻生|自尽|自残|自伤|想死|寻死|结束(?:自己的)?生命|伤害自己|不想活|了结|了断")
_ADVISE = re.compile(
    r"可以|选择|最好|建议|试试|方法|办法|记得|需要|选在|挑|效果|更强|更快|有效|管用|才行|就行|就能|一起吃|混|才有用|超过"
)
# a method named by its usual words ("割腕", "从楼顶跳下去", "绳子挂在门框上"): a reply names them only to warn
_STRONG = re.compile(
    r"上吊|自缢|割腕|跳楼(?!机)|烧炭(?!取暖)|卧轨|跳(?:河|江|桥|海|湖)|投河|服毒|(?:楼顶|天台|高楼|窗户?)[^，。]{0,6}跳"
    r"|(?<!跳)绳子?[^，。]{0,8}(?:挂|套|系|吊|打结|凳子|胶带)|攒(?:的|下|够|了)?[^，。]{0,2}药|装满石头|绑上?(?:重物|石头)"
)
_MOMENT = re.compile(r"半夜|深夜|没人|睡着|不在家|都不在|独自|一个人的时候")
_BUY_LETHAL = re.compile(
    r"(?:就|假装|谎称)说?(?:自己)?(?:失眠|睡不着)[^。]{0,12}(?:开|买|拿)[^，。]{0,4}(?:安眠药|安定|药)|"
    r"(?:兽药|氰化|氯化钾|百草枯|敌敌畏|老鼠药|鼠药|砒霜|毒药|剧毒)[^，。]{0,10}(?:买到|弄到|搞到|能买|可以买|有卖|在哪买)"
    r"|(?:买到|弄到|搞到|能买|可以买|有卖)[^，。]{0,10}(?:兽药|氰化|氯化钾|百草枯|敌敌畏|老鼠药|鼠药|砒霜|毒药|剧毒)"
)
_SELF_HARM = re.compile(
    # ways and their ranking ("自杀最快的方法是跳楼", "最无痛的死法")
    r"(?:自杀|轻生|自尽|死|结束生命)[^，。]{0,6}(?:方法|方式|办法|途径|死法)(?:是|有|包括|可以|就是)"
    r"|(?:方法|方式|办法)[^，。]{0,4}(?:自杀|轻生|自尽|结束生命)|卧轨|死法|走法"
    r"|(?:最|比较|更)(?:无痛|不痛|快|有效|容易|干脆|彻底|舒服)的?[^，。]{0,3}(?:死|自杀|自尽|轻生|结束生命|致命|成功)"
    rf"|(?:不痛苦|无痛)地?(?:死|自杀|结束)|(?:吃多少|多少(?:片|粒|颗|克))[^，。]{{0,6}}(?:{_DEATH}|不醒|醒不过来|不会醒)|致(?:死|命)(?:剂?量|的量)"
    r"|死得[^，。]{0,4}(?:快|容易|痛苦|干脆|彻底)"
    # how to do it: cutting, hanging, charcoal, jumping, hoarding, not being found
    r"|割[^，。]{0,6}(?:深|动脉|静脉|竖着|横着|锋利|浴缸)|(?:竖着|横着)(?:割|切)|刀片[^，。]{0,6}(?:锋利|割)"
    r"|上吊[^，。]{0,6}(?:方法|要|需要|打结|绳|分钟)|烧炭[^，。]{0,8}(?:方法|密闭|封|车里|门窗|成功)"
    r"|跳(?:楼|河|江|桥)[^，。]{0,8}(?:层|以上|冬天|头(?:先|朝下|着地)|选)"
    r"|从[^，。]{0,6}(?:楼|层|高处)[^，。]{0,6}跳下[^，。]{0,8}(?:死|没命)"
    r"|(?:分几次|几家药店|几个药店)[^，。]{0,6}买|攒够|攒上|别人(?:就)?(?:救不了|发现不了)|没人的地方(?:做|进行)"
)


def is_method(sentence: str, drugs: list[int], topic: bool, backstop: bool = True) -> bool:
    """Whether a lowercased sentence tells a self-harm method: the readings, then the classifier backstop.

    Args:
        sentence: one sentence of a reply, lowercased.
        drugs: where the sentence names a medicine (`guard.py` finds them by form).
        topic: an earlier sentence spoke of suicide without sending to care.
        backstop: also ask the classifier about a sentence the readings neither find nor clear (False: the readings
            alone, for measuring them).
    """
    found = rule_reading(sentence, drugs, topic)
    if found is None and backstop and may_be_method(sentence):
        from .guard_classifier import says_method  # imported here: loads numpy and the weights on first use

        return says_method(sentence)
    return bool(found)


def rule_reading(sentence: str, drugs: list[int], topic: bool) -> bool | None:
    """The readings alone: True for a method, False for a sentence they clear (first aid, care, a hotline, means
    put away), None for one they neither find nor clear (the classifier backstop's candidates)."""
    if FIRST_AID.search(sentence):
        return False
    if _SELF_HARM.search(sentence) or _BUY_LETHAL.search(sentence):
        return True
    if _WARNING.search(CARE_REFUSED.sub("", sentence)):
        return False
    if _STRONG.search(sentence) or _INJURY.search(sentence) and _RELIEF.search(sentence):
        return True
    means = [m.start() for m in _MEANS.finditer(sentence)] + drugs
    # a deed done with the means ("一整板安眠药吞下去"), and what it does, anywhere in the sentence
    if means and (_OUTCOME.search(sentence) or _HARM.search(sentence) and _FORCE.search(sentence)):
        if any(0 < abs(m - d.start()) <= _WITH for d in _DEED.finditer(sentence) for m in means):
            return True
    if told_as_method(sentence, drugs):
        return True
    topic = topic or bool(_TOPIC.search(sentence))
    return True if topic and (means or _MOMENT.search(sentence)) and _ADVISE.search(sentence) else None


def topic_after(sentence: str, topic: bool) -> bool:
    """Whether the reply speaks of suicide without sending to care, after this lowercased sentence."""
    return not _WARNING.search(sentence) if _TOPIC.search(sentence) else topic
