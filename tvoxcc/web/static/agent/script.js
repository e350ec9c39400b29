// tvoxcc agent desktop, call scripts: the script of each item the ACD offers to or connected with this agent
// (GET /api/agent/script, every 2 s), shown as a form: the steps the answers lead through, in order, each with
// its text and fields. "Save answers" POSTs them (/api/agent/script); the server checks them along the script
// and stores them with the interaction. Plain JS, no build step; every server text goes in with textContent.
(function () {
  "use strict";
  var box = document.getElementById("desk-script");
  if (!box) { return; }
  var forms = {};  // item id -> {panel, spec, values, interaction, script}

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function path(spec, values) {  // the steps the answers lead through (as tvoxcc.scripts.checks walks them)
    var steps = [], name = spec.start;
    while (name && steps.indexOf(name) < 0 && spec.steps[name]) {
      var step = spec.steps[name];
      steps.push(name);
      var hit = step.branches.filter(function (b) { return values[b.field] === b.equals; })[0];
      name = hit ? hit.goto : step.next;
    }
    return steps;
  }
  function input(form, field) {
    var node;
    if (field.options.length) {
      node = el("select", { name: field.name });
      node.appendChild(el("option", { value: "" }, "—"));
      field.options.forEach(function (o) { node.appendChild(el("option", { value: o }, o)); });
    } else {
      node = el("input", { name: field.name, type: field.type === "number" ? "number" : "text" });
    }
    node.value = form.values[field.name] || "";
    node.addEventListener("change", function () { form.values[field.name] = node.value; draw(form); });
    return node;
  }
  function draw(form) {
    var body = form.panel.querySelector(".script-steps");
    body.textContent = "";
    path(form.spec, form.values).forEach(function (name) {
      var step = form.spec.steps[name], part = el("div", { "class": "script-step", "data-step": name });
      if (step.say) { part.appendChild(el("p", {}, step.say)); }
      step.fields.forEach(function (field) {
        var label = el("label", {}, field.label + (field.required ? " *" : "") + " ");
        label.appendChild(input(form, field));
        part.appendChild(label);
      });
      body.appendChild(part);
    });
  }
  function save(form) {
    var note = form.panel.querySelector(".script-note");
    if (!form.interaction) { note.textContent = "no interaction to store the answers with yet"; return; }
    fetch("/api/agent/script", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ interaction: form.interaction, script: form.script, answers: form.values })
    }).then(function (r) { return r.json().then(function (a) { return { ok: r.ok, a: a }; }); })
      .then(function (res) { note.textContent = res.ok ? "answers saved" : (res.a.error || "refused"); });
  }
  function show(item) {
    var form = forms[item.item];
    if (!form) {
      var panel = el("section", { "class": "script", "data-item": item.item });
      panel.appendChild(el("h3", {}, (item.spec.title || item.script) + " · " + item.queue));
      panel.appendChild(el("div", { "class": "script-steps" }));
      var button = el("button", { type: "button" }, "Save answers");
      panel.appendChild(button);
      panel.appendChild(el("span", { "class": "script-note", role: "status" }));
      box.appendChild(panel);
      form = forms[item.item] = { panel: panel, spec: item.spec, values: item.answers || {}, script: item.script };
      button.addEventListener("click", function () { save(form); });
      draw(form);
    }
    form.interaction = item.interaction;
  }
  function poll() {
    fetch("/api/agent/script", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        var seen = {};
        items.forEach(function (item) { seen[item.item] = true; show(item); });
        Object.keys(forms).forEach(function (id) {
          if (!seen[id]) { forms[id].panel.remove(); delete forms[id]; }
        });
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }
  poll();
}());
