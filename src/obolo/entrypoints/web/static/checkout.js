// Obolo checkout for shops' pages: load <script src="https://OBOLO/checkout.js"> and call
//   Obolo.checkout({paymentRequest: "<id from POST /v1/payment-requests>", amount: "20.00",
//                   currency: "EUR", label: "Vintage camera"})
// in a click handler. Where the browser has the Payment Request API (Chromium) Obolo's
// payment handler opens; the promise gives {paymentRequest, result}: send `result` to your
// server, which checks it with obolo.sdk.checkout.verify_result before shipping. Elsewhere
// the page goes to the hosted checkout page, which comes back to your return URL with
// ?obolo_payment_request=...&obolo_result=... A cancel rejects with an AbortError.
"use strict";
(function () {
  const script = document.currentScript;
  const server = script ? new URL(script.src).origin : "";

  function hosted(id) {
    window.location.assign(server + "/pay/" + encodeURIComponent(id));
    return new Promise(() => {}); // the page is leaving
  }

  function checkout(options) {
    const id = String(options.paymentRequest || "");
    if (!window.PaymentRequest || options.hosted) return hosted(id);
    const currency = options.currency || "EUR";
    const details = {
      total: { label: options.label || "Total", amount: { currency, value: String(options.amount) } },
      displayItems: (options.items || []).map((item) => ({
        label: item.label,
        amount: { currency, value: String(item.amount) },
      })),
    };
    let request;
    try {
      request = new PaymentRequest(
        [{ supportedMethods: server + "/pay/method", data: { payment_request: id } }],
        details,
      );
    } catch (error) {
      return hosted(id);
    }
    // show() at once, inside the click: the browser wants the user's gesture.
    return request.show().then(
      (response) => {
        if (response.details.cancelled) {
          return response.complete("unknown").then(() => {
            throw new DOMException(response.details.reason || "cancelled", "AbortError");
          });
        }
        return response.complete("success").then(() => ({
          paymentRequest: response.details.payment_request,
          result: response.details.result,
        }));
      },
      (error) => {
        if (error && error.name === "NotSupportedError") return hosted(id);
        throw error;
      },
    );
  }

  window.Obolo = Object.assign(window.Obolo || {}, { checkout });
})();
