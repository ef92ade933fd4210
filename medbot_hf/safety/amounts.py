"""How an amount is written in a reply, for the guard's readers of doses (`guard.py`) and of self-harm methods.

NUMBER: digits, a range ("1-2", "10到15"), a fraction ("1/2", "二分之一"), Chinese numerals ("两三", "半"), and
"几十" / "十几"; a bare "几" (how many) is no amount ("具体吃几片要问药师"), nor an ordinal ("第一颗乳牙"). MASS: units
never written for food or water; VOLUME: units also used for them; COUNT: counts of a dosage form.
"""

NUMBER = (
    r"(?<![a-z0-9.第])(?:\d+(?:\.\d+)?(?:\s*[-~～至到]\s*\d+(?:\.\d+)?)?|\d+/\d+"
    r"|[零一二两三四五六七八九十百千半]+(?:分之[一二三四五六七八九])?|几[十百千]|[一二三四五六七八九]?十几)"
)
MASS = r"(?:mg|μg|ug|mcg|毫克|微克|iu|国际单位)(?![a-z/]*(?:dl|l\b|/l|/dl|/kg/))"  # never written for food or water
VOLUME = r"(?:g|克|ml|毫升|cc|l|升)(?![a-z])"
COUNT = r"(?:片|粒|颗|丸|袋|包|支|贴|喷|滴|揿|吸|泵|枚|茶匙|汤匙|小勺|勺|瓶盖|针|剂|帖|个?单位)"
