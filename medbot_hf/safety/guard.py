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
- a self-harm method: a means (pills, poisons, charcoal, heights, rope, blades, water, electricity) with a deed or
  an amount and what it does (kills, cannot be undone, goes unseen, is "enough": "一整板安眠药吞下去就醒不过来了"),
  unless the sentence sends to care or to safety ("...请马上送医", "农药要锁好"); ways named or ranked; how to
  cut, hang, burn charcoal, jump, hoard or buy the means; self-injury for relief ("划手臂心里会好受一点"); and, in a
  reply that speaks of suicide without sending to care, a means recommended ("想自杀的话，可以选择吃安眠药").
A sentence found is replaced by a short note, and the rest of the reply stays. Non-drug amounts and frequencies
("每天运动三十分钟", "热敷每次15分钟", "每天喝水1500毫升") and drug names alone are left alone.

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

# An amount: digits, a range ("1-2", "10到15"), a fraction ("1/2", "二分之一"), Chinese numerals ("两三", "半"), and
# "几十" / "十几"; a bare "几" (how many) is no amount ("具体吃几片要问药师"), nor an ordinal ("第一颗乳牙").
_N = (
    r"(?<![a-z0-9.第])(?:\d+(?:\.\d+)?(?:\s*[-~～至到]\s*\d+(?:\.\d+)?)?|\d+/\d+"
    r"|[零一二两三四五六七八九十百千半]+(?:分之[一二三四五六七八九])?|几[十百千]|[一二三四五六七八九]?十几)"
)
_MASS = r"(?:mg|μg|ug|mcg|毫克|微克|iu|国际单位)(?![a-z/]*(?:dl|l\b|/l|/dl|/kg/))"  # never written for food or water
_VOLUME = r"(?:g|克|ml|毫升|cc|l|升)(?![a-z])"
_COUNT = r"(?:片|粒|颗|丸|袋|包|支|贴|喷|滴|揿|吸|泵|枚|茶匙|汤匙|小勺|勺|瓶盖|针|剂|帖|个?单位)"
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
    rf"{_NOT}{_OWN}[^，。]{{0,12}}(?:停|减|断|撤|戒|少吃|不吃|跳过|漏|换|改|掰|降|调|拿掉|去掉|省|隔|替|代替|中断|不再)"
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
_NO_DOCTOR = re.compile(r"(?:不用|不必|无需|没必要|用不着)再?去?(?:问|咨询|找|看|请教)问?(?:医生|医师|大夫|药师)")
_DOCTOR = re.compile(
    r"医嘱|在医生|按医生|听医生|由医生|经医生|医生[^，。]{0,4}(?:指导|同意|决定|评估|调整|允许|安排|方案|看了)"
    r"|(?:咨询|问问?|请教|告诉|联系|找|和|跟|与)[^，。]{0,6}(?:医生|医师|药师|大夫)|医师指导"
    r"|(?:是否|要不要|能不能|可不可以|该不该|是不是该|需不需要)(?:需要)?[^，。]{0,4}(?:停|减|换|调)"
)
# 换药 of a wound is a dressing, not a medicine switched
_DRESSING = re.compile(r"换(?:一次|一下|一回)?药")
_WOUND = re.compile(r"伤口|创面|刀口|纱布|敷料|疮")
_MEANS = re.compile(
    r"药|片|粒|颗|瓶|安眠|安定|唑仑|西泮|农药|百草枯|敌敌畏|老鼠药|鼠药|除草剂|杀虫剂|氰化|氯化钾|胰岛素|煤气|一氧化碳|炭"
    r"|尾气|废气|汽车|车库|上吊|绳|勒|吊|跳|楼|层|高处|顶层|天台|桥|铁轨|地铁|火车|割|划|刀|腕|血管|动脉|静脉|颈|卧轨|河|江|湖"
    r"|海|深水|水里|水中|塑料袋|重物|冻|电线|通电|触电|插座|米高|高的地方"
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
    rf"{_BIG}|超过{_N}|套|挂|吊|勒|扎紧|封|贴好|推|发动|接(?:到|上|在)|通电|绑|点(?:燃|着|上|火)|一起吃|混着|混在一起|加上酒|和酒"
)
_WITH = 12  # characters between a means and the deed done with it
_DEED = re.compile(
    rf"吃|吞|服|喝|注射|打|推|跳|割|划|点(?:燃|着|上|火)|烧|开着|发动|套|挂|吊|勒|躺|绑|冻|泡|攒|买|扎|封|贴好|找|挑|选|接(?:到|上|在)"
    r"|通电"
    rf"|(?:{_N}|几)\s*(?:{_COUNT}|{_MASS}|{_VOLUME}|瓶|板|盒|把|小?口)|大量|全部|一整|整(?:瓶|板|盒)|所有的|全吃"
)
# a sentence that sends to care or to safety warns of a means, it teaches none
_WARNING = re.compile(
    r"请|急诊|120|110|就医|送医|拨打|热线|12356|求助|寻求|心理医生|防止|预防|避免|锁好|保管|收好|远离|够不着|防护|通风|开窗"
    r"|安全带|千万(?:不要|别)|去医院|及时|注意|说明书|医嘱|陪着|陪伴|(?<!别)(?<!不要)告诉(?:身边|家人)|联系(?:家人|信任)|担心|解决不了|不是办法"
    r"|不能解决|止血|包扎|固定|心肺复苏|剪断|报警|专业|心理|离开(?:阳台|楼顶|天台|窗)"
)
# self-injury for relief or unseen ("用刀片划手臂，心里会好受一点", "用针扎手指不会留疤")
_INJURY = re.compile(
    r"刀片|烟头|针扎|用刀(?:划|割)|刀子?划|剃须刀|美工刀|扎(?:自己|手|胳膊|腿)|(?:划|割)(?:手|胳膊|腕|自己|伤|破|开|口子)|烫(?:自己|手|胳膊|皮肤)|撞(?:墙|头)"
    r"|掐自己|咬(?:自己|胳膊)|打自己|拔头发"
)
_RELIEF = re.compile(
    r"好受|舒服|缓解|发泄|释放|解压|减压|痛快|平静|冷静|清醒|转移注意力|不那么难受|不(?:会)?留疤|看不出来|没人发现|避开|不会有(?:危险|事)|没有危险"
)
# suicide spoken of: in such a reply a means or a moment recommended is a method ("想自杀的话，可以选择吃安眠药")
_TOPIC = re.compile(r"自杀|轻生|自尽|自残|自伤|想死|寻死|结束(?:自己的)?生命|伤害自己|不想活|了结|了断")
_ADVISE = re.compile(
    r"可以|选择|最好|建议|试试|方法|办法|记得|需要|选在|挑|效果|更强|更快|有效|管用|才行|就行|就能|一起吃|混"
)
# a method named by its usual words ("割腕", "从楼顶跳下去", "绳子要结实"): a reply names them only to warn
_STRONG = re.compile(
    r"上吊|自缢|割腕|跳楼(?!机)|烧炭(?!取暖)|卧轨|跳(?:河|江|桥|海|湖)|投河|服毒|(?:楼顶|天台|高楼|窗户?)[^，。]{0,6}跳"
    r"|(?<!跳)绳子?[^，。]{0,8}(?:结实|挂|套|系|吊|打结|凳子|胶带)|攒(?:的|下|够|了)?[^，。]{0,2}药|装满石头|绑上?(?:重物|石头)"
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
    rf"|(?:不痛苦|无痛)地?(?:死|自杀|结束)|(?:吃多少|多少(?:片|粒|颗|克))[^，。]{{0,6}}{_DEATH}|致死(?:剂?量|的量)"
    r"|死得[^，。]{0,4}(?:快|容易|痛苦|干脆|彻底)"
    # how to do it: cutting, hanging, charcoal, jumping, hoarding, not being found
    r"|割[^，。]{0,6}(?:深|动脉|静脉|竖着|横着|锋利|浴缸)|(?:竖着|横着)割|刀片[^，。]{0,6}(?:锋利|割)"
    r"|上吊[^，。]{0,6}(?:方法|要|需要|打结|绳|分钟)|烧炭[^，。]{0,8}(?:方法|密闭|封|车里|门窗|成功)"
    r"|跳(?:楼|河|江|桥)[^，。]{0,8}(?:层|以上|冬天|头(?:先|朝下|着地)|选)"
    r"|从[^，。]{0,6}(?:楼|层|高处)[^，。]{0,6}跳下[^，。]{0,8}(?:死|没命)"
    r"|(?:分几次|几家药店|几个药店)[^，。]{0,6}买|攒够|攒上|别人(?:就)?(?:救不了|发现不了)|没人的地方(?:做|进行)"
)
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
    if not _STOP_RE.search(sentence) or _STOP_AND_SEE.search(sentence):
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


