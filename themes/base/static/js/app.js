// Register the brand's service worker, and drop cached member pages after signing out.
(function () {
  if (!("serviceWorker" in navigator)) {
    return;
  }
  const root = document.documentElement.dataset.root || "/";
  navigator.serviceWorker.register(root + "sw.js", { scope: root }).then(() => {
    if (document.body.dataset.signedOut === "true" && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage("signed-out");
    }
  });
})();
