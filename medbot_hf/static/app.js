// The chat page. The history lives here, in localStorage, as in the ancestor's design: the server is stateless.
// Every text is set with textContent, never as HTML.
"use strict";

const STORE = "medbot-history";
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

function save() {
  localStorage.setItem(STORE, JSON.stringify(history));
}

function bubble(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "user" ? "您" : "医生（模型）";
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  div.append(who, body);
  if (role !== "user") {
    // Every bot bubble says it is AI-generated (人工智能生成合成内容标识办法).
    const label = document.createElement("span");
    label.className = "ai-label";
    label.textContent = "AI生成，仅供参考，不能替代医生诊疗";
    div.append(label);
  }
  $("log").append(div);
  $("log").scrollTop = $("log").scrollHeight;
  return body;
}

function render() {
  $("log").replaceChildren();
  history.forEach((m) => bubble(m.role, m.content));
}

function showTriage(triage) {
  const box = $("triage");
  box.hidden = !(triage && triage.urgent);
  box.textContent = triage && triage.urgent ? triage.advice : "";
}

function status(text) {
  $("status").hidden = !text;
  $("status").textContent = text || "";
}

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
  const asked = history.concat([{ role: "user", content: question }]);
  bubble("user", question);
  const body = bubble("assistant", "…");
  const response = await fetch("/api/chat/stream", { method: "POST", headers: headers(), body: JSON.stringify({ messages: asked }) });
  if (!response.ok) {
    body.parentElement.remove();
    const problem = await response.json().catch(() => ({}));
    if (response.status === 401) $("key").hidden = false;
    throw new Error((problem.error && problem.error.message) || "请求失败 (" + response.status + ")");
  }
  let reply = "";
  for await (const event of events(response)) {
    if (event.triage) showTriage(event.triage);
    if (event.delta) {
      reply += event.delta;
      body.textContent = reply;
      $("log").scrollTop = $("log").scrollHeight;
    }
    if (event.done) reply = event.reply;
  }
  body.textContent = reply;
  history = asked.concat([{ role: "assistant", content: reply }]);
  save();
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
    status(err.message);
    render();
  } finally {
    $("send").disabled = false;
    $("input").focus();
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
  save();
  showTriage(null);
  status("");
  render();
});

render();
