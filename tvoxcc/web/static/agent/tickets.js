// tvoxcc agent desktop, tickets: the agent's ticket queue, a thread, reply (Knowledge Base suggestions one
// click away), note and status, through /api/agent/tickets (the functions `tvoxcc support` runs). Plain JS;
// every text goes into the page with textContent.
(function () {
  "use strict";
  var desk = window.tvoxDesk;
  var el = desk.el;
  var $ = function (id) { return document.getElementById(id); };
  var STATUSES = ["open", "pending-customer", "solved", "closed"];
  var current = null;  // the ticket number shown ("T-1001")

  function api(path, body) {
    var options = { credentials: "same-origin", headers: {} };
    if (body) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch("/api/agent/tickets" + path, options).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.error || ("HTTP " + r.status)); }
        return data;
      });
    });
  }
  function failed(e) { desk.error(e.message); }

  function loadList() {
    return api("").then(function (rows) {
      var list = $("desk-ticket-list");
      list.replaceChildren.apply(list, rows.map(function (t) {
        var item = el("li", { "data-ticket": t.number, "class": "status-" + t.status });
        var open = el("button", { type: "button", "class": "open-ticket" }, t.number);
        open.addEventListener("click", function () { show(t.number); });
        item.append(open, el("span", {}, " [" + t.status + "] " + t.subject + " · " + (t.customer || "")));
        return item;
      }));
      if (!rows.length) { list.appendChild(el("li", { "class": "none" }, "No tickets waiting.")); }
    }).catch(failed);
  }

  function show(number) {
    current = number;
    return api("/" + encodeURIComponent(number)).then(function (t) {
      var view = $("desk-ticket");
      view.hidden = false;
      view.setAttribute("data-ticket", t.number);
      $("desk-ticket-title").textContent = t.number + " · " + t.subject;
      $("desk-ticket-state").textContent = t.status + (t.agent ? " · " + t.agent : "");
      var thread = $("desk-ticket-thread");
      thread.replaceChildren.apply(thread, t.messages.map(function (msg) {
        var item = el("li", { "class": msg.kind });
        item.append(el("div", { "class": "head" }, msg.at + " · " + msg.kind + " · " + msg.author +
          (msg.delivery ? " (" + msg.delivery + ")" : "")), el("div", { "class": "body" }, msg.body));
        return item;
      }));
      var kb = $("desk-ticket-kb");
      kb.replaceChildren.apply(kb, t.suggested_articles.map(function (a) {
        var use = el("button", { type: "button", "class": "use-article", "data-slug": a.slug }, a.title);
        use.addEventListener("click", function () {
          var reply = $("desk-ticket-reply");
          reply.value = (reply.value ? reply.value.replace(/\s*$/, "\n\n") : "") + a.body;
        });
        return use;
      }));
      if (!t.suggested_articles.length) { kb.appendChild(el("span", {}, "no article found")); }
    }).catch(failed);
  }

  function act(kind, body) {
    if (!current) { return; }
    desk.error();
    api("/" + encodeURIComponent(current) + "/" + kind, body).then(function () {
      if (kind === "reply") { $("desk-ticket-reply").value = ""; }
      if (kind === "note") { $("desk-ticket-note").value = ""; }
      $("desk-ticket-done").textContent = kind === "status" ? "status " + body.status : kind + " saved";
      return Promise.all([show(current), loadList()]);
    }).catch(failed);
  }

  var status = $("desk-ticket-status");
  STATUSES.forEach(function (s) { status.appendChild(el("option", { value: s }, s)); });
  $("desk-ticket-send-reply").addEventListener("click", function () {
    act("reply", { body: $("desk-ticket-reply").value });
  });
  $("desk-ticket-send-note").addEventListener("click", function () {
    act("note", { body: $("desk-ticket-note").value });
  });
  $("desk-ticket-set-status").addEventListener("click", function () { act("status", { status: status.value }); });
  $("desk-tickets-reload").addEventListener("click", loadList);
  desk.on("state", function (event) { if (event.agent) { loadList(); } });  // an offer, a reconnect: look again
})();
