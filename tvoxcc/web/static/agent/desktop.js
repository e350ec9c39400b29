// tvoxcc agent desktop: the agent's ACD state and their chats over one websocket (/agent/ws). Plain JS, no
// build step; every text from the server goes into the page with textContent. Messages are numbered per
// chat: the page asks for what follows the last number it showed ("sync") when a chat appears or the socket
// reconnects, drops a number it showed already, and resends what the agent wrote with the same id.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var chats = {};  // chat id -> {panel, log, last, outbox, status}
  var ws = null;
  var retry = 500;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function request(body) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(body)); }
  }
  function error(message) { $("desk-error").textContent = message || ""; }

  // The desktop's other modules (calls.js, tickets.js…) take the server's events and send requests through
  // this, so each stays a file of its own: tvoxDesk.on("state", fn) gets every "state" event after the chats.
  var handlers = {};
  window.tvoxDesk = {
    el: el,
    request: request,
    error: error,
    on: function (type, fn) { (handlers[type] = handlers[type] || []).push(fn); },
  };
  function dispatch(event) {
    (handlers[event.type] || []).forEach(function (fn) { fn(event); });
  }

  ["login", "logout", "unpause", "end-wrapup"].forEach(function (kind) {
    $("desk-" + kind).addEventListener("click", function () { error(); request({ type: kind }); });
  });
  $("desk-pause").addEventListener("click", function () {
    error();
    request({ type: "pause", code: $("desk-code").value || "break" });
  });

  function panel(id, info) {
    var chat = chats[id];
    if (chat) { return chat; }
    var section = el("section", { "class": "chat", "data-chat": String(id) });
    var title = el("h3", {}, "");
    var meta = el("div", { "class": "meta" }, "");
    var pop = el("div", { "class": "pop" }, "");
    var offer = el("div", { "class": "offer" });
    var accept = el("button", { "class": "accept", type: "button" }, "Accept");
    var decline = el("button", { "class": "decline", type: "button" }, "Decline");
    offer.append(accept, decline);
    var log = el("ol", { "class": "log", "aria-live": "polite" });
    var talk = el("div", { "class": "talk" });
    var text = el("textarea", { "class": "text", rows: "2", maxlength: "2000" });
    var send = el("button", { "class": "send", type: "button" }, "Send");
    var queue = el("select", { "class": "transfer-queue" });
    var transfer = el("button", { "class": "transfer", type: "button" }, "Transfer");
    var close = el("button", { "class": "close", type: "button" }, "Close");
    talk.append(text, send, queue, transfer, close);
    section.append(title, meta, pop, offer, log, talk);
    $("desk-chats").appendChild(section);
    chat = chats[id] = { panel: section, title: title, meta: meta, pop: pop, offer: offer, talk: talk, log: log,
      queue: queue, last: 0, outbox: [], status: "" };
    accept.addEventListener("click", function () { request({ type: "accept", chat: id }); });
    decline.addEventListener("click", function () { request({ type: "decline", chat: id }); });
    close.addEventListener("click", function () { request({ type: "close", chat: id }); });
    transfer.addEventListener("click", function () {
      request({ type: "transfer", chat: id, queue: queue.value });
    });
    function sendText() {
      var body = text.value.trim();
      if (!body) { return; }
      var entry = { cid: Date.now().toString(36) + Math.random().toString(36).slice(2), body: body };
      chat.outbox.push(entry);
      var item = el("li", { "class": "agent pending", "data-cid": entry.cid });
      item.append(el("span", { "class": "who" }, "You"), el("span", { "class": "body" }, body));
      log.appendChild(item);
      text.value = "";
      request({ type: "say", chat: id, body: body, cid: entry.cid });
    }
    send.addEventListener("click", sendText);
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendText(); }
    });
    request({ type: "sync", chat: id, after: 0 });
    return chat;
  }

  function setStatus(chat, status, info) {
    chat.status = status;
    chat.panel.className = "chat " + status;
    chat.offer.hidden = status !== "offered";
    chat.talk.hidden = status !== "connected";
    if (info) {
      var address = info.visitor.email || (info.visitor.phone !== info.visitor.name ? info.visitor.phone : "");
      chat.title.textContent = info.visitor.name + (address ? " <" + address + ">" : "");
      chat.meta.textContent = (info.channel === "sms" ? "SMS " : "Chat ") + info.chat + " · queue " + info.queue + " · " + status;
    } else {
      chat.meta.textContent = chat.meta.textContent.replace(/ · [a-z-]+$/, " · " + status);
    }
  }

  function onState(event) {
    var agent = event.agent;
    $("desk-state").textContent = agent.status;
    $("desk-reason").textContent = agent.pause_code ? "(" + agent.pause_code + ")" : "";
    var cap = agent.capacity.chat || 0;
    $("desk-load").textContent = "chats " + (agent.load.chat || 0) + " of " + cap;
    var code = $("desk-code");
    if (!code.options.length) {
      event.codes.forEach(function (c) { code.appendChild(el("option", { value: c.code }, c.name + " (" + c.code + ")")); });
      if (!event.codes.length) { code.appendChild(el("option", { value: "break" }, "break")); }
    }
    var present = {};
    event.chats.forEach(function (info) {
      present[info.chat] = true;
      var chat = panel(info.chat, info);
      if (!chat.queue.options.length) {
        event.queues.forEach(function (q) { chat.queue.appendChild(el("option", { value: q }, q)); });
      }
      setStatus(chat, info.status, info);
    });
    Object.keys(chats).forEach(function (id) {
      var chat = chats[id];
      if (!present[id] && chat.status !== "closed") {
        // Gone from this agent: closed, transferred, or the offer ended (declined, not answered in time).
        setStatus(chat, chat.status === "offered" ? "withdrawn" : "closed");
      }
    });
  }

  function show(event) {
    var chat = chats[event.chat];
    if (!chat || event.seq <= chat.last) { return; }
    chat.last = event.seq;
    chat.outbox = chat.outbox.filter(function (o) { return o.cid !== event.cid; });
    if (event.cid) {
      var pending = chat.log.querySelector('li.pending[data-cid="' + CSS.escape(event.cid) + '"]');
      if (pending) { pending.remove(); }
    }
    var who = event.sender === "customer" ? chat.title.textContent.split(" <")[0] :
      event.sender === "agent" ? (event.agent || "Agent") : "";
    var item = el("li", { "class": event.sender, "data-seq": String(event.seq) });
    if (who) { item.appendChild(el("span", { "class": "who" }, who)); }
    item.appendChild(el("span", { "class": "body" }, event.body));
    chat.log.appendChild(item);
    chat.log.scrollTop = chat.log.scrollHeight;
  }

  function showPop(event) {
    var chat = chats[event.chat];
    if (!chat) { return; }
    var p = event.pop || {};
    var parts = [];
    if (p.contact) {
      var c = p.contact;
      parts.push((c.display_name || "contact #" + c.id) + (c.company ? " (" + c.company + ")" : "") + (p.vip ? " · VIP" : ""));
      parts.push("open tickets " + (p.open_tickets || []).length);
      if (p.last_agent) { parts.push("last agent " + p.last_agent); }
      if (p.nps_last != null) { parts.push("last NPS " + p.nps_last); }
    } else {
      parts.push("New visitor: " + (p.name || "") + (p.email ? " <" + p.email + ">" : ""));
    }
    chat.pop.textContent = parts.join(" · ");
    chat.pop.setAttribute("data-pop", JSON.stringify(p));
  }

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/agent/ws");
    ws.onopen = function () {
      retry = 500;
      $("desk-status").textContent = "connected";
      Object.keys(chats).forEach(function (id) {
        var chat = chats[id];
        request({ type: "sync", chat: Number(id), after: chat.last });
        chat.outbox.forEach(function (o) { request({ type: "say", chat: Number(id), body: o.body, cid: o.cid }); });
      });
    };
    ws.onmessage = function (frame) {
      var event = JSON.parse(frame.data);
      if (event.type === "state") {
        if (event.agent) { onState(event); }
        else if (chats[event.chat]) { request({ type: "refresh" }); }
      } else if (event.type === "msg") { show(event); }
      else if (event.type === "pop") { showPop(event); }
      else if (event.type === "error") { error(event.message); }
      dispatch(event);
    };
    ws.onclose = function () {
      ws = null;
      $("desk-status").textContent = "reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }
  connect();
})();
