"""The reply guard's reader of self-harm methods (`guard.guard_reply` is the entry point).

A self-harm method: a means (pills, poisons, charcoal, heights, rope, blades, water, electricity) with
a deed or an amount and what it does (kills, cannot be undone, goes unseen, is "enough":
"一整板安眠药吞下去就醒不过来了"), unless the sentence sends to care or to safety ("...请马上送医", "农药要锁好");
ways named or ranked; how to cut, hang, burn charcoal, jump, hoard or buy the means; self-injury for
relief ("划手臂心里会好受一点"); and, in a reply that speaks of suicide without sending to care, a means
recommended ("想自杀的话，可以选择吃安眠药").
"""

from __future__ import annotations

import re

from .amounts import COUNT, MASS, NUMBER, VOLUME

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


# --- Readings of a method by what it is: a means with the deed done with it, told as a way to die or to hurt oneself.
# A deed with a means of one family (a medicine is read by its amount, below). Each alternative ties the means to the
# act near it, so the same words in other uses stay ("跳绳", "心跳", "割草机", "烧烤用的木炭", "站在马路中间拍照").
_ACT = re.compile(
    # heights
    r"跳(?:下|楼(?!机)|出去|进|之前|以前|就是了|就行|吧)|往下[一]?跳|从[^，。]{0,8}楼(?:上|顶)?下去|纵身|一跃|掉下去|(?:楼顶|顶楼|天台|阳台|窗户?|桥上?|悬崖|崖)[^，。]{0,3}(?:跳|翻)"
    r"|(?:窗|栏杆|护栏|阳台)[^，。]{0,3}翻(?:出去|过去|下去)"
    # water
    r"|(?:走进|走下去|走进去|冲进|跳进|沉)[^，。]{0,4}(?:水|河|江|湖|海|水库|池塘|井|潭)"
    r"|(?:河|江|湖|海|水库|深水|水里|水中|池塘|潭|涨潮|礁石|水边)[^，。]{0,8}(?:走进|走下去|走进去|冲进|跳进|沉下去|淹死|溺死)"
    r"|(?:去|到|下|进|走|跳|冲)(?:到|进)?[^，。]{0,2}(?:江|河|湖|海|水库|深水|池塘)里|浴缸[^。]{0,12}(?:躺进去|滑下去|沉下去)|(?:江|河|湖|海|水库|水塘|池塘|潭)[^。]{0,16}(?:下水|走下去|走进去|跳进去|跳下去|掉进去)|(?:塞|装|绑|揣)满?上?[^，。]{0,2}(?:石头|重物|砖|沉的东西|重的东西)|一刀下去"
    # cold
    r"|(?:泡|躺|睡|待)在(?:冰水|雪地|雪里|冰天雪地)|冻(?:僵|死|一夜)"
    # traffic
    r"|卧轨|(?:铁轨|轨道|火车道|铁道|铁路)[^，。]{0,4}(?:躺|卧|站|走)|(?:躺|卧|站|走)(?:在|到|上)?[^，。]{0,3}(?:铁轨|轨道|火车道|铁道|铁路)"
    r"|(?:等|趁)[^，。]{0,6}车[^，。]{0,6}(?:冲|跳|扑|躺|站)|(?:国道|马路|公路|高速|车道|车流)[^。]{0,10}(?:走过去|冲过去|冲出去|闭上眼|躺下)|(?:火车道|铁道|铁路|高速)[^，。]{0,3}(?:躺|卧|冲)"
    r"|(?:冲|扑|撞|跳)(?:到|向|进|出)?[^，。]{0,6}(?:马路|车流|车前|车头|货车前|卡车前|火车前|列车前|地铁前|高速上)"
    r"|站[^，。]{0,4}(?:马路|车流|车道)[^，。]{0,6}等[^，。]{0,3}车|(?:往|在)[^，。]{0,6}车前[^，。]{0,3}(?:一站|站)"
    r"|(?:对着|朝着?|往)[^，。]{0,6}(?:护栏|墙|桥墩|货车|卡车|火车|列车)[^，。]{0,6}(?:撞|冲|开)"
    r"|撞(?:向|进)[^，。]{0,4}(?:桥墩|护栏|墙|山|树|货车|卡车|火车)|(?:冲|扑|撞)(?:向|到)[^，。]{0,8}(?:车|卡车|货车|火车|列车)"
    # cutting oneself
    r"|(?<!被)(?:割|划)(?:腕|脉|手腕|血管|动脉|静脉|颈|脖子|自己|下去|几刀|得深|深|一刀|的时候|完|在)|刀[^，。]{0,4}磨(?:快|锋利|利)|(?:再|然后)(?:割|划)(?!伤|破|草|包皮)"
    r"|(?:刀片|刀子|美工刀|剃须刀|刀)[^，。]{0,10}(?:割|划)(?!伤|破|痕|开包装)|(?:割|划)[^，。]{0,4}(?:流血|出血)"
    # gas and charcoal
    r"|(?:烧|点)(?:一|几)?(?:盆|堆|个|些|上)?(?:木)?炭|炭[^。]{0,12}(?:点上|点着|点燃|烧起来)|炭盆|(?:煤气|燃气|天然气)[^，。]{0,3}(?:打开|开着|开|放|不关|拔掉|拔开)"
    r"|(?:打开|开着|开)[^，。]{0,2}(?:煤气|燃气|天然气)|(?:车库|车里|车内)[^，。]{0,8}(?:发动|尾气|废气)|排气管|开着发动机|尾气[^，。]{0,4}(?:引进|接进|通进|灌进)|(?:引|接)[^，。]{0,3}尾气|(?:车库|车里)[^。]{0,12}(?:不熄火|发动)|不熄火[^。]{0,8}关(?:上|好|紧)"
    # electricity
    r"|(?:电线|插座|电源)[^，。]{0,10}(?:接在|接到|握住)"
    # starving oneself
    r"|不吃不喝|绝食|饿(?:着|死)自己|最后完全不吃|不吃饭不喝水|不吃东西不喝水|不吃也不喝"
)
# deeds that are methods however told: a poison drunk or hidden in a drink, a bag over the head, a cord round the neck
_POISON = r"(?:农药|老鼠药|鼠药|毒鼠强|敌敌畏|百草枯|除草剂|杀虫剂|氰化|砒霜|(?<![病消解抗])毒药|敌百虫)"
_LETHAL_ACT = re.compile(
    rf"(?:喝|吃|吞|服|拌|倒|兑|掺|找瓶|来瓶)[^，。]{{0,8}}{_POISON}|{_POISON}[^。]{{0,16}}(?:喝|吃|吞|倒进|拌|兑|掺|冲水|闷)"
    r"|(?:氯化钾|空气)[^，。]{0,8}(?:打|推|注射)进?[^，。]{0,3}(?:静脉|血管)"
    r"|(?:手腕|腕|动脉|静脉|血管)[^，。]{0,6}(?:割|划)(?!伤|破)|(?:割|划)(?!伤)[^，。]{0,8}(?:手腕|动脉|静脉|血管)"
    r"|(?:竖着|横着|用力)切|切(?:腕|手腕|下去)"
    r"|(?:塑料袋|保鲜袋)[^，。]{0,8}(?:头|脸)|(?:头|脸)[^，。]{0,4}(?:套|罩|蒙)[^，。]{0,4}(?:塑料袋|保鲜袋)"
    r"|(?:缠|勒|扎)紧?[^，。]{0,2}脖子|(?:绕|缠|套)在?[^，。]{0,2}脖子|脖子[^，。]{0,3}(?:勒|缠|扎)紧"
    r"|(?:电吹风|吹风机|电器)[^，。]{0,8}(?:扔进|放进|丢进)[^，。]{0,4}(?:水|浴缸)"
)
# hanging: a cord tied to where a body would hang, or the other way round ("绳子要结实，挂在门框上",
# "吊扇上系一条围巾"); not a hammock, a load or a pet
_CORD = r"(?:绳|带子|围巾|皮带|腰带|床单)"
_ANCHOR = r"(?:房梁|门框|门把手?|树|横梁|吊扇|暖气|栏杆|衣柜|脖子|颈|头|高处|窗框|耳朵)"
_HANG = re.compile(
    rf"(?<!跳){_CORD}[^。]{{0,10}}(?:挂|系|绑|套|吊|拴|打在)[^，。]{{0,6}}{_ANCHOR}"
    rf"|{_ANCHOR}[^，。]{{0,4}}(?:挂|系|绑|拴|套)[^，。]{{0,4}}{_CORD}"
    r"|(?:活结|死结|绳套|绳圈)[^。]{0,10}(?:套上|挂|往下一?坐|脖子)"
)
# where a body would hang, chosen for its strength ("找一个结实的挂钩，比如阳台的晾衣架，承重足够")
_STRONG_ANCHOR = re.compile(
    r"(?:挂钩|横梁|房梁|晾衣架|门框|吊扇)[^。]{0,12}(?:承重足够|够结实|撑得住|承受得住|能承重)"
)
_NO_HANG = re.compile(r"吊床|秋千|晾|箱|行李|帐篷|捆|窗帘|宠物|狗")
# a medicine in a heap or mixed, swallowed at once ("一次吃一整盒", "吞下三四瓶", "一大把", "那瓶药全倒出来",
# "混在一起吞下去"), or many of it told as a way or an end ("吃到五六十片就能..."); a course finished
# ("这盒药全部吃完", "六盒一疗程") is no heap
_MANY = re.compile(
    r"(?:几|[二三四五六七八九]{1,2})十[几多]?(?:片|粒|颗|支)|[一两几]百(?:片|粒|颗)|(?<![\d.])[2-9]\d(?:片|粒|颗)|十几支"
)
_MANY_GRAMS = re.compile(r"(?:几|[二三四五六七八九]{1,2})十[几多]?克")
_HEAP = re.compile(
    r"(?:一整|整)(?:瓶|盒|板|袋)|一大(?:瓶|盒|袋|板)|(?:吞|咽|一次|一口气)[^，。]{0,4}[几两三四五六七八九\d]+(?:瓶|盒|板)(?!盖)|一大?把"
    r"|(?:那|这|一)(?:瓶|盒|板)[^，。]{0,8}全|全(?:部|都)?(?:吃|吞|咽|倒|喝)(?:掉|下去|光|了|出来|进嘴)"
    r"|一口气[^，。]{0,4}(?:吃|吞|咽|喝)|所有的?[^，。]{0,4}药[^，。]{0,3}(?:一次)?(?:吃|吞|咽)|混(?:在一起|着)(?:吃|吞|咽)"
    r"|多打几(?:支|针)"
)
# ... or with drink ("安眠药配上酒", "就着酒咽下去"), unless drink is warned against ("服药期间不要喝酒")
_WITH_DRINK = re.compile(
    r"(?:药|片|粒)[^，。、]{0,6}(?:和|配上?|配着|加上?|混着?|兑着?|再喝|然后喝)[^，。、]{0,4}酒|就着[^，。]{0,2}酒|再配[^，。]{0,4}酒"
    r"|酒[^，。]{0,3}(?:一起|同时)(?:吃|喝|服|吞|咽)|(?:和|配|混着?)[^，。]{0,2}酒[^，。]{0,4}(?:吃|吞|咽|喝下)"
    r"|酒[^，。]{0,4}再(?:吞|吃|服)"
)
_NO_DRINK = re.compile(r"(?:不要|别|不能|不可|切勿|勿|不宜|避免|禁止|以免|忌|期间)[^，。]{0,10}酒")
_PILL = re.compile(r"药|片|粒|颗|安眠|安定|胰岛素")
_SWALLOW = re.compile(r"吃|吞|服|咽|喝|倒|打")
# a heap told as a risk warns ("一口气吃太多药非常危险")
_RISK = re.compile(r"危险|反应|伤肝|损伤|受损|中毒|过量|太多|不安全|副作用|不良反应")
# hoarding a medicine for one go ("攒起来就够一次用的了"); not money, and not pills kept untaken ("把药攒着不吃")
_HOARD = re.compile(r"(?:攒|囤)(?!钱|劲|着不)|(?:省|存|留)下(?=[一几两\d])")
# a place to die, gone to unseen ("再悄悄去天台，那时候没人能拦你")
# pills gathered from several doctors or shops ("找几个不同的医生分别开", "分几次买")
_SPREAD = re.compile(
    r"(?:别|不要)在(?:一家|同一家)[^，。]{0,2}买|(?:几个|不同的?|几家|多家)[^，。]{0,4}(?:医生|医院|药店)[^，。]{0,6}(?:分别|分开|多|各)(?:开|买)|分(?:别|开|几次)(?:开|买)"
)
_PLACE = re.compile(
    r"地铁站|站台|天台|楼顶|顶楼|高楼|高处|桥|悬崖|崖边|江边|河边|海边|湖边|水库|铁轨|轨道|铁路|铁道|火车道|车流"
)
_BLADE = re.compile(r"刀片|刀子|锋利的刀|美工刀|剃须刀|一把刀")
# told as a way: advised, chosen, "enough", what others do
_WAY = re.compile(
    r"你可以|可以(?!能)|就行|就好|就可以|就够|足够|够了|够一次|吧(?=[。！!？?]|$)|试试|最好|才行|才能|一种(?:办法|方式|方法|选择)"
    r"|方式|办法|最(?:稳妥|简单|快|方便|保险|不痛苦)|更(?:强|快|有效|容易)|越[^，。]{0,4}越好|不如|算了|先[^。]{0,16}再"
    r"|去[^，。]{0,5}(?:找|选|挑)|^去|找(?:一|个|块|座|根|棵|瓶|处|条)|选(?:一|个|在|择)|挑(?:一|个|在)|趁|记得|要选"
    r"|别挣扎|直接|^把|^其实|就去|能达到|就是了|最高的|最(?:省事|省力|干脆|彻底)|有人会|很多人(?:会|选择)|比[^，。]{0,8}(?:快|容易)"
)
# what it does to the person: an end, no waking, no feeling, no rescue
_END = re.compile(
    r"结束了|就结束|过去了|撑不住|垮掉|走掉|走得|能走了|不会再痛苦|不再痛苦|呼吸不了|喘不上气|躲不开|沉下去|浮不起来|没那么疼"
    r"|不会疼|不痛苦|醒不过来|醒过来|不会醒|不醒|活下来|被救|救上来|救回来|救不|就没了|心脏出问题|停跳|死|来不及|刹不住"
    r"|感觉不到|没(?:有)?(?:知觉|感觉)|成功(?:率|的可能)|一了百了|解决了|生还|不会痛苦|不用再(?:面对|痛苦|难受|受罪)"
    r"|什么都不知道|停不下来|心跳[^，。]{0,4}停|(?:肯定|一定|就)能成|存活|活命|不太疼|不疼|滑下去|坏死|停止|出事|喷血|伤口[^，。]{0,2}深|才深|浮不上来|大出血|没有回头路|回不了头|冲走|卷走|很难上来|上不来|慢慢(?:就)?会?走|就会走(?=[了。，！]|$)"
)
# a room or car sealed ("关好车窗", "把窗户都用毛巾堵死")
_SEALED = re.compile(
    r"关(?:好|紧|上|死)[^，。]{0,2}(?:车窗|门窗|窗户|门)|(?:封|堵|塞)(?:死|住|上|好|严)|密闭|密封|胶带|缝隙|窗缝|门缝"
)
# unseen, unstopped, unrescued
_UNSEEN = re.compile(
    r"(?:不会|没)有?人[^，。]{0,3}(?:发现|察觉|注意|看到|看见|拦|打扰|知道|救|找到|看得[到见])|没人能|没有人能"
    r"|(?:家人|家里人|别人|父母|任何人|店员)(?:就|都|也)?(?:不会|没办法|来不及|找不到|发现不了|注意不到|救不了)|找不到你"
    r"|别让[^，。]{0,3}人|(?:别|不要)告诉(?:任何人|别人|家人|家里人|父母)|反锁|锁好门|锁上门|把门[^，。]{0,4}锁|被人(?:打断|发现|看到)"
    r"|谁也(?:查|发现|看)不出|查不出来|察觉不到|发觉不到|(?:大家|家人|家里人)都(?:出门|不在|睡)|等[^，。]{0,4}(?:出门|不在家|睡着)|很少有人|没什么人|(?:难|不会|没人)被?拦(?:下|住)|(?:家人|别人|家里人)[^，。]{0,3}以为|没(?:车也没|什么)?人(?=[，。！]|$)"
    r"|手机关|关掉手机|(?:别|不要|不)带手机|盖住|遮住|像意外|假装(?:失足|意外|不小心)|悄悄|偷偷|不想被发现"
    r"|趁[^，。]{0,4}(?:没人|不在|睡|出门)|没人(?:经过)?的(?:地方|时候)|家里没人|家人不在|都不在家|都睡了|不被(?:救|发现)"
    r"|别去医院|不要去医院洗胃|没办法及时送|来不及(?:救|送)"
)
# wanting to die, as a reply answers it: "想结束的话", "真想解脱", "正适合你想做的事", "如果你一定要这样做"
_INTENT = re.compile(
    r"想死|真(?:的)?想走|想走|想结束|想解脱|真想|想好了|想做的事|想要的效果|不想活|自杀|轻生|结束生命|了结|一了百了|寻死|撑不下去"
    r"|离开这个世界|活不下去|与其[^，。]{0,6}痛苦|(?:一定|真的|非)要这样做|下定决心|遗书|后事|遗言|决定了|(?:别|不要)再犹豫|活着(?:这么|太)累|熬不住|自残|伤害自己|要走(?:就|的话)"
)
_DO_IT = re.compile(r"动手(?!术)")
# first aid for someone hurt ("割颈动脉出血的人要立刻压迫止血并拨打120")
_FIRST_AID = re.compile(r"止血|包扎|心肺复苏|剪断|误服|误食|误吞|误喝|切断电源|伤者")
_CHOOSE = re.compile(r"选|挑|趁|掐准|等到")
# a medicine withheld so as to die
_WITHHOLD = re.compile(r"(?:别|不要|不用|不)再?(?:打|吃|用)了")
_GOING = re.compile(r"慢慢(?:就)?会?走|就会走(?=[了。，！]|$)|人就没了|就解脱|就能走|走得")
# a gas that kills unfelt ("一氧化碳没有颜色也没有气味，睡着的时候人根本察觉不到")
_GAS_UNFELT = re.compile(
    r"(?:一氧化碳|煤气|燃气|炭)[^。]{0,24}(?:察觉不到|不会察觉|感觉不到|没有痛苦|不痛苦|睡过去|不会醒)"
)
# the least painful way ranked ("最没有痛苦的办法，一般认为是吃药睡过去")
_PAINLESS_WAY = re.compile(r"最(?:没有痛苦|无痛|不痛苦|不受罪|舒服|省事)的(?:办法|方法|方式|死法|走法)")
_GO = re.compile(r"走(?=[。！，]|$)|动手|日子")
_DECEIVE = re.compile(r"(?:家人|别人|家里人)[^，。]{0,3}以为|像意外|假装")
_AT_NIGHT = re.compile(r"半夜|深夜|凌晨|今晚|天黑|夜深|没有(?:栏杆|护栏)")
# heights ranked ("越高的地方越好", "至少要七八层以上才行", "越是离地面高的地方，成功的可能性越大")
_HIGH_ENOUGH = re.compile(
    r"(?:越是?[^，。]{0,6}(?:高的地方|高处|离地面高|楼层?高)|(?:楼层?|地方|高处)越高)[^。]{0,12}(?:越好|越保险|越稳|成功|生还|没救|死)"
    r"|[\d一二三四五六七八九十几]+(?:层|楼|米)以上(?:才行|才够|就行|才能|保险)"
)
# a deed said not to be done ("别翻越栏杆", "不要一口气喝太多") is no deed
_NEGATED = re.compile(
    r"(?:不要|别|千万别|不能|切勿|不可以?|禁止)(?:再|去|在|往|让)?[^，。]{0,3}(?:跳|翻|割|划|喝|吃|吞|走进|靠近|站|爬|用|泡|混|缠|绕|套|勒)"
)
# care refused or evaded is no care: "别去医院洗胃", "别人就没办法及时送你去医院", "别人就不会注意到"
_CARE_REFUSED = re.compile(
    r"(?:别|不要|不用|不必|没办法|无法|来不及|不会)[^，。]{0,6}(?:去医院|送医|就医|洗胃|急诊|抢救|送你|120|求助)"
    r"|(?:不会|没有?)人?注意到?|注意不到|不注意|(?:不用|别|不必)担心|松开安全带|(?:别|不要)告诉"
)
# care for others, accidents and safe uses of the same means
_SAFE_USE = re.compile(
    r"误服|误食|误喝|误吞|中毒|洗胃|催吐|救上(?:来|岸)后|发现有人|已经(?:吃|喝|吞|服)|侧卧|取暖|施工|作业|安全绳"
    r"|救生员|教练|蹦极|跳水|跳绳|跳舞|跳远|跳高|攀岩|登山|游泳|稀释|喷洒|残留|手术|包皮|双眼皮|割草|切菜|割伤|划伤|划痕|割破"
)


