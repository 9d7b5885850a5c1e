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

  // --- Bulk actions on the list ------------------------------------------
  // The row checkboxes belong to #bulk-form (form="bulk-form"), so the form
  // works without script. With script the selection survives live updates
  // (which replace the rows), Stop asks first, and the job's progress shows
  // in the tasks panel and on the rows.
  function initBulk() {
    var form = document.getElementById("bulk-form");
    var live = document.getElementById("live");
    if (!form || !live || !window.fetch) {
      return;
    }
    var selected = {};
    var marks = {};
    var count = document.getElementById("bulk-count");
    var countIdle = count ? count.textContent : "";

    function boxes() {
      return live.querySelectorAll("input.bulk-select");
    }
    function selectedKeys() {
      return Object.keys(selected).filter(function (k) { return selected[k]; });
    }
    function showCount() {
      var n = selectedKeys().length;
      if (count) {
        count.textContent = n ? n + " selected" : countIdle;
      }
    }
    function restore() {
      var page = document.getElementById("select-page");
      var all = true;
      var any = false;
      boxes().forEach(function (b) {
        b.checked = !!selected[b.value];
        all = all && b.checked;
        any = true;
      });
      if (page) {
        page.hidden = !any;
        page.checked = any && all;
      }
      Object.keys(marks).forEach(function (vmid) {
        var row = live.querySelector('tr[data-vmid="' + CSS.escape(vmid) + '"]');
        if (row) {
          row.dataset.bulk = marks[vmid].state;
          row.title = marks[vmid].text;
        }
      });
    }
    new MutationObserver(restore).observe(live, { childList: true });
    restore();

    document.addEventListener("change", function (ev) {
      var t = ev.target;
      if (t.classList && t.classList.contains("bulk-select")) {
        selected[t.value] = t.checked;
      } else if (t.id === "select-page") {
        boxes().forEach(function (b) {
          b.checked = t.checked;
          selected[b.value] = t.checked;
        });
      } else {
        return;
      }
      showCount();
    });

    form.addEventListener("submit", function (ev) {
      var button = ev.submitter;
      var action = button && button.value;
      if (!action) {
        return;
      }
      ev.preventDefault();
      var body = new URLSearchParams();
      body.append("action", action);
      ["q", "status", "node"].forEach(function (k) {
        var input = form.querySelector('input[type="hidden"][name="' + k + '"]');
        if (input) {
          body.append(k, input.value);
        }
      });
      var all = document.getElementById("bulk-all");
      var keys = selectedKeys();
      if (all && all.checked) {
        body.append("all", "1");
      } else {
        if (!keys.length) {
          var note = taskItem("Select at least one container first.", "task-failed");
          window.setTimeout(function () { note.remove(); }, 5000);
          return;
        }
        keys.forEach(function (k) { body.append("ct", k); });
      }
      if (action === "stop") {
        var what = all && all.checked ? "all matching containers" : keys.length + (keys.length === 1 ? " container" : " containers");
        if (!window.confirm("Stop " + what + "? This is a hard stop: processes are killed without shutting down, and unsaved work is lost.")) {
          return;
        }
        body.append("confirm", "1");
      }
      var item = taskItem("Sending…", "task-running");
      // getAttribute: the buttons named "action" shadow form.action.
      fetch(form.getAttribute("action"), {
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
            setTask(item, r.body.error || "The bulk action was not started.", "task-failed");
            return;
          }
          selected = {};
          if (all) {
            all.checked = false;
          }
          restore();
          showCount();
          followBulk(item, localPath(r.body.url));
        })
        .catch(function () {
          setTask(item, "Could not reach the dashboard. The action may not have been sent.", "task-failed");
        });
    });

    function followBulk(item, url) {
      item.classList.add("bulk-task");
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (resp) { return resp.json().then(function (b) { return { resp: resp, body: b }; }); })
        .then(function (r) {
          if (r.body.redirect) {
            go(r.body.redirect);
            return;
          }
          if (!r.resp.ok) {
            setTask(item, r.body.error || "Could not follow the bulk action.", "task-failed");
            return;
          }
          var v = r.body;
          setTask(item, v.title + ": " + v.summary, v.done ? (v.summary.indexOf("failed") >= 0 ? "task-failed" : "task-ok") : "task-running");
          item.classList.add("bulk-task");
          showBulkItems(item, v, url);
          v.items.forEach(function (it) {
            marks[String(it.vmid)] = { state: it.state, text: it.label + ": " + it.text };
          });
          restore();
          if (!v.done) {
            window.setTimeout(function () { followBulk(item, url); }, 1000);
          }
        })
        .catch(function () { window.setTimeout(function () { followBulk(item, url); }, 3000); });
    }

    function showBulkItems(item, v, url) {
      var details = item.querySelector("details");
      if (!details) {
        details = document.createElement("details");
        var summary = document.createElement("summary");
        summary.textContent = "Each container";
        details.appendChild(summary);
        details.appendChild(document.createElement("ul"));
        var link = document.createElement("a");
        link.href = url;
        link.textContent = "Open as a page";
        details.appendChild(link);
        item.insertBefore(details, item.querySelector(".task-close"));
      }
      var list = details.querySelector("ul");
      list.textContent = "";
      v.items.forEach(function (it) {
        var li = document.createElement("li");
        li.dataset.vmid = String(it.vmid);
        li.dataset.state = it.state;
        li.textContent = it.label + ": " + it.text;
        list.appendChild(li);
      });
    }
  }

  function init() {
    initPendingForms();
    initRemember();
    initRealmKind();
    initLive();
    initActions();
    initBulk();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
