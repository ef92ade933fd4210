"""The one answer pipeline (triage -> generate -> guard -> advice) that the CLI, the server and evaluation share."""

from medbot_hf.pipeline import AI_LABEL, answer_replies, start_answer
from medbot_hf.safety import NOTES, triage

URGENT = [{"role": "user", "content": "胸口剧痛，满头大汗，左胳膊发麻"}]


def test_urgent_answer_puts_advice_first_and_guards_the_reply():
    answer = start_answer(URGENT)
    assert answer.triage == triage(URGENT[0]["content"]) and answer.triage.category == "chest_pain"
    assert answer.complete("请马上去医院。硝酸甘油一次一片。") == f"请马上去医院。{NOTES['dose']}"
    assert answer.shown() == f"【紧急提示】{answer.triage.advice}\n\n【模型回答】请马上去医院。{NOTES['dose']}"
    assert answer.medbot() == {
        "ai_generated": True,
        "triage": {"urgent": True, "category": "chest_pain", "advice": answer.triage.advice},
        "guard": {"changed": True, "reasons": ["dose"]},
    }


def test_ordinary_answer_is_the_reply_unchanged():
    answer = start_answer([{"role": "user", "content": "嗓子疼怎么办"}])
    pieces = [answer.feed(p) for p in ["多喝温水，", "少说话。可以含", "润喉糖"]]
    assert pieces == ["", "多喝温水，少说话。", ""] and answer.finish() == "可以含润喉糖"
    assert answer.shown() == answer.text == "多喝温水，少说话。可以含润喉糖"
    assert answer.medbot()["guard"] == {"changed": False, "reasons": []} and not answer.triage.urgent


def test_batch_of_replies_as_evaluation_runs_it():
    histories = [URGENT, [{"role": "user", "content": "血压高"}]]
    answers = answer_replies(histories, ["多休息。", "降压药可以停掉。"])
    assert [a.guard_changed for a in answers] == [False, True] and answers[1].guard_reasons == ["stop_medication"]
    assert AI_LABEL == "AI生成"
