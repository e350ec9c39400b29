// tvoxcc agent desktop, transfer to a named agent: beside the transfer to a queue, each connected chat gets a
// list of the tenant's other agents and a button; the ACD offers the chat to that agent alone (their personal
// skill) when they have room.
(function () {
  "use strict";
  var desk = window.tvoxDesk;
  var el = desk.el;

  desk.on("state", function (event) {
    if (!event.agent) { return; }
    document.querySelectorAll("#desk-chats section.chat .talk").forEach(function (talk) {
      if (talk.querySelector("select.transfer-agent")) { return; }
      var id = Number(talk.closest("section.chat").dataset.chat);
      var pick = el("select", { "class": "transfer-agent" });
      (event.agents || []).forEach(function (name) { pick.appendChild(el("option", { value: name }, name)); });
      var go = el("button", { "class": "transfer-to-agent", type: "button" }, "Transfer to agent");
      go.addEventListener("click", function () {
        desk.error();
        if (pick.value) { desk.request({ type: "transfer", chat: id, agent: pick.value }); }
      });
      talk.querySelector(".close").before(pick, go);
    });
  });
})();
