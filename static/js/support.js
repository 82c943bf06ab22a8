// FlexPass support: the bell (ws/notifications/), the chat widget and every chat panel
// (ws/chat/<id>/), and the agents' queue (ws/support/queue/). Plain JS, no framework.
// The socket protocol is documented in docs/websockets.md.
(function () {
  "use strict";

  var SCHEME = location.protocol === "https:" ? "wss://" : "ws://";
  var FINAL_CLOSE_CODES = [4401, 4403, 4404];

  function toast(message, level) {
    if (window.flexpass && window.flexpass.toast) window.flexpass.toast(message, level);
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  function timeLabel(iso) {
    var date = new Date(iso);
    var now = new Date();
    var hm = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (date.toDateString() === now.toDateString()) return hm;
    return date.toLocaleDateString([], { day: "numeric", month: "short" }) + ", " + hm;
  }

  // --- a JSON socket that reconnects with backoff and pings every 25 s ---------------------
  function Socket(path, handlers) {
    this.path = path;
    this.handlers = handlers;
    this.attempt = 0;
    this.stopped = false;
    this.ws = null;
    this.pinger = null;
    this.open();
  }
  Socket.prototype.open = function () {
    var self = this;
    var ws = new WebSocket(SCHEME + location.host + this.path);
    this.ws = ws;
    ws.onopen = function () {
      self.attempt = 0;
      self.pinger = setInterval(function () { self.send({ type: "ping" }); }, 25000);
      if (self.handlers.open) self.handlers.open();
    };
    ws.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      self.handlers.message(data);
    };
    ws.onclose = function (event) {
      clearInterval(self.pinger);
      if (self.handlers.close) self.handlers.close(event.code);
      if (self.stopped || FINAL_CLOSE_CODES.indexOf(event.code) !== -1) return;
      var delay = Math.min(15000, 500 * Math.pow(2, self.attempt++)) + Math.random() * 400;
      setTimeout(function () { if (!self.stopped) self.open(); }, delay);
    };
  };
  Socket.prototype.send = function (frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  };
  Socket.prototype.stop = function () {
    this.stopped = true;
    clearInterval(this.pinger);
    if (this.ws) this.ws.close();
  };

  // --- a chat panel ---------------------------------------------------------------------------
  var SVG_FILE = '<svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" stroke-width="2"><path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z"/><path d="M14 2v6h6"/></svg>';

  function Chat(root) {
    var data = JSON.parse(root.querySelector("script[data-chat]").textContent);
    this.root = root;
    this.me = data.me;
    this.conversation = data.conversation;
    this.read = data.read || { customer: 0, team: 0 };
    this.uploadUrl = data.upload_url;
    this.maxBytes = data.max_bytes;
    this.canned = data.canned || [];
    this.ids = {};
    this.maxId = 0;
    this.minId = 0;
    this.pending = {};
    // Sent frames the server has not acknowledged yet, by client id: all are sent again
    // when the socket (re)opens. A frame sent just before the socket died would otherwise
    // stay "sending" for good; the server keeps one message per client id.
    this.unacked = {};
    this.noteMode = false;
    this.lastReadSent = 0;
    this.lastTypingSent = 0;
    this.typingTimers = {};
    this.log = root.querySelector("[data-log]");
    this.typingEl = root.querySelector("[data-typing]");
    this.connEl = root.querySelector("[data-conn]");
    this.form = root.querySelector("[data-compose]");
    this.input = root.querySelector("[data-input]");
    var self = this;
    (data.messages || []).forEach(function (message) { self.add(message, true); });
    if (data.more) this.addEarlierButton();
    this.renderReceipts();
    this.scrollDown(true);
    this.bindComposer();
    this.socket = new Socket("/ws/chat/" + this.conversation.id + "/", {
      open: function () { self.onOpen(); },
      message: function (frame) { self.onFrame(frame); },
      close: function (code) { self.setConn(code === 4404 ? "gone" : "down"); }
    });
    this.onVisible = function () { self.markRead(); };
    document.addEventListener("visibilitychange", this.onVisible);
    root._chat = this;
  }

  Chat.prototype.destroy = function () {
    this.socket.stop();
    document.removeEventListener("visibilitychange", this.onVisible);
  };

  Chat.prototype.setConn = function (state) {
    if (!this.connEl) return;
    this.connEl.className = "conn-state " + (state === "live" ? "live" : "down");
    this.connEl.textContent = state === "live" ? "Live" : state === "gone" ? "Unavailable" : "Reconnecting…";
  };

  Chat.prototype.onOpen = function () {
    this.setConn("live");
    this.socket.send({ type: "sync", after: this.maxId });
    var self = this;
    Object.keys(this.unacked).forEach(function (clientId) { self.socket.send(self.unacked[clientId]); });
  };

  Chat.prototype.onFrame = function (frame) {
    var self = this;
    switch (frame.type) {
      case "history":
        frame.messages.forEach(function (message) { self.add(message); });
        if (frame.more) this.socket.send({ type: "sync", after: this.maxId });
        this.read = frame.read;
        this.updateConversation(frame.conversation);
        this.renderReceipts();
        this.scrollDown();
        this.markRead();
        break;
      case "message":
        var nearBottom = this.isNearBottom();
        this.add(frame.message);
        if (frame.message.sender.id !== this.me.id) this.showTyping(frame.message.sender.id, null, false);
        this.renderReceipts();
        if (nearBottom || frame.message.sender.id === this.me.id) this.scrollDown();
        this.markRead();
        break;
      case "typing":
        this.showTyping(frame.user_id, frame.name, frame.on);
        break;
      case "read":
        var side = frame.role === "customer" ? "customer" : "team";
        if (frame.message_id > (this.read[side] || 0)) this.read[side] = frame.message_id;
        this.renderReceipts();
        break;
      case "conversation":
        this.updateConversation(frame.conversation);
        break;
      case "ack":
        delete this.unacked[frame.client_id];
        var el = this.pending[frame.client_id];
        if (el && !this.ids[frame.id]) { el.dataset.id = frame.id; el.classList.remove("pending"); }
        break;
      case "error":
        if (frame.client_id) delete this.unacked[frame.client_id];
        if (frame.client_id && this.pending[frame.client_id]) {
          var failed = this.pending[frame.client_id];
          failed.classList.remove("pending");
          failed.classList.add("failed");
          this.setStatus(failed, "Not sent: " + frame.detail);
        } else {
          toast(frame.detail, "error");
        }
        break;
    }
  };

  Chat.prototype.updateConversation = function (conversation) {
    if (!conversation) return;
    var before = this.conversation.status;
    this.conversation = conversation;
    this.root.querySelectorAll("[data-status]").forEach(function (el) {
      el.textContent = conversation.status_display;
      el.className = "badge " + ({ open: "brand", pending: "warn", snoozed: "", resolved: "ok",
        requested: "warn", accepted: "brand", in_progress: "brand", closed: "ok" }[conversation.status] || "");
    });
    this.root.querySelectorAll("[data-assignee]").forEach(function (el) {
      el.textContent = conversation.assignee ? conversation.assignee.name : "Unassigned";
    });
    var finished = ["resolved", "closed"];
    if (before !== conversation.status && (finished.indexOf(conversation.status) !== -1 || finished.indexOf(before) !== -1)) {
      this.root.dispatchEvent(new CustomEvent("chat:finished", { bubbles: true, detail: conversation }));
    }
  };

  Chat.prototype.render = function (message) {
    var mine = message.sender.id === this.me.id;
    var el = document.createElement("div");
    el.className = "msg " + (message.kind === "system" ? "system" : mine ? "mine" : "theirs") + (message.internal ? " note" : "");
    el.dataset.id = message.id || "";
    el.dataset.sender = message.sender.id || "";
    if (message.kind !== "system") {
      var meta = document.createElement("div");
      meta.className = "msg-meta";
      meta.textContent = (mine ? "You" : message.sender.name) + " · " + timeLabel(message.created_at);
      el.appendChild(meta);
    }
    var bubble = document.createElement("div");
    bubble.className = "msg-bubble";
    if (message.body) bubble.appendChild(document.createTextNode(message.body));
    if (message.attachment) {
      var link = document.createElement("a");
      link.className = "msg-file";
      link.href = message.attachment.url;
      link.target = "_blank";
      link.rel = "noopener";
      if (message.attachment.is_image) {
        var img = document.createElement("img");
        img.src = message.attachment.url;
        img.alt = message.attachment.name;
        img.loading = "lazy";
        link.appendChild(img);
      } else {
        link.innerHTML = SVG_FILE;
        link.appendChild(document.createTextNode(message.attachment.name + " (" + Math.ceil(message.attachment.size / 1024) + " KB)"));
      }
      bubble.appendChild(link);
    }
    el.appendChild(bubble);
    return el;
  };

  Chat.prototype.add = function (message, initial) {
    if (message.id && this.ids[message.id]) return;
    var el = this.render(message);
    var pendingEl = message.client_id && message.sender.id === this.me.id ? this.pending[message.client_id] : null;
    if (pendingEl) {
      delete this.pending[message.client_id];
      delete this.unacked[message.client_id];
      pendingEl.replaceWith(el);
    } else {
      // Keep id order: a message can only arrive late on a reconnect race.
      var next = null;
      if (message.id && message.id < this.maxId) {
        var nodes = this.log.querySelectorAll(".msg[data-id]");
        for (var i = 0; i < nodes.length; i++) {
          if (Number(nodes[i].dataset.id) > message.id) { next = nodes[i]; break; }
        }
      }
      this.log.insertBefore(el, next);
    }
    if (message.id) {
      this.ids[message.id] = true;
      this.maxId = Math.max(this.maxId, message.id);
      this.minId = this.minId ? Math.min(this.minId, message.id) : message.id;
    }
    var empty = this.log.querySelector(".chat-empty");
    if (empty) empty.remove();
  };

  // The page shows the newest messages; older ones come a page at a time from the
  // messages API (?before=<first id>), the reader's place kept while they arrive.
  Chat.prototype.addEarlierButton = function () {
    var self = this;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn-secondary chat-earlier";
    button.dataset.testid = "chat-earlier";
    button.textContent = "Show earlier messages";
    button.addEventListener("click", function () { self.loadEarlier(button); });
    this.log.insertBefore(button, this.log.firstChild);
  };

  Chat.prototype.loadEarlier = function (button) {
    var self = this;
    button.disabled = true;
    button.textContent = "Loading earlier messages…";
    fetch(this.uploadUrl + "?before=" + this.minId + "&limit=50",
      { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (page) {
        var fromBottom = self.log.scrollHeight - self.log.scrollTop;
        page.results.forEach(function (message) { self.add(message); });
        self.log.scrollTop = self.log.scrollHeight - fromBottom;
        if (page.more) {
          button.disabled = false;
          button.textContent = "Show earlier messages";
        } else {
          button.remove();
        }
      })
      .catch(function () {
        button.disabled = false;
        button.textContent = "Could not load earlier messages: try again";
      });
  };

  Chat.prototype.setStatus = function (el, text) {
    var status = el.querySelector(".msg-status");
    if (!status) {
      status = document.createElement("div");
      status.className = "msg-status";
      el.appendChild(status);
    }
    status.textContent = text;
  };

  Chat.prototype.renderReceipts = function () {
    this.log.querySelectorAll(".msg-status[data-receipt]").forEach(function (el) { el.remove(); });
    var mine = this.log.querySelectorAll('.msg.mine:not(.note)[data-id]:not([data-id=""])');
    if (!mine.length) return;
    var last = mine[mine.length - 1];
    var otherSide = this.me.role === "customer" ? "team" : "customer";
    var seen = Number(last.dataset.id) <= (this.read[otherSide] || 0);
    var status = document.createElement("div");
    status.className = "msg-status";
    status.dataset.receipt = "1";
    status.dataset.testid = "receipt";
    status.textContent = seen ? "Seen" : "Delivered";
    last.appendChild(status);
  };

  Chat.prototype.isNearBottom = function () {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
  };

  Chat.prototype.scrollDown = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  Chat.prototype.markRead = function () {
    if (document.visibilityState !== "visible" || !this.root.offsetParent) return;
    var newest = 0;
    var others = this.log.querySelectorAll(".msg[data-id]");
    for (var i = 0; i < others.length; i++) {
      var id = Number(others[i].dataset.id);
      if (id && others[i].dataset.sender !== String(this.me.id)) newest = Math.max(newest, id);
    }
    if (newest > this.lastReadSent && this.socket.send({ type: "read", message_id: newest })) {
      this.lastReadSent = newest;
    }
  };

  Chat.prototype.showTyping = function (userId, name, on) {
    var self = this;
    clearTimeout(this.typingTimers[userId]);
    if (on) {
      this.typingEl.innerHTML = '<span class="dots"><i></i><i></i><i></i></span>';
      this.typingEl.appendChild(document.createTextNode(" " + name + " is typing…"));
      this.typingEl.dataset.user = userId;
      this.typingTimers[userId] = setTimeout(function () { self.showTyping(userId, name, false); }, 6000);
    } else if (this.typingEl.dataset.user === String(userId)) {
      this.typingEl.textContent = "";
      delete this.typingEl.dataset.user;
    }
  };

  Chat.prototype.sendTyping = function (on) {
    var now = Date.now();
    if (on && now - this.lastTypingSent < 2500) return;
    // Only a signal that left counts: before the socket opens, the next keystroke tries again.
    if (this.socket.send({ type: "typing", on: on, internal: this.noteMode })) {
      this.lastTypingSent = on ? now : 0;
    }
  };

  Chat.prototype.submit = function () {
    var body = this.input.value.trim();
    if (!body) return;
    var clientId = newClientId();
    var frame = { type: "message", client_id: clientId, body: body, internal: this.noteMode };
    var el = this.render({
      id: 0, client_id: clientId, kind: this.noteMode ? "note" : "text", internal: this.noteMode, body: body,
      sender: { id: this.me.id, name: this.me.name, role: this.me.role }, attachment: null,
      created_at: new Date().toISOString()
    });
    el.classList.add("pending");
    this.pending[clientId] = el;
    this.log.appendChild(el);
    var empty = this.log.querySelector(".chat-empty");
    if (empty) empty.remove();
    this.scrollDown();
    this.input.value = "";
    this.autosize();
    clearTimeout(this.stopTyping);
    this.sendTyping(false);
    // Sent now if the socket is up, and again on every reconnect until acknowledged.
    this.unacked[clientId] = frame;
    this.socket.send(frame);
  };

  Chat.prototype.upload = function (file) {
    var self = this;
    if (file.size > this.maxBytes) {
      toast("Attachments can be at most " + Math.round(this.maxBytes / 1048576) + " MB.", "error");
      return;
    }
    var form = new FormData();
    form.append("attachment", file);
    form.append("client_id", newClientId());
    form.append("internal", this.noteMode ? "true" : "false");
    var caption = this.input.value.trim();
    if (caption) { form.append("body", caption); this.input.value = ""; }
    fetch(this.uploadUrl, { method: "POST", body: form, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" } })
      .then(function (response) {
        return response.json().then(function (json) { return { ok: response.ok, json: json }; });
      })
      .then(function (result) {
        if (!result.ok) { toast(result.json.detail || "The file was not sent.", "error"); return; }
        self.add(result.json);
        self.renderReceipts();
        self.scrollDown();
      })
      .catch(function () { toast("The file was not sent. Check your connection.", "error"); });
  };

  Chat.prototype.autosize = function () {
    this.input.style.height = "auto";
    this.input.style.height = Math.min(this.input.scrollHeight, 140) + "px";
  };

  Chat.prototype.bindComposer = function () {
    var self = this;
    if (!this.form) return;
    this.form.addEventListener("submit", function (event) { event.preventDefault(); self.submit(); });
    this.input.addEventListener("keydown", function (event) {
      if (self.cannedKey(event)) return;
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        self.submit();
      }
    });
    this.input.addEventListener("input", function () {
      self.autosize();
      self.cannedFilter();
      if (!self.input.value.trim()) { self.sendTyping(false); return; }
      self.sendTyping(true);
      clearTimeout(self.stopTyping);
      self.stopTyping = setTimeout(function () { self.sendTyping(false); }, 4000);
    });
    var file = this.root.querySelector("[data-file]");
    if (file) file.addEventListener("change", function () {
      if (file.files[0]) self.upload(file.files[0]);
      file.value = "";
    });
    this.root.querySelectorAll("[data-mode]").forEach(function (button) {
      button.addEventListener("click", function () {
        self.noteMode = button.dataset.mode === "note";
        self.root.querySelectorAll("[data-mode]").forEach(function (other) {
          other.setAttribute("aria-pressed", other === button ? "true" : "false");
        });
        self.form.classList.toggle("note-mode", self.noteMode);
        self.input.placeholder = self.noteMode ? "Write an internal note (only staff see it)…" : "Write a reply…";
        self.input.focus();
      });
    });
    this.cannedMenu = this.root.querySelector("[data-canned-menu]");
  };

  // Canned replies: type "/" and a shortcut in the composer (staff).
  Chat.prototype.cannedFilter = function () {
    if (!this.cannedMenu || !this.canned.length) return;
    var text = this.input.value;
    if (text.charAt(0) !== "/" || text.indexOf(" ") !== -1) { this.cannedMenu.hidden = true; return; }
    var query = text.slice(1).toLowerCase();
    var self = this;
    var matches = this.canned.filter(function (reply) {
      return reply.shortcut.indexOf(query) !== -1 || reply.title.toLowerCase().indexOf(query) !== -1;
    }).slice(0, 6);
    this.cannedMenu.innerHTML = "";
    matches.forEach(function (reply, index) {
      var button = document.createElement("button");
      button.type = "button";
      if (index === 0) button.className = "active";
      var code = document.createElement("code");
      code.textContent = "/" + reply.shortcut;
      button.appendChild(code);
      button.appendChild(document.createTextNode(reply.title));
      button.addEventListener("click", function () { self.cannedUse(reply); });
      self.cannedMenu.appendChild(button);
    });
    this.cannedMatches = matches;
    this.cannedMenu.hidden = matches.length === 0;
  };

  Chat.prototype.cannedKey = function (event) {
    if (!this.cannedMenu || this.cannedMenu.hidden || !this.cannedMatches) return false;
    if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      this.cannedUse(this.cannedMatches[0]);
      return true;
    }
    if (event.key === "Escape") { this.cannedMenu.hidden = true; return true; }
    return false;
  };

  Chat.prototype.cannedUse = function (reply) {
    var name = this.conversation.customer ? this.conversation.customer.name : "";
    this.input.value = reply.body.replace(/\{name\}/g, name);
    this.cannedMenu.hidden = true;
    this.autosize();
    this.input.focus();
  };

  function initChats(scope) {
    (scope || document).querySelectorAll("[data-chat-root]").forEach(function (root) {
      if (!root._chat) new Chat(root);
    });
  }

  function destroyChats(scope) {
    scope.querySelectorAll("[data-chat-root]").forEach(function (root) {
      if (root._chat) { root._chat.destroy(); root._chat = null; }
    });
  }

  // --- the bell -------------------------------------------------------------------------------
  var chatUnread = 0;

  function initBell() {
    var bell = document.querySelector("[data-bell]");
    if (!bell) return;
    var badge = bell.querySelector("[data-bell-count]");
    var button = bell.querySelector("[data-bell-button]");
    var menu = bell.querySelector("[data-bell-menu]");

    function setCount(count, bump) {
      badge.textContent = count > 99 ? "99+" : String(count);
      badge.hidden = count === 0;
      bell.dataset.count = count;
      button.setAttribute("aria-label", count ? count + " unread notifications" : "Notifications");
      if (bump) { badge.classList.remove("bump"); void badge.offsetWidth; badge.classList.add("bump"); }
    }

    function loadMenu() {
      fetch(menu.dataset.src, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          menu.innerHTML = html;
          if (window.htmx) htmx.process(menu);
        });
    }

    function setOpen(open) {
      bell.classList.toggle("open", open);
      menu.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) loadMenu();
    }

    button.addEventListener("click", function (event) {
      event.stopPropagation();
      setOpen(menu.hidden);
    });
    document.addEventListener("click", function (event) {
      if (!menu.hidden && !bell.contains(event.target)) setOpen(false);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !menu.hidden) setOpen(false);
    });
    bell.addEventListener("bell:refresh", function () { if (!menu.hidden) loadMenu(); });

    new Socket("/ws/notifications/", {
      message: function (frame) {
        if (frame.type === "unread") {
          setCount(frame.count, false);
        } else if (frame.type === "notification") {
          setCount(frame.unread, true);
          var note = frame.notification;
          document.dispatchEvent(new CustomEvent("flexpass:notification", { detail: note }));
          if (!menu.hidden) loadMenu();
          toast(note.title, "info");
        }
      }
    });
  }

  // --- the widget -----------------------------------------------------------------------------
  function initWidget() {
    var launcher = document.querySelector("[data-widget-launcher]");
    var panel = document.getElementById("chat-widget");
    if (!launcher || !panel) return;
    var body = panel.querySelector("[data-widget-body]");
    var badge = launcher.querySelector("[data-widget-count]");
    document.body.classList.add("has-chat-widget");

    function setBadge(count) {
      chatUnread = count;
      badge.textContent = String(count);
      badge.hidden = count === 0;
    }
    setBadge(Number(launcher.dataset.unread || 0));

    function load() {
      body.innerHTML = '<div class="pane-empty"><span class="spinner" style="display:inline-block"></span></div>';
      fetch(panel.dataset.src, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          body.innerHTML = html;
          if (window.htmx) htmx.process(body);
          initChats(body);
          var input = body.querySelector("[data-input], textarea");
          if (input) input.focus();
        });
    }

    function setOpen(open) {
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        setBadge(0);
        load();
      } else {
        destroyChats(body);  // closing the widget ends "viewing": replies notify again
        body.innerHTML = "";
      }
    }

    launcher.addEventListener("click", function () { setOpen(panel.hidden); });
    panel.querySelector("[data-widget-close]").addEventListener("click", function () { setOpen(false); });
    panel.addEventListener("chat:finished", function () { setTimeout(load, 400); });
    document.addEventListener("flexpass:notification", function (event) {
      if (event.detail.kind === "chat_reply" && panel.hidden) setBadge(chatUnread + 1);
    });
  }

  // --- the agents' queue ----------------------------------------------------------------------
  function initQueue() {
    var list = document.querySelector("[data-queue-list]");
    if (!list || !window.htmx) return;
    var timer = null;
    function refresh() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        htmx.ajax("GET", list.dataset.src, { target: list, swap: "innerHTML" });
      }, 300);
    }
    new Socket("/ws/support/queue/", {
      message: function (frame) {
        if (frame.type === "queue") refresh();
      }
    });
  }

  function boot() {
    initBell();
    initWidget();
    initQueue();
    initChats(document);
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var target = event.detail.target;
      if (target && target.querySelectorAll) destroyChats(target);
    });
    document.body.addEventListener("htmx:afterSettle", function (event) {
      initChats(event.detail.target || document);
    });
    document.body.addEventListener("chat:finished", function (event) {
      var pane = event.target.closest("[data-reload-on-finish]");
      if (pane && window.htmx) {
        htmx.ajax("GET", pane.dataset.reloadOnFinish, { target: pane, swap: "outerHTML" });
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();

  window.flexpassSupport = { Chat: Chat, Socket: Socket, initChats: initChats };
})();
