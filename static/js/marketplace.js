// Marketplace page glue: one click per payment form, copy pass tokens.
(function () {
  "use strict";

  // A payment form submits once: the button turns into a spinner until the next page.
  document.querySelectorAll("form[data-busy-on-submit]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.classList.add("htmx-request");
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  });

  // A pass whose countdown reaches zero: fetch the list again (once), so it moves to Expired.
  var reloaded = false;
  document.body.addEventListener("countdown:done", function (event) {
    if (reloaded || !event.target.closest("[data-reload-on-done]") || !window.htmx) return;
    reloaded = true;
    setTimeout(function () {
      window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#pass-tabs", swap: "outerHTML" });
    }, 1500);
  });

  // <button data-copy="text"> copies the text and says so.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var done = function () { window.flexpass && window.flexpass.toast("Copied to the clipboard", "success"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(button.dataset.copy).then(done);
    } else {
      var area = document.createElement("textarea");
      area.value = button.dataset.copy;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
      done();
    }
  });
})();
