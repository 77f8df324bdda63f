// trunkd CRM: desktop screen pop, live calls, CSV file reader. No framework.
(function () {
  "use strict";
  var T = {};
  try { T = JSON.parse(document.getElementById("i18n").textContent); } catch (e) {}
  function tr(k) { return T[k] || k; }
  function $(id) { return document.getElementById(id); }
  function el(tag, text) { var e = document.createElement(tag); if (text != null) e.textContent = text; return e; }
  function fmtTime(ms) { if (!ms) return ""; var d = new Date(ms); return d.toLocaleString(); }
  function fmtDur(ms) { if (ms == null) return ""; var s = Math.floor(ms / 1000); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); }
  function wsUrl(path) { return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path; }

  // Reconnecting WebSocket: 0.5 s doubling to 10 s.
  function connect(path, onMessage, onOpen) {
    var delay = 500, status = $("ws-status");
    function setStatus(s) { if (status) { status.dataset.state = s; status.textContent = s === "open" ? tr("connected") : tr("disconnected"); } }
    function open() {
      var ws = new WebSocket(wsUrl(path));
      ws.onopen = function () { delay = 500; setStatus("open"); if (onOpen) onOpen(ws); };
      ws.onmessage = function (ev) { var m; try { m = JSON.parse(ev.data); } catch (e) { return; } onMessage(ws, m); };
      ws.onclose = function () { setStatus("closed"); setTimeout(open, delay); delay = Math.min(delay * 2, 10000); };
    }
    open();
  }

  // ---- agent desktop
  if ($("desktop")) {
    var seen = {};
    var showPop = function (ws, m) {
      ws.send(JSON.stringify({ op: "ack", pop_id: m.pop_id }));
      if (seen[m.pop_id]) return;
      seen[m.pop_id] = true;
      var card = $("pop-card"), c = m.customer, caller = m.caller || {};
      card.hidden = false;
      $("pop-waiting").hidden = true;
      card.dataset.callId = m.call_id; card.dataset.legId = m.leg_id; card.dataset.popId = m.pop_id;
      $("pop-name").textContent = c ? c.name : (caller.name || tr("unknown_caller"));
      var lv = c ? c.level : "normal";
      $("pop-level").textContent = tr(lv); $("pop-level").dataset.level = lv;
      $("pop-number").textContent = caller.number || "";
      var cls = caller["class"] || "normal";
      $("pop-class").textContent = tr(cls); $("pop-class").dataset["class"] = cls;
      $("pop-state").textContent = tr(m.state || "ringing"); $("pop-state").dataset.state = m.state || "ringing";
      $("pop-owner").textContent = c && c.owner_name ? c.owner_name : tr("none");
      $("pop-phones").textContent = c ? c.phones.join(", ") : "";
      $("pop-notes").textContent = c ? c.notes : "";
      var edit = $("pop-edit");
      edit.href = c ? "/customers/" + c.id : "/customers/new"; 
      var tb = $("pop-recent").tBodies[0];
      tb.textContent = "";
      (m.recent_calls || []).forEach(function (r) {
        var row = tb.insertRow();
        row.dataset.legId = r.leg_id;
        row.appendChild(el("td", fmtTime(r.start_ms)));
        row.appendChild(el("td", tr(r.direction || "")));
        row.appendChild(el("td", fmtDur(r.talk_ms)));
        row.appendChild(el("td", r.cause || ""));
        var td = el("td");
        if (r.recording_url) { var a = el("audio"); a.className = "recording"; a.controls = true; a.preload = "none"; a.src = r.recording_url; td.appendChild(a); }
        row.appendChild(td);
      });
      var li = el("li", fmtTime(Date.now()) + " " + (caller.number || "") + " " + (c ? c.name : ""));
      var h = $("pop-history"); h.insertBefore(li, h.firstChild);
      if (document.hidden && window.Notification && Notification.permission === "granted") {
        try { new Notification($("pop-name").textContent, { body: caller.number || "" }); } catch (e) {}
      }
    };
    connect("/ws/desktop", function (ws, m) {
      if (m.type === "pop") showPop(ws, m);
      else if (m.type === "call_state") {
        var card = $("pop-card");
        if (card.dataset.legId === m.leg_id) { $("pop-state").textContent = tr(m.state); $("pop-state").dataset.state = m.state; }
      }
    });
    if (window.Notification && Notification.permission === "default") { try { Notification.requestPermission(); } catch (e) {} }
  }

  // ---- supervisor live calls
  if ($("live")) {
    var tbody = $("live-calls").tBodies[0];
    var render = function (leg) {
      var row = tbody.querySelector('tr[data-leg-id="' + CSS.escape(leg.leg_id) + '"]');
      if (leg.end_ms) { if (row) { row.dataset.state = "ended"; setTimeout(function () { row.remove(); }, 3000); } return; }
      if (!row) { row = tbody.insertRow(); row.dataset.legId = leg.leg_id; }
      row.textContent = "";
      [fmtTime(leg.start_ms), tr(leg.direction || ""), (leg.from_number || "") + " " + (leg.customer_name || ""), leg.to_number || "",
       leg.device || "", leg.agent_login || leg.agent_device || "", leg["class"] || "", tr(leg.state || "")].forEach(function (v) { row.appendChild(el("td", v)); });
    };
    connect("/ws/live", function (ws, m) {
      if (m.type === "snapshot") {
        tbody.textContent = "";
        (m.legs || []).forEach(render);
        var ul = $("gateways"); ul.textContent = "";
        (m.gateways || []).forEach(function (g) {
          var li = el("li", g.name + ": " + (g.connected ? tr("connected") : tr("disconnected")) + " (seq " + (g.last_seq == null ? "" : g.last_seq) + ")");
          li.dataset.gateway = g.name; li.dataset.connected = g.connected; ul.appendChild(li);
        });
      } else if (m.type === "leg") render(m.leg);
    });
  }

  // ---- CSV import: read the chosen file into the textarea
  var file = $("import-file");
  if (file) {
    file.addEventListener("change", function () {
      var f = file.files[0]; if (!f) return;
      var r = new FileReader();
      r.onload = function () { $("import-csv").value = r.result; };
      r.readAsText(f, "utf-8");
    });
  }
})();
