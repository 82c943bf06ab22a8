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

  // <span data-countdown="ISO-8601"> counts down to that moment.
  function tickCountdowns() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.floor((new Date(el.dataset.countdown) - new Date()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = (h ? h + "h " : "") + String(m).padStart(2, "0") + "m " + String(s).padStart(2, "0") + "s";
      if (left === 0 && !el.dataset.done) {
        el.dataset.done = "1";
        el.dispatchEvent(new CustomEvent("countdown:done", { bubbles: true }));
      }
    });
  }
  tickCountdowns();
  setInterval(tickCountdowns, 1000);
})();