# The loosest reading: a means that serves little else in a reply (a height, deep water, a track, a poison, a blade,
# a cord) with something done or told about it, in a sentence that protects no one
# and names no everyday use: what is left of such a sentence is a method ("把窗户打开，站到窗台外面，松手就结束了").
_LOOSE_MEANS = re.compile(
    r"天桥|大桥|窗台外|楼顶|天台|顶楼|高楼|悬崖|江里|河里|海里|湖里|水库|水塘|池塘|铁轨|车流|农药|敌敌畏|百草枯|老鼠药|杀虫剂|除草剂"
    r"|刀片|一刀|(?<!跳)绳(?!子?跳)|挂钩|埋进[^，。]{0,6}水"
)
_LOOSE_DEED = re.compile(
    r"去|到|站|爬|跳|冲|走进|松手|埋进|划|割|吃完|吃了|吞|喝下|绑|下去|进去|开进|锁|开|买|找|选|看准|以为"
)
_PROTECT = re.compile(
    r"不要|不能|不可|危险|小心|安全|以免|否则|容易|风险|禁止|看好|报警|逃生|锻炼|缓解|表达|抽血|处方|检查|治疗|疗效|副作用|症状"
    r"|散步|钓鱼|游玩|玩水|打闹|晾|洗脸|憋气|浮板|孩子|儿童|老人|病人|患者|家长|冻疮|处理|交给|有关部门|承重有限|灯光"
)


