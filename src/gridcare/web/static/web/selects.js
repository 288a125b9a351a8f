// Searchable selects (Tom Select from npm): every <select> of more than LONG options, and every
// <select data-autocomplete="<url>"> whose options are searched on the server (scoped JSON, at most 20 rows),
// so a long list is typed into rather than scrolled, and every <select multiple> (chips with a remove button and the
// select's data-placeholder, instead of the browser's "0 selected" in the browser's own language).
// Without JavaScript the plain select still works.
(function () {
  "use strict";
  var LONG = 15;

  function searchable(select) {
    if (select.tomselect || select.hasAttribute("data-autosubmit") || select.hasAttribute("data-plain")) {
      return false;
    }
    return select.hasAttribute("data-autocomplete") || select.multiple || select.options.length > LONG;
  }

  function settings(select) {
    var zh = document.documentElement.lang.indexOf("zh") === 0;
    var options = {
      allowEmptyOption: true,
      maxOptions: 200,
      render: {
        no_results: function () {
          return '<div class="no-results">' + (zh ? "无匹配项" : "No match") + "</div>";
        }
      }
    };
    if (select.multiple) {
      options.plugins = ["remove_button"];
      // a picked status clears the typed text, so the next one is typed afresh
      options.onItemAdd = function () {
        this.setTextboxValue("");
        this.refreshOptions(false);
      };
    }
    var url = select.getAttribute("data-autocomplete");
    if (url) {
      options.valueField = "value";
      options.labelField = "text";
      options.searchField = ["text"];
      options.preload = "focus";
      options.shouldLoad = function () { return true; };
      if (!select.multiple) {
        // a pick closes the list and leaves the control: a search still in flight (the one typing or focusing
        // started) would otherwise open the list again over the form when its answer arrives
        options.closeAfterSelect = true;
        options.onItemAdd = function () {
          this.blur();
        };
      }
      options.load = function (query, callback) {
        var separator = url.indexOf("?") === -1 ? "?" : "&";
        fetch(url + separator + "q=" + encodeURIComponent(query), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) { callback(data.results); })
          .catch(function () { callback(); });
      };
    }
    return options;
  }

  function enhance(root) {
    if (typeof window.TomSelect !== "function") {
      return;
    }
    root.querySelectorAll("select").forEach(function (select) {
      if (searchable(select)) {
        var tom = new window.TomSelect(select, settings(select));
        if (select.hasAttribute("data-autocomplete")) {
          tom.wrapper.classList.add("autocomplete");
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target instanceof Element) {
      enhance(event.target);
    }
  });
})();
