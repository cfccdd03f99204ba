/* gsomia web UI: progressive enhancement only. Every page works without this file; with it, the network's
   date slider redraws the chart in place and 'Verify now' shows its progress. No markup is ever built from
   text the server sent: the SVG is parsed as XML and imported, everything else is set with textContent. */
(function () {
  "use strict";
  var DAY = 86400000;

  function isoDay(first, offset) {
    var p = first.split("-");
    return new Date(Date.UTC(+p[0], +p[1] - 1, +p[2]) + offset * DAY).toISOString().slice(0, 10);
  }

  function daysBetween(first, day) {
    var a = first.split("-"), b = day.split("-");
    return Math.round((Date.UTC(+b[0], +b[1] - 1, +b[2]) - Date.UTC(+a[0], +a[1] - 1, +a[2])) / DAY);
  }

  function updateStates(svg, day) {
    var caption = document.getElementById("states-day");
    if (caption) { caption.textContent = day; }
    document.querySelectorAll("#agreement-states tr[data-agreement]").forEach(function (row) {
      var edge = svg.querySelector('g.agreement[data-agreement="' + CSS.escape(row.dataset.agreement) + '"]');
      var cell = row.querySelector("td.state");
      if (!edge || !cell) { return; }
      var state = edge.getAttribute("data-state");
      cell.dataset.state = state;
      cell.textContent = state + (state === "notice-suspended" ? " (disputed)" : "");
    });
  }

  function network() {
    var form = document.getElementById("network-form");
    var slider = document.getElementById("day-slider");
    var dayInput = document.getElementById("day");
    var figure = document.getElementById("network");
    var status = document.getElementById("network-status");
    if (!form || !slider || !dayInput || !figure) { return; }
    var first = form.dataset.first, pending = null, asked = 0;
    slider.hidden = false;

    function world() {
      var checked = form.querySelector('input[name="world"]:checked');
      return checked ? checked.value : "actual";
    }

    function redraw() {
      var day = dayInput.value, w = world(), mine = ++asked;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) { return; }
      status.textContent = "Drawing the " + w + " world on " + day + "…";
      var url = form.dataset.svg + "?day=" + encodeURIComponent(day) + "&world=" + encodeURIComponent(w);
      fetch(url, { credentials: "same-origin", headers: { Accept: "image/svg+xml" } })
        .then(function (r) {
          var type = r.headers.get("content-type") || "";
          if (!r.ok || type.indexOf("image/svg+xml") !== 0) { throw new Error("the node answered " + r.status); }
          return r.text();
        })
        .then(function (text) {
          if (mine !== asked) { return; }  // a later day was asked for meanwhile
          var svg = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
          if (svg.nodeName !== "svg") { throw new Error("the answer is not an SVG"); }
          figure.replaceChildren(document.importNode(svg, true));
          figure.dataset.day = day;
          figure.dataset.world = w;
          updateStates(svg, day);
          history.replaceState(null, "", "?day=" + day + "&world=" + w);
          status.textContent = "Showing the " + w + " world on " + day + ".";
        })
        .catch(function (e) { status.textContent = "Could not redraw (" + e.message + "); use the Show button."; });
    }

    function soon() {
      clearTimeout(pending);
      pending = setTimeout(redraw, 100);
    }

    slider.addEventListener("input", function () { dayInput.value = isoDay(first, +slider.value); soon(); });
    dayInput.addEventListener("change", function () {
      if (dayInput.value) { slider.value = String(daysBetween(first, dayInput.value)); }
      soon();
    });
    form.querySelectorAll('input[name="world"]').forEach(function (r) { r.addEventListener("change", soon); });
    form.addEventListener("submit", function (e) { e.preventDefault(); redraw(); });
  }

  function line(parent, tag, text, cls) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (cls) { node.className = cls; }
    parent.appendChild(node);
    return node;
  }

  function showReport(box, report) {
    box.replaceChildren();
    var summary = report.leaves + " leaves, " + report.heads + " heads, " +
      (report.ok ? "no fault" : report.faults.length + " fault(s)") + " (" + report.seconds + " s).";
    var p = line(box, "p", "Just verified " + report.verified_at + ": " + summary, report.ok ? "ok" : "bad");
    p.dataset.ok = report.ok ? "true" : "false";
    if (report.faults.length) {
      var list = line(box, "ul", "");
      report.faults.slice(0, 20).forEach(function (f) {
        line(list, "li", (f.leaf === null ? "" : "leaf " + f.leaf + ": ") + f.what);
      });
    }
  }

  function verify() {
    var form = document.getElementById("verify-form");
    var progress = document.getElementById("verify-progress");
    var elapsed = document.getElementById("verify-elapsed");
    var result = document.getElementById("verify-result");
    if (!form || !progress || !elapsed || !result) { return; }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = form.querySelector("button");
      var began = Date.now();
      var tick = function () { elapsed.textContent = "Verifying… " + ((Date.now() - began) / 1000).toFixed(1) + " s"; };
      button.disabled = true;
      progress.hidden = false;
      result.replaceChildren();
      tick();
      var timer = setInterval(tick, 100);
      fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: new URLSearchParams(new FormData(form))
      })
        .then(function (r) {
          if (!r.ok) { throw new Error("the node answered " + r.status); }
          return r.json();
        })
        .then(function (report) { showReport(result, report); })
        .catch(function (err) { line(result, "p", "Could not verify: " + err.message + ".", "bad"); })
        .finally(function () {
          clearInterval(timer);
          elapsed.textContent = "";
          progress.hidden = true;
          button.disabled = false;
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    network();
    verify();
  });
}());
