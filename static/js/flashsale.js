// Flash sales: live stock bars over WebSocket, waitlist offers, the hold timer bar.
// Protocol: see flashsale/consumers.py. Plain JS, no framework.
(function () {
  "use strict";

  var STATE_TEXT = { in_stock: "", low: "Almost gone", sold_out: "Sold out" };

  function setStock(row) {
    document.querySelectorAll('[data-item="' + row.id + '"]').forEach(function (card) {
      var label = card.querySelector("[data-stock-label]");
      var bar = card.querySelector("[data-stock-bar]");
      var progress = bar && bar.parentElement;
      var before = progress ? progress.getAttribute("aria-valuenow") : null;
      if (bar) bar.style.width = row.percent + "%";
      if (progress) progress.setAttribute("aria-valuenow", row.available);
      if (label) {
        label.innerHTML = "";
        var strong = document.createElement("strong");
        if (row.available > 0) {
          strong.textContent = row.available;
          label.append(strong, " of " + row.total + " left");
        } else {
          strong.textContent = "Sold out";
          label.append(strong, " · " + row.total + " sold or held");
        }
        if (before !== null && String(before) !== String(row.available)) {
          label.classList.remove("flash-update");
          void label.offsetWidth; // restart the animation
          label.classList.add("flash-update");
        }
      }
      card.dataset.state = row.state;
      var select = card.querySelector('select[name="quantity"]');
      if (select) {
        Array.prototype.forEach.call(select.options, function (option) {
          option.disabled = Number(option.value) > row.available;
        });
      }
    });
  }

  var offersShown = {};
  function showOffer(offer) {
    if (offersShown[offer.hold_id]) return;
    offersShown[offer.hold_id] = true;
    var box = document.querySelector("[data-offers]");
    if (box) {
      var bar = document.createElement("div");
      bar.className = "fs-holdbar";
      var text = document.createElement("span");
      text.className = "grow";
      text.textContent = "Good news: " + offer.item_name + " came back and is held for you.";
      var timer = document.createElement("span");
      timer.className = "timer";
      timer.dataset.countdown = offer.expires_at;
      var link = document.createElement("a");
      link.className = "btn";
      link.href = offer.url;
      link.textContent = "Check out now";
      bar.append(text, timer, link);
      box.append(bar);
    }
    // The sold-out card stops saying "#1 in line": the unit is theirs now.
    document.querySelectorAll('[data-item="' + offer.item_id + '"] .fs-waiting').forEach(function (box) {
      var held = document.createElement("a");
      held.className = "btn btn-block";
      held.href = offer.url;
      held.textContent = "Held for you · Check out";
      box.replaceWith(held);
    });
  }

  function setDot(state, text) {
    document.querySelectorAll("[data-live-dot]").forEach(function (dot) {
      dot.dataset.state = state;
      dot.textContent = text;
    });
  }

  function watch(section) {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      "/ws/flash/" + section.dataset.flashSale + "/";
    var delay = 1000;
    function open() {
      var socket = new WebSocket(url);
      socket.onopen = function () { delay = 1000; setDot("live", "Live stock"); };
      socket.onmessage = function (event) {
        var message = JSON.parse(event.data);
        if (message.type === "snapshot") message.items.forEach(setStock);
        else if (message.type === "stock") setStock(message.item);
        else if (message.type === "offer") showOffer(message);
      };
      socket.onclose = function (event) {
        if (event.code === 4404) return; // the sale is gone
        setDot("reconnecting", "Reconnecting…");
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      };
    }
    open();
  }
  document.querySelectorAll("[data-flash-sale]").forEach(watch);

  // A sale opening or closing: show the new state (the server decides from the clock).
  document.body.addEventListener("countdown:done", function (event) {
    var target = event.target;
    if (!target.hasAttribute) return;
    if (target.hasAttribute("data-reload-on-done")) {
      setTimeout(function () { location.reload(); }, 1500);
    }
    var holdbar = target.closest(".fs-holdbar");
    if (holdbar) {
      holdbar.style.opacity = ".6";
      target.textContent = "Expired";
      var link = holdbar.querySelector("a");
      if (link) link.remove();
    }
  });

  // The hold page's bar shrinks with the time left; the last 20 seconds turn red.
  function tickHoldBars() {
    document.querySelectorAll("[data-hold-progress]").forEach(function (bar) {
      var start = new Date(bar.dataset.start), end = new Date(bar.dataset.end);
      var now = window.serverNow ? window.serverNow() : Date.now();
      var left = Math.max(0, Math.min(1, (end - now) / (end - start)));
      bar.style.width = (left * 100).toFixed(1) + "%";
      var panel = bar.closest(".fs-hold");
      if (panel) panel.toggleAttribute("data-urgent", (end - now) < 20000);
    });
  }
  tickHoldBars();
  setInterval(tickHoldBars, 1000);
})();
