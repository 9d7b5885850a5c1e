// LXC Manager's browser script. Every page works without it; it adds the
// sign-in pending state, live updates of the container list, and actions
// that run in place with their task's progress. No inline script exists
// anywhere (strict CSP); settings come from data-* attributes.
(function () {
  "use strict";

  // --- Sign-in pending state --------------------------------------------
  function initPendingForms() {
    document.querySelectorAll("form").forEach(function (form) {
      if (form.classList.contains("action-form")) {
        return;
      }
      form.addEventListener("submit", function () {
        form.querySelectorAll("button[data-pending-text]").forEach(function (btn) {
          btn.dataset.idleText = btn.textContent;
          btn.textContent = btn.dataset.pendingText;
          btn.disabled = true;
          btn.setAttribute("aria-busy", "true");
        });
      });
    });
  }

  // Coming back through the browser's history must not show a stuck button.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[data-pending-text]").forEach(function (btn) {
      if (btn.dataset.idleText) {
        btn.textContent = btn.dataset.idleText;
      }
      btn.disabled = false;
      btn.removeAttribute("aria-busy");
    });
  });

  // --- Remember user name (never the password) ------------------------------
  var rememberKey = "lxc-manager.user";

  function initRemember() {
    var box = document.querySelector("[data-remember-user]");
    var form = document.getElementById("login-form");
    if (!box || !form) {
      return;
    }
    var user = form.querySelector("#username");
    var realm = form.querySelector("#realm");
    var saved = null;
    try {
      saved = JSON.parse(window.localStorage.getItem(rememberKey) || "null");
    } catch (e) {
      saved = null;
    }
    if (saved && typeof saved.username === "string") {
      box.checked = true;
      if (!user.value) {
        user.value = saved.username;
        if (realm && saved.realm && realm.querySelector('option[value="' + CSS.escape(saved.realm) + '"]')) {
          realm.value = saved.realm;
        }
        form.querySelector("#password").focus();
      }
    }
    form.addEventListener("submit", function () {
      if (user.disabled) {
        return; // an OpenID realm: no user name typed here
      }
      try {
        if (box.checked) {
          window.localStorage.setItem(rememberKey, JSON.stringify({ username: user.value, realm: realm ? realm.value : "" }));
        } else {
          window.localStorage.removeItem(rememberKey);
        }
      } catch (e) {
        // Storage may be disabled; remembering is a convenience.
      }
    });
  }

  // --- OpenID realms -------------------------------------------------------
  // Choosing an OpenID realm hides (and disables, so they are not sent) the
  // user name, password and remember fields, and the button names the
  // realm: the person signs in on the realm's own page. Without the script
  // the server decides by the realm's type alone.
  function initRealmKind() {
    var form = document.getElementById("login-form");
    var realm = form && form.querySelector("#realm");
    var button = form && form.querySelector("#sign-in");
    if (!realm || !button) {
      return;
    }
    var parts = ["#username", "#password", "[data-remember-user]"].map(function (sel) {
      var input = form.querySelector(sel);
      return input ? { input: input, field: input.closest(".field") || input } : null;
    }).filter(Boolean);
    var idle = button.textContent;
    function apply() {
      var opt = realm.options[realm.selectedIndex];
      var openid = !!opt && opt.hasAttribute("data-openid");
      parts.forEach(function (p) {
        p.field.style.display = openid ? "none" : "";
        p.input.disabled = openid;
      });
      button.textContent = openid ? "Sign in with " + opt.textContent : idle;
      button.dataset.pendingText = openid ? "Redirecting..." : "Signing in...";
    }
    realm.addEventListener("change", apply);
    apply();
  }

  // --- Navigation -------------------------------------------------------
  // localPath returns path when it is a path on this site: one "/" first
  // (not "//host" or "/\host", which browsers read as another host), no
  // spaces, control characters or backslashes, and the same origin once
  // resolved. Anything else gives /login. Targets come from the server,
  // whose answers carry PVE's text, so they are never followed blindly.
  function localPath(path) {
    if (typeof path !== "string" || !/^\/(?![\/\\])[^\\\u0000-\u0020\u007f]*$/.test(path)) {
      return "/login";
    }
    try {
      var u = new URL(path, window.location.href);
      if (u.origin === window.location.origin) {
        return u.pathname + u.search + u.hash;
      }
    } catch (e) {
      // Not a URL: fall through.
    }
    return "/login";
  }

  function go(path) {
    window.location.assign(localPath(path));
  }

  // --- Live updates -----------------------------------------------------
  // focusKey describes the focused control inside the live region, so the
  // same control can take the focus again once an update has replaced it.
  function focusKey(live) {
    var el = document.activeElement;
    if (!el || el === live || !live.contains(el)) {
      return null;
    }
    var row = el.closest("tr[data-vmid]");
    return {
      id: el.id,
      vmid: row ? row.dataset.vmid : "",
      testid: el.getAttribute("data-testid") || "",
      href: el.getAttribute("href") || ""
    };
  }

  function refocus(live, key) {
    if (!key) {
      return;
    }
    var el = key.id ? document.getElementById(key.id) : null;
    if (!el && key.vmid) {
      var row = live.querySelector('tr[data-vmid="' + CSS.escape(key.vmid) + '"]');
      if (row) {
        // The same button, or the row's first one when the state changed.
        el = (key.testid && row.querySelector('[data-testid="' + CSS.escape(key.testid) + '"]')) ||
          row.querySelector("button, a[href]");
      }
    }
    if (!el && key.href) {
      el = live.querySelector('a[href="' + CSS.escape(key.href) + '"]');
    }
    if (el && live.contains(el)) {
      el.focus({ preventScroll: true });
    }
  }

  // morph puts html into root, keeping every top-level child that did not
  // change in place: an unchanged banner (role="alert") is then not
  // inserted again, so screen readers do not announce it on every update,
  // and focus inside an unchanged part stays where it is.
  function morph(root, html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var next = Array.prototype.slice.call(tpl.content.childNodes);
    var cur = Array.prototype.slice.call(root.childNodes);
    var i = 0;
    for (; i < next.length; i++) {
      var n = next[i];
      var o = cur[i];
      if (o && o.nodeType === n.nodeType &&
          (o.nodeType === 1 ? o.outerHTML === n.outerHTML : o.textContent === n.textContent)) {
        continue;
      }
      if (o) {
        root.replaceChild(n, o);
      } else {
        root.appendChild(n);
      }
    }
    for (; i < cur.length; i++) {
      root.removeChild(cur[i]);
    }
  }

  function initLive() {
    // The container list's live part, or a container page's.
    var live = document.getElementById("live") || document.getElementById("ct-live");
    if (!live || !window.EventSource) {
      return;
    }
    var url = live.dataset.events;
    var delay = 2000;

    function connect() {
      var source = new EventSource(url);
      source.addEventListener("update", function (ev) {
        delay = 2000;
        var key = focusKey(live);
        morph(live, ev.data);
        refocus(live, key);
        live.dataset.updates = String(Number(live.dataset.updates || "0") + 1);
      });
      source.addEventListener("expired", function (ev) {
        source.close();
        go(ev.data);
      });
      source.addEventListener("closed", function () {
        // Newer pages of this session took this one's stream: stay as is,
        // without reconnecting (that would close one of theirs).
        source.close();
        var note = document.createElement("div");
        note.className = "alert alert-warn";
        note.id = "live-closed";
        note.setAttribute("role", "status");
        note.textContent = "Live updates have stopped on this page because you have many pages of the dashboard open. Reload the page to see the current state.";
        live.parentNode.insertBefore(note, live);
      });
      source.addEventListener("error", function () {
        // EventSource retries network errors itself; it gives up on an
        // HTTP error (a restart behind a proxy answering 502, a session that
        // ended). Find out which, then retry with a growing pause.
        if (source.readyState !== EventSource.CLOSED) {
          return;
        }
        window.setTimeout(function () {
          fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
            .then(function (resp) {
              if (resp.status === 401) {
                go("/login?reason=expired");
                return;
              }
              if (resp.body && resp.body.cancel) {
                resp.body.cancel();
              }
              connect();
            })
            .catch(function () { connect(); });
          delay = Math.min(delay * 2, 60000);
        }, delay);
      });
    }
    connect();
  }

  // --- Actions and tasks ------------------------------------------------
  var tasksPanel = null;

  function taskItem(text, cls) {
    if (!tasksPanel) {
      tasksPanel = document.getElementById("tasks");
    }
    var item = document.createElement("div");
    item.className = "task " + cls;
    var msg = document.createElement("span");
    msg.className = "task-text";
    msg.textContent = text;
    item.appendChild(msg);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn btn-link task-close";
    close.textContent = "Dismiss";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    tasksPanel.prepend(item);
    return item;
  }

  function setTask(item, text, cls) {
    item.className = "task " + cls;
    item.querySelector(".task-text").textContent = text;
  }

  function followTask(item, url, vmid) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (resp) { return resp.json().then(function (body) { return { resp: resp, body: body }; }); })
      .then(function (r) {
        if (r.body.redirect) {
          go(r.body.redirect);
          return;
        }
        if (!r.resp.ok) {
          setTask(item, r.body.error || "Could not follow the task.", "task-failed");
          return;
        }
        if (r.body.running) {
          setTask(item, r.body.message, "task-running");
          window.setTimeout(function () { followTask(item, url, vmid); }, 1000);
          return;
        }
        setTask(item, r.body.message, r.body.ok ? "task-ok" : "task-failed");
        if (r.body.offerForceStop) {
          var btn = document.createElement("button");
          btn.type = "button";
          btn.className = "btn btn-small btn-stop";
          btn.textContent = "Force stop CT " + vmid;
          btn.addEventListener("click", function () {
            btn.remove();
            runAction("/containers/" + encodeURIComponent(r.body.node) + "/" + vmid + "/stop", { confirm: "1" });
          });
          item.insertBefore(btn, item.querySelector(".task-close"));
        }
      })
      .catch(function () {
        setTask(item, "Lost contact with the dashboard while following the task.", "task-failed");
      });
  }

  function runAction(url, fields) {
    var body = new URLSearchParams(fields);
    var item = taskItem("Sending…", "task-running");
    fetch(url, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
      credentials: "same-origin"
    })
      .then(function (resp) { return resp.json().then(function (b) { return { resp: resp, body: b }; }); })
      .then(function (r) {
        if (r.body.redirect) {
          go(r.body.redirect);
          return;
        }
        if (!r.resp.ok) {
          setTask(item, r.body.error || "The action failed.", "task-failed");
          return;
        }
        setTask(item, r.body.message, "task-running");
        followTask(item, r.body.taskUrl, r.body.vmid);
      })
      .catch(function () {
        setTask(item, "Could not reach the dashboard. The action may not have been sent.", "task-failed");
      });
  }

  function initActions() {
    // Delegated: rows are replaced by live updates.
    document.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (!form.classList || !form.classList.contains("action-form")) {
        return;
      }
      ev.preventDefault();
      var action = form.dataset.action;
      var vmid = form.dataset.vmid;
      var fields = {};
      if (action === "stop") {
        if (!window.confirm("Stop CT " + vmid + "? This is a hard stop: processes are killed without shutting down.")) {
          return;
        }
        fields.confirm = "1";
      } else if (action === "shutdown") {
        var t = window.prompt("Shut down CT " + vmid + ": wait at most how many seconds?", "60");
        if (t === null) {
          return;
        }
        fields.confirm = "1";
        fields.timeout = t.trim();
      }
      runAction(form.action, fields);
    });
  }

  function init() {
    initPendingForms();
    initRemember();
    initRealmKind();
    initLive();
    initActions();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
