// LXC Manager's browser script. Pages work without it; it only adds
// conveniences. No inline script exists anywhere (strict CSP).
(function () {
  "use strict";

  // Sign-in pending state: the button says "Signing in..." and is disabled
  // while the POST runs. The form still submits natively.
  function initPendingForms() {
    document.querySelectorAll("form").forEach(function (form) {
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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initPendingForms);
  } else {
    initPendingForms();
  }
})();
