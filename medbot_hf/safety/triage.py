"""Red-flag triage for Chinese patient messages: spot emergencies before the model answers.

The 36 categories come from published red-flag lists, not from test phrasings:
- 急诊预检分诊专家共识 (Chinese emergency pre-triage expert consensus, 2018), levels I-II (resuscitation and
  emergency): cardiac arrest / unconsciousness, airway obstruction, severe breathlessness, shock, chest pain of
  cardiac origin, stroke signs, major bleeding, serious trauma, poisoning, hypoglycaemia, seizures;
- NHS "call 999" list: chest pain, stroke (FAST), a seizure, a severe allergic reaction, choking, heavy bleeding,
  serious head injury, sudden confusion, a fever with a rash that does not fade under a glass, someone who cannot be
  woken, suicide attempts, severe burns;
- Manchester Triage System discriminators: airway compromise, stridor, inadequate breathing, shock, unresponsive,
  currently fitting, exsanguinating haemorrhage, acute neurological deficit, severe pain, purpuric rash, very hot
  (heat), hypoglycaemia, signs of dehydration in a child, testicular pain, sudden loss of vision, new neurological
  deficit after trauma, vomiting blood, black stools, pregnancy with abdominal pain or high blood pressure.
The ids are fixed in issues/triage_categories.md.

A message is split into clauses. Clauses that only give background (past events, hypotheticals, encyclopedic
questions such as "...的原因有哪些") are set aside unless they also say something is happening now; that reading of
tense and denial has one home, :mod:`medbot_hf.safety.context` (:func:`~medbot_hf.safety.context.is_background`).
Each category then has a few rules; a rule is a set of cues that must all occur (a symptom plus a severity or
context cue), so a bare topic word ("胸痛", "出血", "过敏") never raises an alarm on its own. Self-harm is the
exception: it reads the whole message, past clauses included, because a hotline note shown once too often costs far
less than one missed.

The rules (:func:`rule_triage`) are pure regex work, a few tens of microseconds per message. They miss emergencies
worded in ways nobody wrote a rule for, so :func:`triage` backs them up with a small shipped classifier
(:mod:`medbot_hf.safety.classifier`, hashed character n-grams + logistic regression, trained here by
:mod:`medbot_hf.safety.train_triage`): it adds alarms the rules miss and never removes one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .context import GENERAL as _GENERAL
from .context import in_care_in_dialogue, is_background, present_part, split_clauses, tells_something_now

# Keys in priority order: when several categories match, the most specific context wins (an overdose that made
# someone pass out is "poisoning"; a pregnant woman bleeding is "pregnancy_bleeding", not "bleeding"). The advice is
# deliberately generic first aid: no drug doses, nothing that could hurt if the guess is wrong.
ADVICE = {
    "self_harm": (
        "请马上拨打全国心理援助热线12356（24小时）；也可拨打希望24热线400-161-9995或北京心理危机研究与干预中心"
        "010-82951332。有危险请拨120或110，找信任的人陪着你，并远离可能伤害自己的东西。你并不孤单。"
    ),
    "poisoning": "可能是中毒或药物过量：请立即拨打120；煤气中毒先开窗并离开现场；带上药瓶或包装去急诊，不要自行催吐。",
    "snake_bite": (
        "被蛇咬伤可能有毒：请立即拨打120或去最近的急诊；保持安静少动，伤肢放低不要乱动，摘下戒指手镯；"
        "不要用嘴吸、不要切开伤口，不要冰敷。"
    ),
    "anaphylaxis": "可能是严重过敏反应：请立即拨打120或去最近的急诊，远离过敏原；如备有肾上腺素笔请立即使用。",
    "drug_reaction": (
        "用药后皮肤起疱、脱皮、口眼溃烂或全身皮疹伴发烧，可能是严重药物反应：请立即去急诊，带上所用药物的药盒，"
        "由医生决定怎么处理。"
    ),
    "pregnancy_bleeding": "孕期出血伴腹痛可能是流产或宫外孕等急症：请平躺少动，立即拨打120或去最近的妇产科急诊。",
    "preeclampsia": (
        "孕晚期或产后血压高，伴头痛、眼花、上腹痛或浮肿，可能是子痫前期：请立即去产科急诊或拨打120，左侧卧休息。"
    ),
    "fetal_movement": (
        "孕晚期胎动明显减少或消失需要当天检查：请立即去产科急诊听胎心，不要等到第二天，也不要靠吃东西或拍肚子来等胎动。"
    ),
    "petechial_rash": "发烧伴压不褪色的皮疹（紫点、瘀斑）可能是严重感染：请立即去急诊或拨打120，不要等皮疹变多。",
    "febrile_neutropenia": (
        "化疗期间或服用抗甲状腺药（如甲巯咪唑）时发烧、寒战或咽痛，可能是白细胞太低引起的严重感染：请今天就去急诊"
        "查血常规，带上用药记录。"
    ),
    "infant_fever": "婴幼儿高烧伴精神差或颈部僵硬，或小月龄发热：请立即去最近的儿科急诊，情况危急请拨打120。",
    "child_dehydration": (
        "孩子严重脱水（长时间没有尿、哭时无泪、眼窝凹陷、精神差、喝什么吐什么）很危险：请立即去儿科急诊，"
        "路上可少量多次喂口服补液盐。"
    ),
    "drowning": "溺水者救上岸后也要去急诊：请立即拨打120；没有呼吸马上做心肺复苏，不要控水；有呼吸让其侧卧并保暖。",
    "electric_shock": (
        "触电或雷击是急症：先切断电源或用干燥的木棍挑开电线，不要直接用手碰伤者；立即拨打120，没有呼吸时做心肺复苏。"
    ),
    "choking": (
        "异物卡住气道是急症：请立即拨打120；还能咳嗽就鼓励用力咳；不能咳嗽、说话或呼吸时马上做海姆立克急救"
        "（一岁以下婴儿拍背加按胸），不要用手指盲目去掏。"
    ),
    "burns": (
        "严重烧烫伤：马上用流动的凉水冲洗（化学品溅伤要冲更久），脱去没有粘连的衣物和首饰，用干净的保鲜膜或布轻盖；"
        "不要涂牙膏、酱油，不要挑破水泡，请拨打120或尽快去急诊。"
    ),
    "heat_stroke": "可能是热射病：请立即拨打120；把人移到阴凉处，解开衣物，用凉水擦身并扇风降温；意识不清时不要喂水。",
    "head_injury": (
        "头部受伤后呕吐、嗜睡、意识混乱或耳鼻流出清水是急症：请立即拨打120；让伤者平躺少动，不要摇晃头部，"
        "暂时不要吃喝，随时看能否叫醒。"
    ),
    "spinal_injury": (
        "外伤后颈背痛伴手脚麻木、无力，可能是脊柱损伤：不要搬动或扶起伤者，保持头颈和身体在一条直线上，立即拨打120。"
    ),
    "hypoglycemia": (
        "可能是低血糖：人清醒、能吞咽时马上吃糖或喝含糖饮料；已经意识不清时不要喂东西，让其侧卧并立即拨打120。"
    ),
    "dka": (
        "糖尿病人呕吐、腹痛、呼吸深快或血糖极高，可能是酮症酸中毒：请立即去急诊或拨打120，带上血糖记录和在用的药，"
        "不要自行加减胰岛素。"
    ),
    "stridor": (
        "吸气时喉咙有尖声、犬吠样咳嗽伴呼吸困难，或流口水不能吞咽，是气道急症：请立即拨打120；让孩子保持自己舒服的"
        "坐姿，尽量安抚，不要压舌头看喉咙。"
    ),
    "severe_asthma": (
        "哮喘发作用药不缓解、说不出整句话是急症：请立即拨打120；坐直身体，按医生给的哮喘计划使用缓解药，解开衣领。"
    ),
    "aortic_dissection": "突发撕裂样的胸背痛可能是主动脉夹层：请立即拨打120，保持安静不动，不要自己去医院。",
    "pulmonary_embolism": (
        "突然气促、胸痛、咳血（尤其是手术后、长途久坐后或腿肿时）可能是肺栓塞：请立即拨打120，保持安静少动，"
        "不要按摩肿胀的腿。"
    ),
    "hypertensive_crisis": (
        "血压很高并伴头痛、胸痛、看不清或意识改变，是高血压急症：请立即拨打120或去急诊；安静坐着休息，"
        "不要自行加服降压药。"
    ),
    "shock": (
        "手脚湿冷、脸色苍白、意识差或血压很低，可能是休克：请立即拨打120；让患者平躺，没有外伤时可抬高双腿，"
        "注意保暖，不要喂水。"
    ),
    "unconscious_seizure": "意识丧失或抽搐是急症：请立即拨打120；让患者侧卧，移开硬物，不要往嘴里塞东西或强行按住。",
    "stroke": "可能是中风（脑卒中）：请记下发病时间，立即拨打120去最近的急诊；不要喂水喂药，不要自行等待好转。",
    "chest_pain": "胸痛伴出汗或放射痛可能是心梗：请立即停止活动，坐下或躺下休息，马上拨打120，不要自己开车去医院。",
    "breathing": "呼吸困难是急症：请立即拨打120或去最近的急诊；保持坐姿、解开衣领、开窗通风，身边不要离人。",
    "gi_bleeding": "呕血、黑便或大量便血是急症：请立即拨打120或去急诊；平躺，呕吐时头偏向一侧，暂时不要吃喝。",
    "bleeding": "出血量大很危险：请立即拨打120或去最近的急诊；外伤出血用干净布料持续用力按压，尽量平躺少动。",
    "acute_abdomen": "剧烈腹痛可能是急腹症：请尽快去急诊；医生看过之前不要吃喝，不要自行吃止痛药或热敷。",
    "testicular_torsion": "突然的睾丸剧痛可能是睾丸扭转，需要在几小时内处理：请立即去急诊（泌尿外科），不要等待观察。",
    "vision_loss": (
        "突然看不见或眼痛伴视力下降是急症：请立即去急诊或眼科急诊，不要等它自己好；伴有口角歪斜、说话不清或"
        "一侧无力时请立即拨打120。"
    ),
}
CATEGORIES = tuple(ADVICE)
# Added after the shipped classifier was trained (its labels are the other categories): the rules alone catch them.
RULES_ONLY = ("snake_bite", "fetal_movement", "febrile_neutropenia")


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
# A confused or lost mind: "意识" alone is no sign ("意识清楚", "意识都在").
_MIND = r"意识{C}{0,3}(?:不清|模糊|丧失|障碍|不好|差|淡漠|混乱|迷糊)|(?:失去|丧失)了?意识|没(?:了|有)?意识"
_C = "[^，]"  # any character inside the same clause (clauses are rejoined with "，"); written {C} in the rules
_NUM = "[0-9一二两三四五六七八九十几]"
_ONSET = r"突然|忽然|刚才|刚刚|一下子|猛地|早上起来|醒来|睡醒|半小时|\d+分钟|几分钟"
_WEAK = r"没力气?|没劲|无力|使不上劲|不好使|不灵|不听使唤|不利索|没知觉|抬不起|拿不住|握不住|不能动|动不了|瘫"
_DRUG = r"药|片|胶囊|安定|地西泮|阿普唑仑"
_TOXIN = (
    r"农药|百草枯|敌敌畏|敌百虫|老鼠药|鼠药|杀虫剂|除草剂|消毒水|消毒液|漂白|洁厕|甲醇|假酒|毒蘑菇|野蘑菇|野生菌|水银(?!温度|体温|量|计|测)"
    r"|洗洁精|洗衣液|洗衣粉|洗发水|沐浴露|防冻液|汽油|煤油|干燥剂|纽扣电池"
)
_BREATH = (
    r"喘不[上过动来]|(?:吸|喘)不(?:上|进|过)来?气|气{C}{0,2}喘不|上不来气|一口气上不来|透不过气|吸不进|缺氧"
    r"|呼吸困难|呼吸{C}{0,3}(?:急|快得|很快|费劲|费力|不上来|停)|喘得?{C}{0,2}(?:厉害|说不出话|很急|急促|不行)"
    r"|血氧{C}{0,6}(?<![0-9])[1-8][0-9](?![0-9])"
    r"|喘气{C}{0,2}(?:困难|费劲|费力)|憋(?:死|得(?:厉害|难受)|气得?(?:厉害|难受))|(?<!尿)憋醒|(?<![练会])憋气(?!多久|训练|练习|时间|[0-9一二两三四五六七八九十几]+秒)|窒息"
    r"|(?:嘴唇|口唇|指甲|脸|嘴){C}{0,4}(?:发紫|发青|青紫|紫了|青了)|三凹|往里凹|鼻翼{C}{0,2}(?:扇|煽|一张)"
)
# Breathlessness severe enough on its own, however long it has lasted (NHS: "can't get words out", blue lips).
_SEVERE_BREATH = (
    rf"{_NEG}(?:血氧{{C}}{{0,6}}(?<![0-9])[1-8][0-9](?![0-9])|喘得?{{C}}{{0,2}}说不出话|说不出{{C}}{{0,2}}(?:话|整句)|憋死|窒息"
    r"|(?:嘴唇|口唇|指甲|脸|嘴){C}{0,4}(?:发紫|发青|青紫|紫了|青了)|三凹|往里凹|鼻翼{C}{0,2}(?:扇|煽|一张))"
)
# A pain only when coughing ("一咳嗽胸口就像撕开一样疼") is the chest wall's or the pleura's, not the heart's or
# the aorta's.
_ON_COUGH = r"咳(?:嗽)?(?:的)?(?:时候?|时)|一咳"
# Speech lost with a hoarse or sore throat ("嗓音嘶哑，说不出话") is the throat's, no aphasia.
_HOARSE = r"(?:嗓子|喉咙|声音|嗓音){C}{0,3}(?:哑|嘶|疼|痛|发炎)|失声|声带"
# Breathlessness said to be slight ("呼吸有点费劲", "轻微憋气", "有点喘不过气") is no "severe difficulty breathing".
_MILD_BREATH = (
    r"!(?:有点|有些|轻微|稍微|稍|略微?|小小|一点)(?:的|儿)?{C}{0,3}(?:喘|呼吸|憋|上不来|透不过|气短|气促)"
    r"|(?:喘|呼吸|憋气?){C}{0,2}(?:有点|有些|稍微|略)|等{C}{0,2}小(?:情况|问题|毛病|症状)"
)
_TEMP_TAIL = r"(?:\.\d)?(?:度|℃|°)?(?![0-9岁周天个斤次分年号])"
_HIGH_TEMP = rf"(?<![0-9.])(?:39|4[0-2]){_TEMP_TAIL}|三十九度|四十度|高烧|高热"
_MONTHS = r"(?<![0-9一二两三四五六七八九十几孕这近前后上下每了])"  # "孕8个月", "这两个月", "隔离了一个月": no age
_KID = r"孩子|小孩|儿子|女儿|闺女|娃"
_INFANT = (
    rf"婴儿|婴幼儿|新生儿|宝宝|宝贝|满月|刚出生|出生{{C}}{{0,2}}天|{_MONTHS}(?:{_NUM}+个|[一二两三四五六七八九十几]+)月(?:大|的|龄|(?=，|$))"
    rf"|(?:{_KID}){{C}}{{0,2}}{_NUM}+个?月"
)
_CHILD = rf"{_INFANT}|{_KID}|幼儿|小朋友|(?<![0-9十])[0-9一两二三四五]岁"
_ALLERGEN = r"过敏|打[了完]?(?:针|疫苗)|输液|输完|蛰|蜇|被{C}{0,3}[叮咬]|青霉素|头孢|海鲜|花生|虾|蟹|芒果|坚果|药后"
# A known epileptic telling a past fit to ask about the illness is no fit now: "fitting now or not stopping" (MTS).
_KNOWN_EPILEPSY = (
    r"!^(?=[\s\S]*(?:癫痫|羊癫疯|羊角风))(?![\s\S]*(?:现在(?!在|有|是|一|每|偶尔|有时|好|没|不|还好|主要|也|就|比|服|吃|我(?:也|主要|想|就))|正在|还在"
    r"|刚才|刚刚|一直(?:抽|昏|不醒|叫不醒|没醒)|不停|没停|还没醒|持续|已经(?:抽|昏|叫不醒|不醒)"
    r"|[0-9一二两三四五六七八九十几]+分钟|半小时))"
)
_HEAD_HIT = (
    r"(?<!骨)(?:头|脑袋|后脑勺?|额头|脑)(?:部)?{C}{0,6}(?<!没有)(?<!没)(?<!无)(?:撞|磕|碰|砸|摔|着地|受伤|外伤|被打|被砸)"
    r"|(?:撞|磕|碰|砸|摔|打)(?:到|了|伤|破)?{C}{0,3}(?:头|脑袋|后脑|额头)|头部外伤|脑外伤|颅脑"
)
# "嘴巴有血腥味然后就吐了一点血出来": a little blood spat from the mouth after a taste of blood is no vomited blood
# ("吐" is both spit and vomit); no amount told, dark red, 呕, a large amount or bleeding that goes on still fires.
_SPAT_TASTE = (
    r"!(?:嘴|口)[^，]{0,4}血腥味(?=[\s\S]*(?:一点|少量|少许|一丝|点点|淡红))"
    r"(?![\s\S]*(?:呕|暗红|一大口|大口|好多|很多|满口|一碗|一杯|大量|不少|不停|止不住|一直|黑|咖啡))"
)
# A large amount of blood, said of the blood or the stool ("拉了好多血", "大便全是血", "血很多"), not of anything
# else in the message; a few drops ("便后滴了三四滴血") are no major bleeding.
_BLOOD_AMOUNT = (
    r"(?:很多|大量|好多|一片|一大摊|满)[^，]{0,4}血|(?:全是|都是)[^，]{0,4}[血红]|血[^，]{0,4}(?:很多|大量|好多|一片|不少)"
    r"|(?:便血|拉血|血便|大便|便)[^，]{0,4}(?:很多|大量|好多|全是|都是|一片)"
)
_DROPS = r"[0-9一二两三四五六七八九十几]+滴|滴血|血丝|(?<!大)一点(?:点)?血"
_HEAT = r"中暑|热射病|高温|暑天|太阳|暴晒|晒了|闷热|天热|热天|烈日|车里|没开空调|马拉松|跑步|工地|蒸桑拿|桑拿|军训"
_HEAT_CALM = r"!预防|喝点什么|区别|藿香|有点中暑|有点头晕"
_NORMAL_TEMP = r"体温{C}{0,6}3[5-7](?![0-9])|(?<![0-9.])3[67](?:\.\d)?(?:度|℃)?(?:-|—|~|到|至)3[67]"
_PREGNANT = rf"{_NEG}(?:怀孕|(?<!备)孕(?:{_NUM}|早|中|晚|期|妇)|妊娠|宫外孕|怀了|胎)"

# A weak cue (breathlessness, chest tightness with sweat, blood in the stool, a bad stomach ache, "药吃多了") is a red
# flag when it is new or getting worse, not in a long-standing or recurring complaint ("老是打嗝，总喘不过气",
# "咳嗽一个多月，上楼喘的厉害"): the rules holding one carry this term, which fails on a message that tells a
# complaint of days or more, or a recurring one, with no sudden onset or worsening. Strong signs (blue lips, low
# oxygen, unable to speak, bleeding that will not stop) do not carry it.
_LONG_STANDING = (
    # onset, worsening or now told in a clause of its own, not of the recurring frame ("每次都痛得受不了")
    r"!^(?![\s\S]*?(?:^|，)(?![^，]*(?:经常|老是|总是|时常|常常|偶尔|有时|时不时|反复|每次|每到|一到|每当|每逢))[^，]*?"
    r"(?:突然|忽然|一下子|猛地|越来越|加重|加剧|剧烈|受不了|救命|快不行|马上|刚才|刚刚|正在|止不住|不停"
    r"|还在|(?<!到)(?:现在|此刻|这会儿?)(?!一|每|偶尔|有时|好|没|不|还|又|就|也|已经|基本|是|的)))"
    r"(?=[\s\S]*(?:经常|老是|总是|(?<!总)总(?!共|结|的|之)|时常|常常|偶尔|有时|时不时|反复|每次|每天|天天|每到|一到|长期|多年|好几年"
    r"|[0-9一二两三四五六七八九十几半多]+(?:个)?多?(?:星期|礼拜|周|月|年)|好几天|(?<![这前])几天|[两三四五六七八九十]天"
    r"|半年|一段时间|这段时间|最近|近来|以来|至今))"
)

# Each rule is a tuple of patterns that must all match the kept text; a leading "!" means the pattern must not, and a
# leading "~" that it reads the whole message, any tense, as context the downgrade keeps ("化疗三个月了" before a fever
# today); "~!" both.
_RULE_TEXT: dict[str, list[tuple[str, ...]]] = {
    "self_harm": [
        (
            r"不想活|不想再活|不想再继续|活不下去|撑不下去|活够了|没有活下去|想消失|离开这个世界|结束这一切|了结自己"
            r"|不想(?:再)?醒(?:过)?来|永远睡(?:过去|下去)|没有我{C}{0,4}(?:更好|解脱)|(?<!不)想(?:要|去)?死(?!你)"
            r"|活着{C}{0,3}(?:没有?(?:意思|意义|盼头|劲)|太累|好累|痛苦|煎熬|折磨)|一了百了|不如死了|死了算了"
            r"|死了就解脱|死了{C}{0,8}(?:轻松|解脱|更好|省心)|结束一切|自残|割腕|伤害自己(?!的)|[划割]{C}{0,3}自己|[划割]{C}{0,3}(?:手腕|手臂)|遗书|寻死"
            r"|攒{C}{0,4}(?:药|安眠药)|(?:准备|打算)(?:好了?)?(?:在)?(?:今晚|今天|明天|今夜)?(?:就)?结束(?:自己|生命|掉自己|了)?(?=，|$)"
            r"|想着?(?:怎么|怎样|如何)死|怎么死{C}{0,3}(?:比较|才|最)"
            r"|(?:想|要|准备|打算|计划|想着|想过|企图|尝试)(?:去)?(?:自杀|轻生|上吊|烧炭|结束(?:自己的?)?生命)"
            r"|(?:想|要|准备|打算|计划)(?:从{C}{0,5})?(?:跳下去|跳楼|跳河|跳江|跳桥)"
            r"|(?<!没)(?<!没有)(?:自杀|轻生)的?(?:念头|想法|冲动|计划)",
        ),
        # Farewell signs (托付 a pet, 交代后事, a last message) with the person out of reach now.
        (
            r"托付|交代{C}{0,2}后事|交代好了|后事|告别|道别|诀别|永别|最后一(?:次|条|句)|谢谢{C}{0,8}(?:一直|陪|照顾)|照顾好自己",
            r"(?:电话|微信|消息){C}{0,4}(?:不接|不回|打不通|关机)|不接电话|联系不上|找不到(?:人|她|他)|失联|关机|一个人在",
        ),
        # A planned overdose is a suicide plan first and a poisoning second.
        (r"(?:打算|准备|想(?!问|知道|了解|咨询)|要|计划){C}{0,6}(?:全|都|(?<!第)一次|一口气)(?:吃|吞|喝)", _DRUG),
    ],
    "poisoning": [
        (r"误(?:服|食|喝|吞|饮|吃|把|将)", rf"{_DRUG}|{_TOXIN}|电池|磁|酒|吐|昏|抽|晕|呼吸"),
        (
            r"(?:喝|灌)了?{C}{0,3}(?:一斤|半斤|半瓶|一瓶|一整瓶|好几瓶|很多|好多)的?(?:白酒|酒)",
            rf"{_KID}|昏昏沉沉|吐|难受",
        ),
        (r"偷(?:吃|喝|服)|错(?:吃|喝|服)|当{C}{0,3}(?:糖|零食|饮料|水|果汁)(?:吃|喝)", rf"{_DRUG}|{_TOXIN}"),
        (
            r"(?:一整|整)(?:瓶|板|盒)|(?:吃|吞|服|喝)(?:了|下|掉)?大?半(?:瓶|板|盒)|一大?把"
            r"|(?:几十|十几|[二三四五六七八九两]?十多?|\d{2,}多?)(?:片|粒|颗)",
            r"吃|吞|服|喝",
            _DRUG,
            _LONG_STANDING,
        ),
        # boxes counted ("吃了三盒", "好几盒") are a course of a medicine, an overdose only when taken at once
        (
            r"(?:好几|[0-9一二两三四五六七八九十]+)(?:瓶|板|盒){C}{0,8}(?:一次|一口气|一下子|全(?:部|都)?(?:吃|吞|喝|服))"
            r"|(?:一次|一口气|一下子|一顿)(?:性)?{C}{0,8}(?:好几|[0-9一二两三四五六七八九十]+)(?:瓶|板|盒)",
            r"吃|吞|服|喝",
            _DRUG,
        ),
        (
            rf"(?:吃|服|喝|用)(?:多了|过量|错了?|超量)了?{{C}}{{0,4}}(?:{_DRUG})|(?:药|片)(?:吃|服|用)(?:多|过量|超量)了"
            r"|过量服药|服药过量|药物过量",
            _LONG_STANDING,
            # a worry ("担心药吃多了伤胃") or a question of cause ("是不是药吃多了"), not an overdose told
            r"!(?:怕|担心|害怕|生怕|难过|忧心|是不是|是否|会不会是){C}{0,6}(?:吃|服|用)(?:多了|过量|超量|错)"
            r"|(?:吃|服|用)(?:多了|过量|错了?){C}{0,6}还是|还是{C}{0,2}(?:吃|服|用)(?:错|多了)"
            # ... also told as "我怕的就是，药吃多了...", or a saying ("药吃多了伤身")
            r"|(?:怕|担心|害怕|忧心)的(?:就)?是，{C}{0,6}(?:吃|服|用)(?:多了|过量|超量|错)"
            r"|(?:吃|服|用)(?:多了|过量|超量)了?{C}{0,3}(?:不好|有害|伤[胃肝肾身]|有副作用|会有副作用|会依赖)",
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
        (_INFANT, _HIGH_TEMP, r"!(?<![0-9.])[1-9][0-9]?(?:周)?岁|[一两二三四五六七八九十]+(?:周)?岁|周岁"),
        (_CHILD, rf"(?<![0-9.])4[0-2]{_TEMP_TAIL}|四十度"),
        (
            rf"新生儿|满月|刚出生|出生{{C}}{{0,2}}天|{_MONTHS}(?:[一二两]个?|[12]个)月(?:大|的|(?=，|$))|{_NUM}+天(?:大|的(?:宝宝|宝贝|孩子|婴儿|小孩|娃))"
            rf"|(?:{_KID})(?:才|刚|只有|已经)?[一二两12]个?月",
            rf"{_NEG}(?:发烧|发热)|(?<![0-9.])(?:3[89]|4[0-2]){_TEMP_TAIL}|三十八",
        ),
    ],
    "unconscious_seizure": [
        (
            rf"{_NEG}(?:昏迷|不省人事|人事不省|人事不知|不醒人事|失去了?意识|没(?:了|有)?意识|(?<!毫)无意识(?!地|的|中)|没有?知觉"
            r"|意识(?:不清|模糊|丧失)"
            r"|呼之不应|醒不过来|口吐白沫|眼睛上翻|翻白眼|惊厥|抽风|牙关紧[闭咬]|倒地不起"
            r"|(?:叫|喊|拍|推|摇){C}{0,3}(?:不醒|没反应|不应|没醒)|怎么(?:叫|喊|拍|推)都[不没]"
            r"|(?:癫痫|羊癫疯|羊角风){C}{0,2}(?:发作|犯了)|(?:全身|浑身|四肢|手脚){C}{0,2}(?:抽|抖动|乱抖|僵直)"
            r"|抽(?:个|得)不停)",
            _KNOWN_EPILEPSY,
        ),
        (rf"{_NEG}(?:抽搐|抽动)", r"!眼皮|眼角|嘴角|面肌|肌肉|腿|脚趾|手指|抽动症|胃|肚子|腹|打嗝", _KNOWN_EPILEPSY),
        (r"晕倒|晕过去|昏倒|昏过去|晕厥|昏厥|倒地|倒下", rf"{_ONSET}|叫不|没醒|不醒|没反应", _KNOWN_EPILEPSY),
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
            r"|语言不清|舌头不听使唤|(?:一侧|一边|半边|单侧|[左右]侧|[左右]边){C}{0,6}麻"
            rf"|(?:手|胳膊|腿|脚|筷子|东西){{C}}{{0,3}}(?:{_WEAK})"
            r"|(?<!严)重影(?!响)|复视|看不(?:见|清)东西|看东西{C}{0,3}(?:模糊|不清|两个)|走路{C}{0,4}(?:不稳|往一边|偏|歪)|站不稳"
            r"|头{C}{0,3}(?:痛|疼)欲裂|头{C}{0,2}(?:像要?炸|要裂开)|剧烈头[痛疼]",
            _ONSET,
        ),
        # speech lost with a hoarse or sore throat ("嗓音嘶哑，说不出话") is the throat's, not aphasia
        (r"说不出话|讲不出话", _ONSET, rf"!{_HOARSE}"),
        (
            r"(?<!面部)(?<!脸部)(?<!面瘫)(?:中风|脑梗|脑卒中|脑出血|脑溢血)(?:了|发作)"  # 面部中风 is a facial palsy
            r"|(?:突发|好像|可能|是不是|怀疑){C}{0,2}(?:中风|脑梗|脑卒中|脑出血|脑溢血)",
        ),
    ],
    "chest_pain": [
        (
            rf"{_NEG}(?:胸|心口|心窝|心前区|心脏){{C}}{{0,8}}{_NEG}(?:痛|疼|闷|紧|压|憋|绞|堵|揪)",
            rf"{_NEG}(?:冷汗|大汗|虚汗|出汗|冒汗|一身汗|满头汗|是汗|汗流|汗湿|汗珠|汗水|汗{{C}}{{0,3}}(?:直流|往下))"
            r"|放射|窜|牵扯|牵涉|剧痛|剧烈|撕裂|压榨|濒死|喘不[上过]|透不过气|[脸面]色(?:发白|苍白)"
            r"|(?:到|至|向|往|连着|带着){C}{0,3}[左右]?(?:胳膊|手臂|臂|肩|下巴|下颌|后背|背|脖子|颈|牙)"
            r"|(?:胳膊|手臂|左臂|右臂|肩膀?|下巴|下颌|牙|脖子){C}{0,5}(?:疼|痛|麻|酸)",
            _LONG_STANDING,
            rf"!{_ON_COUGH}",
        ),
        (r"(?:心梗|心肌梗死?)(?:了|发作)|(?:好像|可能|是不是|怀疑){C}{0,2}(?:心梗|心肌梗|心脏病发)",),
        # an older adult's upper-belly pain with a cold or heavy sweat can be the heart's (an inferior infarct)
        (
            rf"{_NEG}(?:上腹|心口|心窝|胃){{C}}{{0,6}}{_NEG}(?:痛|疼|难受|不舒服)",
            rf"{_NEG}(?:冷汗|大汗|虚汗|一身汗|满头汗|汗{{C}}{{0,3}}(?:直流|往下|湿透))",
            r"(?<![0-9])[5-9][0-9]岁|老人|老年|我爸|我妈|父亲|母亲|爷爷|奶奶|外公|外婆|姥姥|姥爷|冠心病|心脏病|糖尿病|高血压",
            _LONG_STANDING,
        ),
    ],
    "breathing": [
        (
            rf"{_NEG}(?:{_BREATH})",
            r"!压力|(?:休息|歇|坐){C}{0,5}(?:就好|好了|缓解|恢复|缓过来)",
            _LONG_STANDING,
            _MILD_BREATH,
        ),
        (_SEVERE_BREATH,),
    ],
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
        (r"[吐呕](?:了|出)?{C}{0,4}血(?!丝|压|糖|常规|检|型|脂|管|小板)", r"!刷牙|牙龈|血丝|痰", _SPAT_TASTE),
        (r"湿透|浸透|染红|红透", r"血|卫生巾|护垫|纱布", rf"!汗|{_DROPS}"),
        (
            r"柏油(?!马路|路)|黑便|大便{C}{0,3}黑|拉{C}{0,2}黑",
            r"柏油|头晕|乏力|心慌|出冷汗|晕|[脸面]色|没力气",
            r"!柏油[样便状]?[吗么]",  # asking whether it is tarry
        ),
        (r"鲜血", rf"头晕|晕|心慌|乏力|[脸面]色|{_BLOOD_AMOUNT}", _LONG_STANDING),
    ],
    "head_injury": [
        (
            _HEAD_HIT,
            rf"{_NEG}(?:吐|呕|嗜睡|想睡|犯困|叫不醒|叫不太醒|迷糊|糊涂|{_MIND}|昏迷|昏倒|昏过去|昏睡|昏昏沉沉|晕(?:了|过去|倒)|不省人事|胡话|前言不搭后语"
            r"|抽搐|清水|清亮|淡红色?的?(?:水|液)|流(?:出)?(?:水|液)|瞳孔|越来越(?:痛|疼)|记不|不认人|忘了|失忆|断片"
            r"|问同样|重复问|反应{C}{0,2}(?:慢|迟钝|差)|没力气|无力)",
        ),
        (r"瞳孔{C}{0,4}(?:不一样|不等|一大一小)",),
    ],
    "choking": [
        (
            r"卡住|卡在|噎(?:住|着|到)|呛(?:到|住|进)|吸进(?:了)?(?:气管|肺)|进了气管|掉进气管|异物(?!感|似的|一样)",
            r"!痰|似的|好像|一样|感觉{C}{0,8}(?:东西|异物)",
            rf"{_NEG}(?:{_BREATH})|说不出话|说不了话|发不出声|咳不出|不能咳|不能说|脸{{C}}{{0,2}}(?:紫|青)|捂着?脖子"
            r"|呛咳|一直咳|呼吸{C}{0,3}(?:困难|声|响|呼噜)|不能咽|咽不下",
        ),
    ],
    "drowning": [
        (
            r"溺水|落水|掉(?:进|到|入)?{C}{0,3}(?:水|河|湖|池|海|井|缸)里|淹(?:了|着|到|死)|从水里{C}{0,3}(?:捞|救|拉)"
            r"|(?:捞|救|拉)(?:上来|上岸)",
            r"!预防|防止|怎么学|学游泳|多大|急救的?方法",
        ),
        (
            r"呛水|呛了{C}{0,3}水",
            r"喘|咳{C}{0,3}(?:不停|厉害|一直)|一直咳|迷糊|叫不醒|紫|胸{C}{0,3}(?:疼|痛|闷)|没反应|吐",
        ),
    ],
    "electric_shock": [
        (r"触电|被电(?:打|到|击|了)|电击|电伤|雷击|被雷|插座|高压电|漏电", r"!预防|防止|避免|怎么防|静电")
    ],
    "burns": [
        # "硫酸羟氯喹片", "盐酸莫西沙星" are medicines, not acids
        (
            r"(?:硫酸|盐酸)(?![^，。]{0,8}(?:片|胶囊|注射|颗粒|星|喹|素|醇|铁|镁|锌|平|林|定|因|胺|酮|嗪|酯))"
            r"|强酸|强碱|碱水|石灰|化学品|腐蚀|洁厕|84消毒|消毒液|漂白|管道疏通",
            r"溅|泼|洒|进|烧|伤|沾",
        ),
        (
            r"烧伤|烫伤|烫(?:了|到|着|得)|着火|火烧(?!{C}{0,3}(?:一样|似的|感))|油锅|火苗|被火|起火"
            r"|(?:开水|热水|热油|热汤|蒸汽){C}{0,4}(?:烫|浇|泼|洒|溅)",
            r"大面积|一大片|大片|半个|整个|整条|全身|胸口|肚子|[脸面]|手|腿|胳膊|背|会阴|下体|大水泡|起泡|大泡"
            r"|皮{C}{0,2}(?:掉|脱|皱)|发白|没感觉"
            r"|焦|吸{C}{0,3}烟",
            r"!一下|小面积|有点红|一个小|(?:黄豆|绿豆|米粒|指甲盖?|硬币)(?:一样)?大|晒伤|烫伤膏|哪种|摸些什么|涂什么|上火|火锅|烧心|像是?被|好像被|一样|似的",
        ),
    ],
    "heat_stroke": [
        (
            _HEAT,
            rf"{_NEG}(?:晕倒|倒地|倒了|倒下|晕了|昏迷|昏倒|昏过去|昏睡|昏昏沉沉|抽搐|神志不清|{_MIND}|说胡话|胡言乱语|糊涂|没反应|叫不醒)"
            rf"|(?<![0-9.])4[0-2]{_TEMP_TAIL}|四十度",
            _HEAT_CALM,
        ),
        # hot to the touch, no sweat: only without a normal body temperature told ("体温36.8", "比平时高")
        (_HEAT, r"不出汗|无汗|滚烫|发烫|高烧|体温(?!比){C}{0,3}(?:很高|高)", _HEAT_CALM, rf"!{_NORMAL_TEMP}"),
    ],
    "hypoglycemia": [
        (r"血糖{C}{0,4}(?<![0-9.])[0-2](?:\.\d)?(?![0-9.])|血糖{C}{0,3}(?:只有|才)[0-3](?:点|\.)?",),
        (
            r"低血糖|胰岛素|降糖药|糖尿病|血糖低|格列|二甲双胍",
            rf"{_NEG}(?:冷汗|大汗|手抖|发抖|哆嗦|糊涂|迷糊|胡言乱语|说胡话|{_MIND}|叫不醒|晕倒|昏迷|昏倒|昏过去|昏睡|昏昏沉沉|抽搐|不醒)",
            r"!预防|平时|注意什么|正常吗|是低血糖吗|是不是低血糖",
        ),
    ],
    "dka": [
        (r"酮症|酸中毒|(?<!黄)酮体|烂苹果味|烂苹果|尿酮", r"!是怎么|怎么引起|原因|减肥"),
        (
            r"血糖{C}{0,6}(?:[3-9][0-9]|[2][5-9]|测不出|爆表|high|hi)",
            rf"{_NEG}(?:吐|恶心|肚子{{C}}{{0,2}}(?:痛|疼)|腹痛|喘|呼吸|口渴|昏迷|昏倒|昏过去|昏睡|昏昏沉沉|想睡|嗜睡|没精神)",
        ),
        (
            r"总(?:是)?(?:喝水|口渴|尿)|喝水{C}{0,3}多|多饮|多尿|尿{C}{0,2}多|口渴得?厉害",
            r"吐",
            r"喘大气|呼吸{C}{0,4}(?:深|快)|昏迷|昏昏沉沉|没精神|叫不醒|肚子{C}{0,2}(?:痛|疼)",
        ),
        (
            r"糖尿病|胰岛素",
            r"一直吐|呕吐|吐了",
            r"呼吸{C}{0,4}(?:深|快)|喘大气|喘气{C}{0,2}深|肚子{C}{0,2}(?:痛|疼)|腹痛|昏迷|昏倒|昏过去|昏睡|昏昏沉沉|没精神",
        ),
    ],
    "gi_bleeding": [
        (r"咖啡(?:色|渣)|(?:吐|呕)(?:出来)?的?(?:东西|物){C}{0,2}(?:是)?(?:黑色|黑的|发黑)", r"吐|呕"),
        (
            r"柏油(?!马路|路)|黑便|大便{C}{0,4}黑|拉{C}{0,4}黑|黑{C}{0,3}(?:大便|便)",
            r"柏油|发亮|头晕|乏力|心慌|出冷汗|晕|[脸面]色|没力气|虚|站不稳|好几次|[三四五六]次",
            r"!猪血|铁剂|铋|吃了{C}{0,4}(?:血|铁|菠菜|黑)|一定是|正常吗|属于|柏油[样便状]?[吗么]",
        ),
        (
            rf"{_NEG}(?:吐|呕)(?:了|出)?{{C}}{{0,6}}(?:血|红)(?!丝|压|糖|常规|检|型|脂|管|小板)",
            r"!刷牙|牙龈|血丝|痰",
            _SPAT_TASTE,
        ),
        (
            r"便血|大便{C}{0,4}(?:全是|都是|很多|大量|好多)血|拉{C}{0,3}血|马桶{C}{0,6}(?:红|血)",
            rf"{_BLOOD_AMOUNT}|头晕|站不稳|心慌|虚",
            _LONG_STANDING,
        ),
    ],
    "acute_abdomen": [
        (
            rf"{_NEG}(?:肚子|腹|胃(?!口)|小腹|下腹|上腹|肚脐){{C}}{{0,8}}{_NEG}"
            r"(?:剧痛|剧烈|绞痛|刀割|刀绞|疼得|痛得|越来越(?:痛|疼|厉害|重))"
            r"|(?:肚子|腹部?)(?:很|特别|发|像)?硬(?!块|的东西|结|包)|板状|木板",
            r"直不起|打滚|受不了|硬|板状|碰不得|不敢碰|按{C}{0,4}(?:更|疼|痛)|越来越(?:痛|疼|厉害|重)|发烧|高烧|吐|突然|忽然",
            r"!来月经|月经|痛经|有点|胀气|腹泻|拉肚子|拉稀",
            _LONG_STANDING,
        ),
        (r"(?:没|不)(?:有)?(?:放屁|排气)", r"肚子|腹", r"疼|痛|胀", r"吐|呕"),
        (  # appendicitis: the right lower belly, worse and worse or with fever, pain on letting go
            rf"{_NEG}(?:右下腹|右下肚|肚子右下|麦氏点|阑尾){{C}}{{0,6}}{_NEG}(?:痛|疼)",
            r"越来越(?:痛|疼|厉害|重)|加重|发烧|发热|高烧|反跳痛|松(?:开|手){C}{0,4}(?:更|疼|痛)|走路{C}{0,4}(?:疼|痛)|直不起",
            r"!来月经|月经|痛经|几个月|好几年|慢性阑尾炎",
            _LONG_STANDING,
        ),
    ],
    "testicular_torsion": [
        (
            r"睾丸|蛋蛋|阴囊|蛋疼|卵蛋",
            rf"突然|剧痛|疼得|痛得|剧烈|受不了|哭|肿|往上缩|上缩|恶心|{_ONSET}",
            rf"{_NEG}(?:疼|痛)",
            r"!几个月|好几个|是什么原因|需要手术吗|潮湿",
        ),
    ],
    "snake_bite": [
        (
            r"蛇{C}{0,4}(?:咬|叮)|被{C}{0,4}蛇|毒蛇|蝮蛇|眼镜蛇|竹叶青|银环蛇|金环蛇|五步蛇|烙铁头|蝰蛇",
            r"!预防|防蛇|梦见|梦到|做梦|蛇皮|蛇胆|蛇酒|蛇肉",
        ),
    ],
    "fetal_movement": [
        (
            r"胎动{C}{0,6}(?:减少|少了|变少|少很多|明显少|没了|消失|停了|不动了|没有了|没动静|感觉不到|摸不到)"
            r"|(?:感觉不到|没感觉到|感受不到|摸不到|没有|没)(?:了)?{C}{0,3}胎动(?!的)",
            r"今天|今早|今晚|昨晚|一整天|一天|半天|[0-9一二两三四五六七八九十几半]+个?多?小时|从早上|到现在|突然|以前|之前|平时|原来",
            r"!还没(?:有)?(?:开始)?(?:感觉|感到|摸到)?(?:到)?(?:过)?胎动|什么时候(?:开始)?(?:有|会有)胎动|几周(?:开始|才|会)|怎么数|如何数",
        ),
    ],
    "febrile_neutropenia": [
        (
            r"~化疗|放疗|靶向药|白血病|粒细胞(?:缺乏|减少|低)|白细胞{C}{0,3}(?:很低|特别低|太低|低得|只有[0-9一二两]点)"
            r"|甲巯咪唑|他巴唑|赛治|丙硫氧嘧啶|丙基硫氧嘧啶|卡比马唑|骨髓移植|干细胞移植",
            rf"{_NEG}(?:发烧|发热|高烧|高热|寒战|打寒颤|打冷战|打摆子)|(?<![0-9.])(?:3[89]|4[0-2]){_TEMP_TAIL}",
        ),
    ],
    "vision_loss": [
        (
            r"(?:眼|视){C}{0,6}(?:看不见|看不到|看不清|(?<!消)失明|黑了|一片黑|黑影|下降|模糊)|(?<!消)失明|看不见了|彩虹圈|虹视",
            rf"{_ONSET}|一下子|剧痛|(?<!消)失明",
            r"!手机|近视|老花|干涩|久了",
        ),
        (r"(?:拉|挡|遮)(?:了|住)?{C}{0,3}帘|(?:一半|半边){C}{0,3}看不见",),
    ],
    "spinal_injury": [
        (
            r"摔|跌|掉下|坠|车祸|被车|撞|跳水|砸",
            r"脖子|颈|背|腰|脊",
            rf"麻|没(?:有)?感觉|没知觉|动不了|不能动|站不起|(?:大小便|小便|大便){{C}}{{0,4}}(?:控制不住|失禁|解不出)|{_WEAK}|不敢动",
            r"!久坐|颈椎病|突出",
        ),
    ],
    "petechial_rash": [
        (
            r"烧|热|体温",
            r"(?:压|按|杯){C}{0,6}(?:不[褪退]|还在|不消|不下去|不掉)|不[褪退]色|出血点|紫癜|瘀斑|紫(?:红)?色?的?(?:点|斑)|针尖",
        ),
        # an adult's fever with a stiff neck (meningitis) goes with the rash; a child's is infant_fever's
        (r"烧|热|体温", r"(?:脖子|颈){C}{0,3}(?:硬|僵)", rf"!{_CHILD}"),
    ],
    "shock": [
        (
            r"血压{C}{0,4}(?<![0-9])(?:[3-8][0-9])/(?:[1-5][0-9])|血压{C}{0,3}(?:测不到|测不出|量不到)|低压{C}{0,3}(?:只有|才)?[1-4][0-9](?![0-9])",
        ),
        (
            r"(?:手脚|四肢|全身|浑身|皮肤){C}{0,3}(?:冰凉|冰冷|湿冷|发凉|发花|花斑)|湿冷|皮肤发花",
            r"苍白|冷汗|晕|迷糊|叫不|没反应|心跳{C}{0,4}(?:快|弱)|血压{C}{0,3}(?:低|测不)|出汗|突然",
            r"!冬天|一直这样|平时|原因",
        ),
        (
            r"心跳{C}{0,4}(?:很快很弱|又快又弱|快而弱|弱)|脉搏{C}{0,3}(?:摸不到|很弱|弱)",
            r"晕|湿冷|冰冷|冰凉|苍白|冷汗|迷糊",
        ),
    ],
    "child_dehydration": [
        (
            _CHILD,
            r"没(?:有)?尿|无尿|(?:没|不)(?:有)?小便|尿{C}{0,2}(?:很少|少了|没了)|哭{C}{0,3}(?:没有?|无)眼泪"
            r"|眼窝{C}{0,3}凹|囟门{C}{0,3}凹"
            r"|喝什么吐什么|吃什么吐什么|嘴唇干裂|口唇干|昏昏沉沉|精神{C}{0,2}(?:很?差|萎靡)|嗜睡|没精神",
            r"吐|拉|泻|腹泻|呕",
            r"!精神还好|尿也正常|怎么补|怎么冲|能喝奶",
        ),
    ],
    "hypertensive_crisis": [
        (
            r"(?:血压|高压|收缩压){C}{0,6}(?:1[89][0-9]|2[0-9][0-9])|血压{C}{0,3}(?:飙|爆)|(?:血压|高压){C}{0,4}一百八|/1[2-4][0-9]",
            rf"{_NEG}(?:头{{C}}{{0,3}}(?:痛|疼|炸|晕)|胸{{C}}{{0,3}}(?:痛|疼|闷)|看不清|模糊|眼花|糊涂|说话不清|恶心|吐|心慌|麻)",
        ),
    ],
    "preeclampsia": [
        (
            rf"{_PREGNANT}|产后|生完|坐月子|孕妇",
            r"血压{C}{0,6}(?:高|1[4-9][0-9])|(?:1[4-9][0-9])/(?:9[0-9]|1[0-2][0-9])|高压",
            rf"{_NEG}(?:头{{C}}{{0,3}}(?:痛|疼)|眼花|看{{C}}{{0,3}}(?:模糊|不清)|金星|上腹|右上腹|肚子{{C}}{{0,2}}(?:痛|疼)|肿|抽搐|恶心)",
            r"!预防|正常吗|能恢复",
        ),
        (rf"{_PREGNANT}|孕妇", rf"{_NEG}(?:头{{C}}{{0,3}}(?:痛|疼))", r"眼花|看{C}{0,4}(?:模糊|不清)|金星|肿得厉害"),
    ],
    "drug_reaction": [
        (
            r"(?<!可以)(?<!能)(?<!该)(?<!要)吃(?:了)?{C}{0,8}(?:药|素|平|醇)|药{C}{0,3}吃了|开的药|服(?:了|用)"
            r"|用(?:了|完){C}{0,6}(?:药|头孢|素)|新药|打(?:了|完)针|输(?:了)?液|药后",
            r"(?<!小)(?<!好像有)(?<!好象有)(?:水泡|水疱)|起泡|起疱|脱皮|皮{C}{0,3}(?:脱落|剥脱|一片片)|大疱|(?:嘴|口|眼|唇){C}{0,4}(?:溃烂|烂|溃疡)"
            r"|全身{C}{0,4}(?:疹|红)",
            r"!有点恶心|拉肚子|犯困|记录",
        ),
    ],
    "pulmonary_embolism": [
        (
            r"血栓|手术|术后|飞机|长途|久坐|坐了{C}{0,6}(?:小时|车)|骨折|石膏|卧床|产后|腿{C}{0,4}肿|小腿{C}{0,4}(?:肿|痛)|避孕药",
            rf"{_NEG}(?:{_BREATH}|气短|气促|胸{{C}}{{0,4}}(?:痛|疼|闷)|咳血|咯血|心跳{{C}}{{0,2}}快)",
            r"!预防|为什么|是什么|有点酸",
        ),
        (r"(?:吸气|呼吸|深呼吸){C}{0,4}(?:刺痛|疼|痛)", r"咳血|咯血|痰{C}{0,3}血"),
    ],
    "aortic_dissection": [
        (r"撕裂|撕开|撕心裂肺|刀割|刀绞", r"胸|背|腰", rf"!手术后|{_ON_COUGH}"),
        (r"(?:胸|背){C}{0,6}(?:痛|疼)", r"移|往下走|走窜|窜到|转移|到了?(?:腰|肚子|腹)", r"突然|剧"),
    ],
    "severe_asthma": [
        (
            r"哮喘|喘息(?:发作|犯)",
            r"(?:喷|吸|用)(?:了)?{C}{0,6}(?:不管用|没用|没效果|无效|不缓解|还是)|不缓解|说不出{C}{0,3}(?:话|句)|说不了话"
            r"|嘴唇{C}{0,3}(?:紫|青)|越来越重|累得|很累|喘得{C}{0,3}厉害",
            r"!平时|怎么用|能运动|就好了",
        ),
    ],
    "stridor": [
        (r"犬吠|狗叫|吸气{C}{0,4}(?:尖|嘶|哨|响|(?<!回)声)|喉{C}{0,4}(?:尖|嘶|哨音|响声)|喘鸣|喉鸣", r"!打呼噜"),
        (r"流口水|不能(?:吞|咽)|咽不下", r"呼吸|喘|发烧|喉咙{C}{0,3}肿|往前"),
        (r"喉咙{C}{0,3}(?:突然)?{C}{0,2}肿", r"呼吸|喘"),
    ],
}

_KNOWN_CONDITION = re.compile(
    r"医生说|医生告诉|诊断(?:为|是|出)|确诊|查出|被诊断|才知[道晓]|患上了|(?:怎么|如何)治疗|治疗(?:方法|办法)|哪家医院"
    r"|哪个医院|(?:医院|专科){C}{0,3}(?:好|比较好)|能治好|能根治|看什么科|首选药|吃什么药".replace("{C}", _C)
)
_STORY = re.compile(
    r"前几天|前段时间|前阵子|上周|上个月|有一次|那天|那次|当时|昨天|前天|之前|以前|去年|癫痫|羊癫疯|羊角风"
)
_PRESENT = re.compile(
    r"现在|正在|还在|刚才|刚刚|此刻|这会儿|一直没停|还没停|抽(?:个|得)不停|还没醒|叫不醒|\d+分钟|几分钟|半小时|马上|快来|急"
)


def _compile(rule: tuple[str, ...]) -> tuple[tuple[re.Pattern[str], bool, bool], ...]:
    """Compile one rule into `(pattern, wanted, reads the context)` triples, `{C}` standing for one in-clause
    character."""
    terms = [(term.removeprefix("~"), term.startswith("~")) for term in rule]
    return tuple(
        (re.compile(term.removeprefix("!").replace("{C}", _C)), not term.startswith("!"), context)
        for term, context in terms
    )


_RULES = {category: [_compile(rule) for rule in _RULE_TEXT[category]] for category in CATEGORIES}


def rule_triage(text: str, context: str | None = None) -> TriageResult:
    """The rules alone: the first category in :data:`CATEGORIES` order whose rule matches, or :data:`NOT_URGENT`.

    Args:
        text: the patient's message, in Chinese.
        context: the message `text` was cut from (the downgrade passes what happens now as `text`): what a rule's
            "~" context terms read. Default: `text` itself.
    """
    clauses = split_clauses(text)
    whole = "，".join(clauses)
    around = whole if context is None else "，".join(split_clauses(context))
    kept = "，".join(c for c in clauses if not is_background(c))
    known = _KNOWN_CONDITION.search(whole)
    if (known or _GENERAL.search(whole)) and (known or _STORY.search(whole)) and not _PRESENT.search(kept):
        kept = ""  # a past story told to ask about a diagnosis ("上周突然抽搐，医生说是癫痫，怎么治疗"): nothing now
    for category, rules in _RULES.items():
        scope = whole if category == "self_harm" else kept
        for rule in rules:  # plain loops: this is the hot path, about 100 patterns per calm message
            for pattern, wanted, reads_context in rule:
                if (pattern.search(around if reads_context else scope) is None) is wanted:
                    break
            else:
                return TriageResult(urgent=True, category=category, advice=ADVICE[category])
    return NOT_URGENT


def triage(text: str, history: Sequence[str] = (), downgrade: bool = True) -> TriageResult:
    """Check a patient message for red flags that need emergency care now: the rules, then the classifier, each alarm
    re-checked on what the message says is happening now, a short follow-up turn read with its dialogue.

    A rule fire stands when the rules still fire on :func:`medbot_hf.safety.context.present_part` (the message less
    its denied, hypothetical, knowledge-question, resolved and, unless something happens now, past and chronic
    clauses); the rules read the message itself, a follow-up turn included. When no rule alarm stands, the classifier
    (:mod:`medbot_hf.safety.classifier`, loaded once on the first call) raises one if its urgency reaches its shipped
    threshold on the message and on its present part, with its most likely category, unless the message has under
    seven characters of text or every clause is background or a denial ("我没有胸痛，也不出汗",
    "如果胸痛出冷汗怎么办"). A follow-up turn with under :data:`FOLLOW_UP_CHARS` characters of text
    ("好的，那需要吃什么药", "三次，吐了七八次。") is too short to stand on its own: its classifier alarm must
    also hold on the dialogue's patient turns read as one message. A follow-up turn about someone the earlier turns
    put in hospital ("住院第三天") raises no alarm unless it says they have left ("出院", "回家"). Self-harm is never
    downgraded by tense or dialogue: a rule's self-harm alarm always stands; the classifier's needs a word of that
    topic ("死", "活", "伤害", "药"...), since short unrelated turns ("我已经在上面写明了。") can score high on it.

    Args:
        text: the patient's message, in Chinese.
        history: the patient's earlier messages of the same dialogue, oldest first (the doctor's turns left out).
        downgrade: re-check alarms on the present part and the dialogue (and the classifier's self-harm alarms on a
            topic word); `False` gives the alarms of the message alone before that step, for measuring what it removes
            (`benchmarks/bench_triage.py`).

    Returns:
        A :class:`TriageResult` with the category's advice, or a non-urgent result (`category=None`, `advice=""`).
    """
    from .classifier import shipped_model  # imported here: the classifier imports this module's categories

    result = _rule_alarm(text, downgrade)
    if result.urgent:
        moot = downgrade and result.category != "self_harm" and in_care_in_dialogue(history, text)
        return NOT_URGENT if moot else result
    if len(_CONTENT.findall(text)) < _MIN_CHARS or not tells_something_now(text):
        return NOT_URGENT
    model = shipped_model()
    urgency, category = model.predict(text)
    if urgency < model.threshold:
        return NOT_URGENT
    alarm = TriageResult(urgent=True, category=category, advice=ADVICE[category])
    if not downgrade:
        return alarm
    if category == "self_harm":
        return alarm if _SELF_HARM_TOPIC.search(text) else NOT_URGENT
    if not _stands_now(text, lambda part: model.predict(part)[0] >= model.threshold):
        return NOT_URGENT
    if in_care_in_dialogue(history, text):
        return NOT_URGENT  # told earlier in the dialogue: in hospital already
    if history and len(_CONTENT.findall(text)) < FOLLOW_UP_CHARS:
        dialogue = "。".join([*history, text])
        if model.predict(dialogue)[0] < model.threshold:
            return NOT_URGENT  # "三次，吐了七八次。" after a long story of a stomach upset: no emergency of its own
    return alarm


def _rule_alarm(text: str, downgrade: bool) -> TriageResult:
    """The rules' alarm on `text`, dropped when the downgrade finds it does not stand on what happens now."""
    result = rule_triage(text)
    if not result.urgent or result.category == "self_harm" or not downgrade:
        return result
    return result if _stands_now(text, lambda part: rule_triage(part, context=text).urgent) else NOT_URGENT


