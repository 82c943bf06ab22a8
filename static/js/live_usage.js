// Live pass usage and metered-session cost over /ws/live/ (marketplace/consumers.py).
(function () {
  "use strict";
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var delay = 1000;
  function rupees(paise) {
    return "₹" + (paise / 100).toLocaleString("en-IN", { minimumFractionDigits: 2 });
  }
  function onUsage(msg) {
    var card = document.querySelector('[data-pass-id="' + msg.pass_id + '"]');
    if (!card || msg.units_left === null) return;
    var el = card.querySelector('[data-testid="units-left"] strong');
    if (el) el.textContent = msg.units_left;
    var bar = card.querySelector(".progress");
    if (bar) {
      var total = parseInt(bar.getAttribute("aria-valuemax"), 10) || 1;
      bar.setAttribute("aria-valuenow", msg.units_left);
      var fill = bar.querySelector("span");
      if (fill) fill.style.width = Math.round((100 * msg.units_left) / total) + "%";
    }
  }
  function onTick(msg) {
    var box = document.querySelector('[data-session-id="' + msg.session_id + '"]');
    if (!box) return;
    var cost = box.querySelector("[data-cost]");
    if (cost) cost.textContent = rupees(msg.cost_paise);
    var status = box.querySelector("[data-status]");
    if (status) status.textContent = msg.status + (msg.stop_reason ? " (" + msg.stop_reason + ")" : "");
    if (msg.status === "stopped") {
      var form = box.querySelector("form");
      if (form) form.remove();
    }
  }
  function connect() {
    var socket = new WebSocket(scheme + window.location.host + "/ws/live/");
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (e) {
      var msg = JSON.parse(e.data);
      if (msg.type === "pass.usage") onUsage(msg);
      else if (msg.type === "session.tick") onTick(msg);
    };
    socket.onclose = function (e) {
      if (e.code === 4401) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
