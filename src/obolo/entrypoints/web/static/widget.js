/* Obolo widget: one script tag on a provider's page.
 *
 *   <script src="https://obolo.example/widget.js" defer></script>
 *   <a href="/articles/7" data-obolo-price="0.10" data-obolo-asset="EUR"
 *      data-obolo-provider="PROVIDER-ID" data-obolo-resource="/articles/7">An article</a>
 *
 * Every element marked with data-obolo-price shows its price; a click opens the wallet
 * in a popup on Obolo's origin. The popup hands back a charge receipt by postMessage;
 * the widget then asks the page's own server for the resource with that receipt in the
 * Payment header and shows what it answers.
 *
 * Origins are checked both ways: the widget accepts messages only from the origin it was
 * loaded from (Obolo's), and the popup posts only to the provider's registered origin.
 *
 * Optional markup: data-obolo-title (what the popup names and the reader's history keeps;
 * on the element, else on this script tag for a page selling one thing; else the link's
 * text, the page's heading or its title; one line, at most 200 characters) and data-obolo-pass (the label of a second button offering the site's
 * passes in the popup). What the popup tells the reader (paid, free past the site's daily
 * cap, already bought, a pass visit) stays on the page as a banner. The widget speaks the
 * reader's language (English or Italian).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__oboloWidget) { return; }
  window.__oboloWidget = true;
  var OBOLO = new URL(script.src, location.href).origin;
  var pending = null; // the offer whose popup is open
  // The widget speaks the reader's language (the browser's, else the page's <html lang>);
  // Obolo serves this script with its texts in every language it speaks.
  var TEXTS = /*OBOLO_TEXTS*/{}/*END*/;
  var LANG = String(navigator.language || document.documentElement.lang || "en").slice(0, 2).toLowerCase();

  function t(text, values) {
    var found = (TEXTS[LANG] || {})[text] || text;
    return found.replace(/\{(\w+)\}/g, function (all, name) { return values && name in values ? values[name] : all; });
  }

  function money(price, asset) {
    // Intl formats the decimal string exactly (no float): "0,10 €" in Italian, "€0.10" in English.
    try {
      return new Intl.NumberFormat(LANG, { style: "currency", currency: asset, minimumFractionDigits: 2,
                                           maximumFractionDigits: 6 }).format(price);
    } catch (ignored) { return price + " " + asset; }
  }

  function b64url(text) {
    var bytes = new TextEncoder().encode(text);
    var binary = "";
    bytes.forEach(function (b) { binary += String.fromCharCode(b); });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function offerOf(element) {
    var resource = element.getAttribute("data-obolo-resource");
    if (!resource && element.tagName === "A") { resource = new URL(element.href, location.href).pathname; }
    return {
      element: element,
      price: element.getAttribute("data-obolo-price") || "",
      asset: element.getAttribute("data-obolo-asset") || "EUR",
      provider: element.getAttribute("data-obolo-provider") || "",
      resource: resource || location.pathname,
      title: titleOf(element)
    };
  }

  var PAGE_TITLE = script.getAttribute("data-obolo-title") || "";
  var TITLE_MAX = 200; // the platform's bound (paywall.model.TITLE_MAX)

  function titleOf(element) {
    var named = element.getAttribute("data-obolo-title") || PAGE_TITLE;
    if (!named && element.tagName === "A") { named = element.getAttribute("data-obolo-text") || element.textContent; }
    if (!named) {
      var heading = document.querySelector("h1");
      named = (heading && heading.textContent) || document.title || "";
    }
    // One line without control or bidi characters: the platform refuses those in any text.
    named = named.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, " ")
      .replace(/\s+/g, " ").trim();
    return named.length > TITLE_MAX ? named.slice(0, TITLE_MAX - 1).trim() + "\u2026" : named;
  }

  function banner(text) {
    if (!text) { return; }
    var note = document.createElement("p");
    note.className = "obolo-banner";
    note.setAttribute("role", "status");
    note.textContent = text;
    note.style.cssText = "margin:0 0 1rem;padding:.6rem .8rem;border:1px solid #7a7;border-radius:6px;" +
      "background:#eef7ee;color:#143214;font:inherit;line-height:1.4";
    document.body.insertBefore(note, document.body.firstChild);
  }

  function say(offer, text) {
    var note = offer.element.querySelector(".obolo-note");
    if (!note) {
      note = document.createElement("span");
      note.className = "obolo-note";
      note.setAttribute("role", "status");
      offer.element.appendChild(note);
    }
    note.textContent = " " + text;
  }

  function open(offer, wantsPass) {
    var kept = wantsPass ? null : remembered(offer.resource);
    if (kept) { reread(offer, kept); return; }
    var query = new URLSearchParams({
      provider: offer.provider, resource: offer.resource, price: offer.price,
      asset: offer.asset, origin: location.origin, title: offer.title
    });
    if (wantsPass) { query.set("pass", "1"); }
    pending = offer;
    // A fresh window each time: a named one left open by an earlier payment would be
    // reused with its old page.
    var popup = window.open(OBOLO + "/widget/pay?" + query.toString(), "_blank", "popup,width=440,height=680");
    if (!popup) { say(offer, t("Allow pop-ups for this site to pay with Obolo.")); }
  }

  // "Paid once, read again": the site's own read-again receipt for a page and its holder
  // key, kept in this site's storage. The receipt alone opens nothing (it travels in
  // request headers); each re-read carries an HMAC by the holder key over the page, the
  // time and a fresh nonce (obolo.sdk.proofs).
  function remembered(resource) {
    try {
      var kept = JSON.parse(localStorage.getItem("obolo-receipt:" + resource) || "null");
      return kept && kept.receipt && kept.key ? kept : null;
    } catch (error) { return null; }
  }

  function unb64url(text) {
    var padded = text.replace(/-/g, "+").replace(/_/g, "/");
    return atob(padded + "===".slice((padded.length + 3) % 4));
  }

  function remember(resource, header) {
    try {
      var value = JSON.parse(unb64url(header));
      if (value.receipt && value.receipt_key) {
        localStorage.setItem("obolo-receipt:" + resource,
          JSON.stringify({ receipt: value.receipt, key: value.receipt_key }));
      }
    } catch (error) { /* no receipt to keep */ }
  }

  function bytesToB64url(bytes) {
    var binary = "";
    new Uint8Array(bytes).forEach(function (b) { binary += String.fromCharCode(b); });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function rereadProof(kept, resource) {
    var at = Math.floor(Date.now() / 1000);
    var nonce = bytesToB64url(crypto.getRandomValues(new Uint8Array(18)));
    var raw = Uint8Array.from(unb64url(kept.key), function (c) { return c.charCodeAt(0); });
    var message = new TextEncoder().encode(["obolo-reread", String(at), nonce, resource].join("\n"));
    return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
      .then(function (key) { return crypto.subtle.sign("HMAC", key, message); })
      .then(function (mac) { return { at: at, nonce: nonce, mac: bytesToB64url(mac) }; });
  }

  function forget(resource) {
    try { localStorage.removeItem("obolo-receipt:" + resource); } catch (error) { /* ignore */ }
  }

  function reread(offer, kept) {
    rereadProof(kept, offer.resource).then(function (proof) {
      var payment = { scheme: "obolo-receipt", receipt: kept.receipt, proof: proof };
      load(offer, b64url(JSON.stringify(payment)), function () { forget(offer.resource); say(offer, ""); });
    }).catch(function () { forget(offer.resource); say(offer, ""); });
  }

  function load(offer, proof, refused, notice) {
    say(offer, t("Opening…"));
    fetch(offer.resource, { headers: { "Payment": proof, "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        var header = response.headers.get("Payment-Response");
        if (response.ok && header) { remember(offer.resource, header); }
        return response.text().then(function (text) { return { ok: response.ok, text: text }; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          if (refused) { refused(); return; }
          say(offer, t("The site refused the payment; nothing more was charged for it."));
          return;
        }
        if (location.pathname !== offer.resource) { history.pushState({}, "", offer.resource); }
        var page = new DOMParser().parseFromString(answer.text, "text/html");
        document.title = page.title;
        document.body.replaceWith(document.adoptNode(page.body));
        banner(notice);
      })
      .catch(function () { say(offer, t("The page could not be loaded; try again.")); });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== OBOLO) { return; } // only the wallet speaks to the widget
    var data = event.data || {};
    if (data.type === "obolo-hello" && event.source) {
      // The popup asks who opened it: answering proves this page is on this origin.
      event.source.postMessage({ type: "obolo-ready", nonce: data.nonce }, OBOLO);
    } else if (data.type === "obolo-payment" && pending && data.resource === pending.resource) {
      var offer = pending;
      pending = null;
      var payment = data.scheme === "obolo-pass"
        ? { scheme: "obolo-pass", pass: String(data.receipt || "") }
        : { scheme: "obolo-charge", receipt: String(data.receipt || "") };
      load(offer, b64url(JSON.stringify(payment)), null, String(data.notice || ""));
    }
  });

  function decorate(element) {
    if (element.getAttribute("data-obolo-ready")) { return; }
    element.setAttribute("data-obolo-ready", "1");
    var offer = offerOf(element);
    var label = money(offer.price, offer.asset);
    if (element.tagName === "A") {
      element.setAttribute("data-obolo-text", element.textContent.trim());
      var badge = document.createElement("span");
      badge.className = "obolo-price";
      badge.textContent = " · " + label;
      element.appendChild(badge);
      element.addEventListener("click", function (event) { event.preventDefault(); open(offerOf(element)); });
    } else {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "obolo-pay";
      button.textContent = t("Pay {amount} with Obolo", { amount: label });
      button.addEventListener("click", function () { open(offerOf(element)); });
      element.appendChild(button);
      var passLabel = element.getAttribute("data-obolo-pass");
      if (passLabel) {
        var passButton = document.createElement("button");
        passButton.type = "button";
        passButton.className = "obolo-pass";
        passButton.textContent = passLabel;
        passButton.addEventListener("click", function () { open(offerOf(element), true); });
        element.appendChild(passButton);
      }
      if (offer.resource === location.pathname && remembered(offer.resource)) { open(offer); }
    }
  }

  function scan() { document.querySelectorAll("[data-obolo-price]").forEach(decorate); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", scan); } else { scan(); }
})();
