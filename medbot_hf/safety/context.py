"""What a message says is happening now: the part of it that an alarm must still stand on.

Real patient messages mention emergencies that are not happening: a fit years ago told to ask which hospital treats
epilepsy, a complaint of many years, "没有吐血", a fear ("怕哪天就心梗了"), a knowledge question ("窒息多久大脑会
瘫痪"), an episode already over ("晕倒了，醒来后送医院，医生说是低血糖"). :func:`present_part` keeps only the clauses
that tell what is happening now, and :func:`medbot_hf.safety.triage.triage` re-checks every alarm, of the rules and of
the classifier alike, on that part: an alarm that no longer stands there is dropped (a *downgrade*).

A message is read sentence by sentence (at 。！？；), each sentence clause by clause, in order. A clause is set aside:
- `denied`: it opens with a denial ("没有吐血", "也不出汗", "无发热") that is not itself an emergency ("没有意识",
  "没反应", "无法呼吸", "没有尿"); a list closed by "等症状" after a denial goes with it;
- `hypothetical`: "如果", "万一", "...的话", a fear of what may come ("怕哪天会中风"), a question about the future
  ("以后还能怀孕吗"); the rest of its sentence follows it;
- `general`: a knowledge question with no one in it ("癫痫发作会窒息吗", "烧伤的影像学检查有哪些");
- `past`: a past frame ("去年", "三年前", "2016年", "36岁时", "前段时间", "上次", "当时", "那个时候", "这周四")
  opens a stretch that lasts to a clause saying now ("现在", "今天", "又", "这次") or an onset that goes on ("三天前
  开始", "至今");
- `resolved`: the episode is over, found on examination or in care ("恢复正常", "医生诊断为", "检查是", "体检发现",
  "查了胃镜也没事", "症状消失", "歇一会才恢复", "刚刚确诊", "住院"): that clause and the earlier ones go, except
  clauses saying it goes on now ("现在", "还在", "正在");
- `chronic`: a long-standing or recurring complaint with nothing new ("病史二十年", "两个月的", "半年前开始",
  "有时候", "经常", "每次", "发作时", "现在一熬夜就...": whenever), a child's included; a baby's age or a
  pregnancy's months are no duration.
A now-clause that only dates the story ("现在12岁") or tells the asker's mind ("我现在怀疑是癫痫") anchors no past.
The whole message gives nothing when it says the patient is in care now ("还在住院", "经抢救", "在隔离医院"), asks
about the long-run care of a named illness (hospital, cost, surgery, diet: "肝昏迷的病人能不能喝牛奶") with nothing
going on and no event told ("中风了"), or is about a pet. :func:`in_care_in_dialogue` reads the patient's earlier
turns for care under way.
Self-harm is never downgraded: :func:`medbot_hf.safety.triage.triage` keeps its alarms whatever the tense.

Pure regex work on the few messages that raise an alarm; when every clause is about now, the part is the message.

This module is the one reader of tense and denial: the rules and the classifier read clauses through
:func:`split_clauses` and :func:`is_background` (a clause on its own), the classifier's alarms need
:func:`tells_something_now`, and :func:`clause_kinds` reads the same patterns with each sentence's frame.
"""

from __future__ import annotations

import re

