// The wallboard: one Server-Sent-Event stream per page; "live" redraws queues and agents, "summary" today's
// figures. Waits and times in state count up locally between events. Text only (no innerHTML): names are data.
"use strict";
(function () {
  const board = document.getElementById("board");
  const tenant = board.dataset.tenant;
  const queue = board.dataset.queue;
  const status = document.getElementById("status");
  const canListen = board.dataset.canListen === "yes";  // a supervisor or an admin: a Listen button per call
  const listened = {};  // agent name -> what the last Listen request answered
  let live = null;
  let receivedAt = 0;

  // Ask to listen to an agent's call (tvoxcc.web.listen): the supervisor's own phone rings first.
  async function listen(agent) {
    listened[agent] = "asking…";
    draw();
    const path = "/api/tenants/" + encodeURIComponent(tenant) + "/agents/" + encodeURIComponent(agent) + "/listen";
    try {
      const response = await fetch(path, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mode: "listen" }),
      });
      const body = await response.json();
      listened[agent] = response.ok ? "your phone " + body.phone + " rings (session " + body.session + ")" : body.error;
    } catch (e) {
      listened[agent] = "request failed: " + e.message;
    }
    draw();
  }

  function listenCell(row, agent) {
    const td = document.createElement("td");
    td.className = "listen";
    if (agent.state === "busy") {  // on a call (or a chat: the API says so)
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Listen";
      button.addEventListener("click", () => listen(agent.name));
      td.appendChild(button);
    }
    if (listened[agent.name]) {
      const result = document.createElement("span");
      result.className = "listen-result";
      result.textContent = " " + listened[agent.name];
      td.appendChild(result);
    }
    row.appendChild(td);
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.floor(seconds);
    const m = Math.floor(s / 60);
    return m > 0 ? m + "m " + String(s % 60).padStart(2, "0") + "s" : s + "s";
  }

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
  }

  function fill(table, rows, build) {
    const body = table.querySelector("tbody");
    body.replaceChildren(...rows.map(build));
  }

  function draw() {
    if (!live) return;
    const elapsed = (Date.now() - receivedAt) / 1000;
    const plus = (v) => (v === null || v === undefined ? null : v + elapsed);
    fill(document.getElementById("queues"), live.queues, (q) => {
      const tr = document.createElement("tr");
      tr.dataset.queue = q.name;
      cell(tr, q.name, "name");
      cell(tr, String(q.waiting), "waiting");
      cell(tr, q.waiting > 0 ? duration(plus(q.longest_wait_s)) : "–", "longest");
      const agents = q.agents ? Object.entries(q.agents).map(([k, v]) => v + " " + k).join(", ") : "";
      cell(tr, agents, "agents");
      if (q.waiting > 0) tr.className = "busy";
      return tr;
    });
    fill(document.getElementById("agents"), live.agents, (a) => {
      const tr = document.createElement("tr");
      tr.dataset.agent = a.name;
      tr.className = "state-" + a.state;
      cell(tr, a.display_name || a.name, "name");
      cell(tr, a.state, "state");
      cell(tr, a.reason || "", "reason");
      cell(tr, duration(plus(a.in_state_s)), "since");
      if (canListen) listenCell(tr, a);
      return tr;
    });
  }

  function drawSummary(figures) {
    const row = (queue && figures.queues && figures.queues[queue]) || figures.total;
    const dl = document.getElementById("today");
    const items = [
      ["Offered", row.offered], ["Answered", row.answered], ["Abandoned", row.abandoned], ["Shed", row.shed],
      ["Service level", row.sl_pct === null ? "–" : row.sl_pct + " %"],
      ["ASA", row.asa_s === null ? "–" : row.asa_s + " s"],
    ];
    dl.replaceChildren(...items.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = String(v);
      dd.dataset.figure = k.toLowerCase().replace(" ", "-");
      return [dt, dd];
    }));
  }

  const url = "/api/tenants/" + encodeURIComponent(tenant) + "/stream" + (queue ? "?queue=" + encodeURIComponent(queue) : "");
  const events = new EventSource(url);
  events.addEventListener("live", (e) => {
    live = JSON.parse(e.data);
    receivedAt = Date.now();
    board.dataset.version = String(live.version);
    status.textContent = "live";
    draw();
  });
  events.addEventListener("summary", (e) => drawSummary(JSON.parse(e.data)));
  events.onerror = async () => {
    status.textContent = "reconnecting…";
    const me = await fetch("/api/me", { credentials: "same-origin" }).catch(() => null);
    if (me && me.status === 401) {
      events.close();
      location.assign("/login?next=" + encodeURIComponent(location.pathname));
    }
  };
  setInterval(draw, 1000);
})();
