// tvoxcc agent desktop, click-to-call: a number (or a contact's first number) is asked of the server
// (POST /api/agent/calls); the agent's own phone rings first, then the customer is dialled and bridged by the
// voice service. The page follows the call (GET /api/agent/calls/{id}) until it ends. Plain JS, no build step;
// server texts go into the page with textContent. Other modules call window.tvoxccCall(number, contact).
(function () {
  "use strict";
  var box = document.getElementById("desk-outbound");
  if (!box) { return; }
  var PHASES = { requested: "asking the phone system…", ringing: "your phone rings: answer it",
                 dialing: "calling the customer…", talking: "on the call", ended: "call ended" };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  var number = el("input", { id: "call-number", type: "tel", placeholder: "number to call", size: "18" });
  var button = el("button", { id: "call-dial", type: "button" }, "Call");
  var status = el("span", { id: "call-status", role: "status" });
  box.appendChild(number);
  box.appendChild(button);
  box.appendChild(status);

  function follow(id) {
    fetch("/api/agent/calls/" + id, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (call) {
        status.textContent = call.refused ? "not placed: " + call.refused : (PHASES[call.phase] || call.phase);
        if (call.phase !== "ended" && call.phase !== "refused") { setTimeout(function () { follow(id); }, 1000); }
      })
      .catch(function () { setTimeout(function () { follow(id); }, 2000); });
  }

  function place(value, contact) {
    status.textContent = "";
    var body = { number: value || "" };
    if (contact !== undefined && contact !== null) { body.contact = contact; }
    return fetch("/api/agent/calls", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (answer) { return { ok: r.ok, answer: answer }; }); })
      .then(function (result) {
        if (!result.ok) { status.textContent = result.answer.error || "refused"; return; }
        status.textContent = PHASES.requested;
        follow(result.answer.call);
      });
  }
  button.addEventListener("click", function () { place(number.value.trim()); });
  window.tvoxccCall = place;
}());
