// Wallet page glue: live balances over a WebSocket, the spending chart, quick amounts,
// busy buttons, copy buttons. Plain JS; every part is optional on the page.
(function () {
  "use strict";

  var toast = function (message, level) {
    if (window.flexpass && window.flexpass.toast) window.flexpass.toast(message, level);
  };

  // --- forms: one press, visible progress ------------------------------------------------
  document.querySelectorAll("form[data-busy-on-submit]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.classList.add("is-busy");
        // Disable after the submit has been dispatched so the browser still sends it.
        setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  });
  window.addEventListener("pageshow", function () {  // back button: buttons work again
    document.querySelectorAll("button.is-busy").forEach(function (button) {
      button.classList.remove("is-busy");
      button.disabled = false;
    });
  });

  document.querySelectorAll("[data-quick-amount]").forEach(function (chip) {
    chip.addEventListener("click", function () {
      var input = chip.closest("form").querySelector("input[name=amount_rupees]");
      input.value = chip.dataset.quickAmount;
      chip.parentElement.querySelectorAll("[data-quick-amount]").forEach(function (other) {
        other.setAttribute("aria-pressed", other === chip ? "true" : "false");
      });
      input.focus();
    });
  });

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector(button.dataset.copy);
      var done = function () { toast("Copied", "success"); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done);
      } else {
        field.select();
        document.execCommand("copy");
        done();
      }
    });
  });

  // --- the statement: keep the CSV link in step with the filters --------------------------
  document.body.addEventListener("htmx:afterSwap", function () {
    var statement = document.getElementById("statement");
    var link = document.getElementById("csv-link");
    if (statement && link && statement.dataset.csvUrl) link.href = statement.dataset.csvUrl;
  });

  function refreshStatement() {
    var statement = document.getElementById("statement");
    if (!statement || !window.htmx) return;
    window.htmx.ajax("GET", statement.dataset.refreshUrl, {
      target: "#statement",
      swap: "outerHTML",
    });
  }

  // --- spending chart ---------------------------------------------------------------------
  var PALETTE = ["#5b4cf0", "#16a34a", "#f59e0b", "#ef4444", "#0ea5e9", "#a855f7", "#14b8a6", "#64748b"];

  function rupees(paise) {
    return "₹" + (paise / 100).toLocaleString("en-IN", { minimumFractionDigits: 0, maximumFractionDigits: 2 });
  }

  function drawChart() {
    var canvas = document.getElementById("spending-chart");
    var source = document.getElementById("spending-data");
    if (!canvas || !source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var labels = data.labels.map(function (iso) {
      var parts = iso.split("-");
      return new Date(+parts[0], +parts[1] - 1, +parts[2])
        .toLocaleDateString("en-IN", { day: "numeric", month: "short" });
    });
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: labels,
        datasets: data.series.map(function (series, index) {
          return {
            label: series.label,
            data: series.data.map(function (paise) { return paise / 100; }),
            backgroundColor: PALETTE[index % PALETTE.length],
            borderRadius: 4,
            maxBarThickness: 18,
          };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: { stacked: true, beginAtZero: true, ticks: { callback: function (v) { return "₹" + v.toLocaleString("en-IN"); } } },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12, usePointStyle: true } },
          tooltip: {
            filter: function (item) { return item.raw > 0; },
            callbacks: {
              label: function (item) { return " " + item.dataset.label + ": " + rupees(Math.round(item.raw * 100)); },
            },
          },
        },
      },
    });
  }
  if (document.readyState === "complete") drawChart();
  else window.addEventListener("load", drawChart);

  // --- live balances ----------------------------------------------------------------------
  var balanceEls = document.querySelectorAll("[data-balance]");
  var status = document.getElementById("live-status");
  if (!balanceEls.length || !("WebSocket" in window)) return;

  function setStatus(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  function show(el, paise, display) {
    if (String(paise) === el.dataset.paise) return false;
    el.dataset.paise = String(paise);
    el.textContent = display;
    el.classList.remove("flash-update");
    void el.offsetWidth;  // restart the animation
    el.classList.add("flash-update");
    return true;
  }

  function onBalance(message) {
    var available = document.querySelector('[data-balance="available"]');
    var before = available ? Number(available.dataset.paise) : null;
    var changed = false;
    balanceEls.forEach(function (el) {
      var key = el.dataset.balance;
      if (message[key + "_paise"] === undefined) return;
      changed = show(el, message[key + "_paise"], message[key + "_display"]) || changed;
    });
    if (!changed) return;
    if (before !== null && message.available_paise > before) {
      toast("Money received: " + rupees(message.available_paise - before), "success");
    }
    refreshStatement();
  }

  var socket = null;
  var retryTimer = null;
  var attempt = 0;
  var MAX_DELAY_MS = 30000;

  function connect() {
    retryTimer = null;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/wallet/");
    socket.addEventListener("open", function () {
      attempt = 0;
      setStatus("live", "Live");
    });
    socket.addEventListener("message", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "balance") onBalance(message);
      else if (message.type === "low_balance") {
        toast("Low balance: " + message.balance_display + " left in your wallet.", "warning");
      }
    });
    socket.addEventListener("close", function (event) {
      if (event.code === 4401) { setStatus("offline", "Offline"); return; }  // signed out
      attempt += 1;
      // 1 s, 2 s, 4 s ... 30 s, with jitter so a restarted server is not stampeded.
      var delay = Math.min(MAX_DELAY_MS, 1000 * Math.pow(2, attempt - 1));
      delay = delay / 2 + Math.random() * delay / 2;
      setStatus("reconnecting", "Reconnecting…");
      retryTimer = setTimeout(connect, delay);
    });
  }
  document.addEventListener("visibilitychange", function () {
    // Back on the tab after the laptop slept: reconnect now instead of after the backoff.
    if (document.visibilityState === "visible" && retryTimer !== null) {
      clearTimeout(retryTimer);
      attempt = 0;
      connect();
    }
  });
  connect();
})();
