// tvoxcc agent desktop, "Pause recording" / "Resume recording" for payment data (as the phone's *78 / *79): the
// button shows while the agent has a recorded call connected (GET /api/agent/recording, looked at on every
// "state" event and every 3 s); a click asks the server (POST /api/agent/recording), whose voice service pauses
// or resumes the call's recording. Plain JS, no build step; server texts go into the page with textContent.
(function () {
  "use strict";
  var desk = window.tvoxDesk;
  var box = document.getElementById("desk-outbound");
  if (!desk || !box) { return; }
  var button = desk.el("button", { id: "recording-toggle", type: "button", hidden: "hidden" }, "Pause recording");
  var status = desk.el("span", { id: "recording-status", role: "status" }, "");
  box.after(button, status);
  var paused = false;

  function show(state) {
    paused = Boolean(state.paused);
    button.hidden = !state.recorded;
    button.textContent = paused ? "Resume recording" : "Pause recording";
    if (!state.recorded) { status.textContent = ""; }
  }
  function look() {
    fetch("/api/agent/recording", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { recorded: false }; })
      .then(show)
      .catch(function () { /* the next look tries again */ });
  }
  button.addEventListener("click", function () {
    var action = paused ? "resume" : "pause";
    fetch("/api/agent/recording", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ action: action })
    }).then(function (r) { return r.json().then(function (answer) { return { ok: r.ok, answer: answer }; }); })
      .then(function (result) {
        if (!result.ok) { status.textContent = result.answer.error || "refused"; look(); return; }
        status.textContent = action === "pause" ? "recording paused" : "recording resumed";
        show({ recorded: true, paused: action === "pause" });
      });
  });
  desk.on("state", look);
  setInterval(look, 3000);
  look();
}());
