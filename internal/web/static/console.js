// The container console: an xterm.js terminal talking to the dashboard's
// websocket (never to Proxmox VE). Binary messages carry keystrokes and
// output; text messages carry JSON: {"resize":[cols,rows]} from here, and
// notes ({"state": ..., "message": ...}) from the dashboard.
(function () {
  "use strict";

  var script = document.currentScript;
  var nonce = script ? script.nonce : "";

  // xterm.js adds <style> elements and sets some cells' colours with
  // setAttribute("style"). Under this site's Content-Security-Policy
  // (style-src 'self' 'nonce-…') the first need the page's nonce and the
  // second must go through the CSSOM, which the policy allows.
  var createElement = document.createElement;
  document.createElement = function (tag, options) {
    var el = createElement.call(document, tag, options);
    if (String(tag).toLowerCase() === "style" && nonce) {
      el.nonce = nonce;
    }
    return el;
  };
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "style" && this.style) {
      this.style.cssText = value;
      return;
    }
    return setAttribute.call(this, name, value);
  };

  var root = document.getElementById("console");
  if (!root || !window.Terminal || !window.FitAddon) {
    return;
  }
  var note = document.getElementById("console-note");
  var message = document.getElementById("console-message");
  var reconnect = document.getElementById("console-reconnect");
  var start = document.getElementById("console-start");
  var host = document.getElementById("terminal");
  var encoder = new TextEncoder();
  var term = null;
  var fit = null;
  var ws = null;

  function show(text, canReconnect) {
    message.textContent = text;
    reconnect.hidden = !canReconnect;
    note.hidden = false;
  }

  function hide() {
    note.hidden = true;
  }

  // localPath keeps navigation on this site.
  function localPath(p) {
    return typeof p === "string" && p.charAt(0) === "/" && p.charAt(1) !== "/" && p.charAt(1) !== "\\" ? p : "/login";
  }

  function sendSize() {
    if (ws && ws.readyState === WebSocket.OPEN && term) {
      ws.send(JSON.stringify({ resize: [term.cols, term.rows] }));
    }
  }

  function setUp() {
    term = new window.Terminal({
      cursorBlink: true,
      fontFamily: '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
      fontSize: 15,
      scrollback: 5000,
      theme: { background: "#1d2330" }
    });
    fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(host);
    fit.fit();
    term.onData(function (data) {
      if (ws && ws.readyState === WebSocket.OPEN) {
        // Large pastes go in pieces the dashboard accepts.
        var bytes = encoder.encode(data);
        for (var i = 0; i < bytes.length; i += 16384) {
          ws.send(bytes.subarray(i, i + 16384));
        }
      }
    });
    term.onBinary(function (data) {
      if (ws && ws.readyState === WebSocket.OPEN) {
        var bytes = new Uint8Array(data.length);
        for (var i = 0; i < data.length; i++) {
          bytes[i] = data.charCodeAt(i) & 0xff;
        }
        ws.send(bytes);
      }
    });
    term.onResize(function (size) {
      root.dataset.cols = String(size.cols);
      root.dataset.rows = String(size.rows);
      sendSize();
    });
    root.dataset.cols = String(term.cols);
    root.dataset.rows = String(term.rows);
    var pending = 0;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () { fit.fit(); }, 100);
    });
  }

  function connect() {
    if (!term) {
      setUp();
    } else {
      term.reset();
    }
    hide();
    var proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(proto + "//" + window.location.host + root.dataset.ws);
    var told = false;
    socket.binaryType = "arraybuffer";
    ws = socket;
    socket.addEventListener("open", function () {
      sendSize();
      term.focus();
    });
    socket.addEventListener("message", function (ev) {
      if (typeof ev.data !== "string") {
        term.write(new Uint8Array(ev.data));
        return;
      }
      var n;
      try { n = JSON.parse(ev.data); } catch (e) { return; }
      root.dataset.state = n.state;
      if (n.state === "open") {
        hide();
        return;
      }
      told = true;
      if (n.redirect) {
        window.location.assign(localPath(n.redirect));
        return;
      }
      show(n.message || "The console connection was closed.", !!n.reconnect);
    });
    socket.addEventListener("close", function () {
      if (ws === socket) {
        ws = null;
      }
      if (!told) {
        root.dataset.state = "closed";
        show("The console connection was closed.", true);
      }
    });
  }

  reconnect.addEventListener("click", function () {
    if (root.dataset.state === "stopped" || root.dataset.state === "forbidden" || root.dataset.state === "offline") {
      window.location.reload();
      return;
    }
    connect();
  });

  // Start a stopped container in place, then open its console.
  function follow(url) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (resp) { return resp.json(); })
      .then(function (t) {
        if (t.running) {
          window.setTimeout(function () { follow(url); }, 1000);
        } else if (t.ok) {
          window.location.reload();
        } else {
          show(t.message || "The container did not start.", false);
        }
      })
      .catch(function () { show("The container's start could not be followed.", false); });
  }
  if (start) {
    start.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      start.disabled = true;
      fetch(start.form.action, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        credentials: "same-origin",
        body: ""
      })
        .then(function (resp) { return resp.json(); })
        .then(function (r) {
          if (r.taskUrl) {
            message.textContent = r.message || "Starting…";
            follow(localPath(r.taskUrl));
          } else {
            start.disabled = false;
            show(r.error || "The container could not be started.", false);
          }
        })
        .catch(function () {
          start.disabled = false;
          show("The container could not be started.", false);
        });
    });
  }

  if (root.dataset.state === "ready") {
    connect();
  }
})();