_NUM = "[0-9一二两三四五六七八九十几半多]"
_SPLIT = re.compile(r"[，。！？；、,!?;:：\n\s…~]+|\.(?![0-9])")
# Full-width digits and dots, and the middle dot typed as a decimal point, reach us from Chinese input methods; fold
# them so "３９．５度" and "13·2" read like "39.5度" and "13.2".
_FOLD = str.maketrans("０１２３４５６７８９．·ＣＯ", "0123456789..co")
# The person the message is about; a knowledge question has none.
_PERSON = re.compile(
    r"我|俺|本人|咱|他|她|孩子|小孩|宝宝|宝贝|儿子|女儿|闺女|娃|老公|老婆|丈夫|妻子|爱人|爸|妈|爷|奶|姥|外婆|外公"
    r"|哥|姐|弟|妹|叔|姨|舅|婶|侄|家人|家里|朋友|同事|同学|邻居|病人|患者|老人|老太|岁"
)
_ASKER = re.compile(r"我(?:想|要)?(?:问问?|知道|了解|咨询|请教)(?:一下)?|请问|想问(?:问|一下)?|问一下|求问|请教")
# Said now: these protect a clause from the past and resolved readings. "不停", "越来越" only go on within a
# story's frame ("十年前...四肢抽搐不停"); "刚确诊了癫痫" tells a new diagnosis, not a fit this minute.
_IMMEDIATE = re.compile(
    r"现在|目前|此刻|这会儿?|正在|还在|刚才|刚刚(?!得了|患|查出|确诊|诊断|被诊断)|还没(?:醒|停|好)|马上|快来|救命|在线等"
)
_NOW_FRAME = re.compile(rf"{_IMMEDIATE.pattern}|今天|今早|今晚|这两天|这几天|这次|又|第一次|头一次|从来没")
# A now-clause that only dates the story ("现在12岁", "现在二十年过去了", "现在好了") or tells the asker's mind
# ("我现在怀疑是癫痫") anchors nothing.
_NO_ANCHOR = re.compile(
    r"注意|饮食|食疗|调理|留意|治疗|怎么治|能不能|可不可以|能否|还能|需要|要不要|岁|年|个月|多久|很久|以来|过去"
    r"|好了|好多了|没事|正常|稳定|控制|恢复|缓解|消失|不[疼痛]了|怀疑|质疑|担心|想知道|想了解|想问|咨询"
)
# The distant past ("以前", "去年", "三年前", "2016年", "36岁时", "有过"): a clause with it and nothing said now is
# background on its own.
_LONG_AGO = (
    r"(?<!分钟)(?<!小时)(?<!钟头)(?<!会儿)(?<!刚)(?:以前|之前)|从前|(?<![晕昏死])过去|曾经|早年|小时候|年轻(?:的)?时|去年|前年"
    r"|[0-9一二两三四五六七八九十几]+年前|多年前|上次|上一次|那次|(?:19|20)[0-9]{2}年|[0-9一二两三四五六七八九十几]+岁(?:的)?(?:时|那年)"
)
_EXPERIENCED = r"(?:有|得|患|犯|发作|中风|晕倒|出现)过(?!敏)"  # "有过一次晕倒"
# A past frame of a story: the distant past, or a recent one ("前几天", "上周", "三天前", "当时") that lasts to a
# clause saying now.
_PAST_FRAME = re.compile(
    rf"{_LONG_AGO}|前几天|前段时间|前阵子|前一段时间|上周|上个?星期|上个?月|{_NUM}+(?:个)?(?:天|周|星期|月|年)半?(?:之|以)?前"
    r"|当时|那天|那时|那个时候|那会儿?|有一次|有次|过了?一段时间|(?:这|上)个?(?:周|星期|礼拜)[一二三四五六日天]"
)
_ONGOING = re.compile(r"开始|起|以来|至今|到现在|直到|一直(?!有|都|是)")  # "三天前开始胸痛" goes on now
_NOT = r"(?<!没)(?<!没有)(?<!不)(?<!未)(?<!不见)(?<!还没)"
_RESOLVED = re.compile(
    rf"诊断(?:为|是|出|说)|确诊|查出|检查(?:后|出|结果|发现|发觉|说|是|为)|才知[道晓]|被告[知之]|体检"
    r"|查了?[^，]{0,4}(?:也)?(?:没事|没问题|没什么问题|都正常)|症状[^，]{0,3}消失"
    r"|(?:休息|歇)(?:了|下)?(?:一?会儿?|一下)?[^，]{0,2}(?:就|才)(?:能)?(?:好|恢复|缓解|缓过来)"
    rf"|(?:过后|之后)[^，]{{0,3}}(?:什么事都?没有|没事)|{_NOT}缓过来|{_NOT}恢复(?:了|正常)|彻底恢复|{_NOT}好转|(?:就|又|已经|才)好了|没事了|止住了|治好|出院"
    r"|住院(?:了|治疗|期间|后|[0-9一二两三四五六七八九十几])|在住院|住进|抢救(?:过来|后|回来)|自行(?:缓解|恢复|好|醒)"
    r"|过了?一会(?:儿)?[^，]{0,4}(?:好|恢复|醒|缓|停)|(?:医生|大夫)[^，]{0,6}(?:说|诊断)[^，]{0,2}(?:是|为|得|患)"
    r"|(?:送|去|到)了?(?:到|进)?(?:医院|急诊)[^，]{0,6}(?:后|说|检查|诊断|确诊)|在医院(?:治疗|抢救|住院|输液|观察)"
    r"|重症监护|icu|检查报告|报告(?:显示|说)|送(?:[他她]|孩子|老人)?(?:去|到|进)了?(?:医院|急诊|卫生院|诊所)"
)
# A recurring complaint ("经常", "每次", "一熬夜就...", "发作时..."): "一X就" is "whenever X", not "一下子就" or
# "一会就", nor "as soon as" told of one event with 了 ("一碰到电线就倒下了").
_WHENEVER = r"一(?!下|会|个|天|周|星期|次|直|点|阵|夜|晚|早|进|回|看|眨|听|口|整)[^，]{1,4}就(?![^，]*了)"
_RECURRING = re.compile(
    rf"有时(?:候)?|偶尔|经常|时常|常常|老是|总是|每次|每年|每到|每逢|每当|一到|时不时|反复|动不动|隔三差五|{_WHENEVER}"
    r"|(?:发作|发病|犯病|病发)(?:的)?(?:时(?:候)?|的)"
)
# "现在一熬夜就头晕": nowadays, whenever; the "现在" tells no present event.
_NOWADAYS = re.compile(rf"(?:现在|目前)(?={_WHENEVER})")
# A long-standing complaint ("两个月了", "三年前开始", "从去年开始"); a baby's age or a pregnancy's months are no
# duration ("宝宝三个月了").
_DURATION = re.compile(
    rf"{_NUM}+(?:个)?(?:月|年)(?:了|多|之久|左右|的)|半年|多年|好多年|很多年|好几年|这些年|很久|长期|长年|病史|老毛病"
    rf"|(?:个)?多?(?:月|年)(?:前|以前|之前)(?:就)?开始|从小|(?:去年|前年|(?:19|20)[0-9]{{2}}年)[^，]{{0,8}}开始"
)
_AGE_OR_PREGNANCY = re.compile(r"孕|怀|胎|宝|婴|孩|娃|出生|岁|满月|产后|生完|月子|大了")
_HYPOTHETICAL = re.compile(
    r"如果|假如|假设|万一|(?<!主)要是|假若|一旦|(?<![说讲])的话|(?:怕|担心|害怕|生怕)(?:[^，]{0,8}(?:会|就|哪天|那天|万一|以后|将来|一旦|突然)"
    r"|$)|以后还?(?:(?:会|能|可以)[^，]{0,10}[吗么]|能不能|可不可以|会不会)|将来|今后"
    r"|听说|据说|听(?:别人|人家|朋友|医生)?说|(?:别人|人家|他们|大家)都?说|新闻|查资料|网上(?:说|看)|看到[^，]{0,8}说"
)
# Encyclopedic words ("原因", "有哪些", "预防"): a clause with one and nothing said now is background.
GENERAL = re.compile(
    r"原因|哪些|预防|是什么|什么意思|区别|(?:发病|患病|死亡|致死|自杀|存活|治愈|发生)率|(?<!孕)早期|征兆|信号"
    r"|常见|病因|会导致|会引起|会不会|会怎么样|注意什么|注意事项|科普|怎么回事|康复|判断|区分|识别|鉴别"
    r"|会影响|有影响|后遗症"
)
# Said now, for a clause read on its own (a wider net than the story frames below: "最近", "一直", "突然").
_SAYS_NOW = re.compile(
    r"现在|目前|最近|这几天|今天|今早|今晚|刚才|刚刚|正在|还在|又|突然|忽然|一直|马上|这次|\d+分钟|半小时"
)
_BACKGROUND = re.compile(rf"{_LONG_AGO}|{_EXPERIENCED}|{GENERAL.pattern}")
# Whether something can cause a sign ("吃柚子会上不来气吗", "是不是可以使人窒息而死"): general even from someone.
_CAUSE_QUESTION = re.compile(
    r"^(?:吃|喝|用|打|做|抽|熬夜|喝酒|吸烟|抽烟|生气|运动)[^，]{0,8}(?:会|能)(?:不会)?[^，]{0,10}[吗么](?:[（(][^，]*)?$"
    r"|(?:会|能|可以)(?:不会)?(?:使人|导致|引起|让人|造成)"
)
# A question about an illness itself ("高血压昏迷会死吗", "癫痫医院在哪") is general even from someone who has it.
_ILLNESS = re.compile(
    r"(?<![生看发])病(?![人情史发房历友])|炎|症(?!状)|癌|瘤|高血压|癫痫|羊癫疯|羊角风|哮喘|中风|脑梗|心梗|脑出血|中暑"
    r"|过敏|窒息|缺氧|脑瘫|瘫痪|烧伤|烫伤|休克|中毒|肝性?昏迷|肝性脑病"
)
_KNOWLEDGE = re.compile(
    r"(?:(?<!一)会|能|可以|可不可以|能不能)[^，]{0,10}[吗么]|会不会|(?:是不是|是否)(?:会|能|可以)|多久|多长时间|是多少|有哪些|有何|有些什么|为什么会|为何"
    r"|有(?:什么|无)[^，]{0,8}(?:症状|表现|危害|影响|后果|区别|原因|特点|检查)|的(?:症状|表现|原因|危害|特点|特征|征兆|前兆)"
    r"|怎么(?:治疗|预防|护理|调理|急救)|如何(?:治疗|预防|护理|急救|应对)"
    r"|哪家|哪个医院|什么医院|医院在哪|能治好|治愈|根治|多少钱|费用|价位|发病(?:年龄|率)|感兴趣|科普|查资料|新闻|听说|据说"
)
# A denial opening a clause ("没有吐血", "也不出汗", "无发热", "不发烧", "否认胸痛"); negations that are themselves
# emergencies ("没有意识", "没反应", "无法呼吸", "无意识", "没有尿", "未排尿", "不省人事", "不会说话了",
# "都不认识人了", "没感觉") are no denial.
_DENIAL = re.compile(
    r"^(?:我|你|他|她|孩子|宝宝|老人|病人|患者|我[爸妈]|老公|老婆)?(?:也|都|并|还|从来)?"
    r"(?:(?:没有|没|无|否认)(?!(?:了|有)?(?:意识|知觉|反应|呼吸(?!困难|急促)|气|心跳|脉搏?|血压|尿|小便|眼泪|泪|动静"
    r"|醒|感觉|力|法|办法|用|效|好|停|止|精神|声))"
    r"|不(?=发烧|发热|咳|痛|疼|吐|拉|喘|晕|出血|流血|肿|痒|红|出汗|冒汗|抽))"
)
# Asking how a known illness is treated in the long run (hospital, cost, cure, surgery, diet), not what to do now.
_MANAGE = re.compile(
    r"哪家|什么医院|哪个医院|医院(?:好|在哪|排行)|专科|费用|多少钱|价位|能治好|治得好|治愈|根治|能不能治|忌口|饮食|调理|护理"
    r"|遗传|偏方|康复|后遗症|怎么治疗|如何治疗|怎样治疗|治疗(?:方法|效果|费用|多久|周期|办法)|手术(?:治疗|效果|费用)"
    r"|(?:可以|能|要|需要|能不能|可不可以)(?:做)?手术|(?:可不可以|能不能|能否)[吃喝]|(?:能|可以)[吃喝](?:什么|哪些)|[吃喝]什么(?:好|比较好)"
)
# An event told as done ("中风了", "抽搐了"): something going on, whatever question follows.
_EVENT = re.compile(r"(?:中风|脑梗|脑出血|心梗|昏迷|昏倒|晕倒|抽搐|抽风|发作|吐血|大出血)了")
# In hospital or being treated now (not "要住院吗", nor "术后", a risk of its own for a clot).
_IN_CARE = re.compile(
    r"(?:正在|还在|现在在|目前在|人在)(?:当地|本地|县|市|省|镇|乡|区)[^，去往赶送到路]{0,3}医院(?:治疗|住院|输液|抢救|吸氧|观察|icu)"
    r"|(?:正在|还在|现在在|目前在|人在|正)(?:医院|住院|icu|监护|抢救|救治|治疗|输液|吸氧|急诊)|在医院(?:里)?(?:治疗|住院|输液|观察|抢救"
    r"|做|打|吸氧|躺|检查)|住院(?:中|期间|治疗中|观察|第[0-9一二三四五六七八九十]+天)|已经?住(?:院)?了?[0-9一二两三四五六七八九十几]+天|住着院|在住院|还在住院|住进了?(?:医院|icu|监护)|icu|重症监护|监护室"
    r"|抢救(?:了|中|室|过来|回来)|经(?:过)?(?:医生)?抢救|救治中|(?:正在|还在|在)(?:输液|打点滴|吊水|吸氧)|输着液|吊着水"
    r"|(?:在|住进|回到|转到|送到|送进|进了|住在)了?(?:隔离|定点)医院|方舱"
)
# A pet as the patient ("我家狗狗便血", "猫咪吐了"): no emergency of a person, unless a person is named or bitten.
_PET = re.compile(
    r"(?:我家|家里|家的|我的|养的)的?小?(?:狗|猫|金毛|泰迪|柯基|哈士奇|比熊|柴犬|博美|兔子|仓鼠|鹦鹉)|狗狗|猫咪|宠物"
)
_PERSON_TOO = re.compile(
    r"咬|抓|挠|舔|孩子|小孩|宝宝|儿子|女儿|老人|老公|老婆|丈夫|妻子|爸|妈|爷|奶|哥|姐|弟|妹|本人|我(?!家|的)"
)
# Something going on today ("今天又抽个不停"), not a story dated today.
_ONSET = re.compile(r"突然|忽然|一下子|猛地")  # a sudden onset told as now, not in a past or resolved story
_LIVE_TODAY = re.compile(r"(?:今天|今早|今晚|这次|又)[^，]*(?:不停|没停|一直|持续|还|越来越|止不住|停不下)")
# Today or hours ago ("一个多小时前开始"): a question on a named illness's care ("饮食要注意什么") still tells an
# event of today.
_TODAY = re.compile(
    r"今天|今早|今晚|今儿|昨晚|昨天(?:晚上|夜里)|半夜|[0-9一两二三四五六七八九十半几]+个?多?(?:小时|钟头)(?:前|以前|之前|了)"
)
# A clause that asks whether the episode is over ("是不是就没事了") resolves nothing.
_ASKING = re.compile(
    r"(?:是不是|是否|会不会|算不算|能不能|可不可以)[^，]{0,6}(?:没事|好了|恢复|缓解|好转|止住)"
    r"|(?:没事|好了|恢复|缓解|好转|止住)了?吧?[吗嘛么]"
)
_MOMENT = re.compile(r"刚才|刚刚|现在|目前|此刻|这会儿?|正在")  # a clause of the moment, not "马上" ("then")
_LEFT_CARE = re.compile(r"出院|回家|回到家|回来了|离开医院|转回")
_OVER = re.compile(r"(?:就|又|已经|才|都)好了|治好了|已经?(?:痊愈|康复)")  # the stay in care is over
_BEEN = re.compile(r"(?:住|治疗|输液|抢救|医院|icu|监护室)过")  # "住过院", "治疗过": been in care once
_LIST_TAIL = re.compile(r"等(?:症状|情况|不适|表现|现象)?$")
_SENTENCE = re.compile(r"[。！？；!?;\n]+")