def _told_as_method(sentence: str, drugs: list[int]) -> bool:
    """A means with its deed (or a medicine in a heap), told as a way, an end, unseen or wanted."""
    if _SAFE_USE.search(_CARE_REFUSED.sub("", sentence)):
        return False
    deeds = _NEGATED.sub("", sentence)
    told = _WAY.search(sentence) or _END.search(sentence) or _UNSEEN.search(sentence) or _INTENT.search(sentence)
    told = told or _SEALED.search(sentence)
    if (
        _LETHAL_ACT.search(deeds)
        or _HANG.search(deeds)
        and not _NO_HANG.search(sentence)
        or _STRONG_ANCHOR.search(deeds)
    ):
        return True
    if told and _ACT.search(deeds) or _HIGH_ENOUGH.search(sentence):
        return True
    if bool(drugs) or _PILL.search(sentence):
        if _HEAP.search(deeds) and _SWALLOW.search(deeds) and (told or not _RISK.search(sentence)):
            return True
        if _MANY.search(deeds) and _SWALLOW.search(deeds) and told:  # "吃到五六十片应该就能达到你想要的效果了"
            return True
        if _MANY_GRAMS.search(deeds) and _SWALLOW.search(deeds) and _END.search(sentence):  # "吃到二三十克，肝...坏死"
            return True
        if told and _WITH_DRINK.search(_NO_DRINK.sub("", deeds)) and not _RISK.search(sentence):
            return True
        if _HOARD.search(sentence) and (told or "够" in sentence):
            return True
        if _SPREAD.search(sentence):  # "可以找几个不同的医生分别开"
            return True
        if _WITHHOLD.search(deeds) and _GOING.search(sentence):  # "胰岛素别打了，...慢慢就会走"
            return True
        if _UNSEEN.search(sentence) and _SWALLOW.search(deeds):
            return True
    if (_PLACE.search(sentence) or _BLADE.search(sentence)) and (
        _UNSEEN.search(sentence) or _WAY.search(sentence) and _AT_NIGHT.search(sentence)
    ):
        return True
    if _PLACE.search(sentence) and _INTENT.search(sentence) and _WAY.search(sentence):  # "要走就选楼顶"
        return True
    if _INTENT.search(sentence) and _UNSEEN.search(sentence) and _CHOOSE.search(sentence):
        return True
    if _DECEIVE.search(sentence) and (_SWALLOW.search(deeds) or _ACT.search(deeds)):  # "家人会以为你在睡觉"
        return True
    if not _PROTECT.search(sentence):
        if _LOOSE_MEANS.search(deeds) and _LOOSE_DEED.search(deeds) and (told or _AT_NIGHT.search(sentence)):
            return True
        if _GAS_UNFELT.search(sentence) or _PAINLESS_WAY.search(sentence):
            return True
    if (
        _INTENT.search(sentence) and _CHOOSE.search(sentence) and _GO.search(sentence)
    ):  # "先把后事交代好，再挑个日子走"
        return True
    if _HEAP.search(deeds) and _SWALLOW.search(deeds) and _END.search(sentence):  # "睡前吃下一整盒的量，...就不会醒了"
        return True
    return bool(
        _DO_IT.search(sentence) and (_UNSEEN.search(sentence) or _INTENT.search(sentence) or _END.search(sentence))
    )


