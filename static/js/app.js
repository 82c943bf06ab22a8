// FlexPass page glue: toasts, the mobile menu, countdowns. Plain JS, no framework.
(function () {
  "use strict";

  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast " + (level || "info");
    el.setAttribute("role", "status");
    var text = document.createElement("span");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.onclick = function () { el.remove(); };
    el.append(text, close);
    box.append(el);
    setTimeout(function () { el.remove(); }, 6000);
  }
  window.flexpass = { toast: toast };

  // Server-sent toasts: HX-Trigger: {"toast": {"message": "...", "level": "success"}}
  document.body.addEventListener("toast", function (event) {
    toast(event.detail.message, event.detail.level);
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    // A refusal that carries its own toast (HX-Trigger) has shown it already.
    if (/"toast"/.test(xhr.getResponseHeader("HX-Trigger") || "")) return;
    var message = "Something went wrong. Please try again.";
    try { message = JSON.parse(xhr.responseText).detail || message; } catch (e) { /* HTML body */ }
    toast(message, "error");
  });

  document.querySelectorAll("[data-autodismiss] .toast").forEach(function (el) {
    setTimeout(function () { el.remove(); }, 6000);
  });

  var toggle = document.querySelector(".menu-toggle");
  if (toggle) toggle.addEventListener("click", function () {
    document.querySelector(".nav").classList.toggle("open");
  });

  // Countdowns run on the server's clock, not the browser's: a browser clock a few
  // minutes fast would end a sale's countdown early and reload a page the server still
  // calls "upcoming", again and again, at the busiest moment. /healthz says the time;
  // half the round trip is the best guess of its age. Nothing counts until it answers
  // (or 2 s pass: then the browser's clock it is).
  var skewMs = 0;
  window.serverNow = function () { return Date.now() + skewMs; };
  function syncClock() {
    var sent = Date.now();
    var ask = fetch("/healthz", { cache: "no-store", credentials: "omit" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var back = Date.now();
        if (typeof body.now_ms === "number") skewMs = body.now_ms + (back - sent) / 2 - back;
      })
      .catch(function () { /* keep the browser's clock */ });
    var late = new Promise(function (resolve) { setTimeout(resolve, 2000); });
    return Promise.race([ask, late]);
  }

  // <span data-countdown="ISO-8601"> counts down to that moment.
  function tickCountdowns() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.floor((new Date(el.dataset.countdown) - window.serverNow()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = (h ? h + "h " : "") + String(m).padStart(2, "0") + "m " + String(s).padStart(2, "0") + "s";
      if (left === 0 && !el.dataset.done) {
        el.dataset.done = "1";
        el.dispatchEvent(new CustomEvent("countdown:done", { bubbles: true }));
      }
    });
  }
  var clocked = document.querySelector("[data-countdown], [data-hold-progress]");
  (clocked ? syncClock() : Promise.resolve()).then(function () {
    tickCountdowns();
    setInterval(tickCountdowns, 1000);
  });
})();
