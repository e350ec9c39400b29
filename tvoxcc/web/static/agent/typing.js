// tvoxcc agent desktop, typing hints both ways: while the agent types in a chat, the visitor is told (at most
// every 2 s; the server passes at most one a second and stores none); while the visitor types, the chat's
// panel says so for 4 s, or until their message arrives.
(function () {
  "use strict";
  var desk = window.tvoxDesk;
  var sent = {};  // chat id -> when the last hint went out
  var timers = {};

  function hint(id, message) {
    var panel = document.querySelector('section.chat[data-chat="' + id + '"]');
    if (!panel) { return; }
    var line = panel.querySelector(".typing");
    if (!line) {
      line = desk.el("div", { "class": "typing", "aria-live": "polite" }, "");
      panel.querySelector("ol.log").after(line);
    }
    line.textContent = message;
    clearTimeout(timers[id]);
    if (message) { timers[id] = setTimeout(function () { line.textContent = ""; }, 4000); }
  }

  document.getElementById("desk-chats").addEventListener("input", function (e) {
    if (!e.target.matches("textarea.text")) { return; }
    var id = Number(e.target.closest("section.chat").dataset.chat);
    if (Date.now() - (sent[id] || 0) < 2000) { return; }
    sent[id] = Date.now();
    desk.request({ type: "typing", chat: id });
  });
  desk.on("typing", function (event) {
    if (event.from === "customer") { hint(event.chat, "The visitor is typing…"); }
  });
  desk.on("msg", function (event) {
    if (event.sender === "customer") { hint(event.chat, ""); }
  });
})();