def split_clauses(text: str) -> list[str]:
    """The message as normalised clauses (folded, lower-cased, split at punctuation): what the rules, the classifier
    and this module all read."""
    return [c for c in _SPLIT.split(text.translate(_FOLD).lower()) if c]


def is_background(clause: str) -> bool:
    """Whether one clause, read on its own, only gives background rather than a present state: a hypothetical, fear or
    hearsay ("如果", "万一", "听说"), or the distant past ("以前", "三年前", "有过") or general knowledge ("原因",
    "有哪些") with nothing said now. The rules read only the other clauses (self-harm excepted), and the classifier
    tags each clause's n-grams with this reading."""
    if _HYPOTHETICAL.search(clause):
        return True
    return _BACKGROUND.search(clause) is not None and _SAYS_NOW.search(clause) is None


def denies(clause: str) -> bool:
    """Whether a clause opens with a denial of a symptom ("没有吐血", "也不出汗"), not with a sign ("没有意识")."""
    return _DENIAL.match(clause) is not None


def tells_something_now(text: str) -> bool:
    """Whether any clause is about the present (neither background nor a denial): the classifier's alarms need one."""
    return any(not is_background(c) and not denies(c) for c in split_clauses(text))


def clause_kinds(text: str) -> list[tuple[str, str]]:
    """`(clause, kind)` pairs in message order; kind is "now" or why the clause is set aside (see the module doc)."""
    return [(clause, kind) for clause, kind, _ in _read_clauses(text)]


