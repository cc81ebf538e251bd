/* The wallet's popup, on Obolo's origin. Before anything is paid it checks who opened it:
 * it says hello to the opener, addressed to the provider's registered origin only, and
 * waits for the widget's answer from that origin. A page on any other origin never hears
 * the hello, so its buttons stay disabled and nothing is charged. The receipt is posted to
 * the provider's registered origin only: the browser delivers it nowhere else.
 */
(function () {
  "use strict";
  var box = document.getElementById("obolo-popup");
  if (!box) { return; }
  var target = box.getAttribute("data-target");
  var nonce = box.getAttribute("data-nonce");
  var opener = window.opener;
  var status = document.getElementById("obolo-status");
  var waiting = [];
  var verified = false;

  function whenVerified(action) { if (verified) { action(); } else { waiting.push(action); } }

  window.addEventListener("message", function (event) {
    if (event.origin !== target || event.source !== opener) { return; }
    var data = event.data || {};
    if (data.type === "obolo-ready" && data.nonce === nonce && !verified) {
      verified = true;
      box.setAttribute("data-verified", "1");
      waiting.splice(0).forEach(function (action) { action(); });
    }
  });

  document.querySelectorAll("[data-needs-page]").forEach(function (button) {
    button.disabled = true;
    whenVerified(function () { button.disabled = false; });
  });

  var receipt = box.getAttribute("data-receipt");
  if (receipt) {
    whenVerified(function () {
      opener.postMessage({
        type: "obolo-payment", receipt: receipt, resource: box.getAttribute("data-resource"),
        scheme: box.getAttribute("data-scheme") || "obolo-charge", kind: box.getAttribute("data-kind"),
        notice: box.getAttribute("data-notice") || "",
        chargeId: box.getAttribute("data-charge"), paid: box.getAttribute("data-paid")
      }, target);
      if (status) { status.textContent = status.getAttribute("data-done") || "Done."; }
      window.close();
    });
  }

  var auto = document.getElementById("obolo-auto");
  if (auto) { whenVerified(function () { auto.submit(); }); }

  if (opener && target) {
    try { opener.postMessage({ type: "obolo-hello", nonce: nonce }, target); } catch (error) { /* gone */ }
  } else if (status) {
    status.textContent = status.getAttribute("data-orphan") || "Open this from the site you want to pay.";
  }
})();
