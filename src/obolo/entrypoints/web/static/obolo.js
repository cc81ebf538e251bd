// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // Dates are written in the reader's time zone: the server learns it from this cookie.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("obolo_tz=" + zone) < 0) {
      document.cookie = "obolo_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (ignored) { /* dates stay in UTC */ }
  // The language menu submits itself when changed (its button is the no-JS path).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // "Copy" buttons next to the provider snippet and new API keys.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(source.value || source.textContent).then(function () {
        button.textContent = button.getAttribute("data-done") || "Copied";
      });
    });
  });
  // Buttons that do something final ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
}());
