// tvoxcc agent desktop: the disposition picker, shown while the agent is in wrap-up. It watches the state the
// desktop shows (#desk-state), loads the tenant's disposition codes once (GET /agent/dispositions) and sets the
// one picked on the contact just ended (POST /agent/disposition, as *76<code> does on the phone).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var box = $("desk-disposition"), select = $("desk-disposition-code"), said = $("desk-disposed");
  var loaded = false;

  function load() {
    if (loaded) { return; }
    loaded = true;
    fetch("/agent/dispositions", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        (body.codes || []).forEach(function (c) {
          var option = document.createElement("option");
          option.value = c.code;
          option.textContent = c.code + " " + c.name;
          select.appendChild(option);
        });
      })
      .catch(function () { loaded = false; });
  }

  function follow() {
    var wrapping = $("desk-state").textContent === "wrap-up";
    if (wrapping && box.hidden) { said.textContent = ""; load(); }
    box.hidden = !wrapping;
  }

  $("desk-dispose").addEventListener("click", function () {
    fetch("/agent/disposition", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: select.value })
    })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (answer) {
        said.textContent = answer.ok ? "✓ " + answer.body.name : answer.body.error;
        said.setAttribute("data-result", answer.ok ? "ok" : "refused");
      });
  });

  new MutationObserver(follow).observe($("desk-state"), { childList: true, characterData: true, subtree: true });
  follow();
})();
