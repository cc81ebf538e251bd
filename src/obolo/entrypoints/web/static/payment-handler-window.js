// The payment handler's confirm window: hand the signed result (or a cancel) back to the
// service worker that opened it; it answers the shop's page. No inline script (CSP).
"use strict";
(function () {
  const box = document.getElementById("obolo-handler");
  if (!box || !navigator.serviceWorker) return;
  const send = (message) =>
    navigator.serviceWorker.ready.then((registration) => registration.active.postMessage(message));
  if (box.dataset.result) send({ type: "paid", request: box.dataset.request, result: box.dataset.result });
  document.querySelectorAll("[data-cancel]").forEach((button) =>
    button.addEventListener("click", (event) => {
      event.preventDefault();
      send({ type: "cancel", request: box.dataset.request || "", reason: box.dataset.refused || "cancelled" });
    }),
  );
  // the buttons answer from now on (a click before this, on a slow machine, did nothing)
  box.dataset.ready = "true";
})();
