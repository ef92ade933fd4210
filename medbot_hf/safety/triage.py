"""Red-flag triage for Chinese patient messages: spot emergencies before the model answers.

A message is split into clauses. Clauses that only give background (past events, hypotheticals, encyclopedic
questions such as "...的原因有哪些") are set aside unless they also say something is happening now. Each category then
has a few rules; a rule is a set of cues that must all occur (a symptom plus a severity or context cue), so a bare
topic word ("胸痛", "出血", "过敏") never raises an alarm on its own. Self-harm is the exception: it reads the whole
message, past clauses included, because a hotline note shown once too often costs far less than one missed.

No model and no I/O: :func:`triage` is pure regex work, a few tens of microseconds per message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Keys in priority order: when several categories match, the most specific context wins (an overdose that made
# someone pass out is "poisoning"; a pregnant woman bleeding is "pregnancy_bleeding", not "bleeding"). The advice is
# deliberately generic first aid: no drug doses, nothing that could hurt if the guess is wrong.
ADVICE = {
    "self_harm": (
        "你并不孤单。请拨打全国心理援助热线400-161-9995或北京心理危机研究与干预中心010-82951332；"
        "有危险请拨120或110，并找信任的人陪着你。"
    ),
    "poisoning": "可能是中毒或药物过量：请立即拨打120；煤气中毒先开窗并离开现场；带上药瓶或包装去急诊，不要自行催吐。",
    "anaphylaxis": "可能是严重过敏反应：请立即拨打120或去最近的急诊，远离过敏原；如备有肾上腺素笔请立即使用。",
    "pregnancy_bleeding": "孕期出血伴腹痛可能是流产或宫外孕等急症：请平躺少动，立即拨打120或去最近的妇产科急诊。",
    "infant_fever": "婴幼儿高烧伴精神差或颈部僵硬，或小月龄发热：请立即去最近的儿科急诊，情况危急请拨打120。",
    "unconscious_seizure": "意识丧失或抽搐是急症：请立即拨打120；让患者侧卧，移开硬物，不要往嘴里塞东西或强行按住。",
    "stroke": "可能是中风（脑卒中）：请记下发病时间，立即拨打120去最近的急诊；不要喂水喂药，不要自行等待好转。",
    "chest_pain": "胸痛伴出汗或放射痛可能是心梗：请立即停止活动，坐下或躺下休息，马上拨打120，不要自己开车去医院。",
    "breathing": "呼吸困难是急症：请立即拨打120或去最近的急诊；保持坐姿、解开衣领、开窗通风，身边不要离人。",
    "bleeding": "出血量大很危险：请立即拨打120或去最近的急诊；外伤出血用干净布料持续用力按压，尽量平躺少动。",
}
CATEGORIES = tuple(ADVICE)


@dataclass(frozen=True)
class TriageResult:
    """Outcome of :func:`triage`.

    Args:
        urgent: whether the message shows a red flag.
        category: one of :data:`CATEGORIES` when urgent, else `None`.
        advice: Chinese advice to show before the model's reply; `""` when not urgent.
    """

    urgent: bool
    category: str | None = None
    advice: str = ""


NOT_URGENT = TriageResult(urgent=False)

# `(?<!没)...` keeps "没有出汗", "不出汗", "无出血" from counting as the symptom itself.
_NEG = r"(?<!没)(?<!没有)(?<!不)(?<!无)(?<!未)(?<!否认)"
_C = "[^，]"  # any character inside the same clause (clauses are rejoined with "，"); written {C} in the rules
_NUM = "[0-9一二两三四五六七八九十几]"
_NOW = r"现在|目前|最近|这几天|今天|今早|今晚|刚才|刚刚|正在|还在|又|突然|忽然|一直|马上|这次|\d+分钟|半小时"
_ONSET = r"突然|忽然|刚才|刚刚|一下子|猛地|早上起来|醒来|睡醒|半小时|\d+分钟|几分钟"
_WEAK = r"没力气?|没劲|无力|使不上劲|不好使|不灵|不听使唤|不利索|没知觉|抬不起|拿不住|握不住|不能动|动不了|瘫"
_DRUG = r"药|片|胶囊|安定|地西泮|阿普唑仑"
_TOXIN = (
    r"农药|百草枯|敌敌畏|敌百虫|老鼠药|鼠药|杀虫剂|除草剂|消毒水|消毒液|漂白|洁厕|甲醇|假酒|毒蘑菇|野蘑菇|野生菌|水银"
    r"|洗洁精|洗衣液|洗衣粉|洗发水|沐浴露|防冻液|汽油|煤油|干燥剂|纽扣电池"
)
_BREATH = (
    r"喘不[上过动来]|(?:吸|喘)不(?:上|进|过)来?气|气{C}{0,2}喘不|上不来气|一口气上不来|透不过气|吸不进|缺氧"
    r"|呼吸困难|呼吸{C}{0,3}(?:急|快得|很快|费劲|费力|不上来|停)|喘得?{C}{0,2}(?:厉害|说不出话|很急|急促|不行)"
    r"|血氧{C}{0,6}(?<![0-9])[1-8][0-9](?![0-9])"
    r"|憋(?:死|醒|得(?:慌|厉害|难受)|气得?(?:厉害|难受))|(?<![练会])憋气(?!多久|训练|练习|时间)|窒息"
    r"|(?:嘴唇|口唇|指甲|脸|嘴){C}{0,4}(?:发紫|发青|青紫|紫了|青了)|三凹|往里凹|鼻翼{C}{0,2}(?:扇|煽|一张)"
)
_TEMP_TAIL = r"(?:\.\d)?(?:度|℃|°)?(?![0-9岁周天个斤次分年号])"
_HIGH_TEMP = rf"(?<![0-9.])(?:39|4[0-2]){_TEMP_TAIL}|三十九度|四十度|高烧|高热"
_MONTHS = r"(?<![0-9一二两三四五六七八九十几孕这近前后上下每])"  # "孕8个月", "这两个月" are no baby's age
_KID = r"孩子|小孩|儿子|女儿|闺女|娃"
_INFANT = (
    rf"婴儿|婴幼儿|新生儿|宝宝|宝贝|满月|刚出生|出生{{C}}{{0,2}}天|{_MONTHS}{_NUM}+个?月(?:大|的|龄|(?=，|$))"
    rf"|(?:{_KID}){{C}}{{0,2}}{_NUM}+个?月"
)
_CHILD = rf"{_INFANT}|{_KID}|幼儿|小朋友|[0-9一两二三四五]岁"
_ALLERGEN = r"过敏|打[了完]?(?:针|疫苗)|输液|输完|蛰|蜇|被{C}{0,3}[叮咬]|青霉素|头孢|海鲜|花生|虾|蟹|芒果|坚果|药后"
_PREGNANT = rf"{_NEG}(?:怀孕|(?<!备)孕(?:{_NUM}|早|中|晚|期|妇)|妊娠|宫外孕|怀了|胎)"

# Each rule is a tuple of patterns that must all match the kept text; a leading "!" means the pattern must not.
_RULE_TEXT: dict[str, list[tuple[str, ...]]] = {
    "self_harm": [
        (
            r"不想活|不想再活|不想再继续|活不下去|撑不下去|活够了|没有活下去|想消失|离开这个世界|结束这一切|了结自己"
            r"|不想(?:再)?醒(?:过)?来|永远睡(?:过去|下去)|没有我{C}{0,4}(?:更好|解脱)|(?<!不)想(?:要|去)?死(?!你)"
            r"|活着{C}{0,3}(?:没有?(?:意思|意义|盼头|劲)|太累|好累|痛苦|煎熬|折磨)|一了百了|不如死了|死了算了"
            r"|死了就解脱|死了{C}{0,8}(?:轻松|解脱|更好|省心)|结束一切|自残|割腕|伤害自己(?!的)|[划割]{C}{0,3}自己|[划割]{C}{0,3}(?:手腕|手臂)|遗书|寻死"
            r"|攒{C}{0,4}(?:药|安眠药)|(?:准备|打算){C}{0,4}(?:今晚|今天|明天)?结束"
            r"|想着?(?:怎么|怎样|如何)死|怎么死{C}{0,3}(?:比较|才|最)"
            r"|(?:想|要|准备|打算|计划|想着|想过|企图|尝试)(?:去)?(?:自杀|轻生|上吊|烧炭|结束(?:自己的?)?生命)"
            r"|(?:想|要|准备|打算|计划)(?:从{C}{0,5})?(?:跳下去|跳楼|跳河|跳江|跳桥)"
            r"|(?<!没)(?<!没有)(?:自杀|轻生)的?(?:念头|想法|冲动|计划)",
        ),
        # A planned overdose is a suicide plan first and a poisoning second.
        (r"(?:打算|准备|想|要|计划){C}{0,6}(?:全|都|一次|一口气)(?:吃|吞|喝)", _DRUG),
    ],
    "poisoning": [
        (r"误(?:服|食|喝|吞|饮|吃|把|将)", rf"{_DRUG}|{_TOXIN}|电池|磁|酒|吐|昏|抽|晕|呼吸"),
        (
            r"(?:喝|灌)了?{C}{0,3}(?:一斤|半斤|半瓶|一瓶|一整瓶|好几瓶|很多|好多)的?(?:白酒|酒)",
            rf"{_KID}|昏昏沉沉|吐|难受",
        ),
        (r"偷(?:吃|喝|服)|错(?:吃|喝|服)|当{C}{0,3}(?:糖|零食|饮料|水|果汁)(?:吃|喝)", rf"{_DRUG}|{_TOXIN}"),
        (
            r"(?:一整?|整|好几|大?半)(?:瓶|板|盒)|一大?把"
            r"|(?:几十|十几|[二三四五六七八九两]?十多?|\d{2,}多?)(?:片|粒|颗)",
            r"吃|吞|服|喝",
            _DRUG,
        ),
        (
            rf"(?:吃|服|喝|用)(?:多|过量|错|超量)了?{{C}}{{0,4}}(?:{_DRUG})|(?:药|片)(?:吃|服|用)(?:多|过量|超量)了"
            r"|过量服药|服药过量|药物过量",
        ),
        (_TOXIN, r"(?:吃|喝|吞|服|咽|舔)(?:了|下|进|过)"),
        (r"蘑菇|菌子|野菌", r"吃", r"吐|泻|晕|幻觉|小人"),
        (r"(?:煤气|一氧化碳|co|燃气|农药|药物)中毒|煤气泄漏",),
        (
            r"烧炭|煤炉|炭火|炭盆|蜂窝煤|炉子|煤气|燃气|天然气|热水器|漏气|车库|(?:车里|车内){C}{0,4}睡",
            r"头痛|头疼|头晕|恶心|想吐|呕吐|乏力|嗜睡|晕倒|昏|叫不醒|没反应",
        ),
    ],
    "anaphylaxis": [
        (r"过敏性休克",),
        (
            _ALLERGEN,
            r"(?:喉咙|嗓子|喉头|喉){C}{0,3}(?:发紧|紧|肿|堵|卡|掐)|(?:嘴唇|舌头|口唇|嘴巴|舌){C}{0,4}肿",
        ),
        (
            r"(?:全身|浑身|满身|身上到处){C}{0,4}(?:疹|疙瘩|风团|红点|红斑|包)",
            rf"{_BREATH}|胸闷|气短|气促|头晕|晕倒|想晕|心慌|出冷汗|[脸面]色(?:发白|苍白)|血压",
        ),
        (r"过敏", rf"{_NEG}(?:{_BREATH}|气短|气促)"),
        (_ALLERGEN, r"肿", rf"{_BREATH}|气短|气促|呼吸{{C}}{{0,3}}困难"),
    ],
    "pregnancy_bleeding": [
        (
            _PREGNANT,
            r"(?<!没)(?<!没有)(?<!不)(?:出血|流血|见红|血块|有血|带血"
            r"|(?:阴道|下面|下身|内裤|卫生纸|护垫|流|出){C}{0,4}血)",
            rf"{_NEG}(?:(?:肚子|腹|小腹|下腹|腰|肚){{C}}{{0,6}}(?:疼|痛|坠|绞|紧|发硬)|宫缩|阵痛|剧痛)",
        ),
        (
            _PREGNANT,
            r"大出血|出血量{C}{0,4}[大多]|(?:好多|很多|大量|不少){C}{0,2}血|比月经{C}{0,2}多"
            r"|血{C}{0,2}(?:不止|止不住)",
        ),
    ],
    "infant_fever": [
        (_CHILD, r"烧|热|体温", r"(?:脖子|颈部?|颈项){C}{0,3}(?:僵|硬|强直|转不动|不能低头)|囟门{C}{0,2}[鼓凸膨]"),
        (
            _CHILD,
            r"烧|热|体温",
            r"精神(?:萎靡|差|很差|不好|不振)|蔫|没精神|叫不(?:太)?醒|睡不醒|嗜睡|昏睡|迷迷糊糊"
            r"|反应(?:差|迟钝|慢)|不理人"
            r"|不哭不闹|哭声{C}{0,2}[弱小]|不{C}?(?:吃奶|喝奶)|拒奶|软绵绵|抽搐|抽风|抽了|惊厥|出血点|瘀斑|紫癜"
            r"|(?:压|按){C}{0,3}不[褪退]色|不[褪退]色",
        ),
        (_INFANT, _HIGH_TEMP),
        (_CHILD, rf"(?<![0-9.])4[0-2]{_TEMP_TAIL}|四十度"),
        (
            rf"新生儿|满月|刚出生|出生{{C}}{{0,2}}天|{_MONTHS}[一二两12]个?月(?:大|的|(?=，|$))|{_NUM}+天(?:大|的)"
            rf"|(?:{_KID})(?:才|刚|只有|已经)?[一二两12]个?月",
            rf"发烧|发热|(?<![0-9.])(?:3[89]|4[0-2]){_TEMP_TAIL}|三十八",
        ),
    ],
    "unconscious_seizure": [
        (
            rf"{_NEG}(?:昏迷|不省人事|人事不省|人事不知|不醒人事|失去了?意识|没(?:了|有)?意识|没有?知觉"
            r"|意识(?:不清|模糊|丧失)"
            r"|呼之不应|醒不过来|口吐白沫|眼睛上翻|翻白眼|惊厥|抽风|牙关紧[闭咬]|倒地不起"
            r"|(?:叫|喊|拍|推|摇){C}{0,3}(?:不醒|没反应|不应|没醒)|怎么(?:叫|喊|拍|推)都[不没]"
            r"|(?:癫痫|羊癫疯|羊角风){C}{0,2}(?:发作|犯了)|(?:全身|浑身|四肢|手脚){C}{0,2}(?:抽|抖动|乱抖|僵直))",
        ),
        (rf"{_NEG}(?:抽搐|抽动)", r"!眼皮|眼角|嘴角|面肌|肌肉|小腿|腿肚|脚趾|手指"),
        (r"晕倒|晕过去|昏倒|昏过去|晕厥|昏厥|倒地|倒下", rf"{_ONSET}|叫不|没醒|不醒|没反应"),
    ],
    "stroke": [
        (
            r"口角(?:歪|斜|下垂)|口眼歪斜|嘴[巴角]?{C}{0,4}[歪斜]|[脸面]{C}{0,2}[歪斜]"
            r"|嘴角{C}{0,4}(?:流口水|漏|耷拉|下垂)"
            r"|(?:一边|一侧|半边)(?:的)?脸{C}{0,4}(?:耷拉|下垂|歪|不动)",
        ),
        (
            rf"(?:一侧|一边|半边|半身|单侧|[左右]侧|[左右]边|[左右]半){{C}}{{0,6}}(?:{_WEAK})|偏瘫|半身不遂"
            rf"|[左右](?:手|胳膊|臂){{C}}{{0,2}}[左右](?:腿|脚){{C}}{{0,3}}(?:{_WEAK})",
        ),
        (
            r"(?:说话|讲话|话){C}{0,5}(?:不清|含糊|含混|不利索|大舌头)|含含糊糊|口齿{C}{0,2}(?:不清|含糊)|吐字不清"
            r"|说不出话|讲不出话|语言不清|舌头不听使唤|(?:一侧|一边|半边|单侧|[左右]侧|[左右]边){C}{0,6}麻"
            rf"|(?:手|胳膊|腿|脚|筷子|东西){{C}}{{0,3}}(?:{_WEAK})|眼睛?{{C}}{{0,4}}(?:看不见|看不清|失明|黑了)|失明"
            r"|重影|复视|看不(?:见|清)东西|看东西{C}{0,3}(?:模糊|不清|两个)|走路{C}{0,4}(?:不稳|往一边|偏|歪)|站不稳"
            r"|头{C}{0,3}(?:痛|疼)欲裂|头{C}{0,2}(?:像要?炸|要裂开)|剧烈头[痛疼]",
            _ONSET,
        ),
        (
            r"(?:中风|脑梗|脑卒中|脑出血|脑溢血)(?:了|发作)"
            r"|(?:突发|好像|可能|是不是|怀疑){C}{0,2}(?:中风|脑梗|脑卒中|脑出血|脑溢血)",
        ),
    ],
    "chest_pain": [
        (
            rf"{_NEG}(?:胸|心口|心窝|心前区|心脏){{C}}{{0,8}}(?:痛|疼|闷|紧|压|憋|绞|堵|揪)",
            rf"{_NEG}(?:冷汗|大汗|虚汗|出汗|冒汗|一身汗|满头汗|是汗|汗流|汗湿|汗珠|汗水|汗{{C}}{{0,3}}(?:直流|往下))"
            r"|放射|窜|牵扯|牵涉|剧痛|剧烈|撕裂|压榨|濒死|喘不[上过]|透不过气|[脸面]色(?:发白|苍白)"
            r"|(?:到|至|向|往|连着|带着){C}{0,3}[左右]?(?:胳膊|手臂|臂|肩|下巴|下颌|后背|背|脖子|颈|牙)"
            r"|(?:胳膊|手臂|左臂|右臂|肩膀?|下巴|下颌|后背|背部?|牙|脖子){C}{0,5}(?:疼|痛|麻|酸)",
        ),
        (r"(?:心梗|心肌梗死?)(?:了|发作)|(?:好像|可能|是不是|怀疑){C}{0,2}(?:心梗|心肌梗|心脏病发)",),
    ],
    "breathing": [(rf"{_NEG}(?:{_BREATH})", r"!压力|(?:休息|歇|坐){C}{0,5}(?:就好|好了|缓解|恢复|缓过来)")],
    "bleeding": [
        (
            rf"{_NEG}(?:大出血|血{{C}}{{0,10}}(?:不止|止不住|按不住|停不下|流个不停)|止不住{{C}}{{0,2}}血"
            r"|血{C}{0,4}(?:往外冒|往外涌|涌出|哗哗|喷)|血{C}{0,3}(?:还在|一直在?|不停地?)(?:流|冒|渗)"
            r"|(?:一直|不停|不断)地?(?:流|出|冒)血|[咳咯吐呕拉便流出]{C}{0,6}"
            r"(?:一大口|大口|好多|很多|满口|一碗|一杯|一大堆|一堆|一大滩|一地|一盆|大量|不少|全是|都是)的?鲜?血"
            r"|[一满](?:地|身|床)都?是?血|马桶{C}{0,6}(?:都是|全是|满是){C}{0,2}[血红]|喷血"
            r"|(?:出血|流血|血量){C}{0,3}(?:特别多|非常多|很多|好多|太多|量大|很大|不少)"
            r"|(?:一|每|半|不到一)个?小时{C}{0,8}(?:卫生巾|护垫))",
        ),
        (r"[吐呕](?:了|出)?{C}{0,4}血(?!丝|压|糖|常规|检|型|脂|管|小板)", r"!刷牙|牙龈|血丝|痰"),
        (r"湿透|浸透|染红|红透", r"血|卫生巾|护垫|纱布", r"!汗"),
        (r"柏油|黑便|大便{C}{0,3}黑|拉{C}{0,2}黑", r"柏油|头晕|乏力|心慌|出冷汗|晕|[脸面]色|没力气"),
        (r"鲜血", r"头晕|晕|心慌|乏力|[脸面]色|很多|好多|全是|都是"),
    ],
}

# Background clauses: past ("以前", "去年", "有过"), hypothetical ("如果") or encyclopedic ("原因", "有哪些").
_PAST = re.compile(
    rf"以前|之前|从前|(?<![晕昏死])过去|曾经|早年|小时候|年轻时|去年|前年|{_NUM}+年前|多年前|上次|那次"
    r"|(?:有|得|患|犯|发作|中风|晕倒|出现)过(?!敏)"
)
_HYPOTHETICAL = re.compile(r"如果|假如|假设|万一|要是|假若|一旦")
_GENERAL = re.compile(
    r"原因|哪些|预防|是什么|什么意思|区别|(?:发病|患病|死亡|致死|自杀|存活|治愈|发生)率|(?<!孕)早期|征兆|信号"
    r"|常见|病因|会导致|会引起|会不会|会怎么样|注意什么|注意事项|科普|怎么回事|康复|患者|病人|判断|区分|识别|鉴别"
    r"|会影响|有影响|后遗症"
)
_NOW_RE = re.compile(_NOW)
_SPLIT = re.compile(r"[，。！？；、,!?;:：\n\s…~]+|\.(?![0-9])")
# Full-width digits and dots reach us from Chinese input methods; fold them so "３９．５度" reads like "39.5度".
_FOLD = str.maketrans("０１２３４５６７８９．ＣＯ", "0123456789.co")


def _compile(rule: tuple[str, ...]) -> tuple[tuple[re.Pattern[str], bool], ...]:
    """Compile one rule into `(pattern, wanted)` pairs, `{C}` standing for one in-clause character."""
    return tuple((re.compile(term.lstrip("!").replace("{C}", _C)), not term.startswith("!")) for term in rule)


_RULES = {category: [_compile(rule) for rule in rules] for category, rules in _RULE_TEXT.items()}


def _is_background(clause: str) -> bool:
    """Whether a clause only gives background (past, hypothetical, general knowledge) rather than a present state."""
    if _HYPOTHETICAL.search(clause):
        return True
    if _PAST.search(clause) or _GENERAL.search(clause):
        return not _NOW_RE.search(clause)
    return False


def triage(text: str) -> TriageResult:
    """Check a patient message for red flags that need emergency care now.

    Args:
        text: the patient's message, in Chinese.

    Returns:
        A :class:`TriageResult`: the first matching category in :data:`CATEGORIES` order with its advice, or a
        non-urgent result (`category=None`, `advice=""`).
    """
    clauses = [c for c in _SPLIT.split(text.translate(_FOLD).lower()) if c]
    scopes = {"self_harm": "，".join(clauses)}
    kept = "，".join(c for c in clauses if not _is_background(c))
    for category in CATEGORIES:
        scope = scopes.get(category, kept)
        for rule in _RULES[category]:
            if all(bool(pattern.search(scope)) == wanted for pattern, wanted in rule):
                return TriageResult(urgent=True, category=category, advice=ADVICE[category])
    return NOT_URGENT


def prepend_advice(result: TriageResult, reply: str) -> str:
    """Put the triage advice before the model's reply when the message was urgent.

    Args:
        result: the triage of the patient's message.
        reply: the model's reply.

    Returns:
        `advice + "\\n\\n" + reply` when urgent, else `reply` unchanged.
    """
    if not result.urgent:
        return reply
    return f"{result.advice}\n\n{reply}" if reply else result.advice
