// The chat page. The history lives here, in localStorage, as in the ancestor's design: the server is stateless.
// Every text is set with textContent, never as HTML.
"use strict";

const STORE = "medbot-history";
const CONTEXT_STORE = "medbot-context"; // how many trailing history messages the next request carries
const KEY_STORE = "medbot-api-key";
const $ = (id) => document.getElementById(id);
let history = load();

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE) || "[]");
    return Array.isArray(saved) ? saved.filter((m) => m && typeof m.content === "string") : [];
  } catch (e) {
    return [];
  }
}

function save(context) {
  localStorage.setItem(STORE, JSON.stringify(history));
  if (context === null) localStorage.removeItem(CONTEXT_STORE);
  else localStorage.setItem(CONTEXT_STORE, String(context));
}

// The messages the next request sends: the server's done event says how many of the last request's messages the
// model read (its own trimming rule, `context_messages`); those, the reply and the new question are enough.
function toSend(question) {
  const context = parseInt(localStorage.getItem(CONTEXT_STORE), 10);
  const recent = Number.isInteger(context) && context >= 0 ? history.slice(history.length - context) : history;
  return recent.map((m) => ({ role: m.role, content: m.content })).concat([{ role: "user", content: question }]);
}

function follow() {
  $("log").scrollTop = $("log").scrollHeight;
}

function bubble(role, text, advice, similar) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "user" ? "您" : "医生（模型）";
  div.append(who);
  const box = document.createElement("div"); // the red-flag advice: ours, set apart from the model's text
  box.className = "advice";
  box.setAttribute("role", "alert");
  div.append(box);
  showAdvice(box, advice);
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  div.append(body);
  if (role !== "user") {
    // Every bot bubble says it is AI-generated (人工智能生成合成内容标识办法).
    const label = document.createElement("span");
    label.className = "ai-label";
    label.textContent = "AI生成，仅供参考，不能替代医生诊疗";
    div.append(label);
    showSimilar(div, similar);
  }
  $("log").append(div);
  follow();
  return body;
}

function showAdvice(box, advice) {
  box.hidden = !advice;
  box.textContent = advice ? "紧急提示：" + advice : "";
}

// Real consultations retrieved from the training corpus (`similar_consultations`), folded under the reply, with the
// server's label saying they are real and not generated.
function showSimilar(div, similar) {
  if (!similar || !Array.isArray(similar.items) || !similar.items.length) return;
  const box = document.createElement("details");
  box.className = "similar";
  const summary = document.createElement("summary");
  summary.textContent = "相似的真实问诊（" + similar.items.length + " 条，非模型生成）";
  const note = document.createElement("p");
  note.className = "similar-label";
  note.textContent = similar.label;
  box.append(summary, note);
  similar.items.forEach((c) => {
    const item = document.createElement("div");
    item.className = "consultation";
    const q = document.createElement("p");
    q.textContent = "患者：" + c.question;
    const a = document.createElement("p");
    a.textContent = "医生（真实回答）：" + c.answer;
    item.append(q, a);
    box.append(item);
  });
  div.append(box);
}

function render() {
  $("log").replaceChildren();
  history.forEach((m) => bubble(m.role, m.content, m.advice, m.similar));
}

function status(text) {
  $("status").hidden = !text;
  $("status").textContent = text || "";
}

// Every error the page shows is in Chinese; the server's English message stays in the network log.
function problem(status) {
  if (status === 401) return "需要正确的 API 密钥：请在输入框上方填写后重新发送。";
  if (status === 413) return "消息太长，服务器拒绝了这次请求：请缩短后重新发送，或点“新对话”重新开始。";
  if (status === 400 || status === 422) return "服务器无法处理这条消息（格式有误），请修改后重新发送。";
  if (status === 429 || status === 503) return "服务器正忙，请稍等几秒后重新发送。";
  if (status === 504) return "回复超时，请稍后重新发送。";
  if (status >= 500) return "服务器出错，请稍后重新发送。";
  return "请求失败（错误码 " + status + "），请重新发送。";
}

class PageError extends Error {}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = localStorage.getItem(KEY_STORE);
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

// Reads Server-Sent Events from a fetch body: "data: {...}\n\n" blocks.
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const line = block.split("\n").find((l) => l.startsWith("data: "));
      if (line) yield JSON.parse(line.slice(6));
    }
  }
}

async function ask(question) {
  const messages = toSend(question);
  bubble("user", question);
  const body = bubble("assistant", "…");
  let response;
  try {
    response = await fetch("/api/chat/stream", { method: "POST", headers: headers(), body: JSON.stringify({ messages }) });
  } catch (e) {
    throw new PageError("无法连接服务器，请检查网络或服务器是否在运行，然后重新发送。");
  }
  if (!response.ok) {
    if (response.status === 401) $("key").hidden = false;
    throw new PageError(problem(response.status));
  }
  let reply = "";
  let advice = "";
  let context = null;
  let similar = null;
  let done = false;
  try {
    for await (const event of events(response)) {
      if (event.triage && event.triage.urgent) {
        advice = event.triage.advice;
        showAdvice(body.parentElement.querySelector(".advice"), advice);
      }
      if (event.delta) {
        reply += event.delta;
        body.textContent = reply;
        follow();
      }
      if (event.done) {
        reply = event.reply;
        context = event.context_messages;
        similar = event.similar_consultations;
        done = true;
      }
    }
  } catch (e) {
    done = false;
  }
  if (!done) throw new PageError("回复中断了，请重新发送。");
  body.textContent = reply;
  showSimilar(body.parentElement, similar);
  follow();
  const turn = { role: "user", content: question };
  const answer = { role: "assistant", content: reply };
  if (advice) answer.advice = advice;
  if (similar && similar.items && similar.items.length) answer.similar = similar;
  history = history.concat([turn, answer]);
  save(Number.isInteger(context) ? context + 1 : null); // what the model read, plus its reply
}

$("ask").addEventListener("submit", async (e) => {
  e.preventDefault();
  const question = $("input").value.trim();
  if (!question) return;
  if (!$("key").hidden && $("key").value) localStorage.setItem(KEY_STORE, $("key").value);
  $("input").value = "";
  $("send").disabled = true;
  status("");
  try {
    await ask(question);
  } catch (err) {
    status(err instanceof PageError ? err.message : "页面出错了，请刷新后重试。");
    render();
    if (!$("input").value) $("input").value = question; // the typed question is never lost
  } finally {
    $("send").disabled = false;
    $("input").focus();
    follow();
  }
});

$("input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("ask").requestSubmit();
  }
});

$("reset").addEventListener("click", () => {
  history = [];
  save(null);
  status("");
  render();
});

render();
