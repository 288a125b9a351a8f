// Behaviour of the shared templates, kept out of the HTML so the Content-Security-Policy can forbid inline
// scripts and event handlers (docs/security.md).
(function () {
  "use strict";
  // <select data-autosubmit>: submit its form on change (language switch)
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.submit();
    }
  });
  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element)) {
      return;
    }
    // <a data-back>: go back in history (Cancel on forms)
    var back = event.target.closest("a[data-back]");
    if (back) {
      event.preventDefault();
      history.back();
      return;
    }
    // tabs loaded by htmx: mark the clicked one active (data-tabs on the list)
    var tab = event.target.closest("[data-tabs] .nav-link");
    if (tab) {
      tab.closest("[data-tabs]").querySelectorAll(".nav-link").forEach(function (link) {
        link.classList.remove("active");
      });
      tab.classList.add("active");
    }
  });
})();
