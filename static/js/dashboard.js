// The operator dashboard: draw the panel's charts, then refresh the panel in place.
(function () {
  "use strict";
  var dash = document.querySelector("[data-dash]");
  if (!dash || !dash.dataset.src) return;
  var body = dash.querySelector("[data-dash-body]");
  var charts = [];
  var PALETTE = ["#5b4cf0", "#0ea5e9", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#64748b"];
  var rupees = new Intl.NumberFormat("en-IN", { style: "currency", currency: "INR" });

  function data(id) {
    var el = body.querySelector("#" + id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function canvas(name) { return body.querySelector('[data-chart-for="' + name + '"]'); }
  function paise(value) { return rupees.format(value / 100); }

  function draw() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    if (!window.Chart) return;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = getComputedStyle(document.body).getPropertyValue("--body-quiet-color") || "#666";
    var base = { responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } } };
    var revenue = data("dash-revenue");
    if (revenue && canvas("revenue-day")) {
      charts.push(new Chart(canvas("revenue-day"), {
        type: "bar",
        data: { labels: revenue.labels, datasets: revenue.by_day.map(function (s, i) {
          return { label: s.label, data: s.data.map(function (v) { return v / 100; }), backgroundColor: PALETTE[i % PALETTE.length], borderRadius: 3, stack: "r" };
        }) },
        options: Object.assign({}, base, {
          interaction: { mode: "index", intersect: false },
          scales: { x: { stacked: true, ticks: { maxTicksLimit: 10 } }, y: { stacked: true, beginAtZero: true,
            ticks: { callback: function (v) { return "₹" + v.toLocaleString("en-IN"); } } } },
          plugins: Object.assign({}, base.plugins, { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + rupees.format(c.parsed.y); } } } })
        })
      }));
    }
    if (revenue && canvas("revenue-category")) {
      charts.push(new Chart(canvas("revenue-category"), {
        type: "doughnut",
        data: { labels: revenue.by_category.map(function (r) { return r.label; }),
          datasets: [{ data: revenue.by_category.map(function (r) { return r.total; }), backgroundColor: PALETTE, borderWidth: 0 }] },
        options: Object.assign({}, base, { cutout: "62%", plugins: Object.assign({}, base.plugins, {
          tooltip: { callbacks: { label: function (c) { return c.label + ": " + paise(c.parsed); } } } }) })
      }));
    }
    var active = data("dash-active");
    if (active && canvas("active-hours")) {
      charts.push(new Chart(canvas("active-hours"), {
        type: "line",
        data: { labels: active.labels, datasets: [{ label: "Active users", data: active.by_hour, borderColor: "#10b981",
          backgroundColor: "rgba(16,185,129,.15)", fill: true, tension: .3, pointRadius: 2 }] },
        options: Object.assign({}, base, { plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } })
      }));
    }
    var security = data("dash-security");
    if (security && canvas("security-hours")) {
      charts.push(new Chart(canvas("security-hours"), {
        type: "bar",
        data: { labels: security.labels, datasets: security.series.map(function (s, i) {
          return { label: s.label, data: s.data, backgroundColor: ["#ef4444", "#f59e0b", "#8b5cf6", "#0ea5e9", "#64748b", "#ec4899"][i % 6], borderRadius: 2, stack: "s" };
        }) },
        options: Object.assign({}, base, { interaction: { mode: "index", intersect: false },
          scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } })
      }));
    }
    var blocks = data("dash-blocks");
    if (blocks && canvas("security-blocks")) {
      charts.push(new Chart(canvas("security-blocks"), {
        type: "bar",
        data: { labels: blocks.labels, datasets: blocks.series.map(function (s, i) {
          return { label: s.label, data: s.data, backgroundColor: ["#f59e0b", "#ef4444", "#0ea5e9", "#8b5cf6", "#64748b"][i % 5], borderRadius: 2, stack: "b" };
        }) },
        options: Object.assign({}, base, { interaction: { mode: "index", intersect: false },
          scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } })
      }));
    }
  }

  function refresh() {
    if (document.visibilityState !== "visible") return;
    if (body.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;  // typing a reason
    dash.classList.add("refreshing");
    fetch(dash.dataset.src, { credentials: "same-origin" })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.text(); })
      .then(function (html) {
        body.innerHTML = html;
        draw();
        stamp();
      })
      .catch(function () { /* keep the last figures; try again next tick */ })
      .finally(function () { dash.classList.remove("refreshing"); });
  }

  function stamp() {  // the viewer's clock, like every other time the browser shows
    var el = dash.querySelector("[data-updated]");
    if (el) el.textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }

  draw();
  stamp();
  setInterval(refresh, Math.max(5, Number(dash.dataset.refresh || 20)) * 1000);
})();
