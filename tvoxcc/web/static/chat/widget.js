// tvoxcc webchat widget: <script src="https://cc.example/chat/widget.js" data-tenant="acme" data-service="web">
// Plain JS, no build step. Every text from the server or the visitor goes into the page with textContent.
// Messages are numbered per chat: the widget keeps the last number it showed (sessionStorage, per tab), asks
// for what follows it when it (re)connects, drops a number it showed already, and resends what it wrote
// but did not see numbered yet with the same id (the server stores it once).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var origin = new URL(script.src, location.href).origin;
  var tenant = script.getAttribute("data-tenant") || "";
  var service = script.getAttribute("data-service") || "";
  var storeKey = "tvoxcc-chat:" + origin + "/" + tenant + "/" + service;
  var wsOrigin = origin.replace(/^http/, "ws");
  var api = origin + "/chat/api/" + encodeURIComponent(tenant) + "/" + encodeURIComponent(service);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  var css = el("link", { rel: "stylesheet", href: origin + "/chat/widget.css" });
  document.head.appendChild(css);

  var root = el("div", { id: "tvoxcc-chat", role: "complementary", "aria-label": "Chat" });
  var header = el("header", {}, "Chat with us");
  var status = el("div", { id: "tvoxcc-status", "class": "tvoxcc-status", "aria-live": "polite" }, "");
  var startForm = el("form", { id: "tvoxcc-start" });
  var nameInput = el("input", { id: "tvoxcc-name", placeholder: "Your name", maxlength: "100", required: "" });
  var emailInput = el("input", { id: "tvoxcc-email", type: "email", placeholder: "E-mail", maxlength: "254" });
  startForm.append(nameInput, emailInput, el("button", { id: "tvoxcc-open", type: "submit" }, "Start chat"));
  var talk = el("div", { "class": "tvoxcc-talk", hidden: "" });
  var log = el("ol", { id: "tvoxcc-log", "aria-live": "polite" });
  var typing = el("div", { id: "tvoxcc-typing", "class": "tvoxcc-typing" }, "");
  var text = el("textarea", { id: "tvoxcc-text", rows: "2", maxlength: "2000", placeholder: "Type a message" });
  var send = el("button", { id: "tvoxcc-send", type: "button" }, "Send");
  var end = el("button", { id: "tvoxcc-end", type: "button" }, "End chat");
  var again = el("button", { id: "tvoxcc-new", type: "button", hidden: "" }, "New chat");
  talk.append(text, send, end, again);
  var leaveForm = el("form", { id: "tvoxcc-leave", hidden: "" });
  var leaveBody = el("textarea", { id: "tvoxcc-leave-body", rows: "4", maxlength: "2000", required: "" });
  leaveForm.append(el("p", {}, "No one can chat right now: leave us a message and we will answer by e-mail."),
    leaveBody, el("button", { id: "tvoxcc-leave-send", type: "submit" }, "Send message"));
  root.append(header, status, startForm, log, typing, talk, leaveForm);
  document.body.appendChild(root);

  var state = load();
  var ws = null;
  var retry = 500;

  function load() {
    try { return JSON.parse(sessionStorage.getItem(storeKey)) || null; } catch (e) { return null; }
  }
  function save() { sessionStorage.setItem(storeKey, JSON.stringify(state)); }
  function say(message) { status.textContent = message; }

  function show(message) {
    // A numbered message: shown once, in order; its pending copy (same client id) goes away.
    if (message.seq <= state.last) { return; }
    state.last = message.seq;
    state.outbox = state.outbox.filter(function (o) { return o.cid !== message.cid; });
    save();
    if (message.cid) {
      var pending = log.querySelector('li.pending[data-cid="' + CSS.escape(message.cid) + '"]');
      if (pending) { pending.remove(); }
    }
    var who = message.sender === "customer" ? "You" : message.sender === "agent" ? (message.agent || "Agent") : "";
    var item = el("li", { "class": message.sender, "data-seq": String(message.seq) });
    if (who) { item.appendChild(el("span", { "class": "tvoxcc-who" }, who)); }
    item.appendChild(el("span", { "class": "tvoxcc-body" }, message.body));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function showPending(entry) {
    var item = el("li", { "class": "customer pending", "data-cid": entry.cid });
    item.append(el("span", { "class": "tvoxcc-who" }, "You"), el("span", { "class": "tvoxcc-body" }, entry.body));
    log.appendChild(item);
  }

  function onState(event) {
    state.status = event.status;
    save();
    if (event.status === "queued") {
      var wait = event.wait_s == null ? "" : ", about " + Math.max(1, Math.round(event.wait_s / 60)) + " min";
      say("You are number " + event.position + " in the queue" + wait + ".");
    } else if (event.status === "offered") {
      say("An agent is about to answer…");
    } else if (event.status === "connected") {
      say("Connected.");
    } else if (event.status === "closed") {
      say("The chat has ended.");
      text.disabled = send.disabled = end.disabled = true;
      again.hidden = false;
    }
  }

  function connect() {
    var url = wsOrigin + "/chat/ws/" + encodeURIComponent(tenant) + "/" + state.chat +
      "?token=" + encodeURIComponent(state.token) + "&after=" + state.last;
    ws = new WebSocket(url);
    ws.onopen = function () {
      retry = 500;
      state.outbox.forEach(function (o) { ws.send(JSON.stringify({ type: "say", body: o.body, cid: o.cid })); });
    };
    ws.onmessage = function (frame) {
      var event = JSON.parse(frame.data);
      if (event.type === "msg") { show(event); if (event.sender === "agent") { showTyping(""); } }
      else if (event.type === "typing" && event.from === "agent") { showTyping((event.name || "The agent") + " is typing…"); }
      else if (event.type === "state") { onState(event); }
      else if (event.type === "error") { say(event.message); }
    };
    ws.onclose = function () {
      ws = null;
      if (state && state.status !== "closed") {
        say("Reconnecting…");
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 5000);
      }
    };
  }

  function begin(chat) {
    state = { chat: chat.chat, token: chat.token, last: 0, outbox: [], status: chat.status };
    save();
    startForm.hidden = true;
    talk.hidden = false;
    connect();
  }

  function post(path, body) {
    return fetch(api + path, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.error || "the chat is unavailable"); }
        return data;
      });
    });
  }

  startForm.addEventListener("submit", function (e) {
    e.preventDefault();
    say("Opening…");
    post("/open", { name: nameInput.value, email: emailInput.value }).then(function (data) {
      if (data.status === "no-agent") {
        startForm.hidden = true;
        leaveForm.hidden = false;
        say(data.reason === "closed" ? "We are closed now." : "");
      } else {
        begin(data);
      }
    }).catch(function (err) { say(err.message); });
  });

  leaveForm.addEventListener("submit", function (e) {
    e.preventDefault();
    post("/leave", { name: nameInput.value, email: emailInput.value, body: leaveBody.value }).then(function (data) {
      leaveForm.hidden = true;
      say("Thank you: your message is " + data.ticket + ". We will answer by e-mail.");
    }).catch(function (err) { say(err.message); });
  });

  // Typing hints, both ways: ours at most every 2 s while the visitor types; theirs shown for 4 s.
  var typingTimer = null;
  var typingSent = 0;
  function showTyping(message) {
    typing.textContent = message;
    clearTimeout(typingTimer);
    if (message) { typingTimer = setTimeout(function () { typing.textContent = ""; }, 4000); }
  }
  text.addEventListener("input", function () {
    if (!ws || ws.readyState !== WebSocket.OPEN || Date.now() - typingSent < 2000) { return; }
    typingSent = Date.now();
    ws.send(JSON.stringify({ type: "typing" }));
  });

  function sendText() {
    var body = text.value.trim();
    if (!body || !state) { return; }
    var entry = { cid: Date.now().toString(36) + Math.random().toString(36).slice(2), body: body };
    state.outbox.push(entry);
    save();
    showPending(entry);
    text.value = "";
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "say", body: entry.body, cid: entry.cid }));
    }
  }
  send.addEventListener("click", sendText);
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendText(); }
  });
  end.addEventListener("click", function () {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify({ type: "close" })); }
  });
  again.addEventListener("click", function () {
    sessionStorage.removeItem(storeKey);
    state = null;
    log.textContent = "";
    text.disabled = send.disabled = end.disabled = false;
    again.hidden = true;
    talk.hidden = true;
    startForm.hidden = false;
    say("");
  });

  if (state && state.chat) {
    // A reload: the transcript comes back from the server, from the start (the page was blank).
    var outbox = state.outbox;
    state.last = 0;
    startForm.hidden = true;
    talk.hidden = false;
    outbox.forEach(showPending);
    connect();
  }
})();
