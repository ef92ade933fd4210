"""The self-harm reader's readings by what a method is: a means with the deed done with it, told as a way to die or to
hurt oneself (`self_harm.py` has them in words, and `is_method`, which uses them). Also :data:`METHOD_VOCABULARY`,
the gate of the classifier backing up these readings (:mod:`medbot_hf.safety.guard_classifier`).
"""

from __future__ import annotations

import re

# The classifier backstop's gate: a sentence the readings below leave alone goes to the classifier only when it names a
# means of some family (a medicine, a poison, a height, water, traffic, a blade, a cord, gas or charcoal, cold,
# electricity, a bag over the head, starving) or an end, a death or a harm. Broader than any one reading on purpose:
# the classifier decides, the gate keeps it off sentences that could be no method at all. A sentence of fewer than
# BACKSTOP_MIN_CHARS characters (punctuation aside: "几楼。", "马上就要结束了。") says too little to be read as one.
BACKSTOP_MIN_CHARS = 8
METHOD_VOCABULARY = re.compile(
    r"药|片|粒|颗|瓶|盒|针|安眠|安定|唑仑|西泮|胰岛素|酒|农药|毒|除草|杀虫|老鼠|氰化|氯化钾|百草枯|敌敌畏"
    r"|楼|层|高处|天台|阳台|窗|桥|崖|跳|河|江|湖|海|水库|池塘|井|浴缸|石头|铁轨|轨道|铁路|火车|地铁|车|马路|公路"
    r"|刀|割|划|腕|血管|动脉|静脉|颈|脖子|绳|带|围巾|挂|吊|勒|缠|套|塑料袋|炭|煤气|燃气|尾气"
    r"|冻|雪|冰|电|插座|饿|绝食|不吃不喝|烫|烟头|掐|撞"
    r"|死|亡|命|自杀|轻生|自尽|自残|伤害自己|结束|解脱|了断|了结|走了|想走|过去了|醒不|不醒|醒过来|救|痛苦|活不|不想活|遗书|后事"
)
_PUNCTUATION = re.compile(r"[\s。！？；!?;.，,、：:（）()“”\"']")


def may_be_method(sentence: str) -> bool:
    """The classifier backstop's gate: a sentence long enough that names a means or an end (above)."""
    return len(_PUNCTUATION.sub("", sentence)) >= BACKSTOP_MIN_CHARS and bool(METHOD_VOCABULARY.search(sentence))


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
FIRST_AID = re.compile(r"止血|包扎|心肺复苏|剪断|误服|误食|误吞|误喝|切断电源|伤者")
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
CARE_REFUSED = re.compile(
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


def told_as_method(sentence: str, drugs: list[int]) -> bool:
    """A means with its deed (or a medicine in a heap), told as a way, an end, unseen or wanted."""
    if _SAFE_USE.search(CARE_REFUSED.sub("", sentence)):
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