def _is_self_harm(sentence: str, drugs: list[int], topic: bool) -> bool:
    if _SELF_HARM.search(sentence) or _BUY_LETHAL.search(sentence):
        return True
    if _WARNING.search(sentence):
        return False
    if _STRONG.search(sentence) or _INJURY.search(sentence) and _RELIEF.search(sentence):
        return True
    means = [m.start() for m in _MEANS.finditer(sentence)] + drugs
    # a deed done with the means ("一整板安眠药吞下去"), and what it does, anywhere in the sentence
    if means and (_OUTCOME.search(sentence) or _HARM.search(sentence) and _FORCE.search(sentence)):
        if any(0 < abs(m - d.start()) <= _WITH for d in _DEED.finditer(sentence) for m in means):
            return True
    topic = topic or bool(_TOPIC.search(sentence))
    return topic and bool((means or _MOMENT.search(sentence)) and _ADVISE.search(sentence))


def _read(sentence: str, after_drug: bool, harm_topic: bool) -> tuple[str | None, bool]:
    """The reason a lowercased sentence must not be shown, or None; and whether it names a medicine."""
    drugs = [m.start() for m in _DRUG_RE.finditer(sentence)]
    if _is_self_harm(sentence, drugs, harm_topic):
        return "self_harm_method", bool(drugs)
    if _is_stop(sentence):
        return "stop_medication", bool(drugs)
    return ("dose" if _is_dose(sentence, bool(drugs), after_drug) else None), bool(drugs)


def check_sentence(sentence: str, after_drug: bool = False, harm_topic: bool = False) -> str | None:
    """The reason one sentence must not be shown (a key of :data:`NOTES`), or None.

    `after_drug`: the sentence before named a medicine, so "一日三次。" alone is its dosing. `harm_topic`: an earlier
    sentence spoke of suicide or self-harm without sending to care, so a means recommended here is a method.
    """
    return _read(sentence.lower(), after_drug, harm_topic)[0]


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
        self.pending, self.reasons, self.last_note = "", [], None
        self.after_drug = self.harm_topic = False

    def _check(self, sentence: str) -> str:
        if not _CONTENT.search(sentence):  # punctuation or a line break alone
            return sentence if self.last_note is None else sentence.replace(sentence.strip("\n"), "", 1)
        lowered = sentence.lower()
        reason, self.after_drug = _read(lowered, self.after_drug, self.harm_topic)
        if _TOPIC.search(lowered):  # the reply speaks of suicide: it stays a topic unless this sentence sends to care
            self.harm_topic = not _WARNING.search(lowered)
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