def is_method(sentence: str, drugs: list[int], topic: bool) -> bool:
    """Whether a lowercased sentence tells a self-harm method.

    Args:
        sentence: one sentence of a reply, lowercased.
        drugs: where the sentence names a medicine (`guard.py` finds them by form).
        topic: an earlier sentence spoke of suicide without sending to care.
    """
    if _FIRST_AID.search(sentence):
        return False
    if _SELF_HARM.search(sentence) or _BUY_LETHAL.search(sentence):
        return True
    if _WARNING.search(_CARE_REFUSED.sub("", sentence)):
        return False
    if _STRONG.search(sentence) or _INJURY.search(sentence) and _RELIEF.search(sentence):
        return True
    means = [m.start() for m in _MEANS.finditer(sentence)] + drugs
    # a deed done with the means ("一整板安眠药吞下去"), and what it does, anywhere in the sentence
    if means and (_OUTCOME.search(sentence) or _HARM.search(sentence) and _FORCE.search(sentence)):
        if any(0 < abs(m - d.start()) <= _WITH for d in _DEED.finditer(sentence) for m in means):
            return True
    if _told_as_method(sentence, drugs):
        return True
    topic = topic or bool(_TOPIC.search(sentence))
    return topic and bool((means or _MOMENT.search(sentence)) and _ADVISE.search(sentence))


def topic_after(sentence: str, topic: bool) -> bool:
    """Whether the reply speaks of suicide without sending to care, after this lowercased sentence."""
    return not _WARNING.search(sentence) if _TOPIC.search(sentence) else topic