def _read_clauses(text: str) -> list[tuple[str, str, str]]:
    """`(clause, kind, frame)` for each clause of the lowercased `text`: :func:`clause_kinds` with the time frame
    ("past" or "now") each clause is told in, which a past-framed sentence carries on."""
    text = text.lower()
    person = _PERSON.search(_ASKER.sub("", text)) is not None
    out: list[list[str]] = []
    for sentence in _SENTENCE.split(text):
        frame, hypothetical, denied = "now", False, False
        for clause in split_clauses(sentence):
            told = _NOWADAYS.sub("", clause)
            now = _NOW_FRAME.search(told) is not None
            immediate = _IMMEDIATE.search(told) is not None
            past = _PAST_FRAME.search(clause) is not None and not _ONGOING.search(clause) and not immediate
            frame = "past" if past else "now" if now else frame
            if denies(clause) or (denied and _LIST_TAIL.search(clause)):
                kind, denied = "denied", True
            else:
                denied = False
                # a condition or hearsay runs on through its sentence, until a clause tells something of the
                # moment ("听说喝醋能解毒，我爸刚才误喝了农药")
                own = _HYPOTHETICAL.search(clause) is not None
                hypothetical = own or (hypothetical and not _MOMENT.search(told))
                if hypothetical:
                    kind = "hypothetical"
                elif (
                    not immediate
                    and _KNOWLEDGE.search(clause)
                    and (
                        not person
                        or (
                            (_ILLNESS.search(clause) or _CAUSE_QUESTION.search(clause))
                            and not _PERSON.search(_ASKER.sub("", clause))
                        )
                    )
                ):
                    kind = "general"
                elif frame == "past":
                    kind = "past"
                elif not now and (
                    _RECURRING.search(clause) or (_DURATION.search(clause) and not _AGE_OR_PREGNANCY.search(clause))
                ):
                    kind = "chronic"
                else:
                    kind = "now"
            if (
                kind in ("now", "chronic", "past")
                and _RESOLVED.search(clause)
                and not immediate
                and not _ASKING.search(clause)
            ):
                # the episode told so far is over or in care; a resolved past illness ("以前确诊过冠心病") is not
                if not past:
                    for earlier in out:
                        if earlier[1] in ("now", "chronic", "past") and not _IMMEDIATE.search(earlier[0]):
                            earlier[1] = "resolved"
                kind = "resolved"
            out.append([clause, kind, frame])
    return [(clause, kind, frame) for clause, kind, frame in out]


