// 受理 (intake): sub-types follow the type, repair-only fields show for repairs, and a caller picked from the live
// suggestions fills the form and loads the caller panel. The server checks everything again on submit.
(function () {
  "use strict";

  function setup(form) {
    var type = form.querySelector("#id_order_type");
    var sub = form.querySelector("#id_sub_type");
    var lookup = form.querySelector("#id_lookup");
    var suggestions = form.querySelector("#intake-suggestions");
    var subTypes = JSON.parse(sub.getAttribute("data-sub-types") || "{}");
    var filled = {};

    function row(control) {
      return control.closest("[data-field]");
    }

    function followType() {
      var allowed = subTypes[type.value] || [];
      Array.prototype.forEach.call(sub.options, function (option) {
        var keep = option.value === "" || allowed.indexOf(option.value) >= 0;
        option.hidden = !keep;
        option.disabled = !keep;
      });
      if (allowed.indexOf(sub.value) < 0) {
        sub.value = "";
      }
      row(sub).hidden = allowed.length === 0;
      form.querySelectorAll("[data-only-for]").forEach(function (control) {
        var kinds = control.getAttribute("data-only-for").split(" ");
        row(control).hidden = kinds.indexOf(type.value) < 0;
      });
    }

    function field(name) {
      return form.querySelector("#id_" + name);
    }

    function fill(name, value) {
      var control = field(name);
      control.value = value;
      filled[name] = value;
    }

    function clearPicked() {
      Object.keys(filled).forEach(function (name) {
        var control = field(name);
        if (control.value === filled[name]) {
          control.value = "";
        }
      });
      filled = {};
      field("contact_phone").placeholder = "";
    }

    function pick(hit) {
      clearPicked();
      fill("account", hit.getAttribute("data-account"));
      fill("service_point", hit.getAttribute("data-point"));
      fill("contact_from_customer", "True");
      fill("contact_name", hit.getAttribute("data-name"));
      fill("contact_phone", hit.getAttribute("data-phone"));
      fill("address", hit.getAttribute("data-address"));
      // a masked number stays on screen only; the action takes the customer's stored number
      field("contact_phone").placeholder = hit.getAttribute("data-phone-shown");
      lookup.value = hit.getAttribute("data-label");
      filled.lookup = lookup.value;
      suggestions.innerHTML = "";
      var query = new URLSearchParams({ account: hit.getAttribute("data-account"), service_point: hit.getAttribute("data-point") });
      htmx.ajax("GET", form.getAttribute("data-caller-url") + "?" + query.toString(), { target: "#caller-panel" });
    }

    if (field("account").value) {
      // the form came back with an error: the picked caller is kept until the search box is changed
      ["account", "service_point", "contact_from_customer"].forEach(function (name) {
        filled[name] = field(name).value;
      });
      filled.lookup = lookup.value;
    }

    type.addEventListener("change", followType);
    followType();

    suggestions.addEventListener("click", function (event) {
      var hit = event.target.closest("[data-pick]");
      if (hit) {
        pick(hit);
      }
    });
    suggestions.addEventListener("htmx:afterSwap", function () {
      var only = suggestions.querySelector("[data-only]");
      if (only) {
        pick(only);
      }
    });
    lookup.addEventListener("input", function () {
      if (filled.lookup !== undefined && lookup.value !== filled.lookup) {
        clearPicked();
        document.getElementById("caller-panel").innerHTML = "";
      }
    });
    lookup.addEventListener("keydown", function (event) {
      var first = suggestions.querySelector("[data-pick]");
      if (event.key === "Enter" && first && !field("account").value) {
        event.preventDefault();
        pick(first);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-intake]");
    if (form) {
      setup(form);
    }
  });
})();
