// tvoxcc agent desktop, preview campaigns: the record a preview campaign shows this agent (GET
// /api/agent/preview, every 3 s while none is shown) with the list's columns and the campaign's script; the agent
// dials it (POST /api/agent/preview/dial: the click-to-call path, their phone rings first) or skips it with a
// reason (POST /api/agent/preview/skip). Plain JS, no build step; every server text goes in with textContent.
(function () {
  "use strict";
  var box = document.getElementById("desk-outbound");
  if (!box) { return; }
  var panel = document.createElement("div");
  panel.id = "preview";
  box.appendChild(panel);
  var shown = null;  // the record id on screen

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (a) { return { ok: r.ok, a: a }; }); });
  }

  function script(spec) {
    var list = el("ol", { "class": "preview-script" });
    Object.keys((spec && spec.steps) || {}).forEach(function (name) {
      var step = spec.steps[name];
      var item = el("li", {}, step.say || name);
      (step.fields || []).forEach(function (f) { item.appendChild(el("div", { "class": "field" }, f.label || f.name)); });
      list.appendChild(item);
    });
    return list;
  }

  function show(offer) {
    panel.textContent = "";
    shown = offer.record;
    panel.appendChild(el("h3", {}, "Preview · " + offer.campaign));
    var table = el("table", { id: "preview-record" });
    var rows = [["number", offer.number], ["attempts", String(offer.attempts)]];
    Object.keys(offer.fields).forEach(function (k) { rows.push([k, offer.fields[k]]); });
    rows.forEach(function (row) {
      var tr = el("tr");
      tr.appendChild(el("th", {}, row[0]));
      tr.appendChild(el("td", {}, row[1]));
      table.appendChild(tr);
    });
    panel.appendChild(table);
    if (offer.spec) { panel.appendChild(el("p", {}, "Script: " + offer.script)); panel.appendChild(script(offer.spec)); }
    var dial = el("button", { id: "preview-dial", type: "button" }, "Dial");
    var reason = el("input", { id: "preview-reason", placeholder: "reason to skip", size: "20" });
    var skip = el("button", { id: "preview-skip", type: "button" }, "Skip");
    var note = el("span", { id: "preview-status", role: "status" });
    [dial, reason, skip, note].forEach(function (n) { panel.appendChild(n); });
    dial.addEventListener("click", function () {
      post("/api/agent/preview/dial", { record: offer.record }).then(function (res) {
        note.textContent = res.ok ? "your phone rings: answer it" : (res.a.error || "refused");
        if (res.ok) { done(); }
      });
    });
    skip.addEventListener("click", function () {
      post("/api/agent/preview/skip", { record: offer.record, reason: reason.value }).then(function (res) {
        note.textContent = res.ok ? "skipped" : (res.a.error || "refused");
        if (res.ok) { done(); }
      });
    });
  }

  function done() {
    shown = null;
    setTimeout(poll, 3000);
  }

  function poll() {
    if (shown !== null) { return; }
    fetch("/api/agent/preview", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { offer: null }; })
      .then(function (a) { if (a.offer) { show(a.offer); } else { setTimeout(poll, 3000); } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
}());
