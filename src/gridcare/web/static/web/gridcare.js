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
  // every table scrolls inside its own box (phones): wrap the ones not already in .table-responsive
  function wrapTables(root) {
    root.querySelectorAll("table").forEach(function (table) {
      var parent = table.parentElement;
      if (!parent || parent.classList.contains("table-responsive") || parent.classList.contains("table-scroll")) {
        return;
      }
      var box = document.createElement("div");
      box.className = "table-scroll";
      parent.insertBefore(box, table);
      box.appendChild(table);
    });
  }
  // on a phone a list's filter form folds behind one button (open when a filter is set), so the records come first
  function foldFilters() {
    var form = document.getElementById("filters");
    if (!form || form.tagName !== "FORM" || !window.matchMedia("(max-width: 767.98px)").matches) {
      return;
    }
    var active = Array.prototype.some.call(form.elements, function (element) {
      return element.name && element.name !== "page" && element.value && element.type !== "submit";
    });
    var button = document.createElement("button");
    button.type = "button";
    button.id = "filters-toggle";
    button.className = "btn btn-sm btn-outline-secondary mb-2";
    button.setAttribute("aria-expanded", active ? "true" : "false");
    button.setAttribute("aria-controls", "filters");
    button.innerHTML = '<i class="bi bi-funnel"></i> ';
    button.appendChild(document.createTextNode(document.documentElement.lang.indexOf("zh") === 0 ? "筛选" : "Filter"));
    form.parentElement.insertBefore(button, form);
    form.classList.toggle("d-none", !active);
    button.addEventListener("click", function () {
      var hidden = form.classList.toggle("d-none");
      button.setAttribute("aria-expanded", hidden ? "false" : "true");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    wrapTables(document);
    foldFilters();
  });
  // wrapped in the same task as htmx's swap (afterSwap), so a swapped-in table is never laid out unwrapped
  ["htmx:afterSwap", "htmx:afterSettle"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (event.target instanceof Element) {
        wrapTables(event.target);
      }
    });
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
