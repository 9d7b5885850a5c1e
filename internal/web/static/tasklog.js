// Follows a running task's log on the task page: new lines are appended as
// PVE writes them, and the page reloads once the task has ended so its
// outcome shows. Without script the page reloads itself every two seconds.
(function () {
  "use strict";

  function init() {
    var pre = document.getElementById("task-log");
    if (!pre || pre.dataset.running !== "true" || !window.fetch) {
      return;
    }
    var next = Number(pre.dataset.next || "0");

    function poll() {
      fetch(pre.dataset.log + "?start=" + next, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (resp) {
          if (resp.status === 401) {
            window.location.assign("/login?reason=expired");
            return null;
          }
          return resp.ok ? resp.json() : null;
        })
        .then(function (chunk) {
          if (!chunk) {
            window.setTimeout(poll, 5000);
            return;
          }
          if (chunk.lines.length) {
            var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
            pre.appendChild(document.createTextNode(chunk.lines.join("\n") + "\n"));
            if (atEnd) {
              pre.scrollTop = pre.scrollHeight;
            }
          }
          next = chunk.next;
          pre.dataset.next = String(next);
          if (chunk.running) {
            window.setTimeout(poll, 1000);
          } else {
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
