// Obolo's payment handler (a service worker Chromium installs just in time from the
// payment method's manifests). A shop's PaymentRequest arrives as a `paymentrequest`
// event: the confirm window opens on Obolo's origin with what the browser says (the
// page's origin, the amount it showed, the payment request's id); the server checks it
// all against the request it holds. The window posts back the signed result, or a cancel.
"use strict";

let pending = null;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("canmakepayment", (event) => event.respondWith(true));

self.addEventListener("paymentrequest", (event) => {
  const method = event.methodData && event.methodData[0];
  const data = (method && method.data) || {};
  const query = new URLSearchParams({
    request: String(data.payment_request || ""),
    origin: event.topOrigin || "",
    frame: event.paymentRequestOrigin || "",
    amount: event.total ? String(event.total.value) : "",
    currency: event.total ? String(event.total.currency) : "",
  });
  if (pending) pending.reject(new DOMException("another payment started", "AbortError"));
  event.respondWith(
    new Promise((resolve, reject) => {
      pending = { resolve, reject, methodName: method ? method.supportedMethods : "" };
      event
        .openWindow("/pay/handler/confirm?" + query.toString())
        .then((client) => {
          if (!client && pending) {
            pending.reject(new DOMException("the wallet's window did not open", "AbortError"));
            pending = null;
          }
        })
        .catch((error) => {
          if (pending) pending.reject(error);
          pending = null;
        });
    }),
  );
});

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (!pending) return;
  if (message.type === "paid" && message.result) {
    pending.resolve({
      methodName: pending.methodName,
      details: { payment_request: message.request, result: message.result },
    });
    pending = null;
  } else if (message.type === "cancel") {
    // Chromium leaves the payment open on a rejected or empty answer (its sheet waits for
    // the person), so a cancel is an answer of its own; checkout.js turns it into an
    // AbortError for the shop's page. Nothing was paid.
    pending.resolve({
      methodName: pending.methodName,
      details: { payment_request: message.request || "", cancelled: true, reason: message.reason || "cancelled" },
    });
    pending = null;
  }
});
