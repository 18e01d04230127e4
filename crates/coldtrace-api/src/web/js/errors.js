// Loaded as a classic script before the modules, so that it also sees a module that fails to load: every error
// and unhandled rejection of the page is kept in window.__ctErrors (the browser tests read it), and main.js sets
// window.__ctReady once every module has loaded.
"use strict";
window.__ctErrors = [];
window.__ctReady = false;
window.addEventListener("error", function (ev) {
  var t = ev.target;
  if (t && t !== window && t.tagName) {
    // A script or style that failed to load (captured: these events do not bubble).
    window.__ctErrors.push("failed to load " + (t.src || t.href || t.tagName));
  } else {
    window.__ctErrors.push(String((ev.error && ev.error.stack) || ev.message));
  }
}, true);
window.addEventListener("unhandledrejection", function (ev) {
  var r = ev.reason;
  window.__ctErrors.push("unhandled rejection: " + String((r && r.stack) || r));
});
