// Progressive enhancement only: the server checks the same things (web/params.py) and
// answers a bad range with the same words, next to the same fields.
// 1. The date range is checked before the filter form is sent.
// 2. Choosing another sort order applies it at once.
(function () {
  "use strict";

  var DAY_FIRST = /^(\d{1,2})[\/.\-](\d{1,2})[\/.\-](\d{4})$/;
  var ISO = /^(\d{4})-(\d{2})-(\d{2})$/;
  var MIN_YEAR = 1900;
  var MAX_YEAR = 2100;
  var REVERSED = "“Từ ngày” phải trước hoặc bằng “Đến ngày”.";

  // A typed date as a number yyyymmdd; null when empty; NaN when it is not a date.
  function parseDay(text) {
    text = text.trim();
    if (!text) { return null; }
    var m = DAY_FIRST.exec(text);
    var y, mo, d;
    if (m) {
      d = +m[1]; mo = +m[2]; y = +m[3];
    } else if ((m = ISO.exec(text))) {
      y = +m[1]; mo = +m[2]; d = +m[3];
    } else {
      return NaN;
    }
    var day = new Date(Date.UTC(y, mo - 1, d));
    if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d ||
        y < MIN_YEAR || y > MAX_YEAR) {
      return NaN;
    }
    return y * 10000 + mo * 100 + d;
  }

  function checkDates(form) {
    var fields = [form.elements.from, form.elements.to];
    var error = document.getElementById("date-error");
    if (!fields[0] || !fields[1] || !error) { return true; }
    var messages = [];
    var bad = [];
    var days = fields.map(function (field) {
      var day = parseDay(field.value);
      if (day !== day) {      // NaN
        var label = form.querySelector("label[for=" + field.id + "]").textContent.trim();
        messages.push(label + " phải là ngày dạng ngày/tháng/năm, ví dụ 15/03/2024.");
        bad.push(field);
      }
      return day;
    });
    if (!bad.length && days[0] && days[1] && days[0] > days[1]) {
      messages.push(REVERSED);
      bad = fields.slice();
    }
    fields.forEach(function (field) {
      if (bad.indexOf(field) >= 0) {
        field.setAttribute("aria-invalid", "true");
      } else {
        field.removeAttribute("aria-invalid");
      }
    });
    error.textContent = messages.join(" ");
    if (bad.length) { bad[0].focus(); }
    return !bad.length;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.filter-form");
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      if (!checkDates(form)) { event.preventDefault(); }
    });
    var sort = form.elements.sort;
    if (sort) {
      sort.addEventListener("change", function () {
        if (form.requestSubmit) { form.requestSubmit(); } else if (checkDates(form)) { form.submit(); }
      });
    }
  });
})();