def _in_care(text: str) -> bool:
    """Whether `text` leaves its patient in care now: a clause in care ("还在住院", "经抢救") told as now or as an
    episode in care, with no past frame over it ("去年在医院输液治疗过", "上个月住院") and no later clause that
    says they left ("出院", "回家", "好了")."""
    care = False
    for clause, kind, frame in _read_clauses(text):
        if _LEFT_CARE.search(clause) or _OVER.search(clause):
            care = False
        elif _IN_CARE.search(clause) and kind in ("now", "resolved") and frame == "now":
            care = not _BEEN.search(clause)
    return care


def in_care_in_dialogue(history: list[str] | tuple[str, ...], text: str) -> bool:
    """Whether the patient's earlier turns say the patient is in care ("我爸还在住院") and this turn does not say
    they have left it ("出院", "回家"): a follow-up about someone in hospital needs no call for emergency care."""
    return bool(history) and _in_care("。".join(history)) and not _LEFT_CARE.search(text)


def present_part(text: str) -> str:
    """The clauses of `text` an alarm may stand on, joined by "，" (`""` when none).

    A question on the long-run treatment of a named illness (hospital, cost, cure, diet) with nothing said to be going
    on now leaves nothing. Otherwise denied, hypothetical, general and resolved clauses always go; past and chronic
    clauses stay as context only when another clause says something is happening now ("两天前摔了头，今天一直吐").
    """
    if _PET.search(text) and not _PERSON_TOO.search(_PET.sub("", text)):
        return ""  # "狗狗今天便血了": a vet's case
    kinds = clause_kinds(text)
    if _in_care(text):
        return ""  # "现在在医院做脑电图", "还在住院": in care already, where a call for emergency care is moot
    if _MANAGE.search(text) and _ILLNESS.search(text):
        live = [c for c, k in kinds if k == "now" and not _NO_ANCHOR.search(c)]
        if not any(p.search(c) for c in live for p in (_IMMEDIATE, _TODAY, _LIVE_TODAY, _ONSET, _EVENT)):
            return ""  # "女儿上周抽搐，诊断为癫痫，哪家医院好": a question about the illness, nothing going on now
    anchored = any(k == "now" and _NOW_FRAME.search(c) and not _NO_ANCHOR.search(c) for c, k in kinds)
    keep = ("now", "past", "chronic") if anchored else ("now",)
    return "，".join(clause for clause, kind in kinds if kind in keep)