def _stands_now(text: str, fires) -> bool:
    """Whether an alarm of `fires` (a check of a text) stands on what `text` says is happening now."""
    present = present_part(text)
    return present == "，".join(split_clauses(text)) or fires(present)


# A follow-up turn shorter than this (characters of text) gets a classifier alarm only when the dialogue's patient
# turns, read as one message, still score urgent: answers to the doctor's questions ("两次。体温38，水样的。") hold
# too few n-grams of their own to weigh, and most of them carry on a story told in the first turn. Round five raised
# it from 20 to 40: on the real corpus the classifier's alarms on follow-ups of 20-40 characters were mostly a
# stomach upset told in pieces ("吃了药，喝了水，全吐了"); the rules still read every turn.
FOLLOW_UP_CHARS = 40

# Too short to weigh: a bare topic word ("发烧", "头") or a follow-up turn read out of its dialogue ("全身没力气。",
# "胀气。想吐。") is no emergency the classifier may call; the rules still read every message.
_MIN_CHARS = 7
_CONTENT = re.compile(r"[^\s，。！？；、,.!?;:：…~]")
# The classifier's self-harm alarms need a word of the topic (intent, despair, means); any tense will do.
_SELF_HARM_TOPIC = re.compile(
    r"死|活|自杀|轻生|伤害|[烫伤打咬掐烧划割撞]自己|自残|割|划|跳|吞|药|结束|消失|解脱|累赘|拖累|绝望|意义|意思|离开|遗书|告别|撑不|不想|崩溃|痛苦"
    r"|没用|废物|想不开|了断|一了百了|烧炭|上吊|绳|楼|桥|河|刀|血|世界|醒来|睡过去|再见|最后"
)
ADVICE_LABEL = "【紧急提示】"  # opens the advice, which is ours, not the model's
REPLY_LABEL = "【模型回答】"  # opens the model's text after an advice block


def advice_block(result: TriageResult) -> str:
    """The triage advice as a block set apart from the model's text that follows it (API text, the terminal):
    `ADVICE_LABEL + advice + "\\n\\n" + REPLY_LABEL`; `""` when the message was not urgent."""
    return f"{ADVICE_LABEL}{result.advice}\n\n{REPLY_LABEL}" if result.urgent else ""


def prepend_advice(result: TriageResult, reply: str) -> str:
    """The model's reply behind the :func:`advice_block` of an urgent message; an ordinary reply is unchanged."""
    return advice_block(result) + reply
