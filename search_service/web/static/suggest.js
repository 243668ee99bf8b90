// Progressive enhancement only: without this file the search box is a plain search box.
// Completions while typing, from /api/suggest, as an ARIA 1.2 combobox with a listbox:
// Down/Up move through them, Enter or a click opens a document (titles, số hiệu) or runs the
// filtered search (a category, a type), Escape closes the list. Text is set as text, never HTML.
(function () {
  "use strict";

  var KIND_LABELS = { number: "Số hiệu", category: "Chuyên mục", type: "Loại văn bản" };
  var MIN_CHARS = 2;
  var DELAY_MS = 150;

  function attach(input) {
    var endpoint = input.getAttribute("data-suggest");
    var row = input.parentNode;
    if (!endpoint || !window.fetch || !row) { return; }

    var list = document.createElement("ul");
    list.id = input.id + "-goi-y";
    list.className = "suggest-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Gợi ý tìm kiếm");
    list.hidden = true;
    row.appendChild(list);
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    row.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    var items = [];
    var active = -1;
    var timer = null;
    var asked = 0;            // answers to older requests are dropped

    function searchUrl(text) {
      return input.form.getAttribute("action") + "?q=" + encodeURIComponent(text);
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function open() {
      if (!items.length) { return; }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function setActive(index) {
      var options = list.children;
      if (active >= 0 && options[active]) { options[active].setAttribute("aria-selected", "false"); }
      active = index;
      if (active < 0) {
        input.removeAttribute("aria-activedescendant");
        return;
      }
      options[active].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    }

    function choose(index) {
      var item = items[index];
      close();
      window.location.assign(item.url || searchUrl(item.text));
    }

    function show(found) {
      items = found;
      list.textContent = "";
      found.forEach(function (item, index) {
        var option = document.createElement("li");
        option.id = list.id + "-" + index;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-kind", item.kind);
        var text = document.createElement("span");
        text.className = "suggest-text";
        text.textContent = item.label || item.text;
        option.appendChild(text);
        if (KIND_LABELS[item.kind]) {
          var kind = document.createElement("span");
          kind.className = "suggest-kind";
          kind.textContent = KIND_LABELS[item.kind];
          option.appendChild(kind);
        }
        // mousedown would move the focus out of the box (and close the list) before the click.
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });
        option.addEventListener("click", function () { choose(index); });
        list.appendChild(option);
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (found.length) {
        open();
        status.textContent = found.length + " gợi ý. Dùng phím mũi tên lên, xuống để chọn.";
      } else {
        close();
        status.textContent = "";
      }
    }

    function ask() {
      var text = input.value.trim();
      var mine = ++asked;
      if (text.length < MIN_CHARS) { show([]); return; }
      fetch(input.getAttribute("data-suggest") + "?q=" + encodeURIComponent(text),
            { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .then(function (data) {
          if (mine !== asked || document.activeElement !== input) { return; }
          var found = data.items || (data.suggestions || []).map(function (title) {
            return { text: title, kind: "document", id: null, url: null };
          });
          show(found);
        })
        .catch(function () { /* completions are optional */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      var expanded = !list.hidden;
      if (event.key === "ArrowDown" && items.length) {
        event.preventDefault();
        if (!expanded) { open(); }
        setActive(active + 1 < items.length ? active + 1 : 0);
      } else if (event.key === "ArrowUp" && expanded) {
        event.preventDefault();
        setActive(active > 0 ? active - 1 : items.length - 1);
      } else if (event.key === "Enter" && expanded && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape" && expanded) {
        event.preventDefault();   // the first Escape closes the list, the next clears the box
        close();
      }
    });

    input.addEventListener("blur", close);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-suggest]").forEach(attach);
  });
})();
