// Progressive enhancement only: every page works without this file.
// 1. Title suggestions while typing, from /api/suggest into the search box's <datalist>.
// 2. On narrow screens the filter panel starts folded, so results come first.
(function () {
  "use strict";

  function attachSuggest(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var endpoint = input.getAttribute("data-suggest");
    var timer = null;
    var lastAsked = "";
    if (!list || !endpoint || !window.fetch) { return; }

    function show(titles) {
      list.textContent = "";
      titles.forEach(function (title) {
        var option = document.createElement("option");
        option.value = title;           // a property, never HTML: titles stay text
        list.appendChild(option);
      });
    }

    function ask() {
      var text = input.value.trim();
      if (text.length < 2 || text === lastAsked) { return; }
      lastAsked = text;
      fetch(endpoint + "?q=" + encodeURIComponent(text), { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) { if (input.value.trim() === text) { show(data.suggestions || []); } })
        .catch(function () { /* suggestions are optional */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
  }

  function foldFiltersOnPhones() {
    if (!window.matchMedia || !window.matchMedia("(max-width: 899px)").matches) { return; }
    document.querySelectorAll("details[data-collapse-narrow]").forEach(function (d) {
      d.removeAttribute("open");
    });
  }

  function submitOnSortChange() {
    var sort = document.getElementById("sort");
    if (sort && sort.form) {
      sort.addEventListener("change", function () { sort.form.submit(); });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-suggest]").forEach(attachSuggest);
    foldFiltersOnPhones();
    submitOnSortChange();
  });
})();
