// tvoxcc agent desktop, calls: the voice items the ACD offers to this agent (their phone rings) or connected
// with them, from the "state" event's "calls", each with the screen pop of the caller's journey ("call-pop":
// who, VIP, open tickets, last agent, NPS, the last contacts). The phone answers; the page shows.
(function () {
  "use strict";
  var desk = window.tvoxDesk;
  var el = desk.el;
  var calls = {};  // item id -> {panel, meta, status}

  function panel(item) {
    var call = calls[item];
    if (call) { return call; }
    var section = el("section", { "class": "call", "data-item": item });
    var title = el("h3", {}, "");
    var meta = el("div", { "class": "meta" }, "");
    var pop = el("div", { "class": "pop" }, "");
    var timeline = el("ol", { "class": "timeline" });
    var decline = el("button", { "class": "decline-call", type: "button" }, "Decline");
    decline.addEventListener("click", function () { desk.error(); desk.request({ type: "decline-call", item: item }); });
    section.append(title, meta, pop, decline, timeline);
    document.getElementById("desk-calls").prepend(section);
    call = calls[item] = { panel: section, title: title, meta: meta, pop: pop, timeline: timeline, decline: decline,
      status: "" };
    return call;
  }

  function setStatus(call, status, info) {
    call.status = status;
    call.panel.className = "call " + status;
    call.decline.hidden = status !== "offered";  // the phone answers; the page may only decline while it rings
    if (info) {
      if (!call.title.textContent) { call.title.textContent = info.caller || "unknown caller"; }
      call.meta.textContent = "Call · queue " + info.queue + " · " + (status === "offered" ? "ringing" : status);
    } else {
      call.meta.textContent = call.meta.textContent.replace(/ · [a-z-]+$/, " · " + status);
    }
  }

  desk.on("state", function (event) {
    if (!event.agent || !event.calls) { return; }
    var present = {};
    event.calls.forEach(function (info) {
      present[info.item] = true;
      setStatus(panel(info.item), info.status, info);
    });
    Object.keys(calls).forEach(function (item) {
      var call = calls[item];
      if (!present[item] && call.status !== "ended" && call.status !== "missed") {
        setStatus(call, call.status === "offered" ? "missed" : "ended");
      }
    });
  });

  desk.on("call-pop", function (event) {
    var call = panel(event.item);
    var p = event.pop || {};
    var parts = [];
    if (p.contact) {
      var c = p.contact;
      var name = c.display_name || "contact #" + c.id;
      call.title.textContent = name + (p.caller ? " <" + p.caller + ">" : "");
      parts.push(name + (c.company ? " (" + c.company + ")" : "") + (p.vip ? " · VIP" : ""));
      parts.push("open tickets " + (p.open_tickets || []).length);
      if (p.last_agent) { parts.push("last agent " + p.last_agent); }
      if (p.nps_last != null) { parts.push("last NPS " + p.nps_last); }
    } else {
      parts.push("Unknown caller " + (p.caller || ""));
    }
    call.pop.textContent = parts.join(" · ");
    call.pop.setAttribute("data-pop", JSON.stringify(p));
    var entries = (p.last || []).map(function (e) {
      return el("li", {}, [e.started, e.channel, e.direction, e.outcome || e.status || "", e.agent || e.subject || ""]
        .filter(function (x) { return x; }).join(" · "));
    });
    call.timeline.replaceChildren.apply(call.timeline, entries);
  });
})();
