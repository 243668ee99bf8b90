// The staff console's uploads, one file at a time with a progress bar (XMLHttpRequest, for
// its upload progress events). Progressive enhancement only: without this script the same
// form sends every file at once and the server answers with the same results as a page.
// Everything the server sends back is put in the page with textContent, never as HTML.
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
  var input = form.querySelector("input[type=file]");
  var zone = form.querySelector(".drop-zone");
  var results = document.getElementById("upload-results");
  var resultsTitle = document.getElementById("ket-qua-tai-len");
  var maxBytes = +form.getAttribute("data-max-bytes") || 0;
  var queue = [];
  var busy = false;
  var zoneHint = zone.querySelector(".hint");
  var zoneHintText = zoneHint.textContent;
  form.classList.add("js-upload");          // the zone stands in for the native picker

  var STATUS_TEXT = {
    413: "Tệp quá lớn.",
    403: "Phiên làm việc đã hết hạn hoặc tài khoản không được phép. Xin tải lại trang.",
    503: "Máy chủ đang bận. Xin thử lại sau ít phút."
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function chosenVisibility() {
    var checked = form.querySelector("input[name=visibility]:checked");
    return checked ? checked.value : "public";
  }

  function addFiles(files) {
    resultsTitle.hidden = false;
    for (var i = 0; i < files.length; i++) {
      var item = el("li", "upload-result upload-pending");
      item.appendChild(el("p", "upload-name", files[i].name));
      var bar = el("progress", "upload-progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", "Đang tải " + files[i].name);
      item.appendChild(bar);
      var status = el("p", "upload-status", "Đang chờ…");
      item.appendChild(status);
      results.appendChild(item);
      queue.push({file: files[i], item: item, bar: bar, status: status,
                  visibility: chosenVisibility()});
    }
    next();
  }

  function next() {
    if (busy || !queue.length) { return; }
    var job = queue.shift();
    if (maxBytes && job.file.size > maxBytes) {
      refused(job, STATUS_TEXT[413], "");
      next();
      return;
    }
    busy = true;
    send(job);
  }

  function send(job) {
    var data = new FormData();
    data.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    data.append("visibility", job.visibility);
    data.append("files", job.file, job.file.name);
    var xhr = askJson(job, "POST", form.action, function (status, body) {
      if (status === 200 && body && body.results && body.results.length) {
        show(job, body.results[0]);
      } else if (status === 202 && body && body.job) {
        follow(job, body.job);      // read by OCR: its pages are shown as they are read
        return;
      } else {
        refused(job, STATUS_TEXT[status] || "Không tải lên được (lỗi " + status + ").", "");
      }
      done();
    });
    job.status.textContent = "Đang tải lên…";
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) { job.bar.value = Math.round(100 * event.loaded / event.total); }
    };
    xhr.upload.onload = function () { job.status.textContent = "Đang đọc tệp…"; };
    xhr.send(data);
  }

  // A request answered in JSON, not yet sent: answered(status, body or null); a lost
  // connection refuses the job.
  function askJson(job, method, url, answered) {
    var xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      answered(xhr.status, body);
    };
    xhr.onerror = function () {
      refused(job, "Mất kết nối tới máy chủ. Xin thử lại.", "");
      done();
    };
    return xhr;
  }

  function follow(job, url) {
    askJson(job, "GET", url, function (status, body) {
      if (status !== 200 || !body) {
        refused(job, STATUS_TEXT[status] || "Không theo dõi được (lỗi " + status + ").", "");
        done();
      } else if (!body.done) {
        var reading = body.reading || {};
        job.status.textContent = reading.ocr
          ? "Đang nhận dạng chữ (OCR): trang " + reading.page + "/" + reading.pages + "…"
          : "Đang đọc tệp…";
        if (reading.ocr && reading.pages) {
          job.bar.value = Math.round(100 * reading.read / reading.pages);
        }
        window.setTimeout(function () { follow(job, url); }, 1500);
      } else if (body.failure) {
        refused(job, body.failure, "");
        done();
      } else if (body.results && body.results.length) {
        show(job, body.results[0]);
        done();
      } else {
        refused(job, "Không tải lên được.", "");
        done();
      }
    }).send();
  }

  function done() {
    busy = false;
    next();
  }

  function refused(job, reason, detail) {
    job.item.className = "upload-result upload-refused";
    job.bar.remove();
    job.status.remove();
    job.item.appendChild(el("p", "form-error", "Không nhận: " + reason));
    if (detail) { job.item.appendChild(el("p", "hint", "Chi tiết: " + detail)); }
  }

  function show(job, result) {
    if (result.status === "refused") {
      refused(job, result.reason, result.detail);
      return;
    }
    job.item.className = "upload-result upload-" + result.status;
    job.bar.remove();
    job.status.textContent = result.status === "created" ? "Đã nhận (bản nháp)"
      : "Tệp này đã có trong thư viện";
    job.item.appendChild(el("h3", "upload-title", result.title));
    if (result.metadata && result.metadata.length) {
      var list = el("dl", "console-meta");
      result.metadata.forEach(function (pair) {
        list.appendChild(el("dt", null, pair[0]));
        list.appendChild(el("dd", null, pair[1]));
      });
      job.item.appendChild(list);
    }
    job.item.appendChild(el("p", "upload-excerpt", result.excerpt));
    var line = el("p");
    var link = el("a", "button-link", "Xem, sửa và công bố");
    link.href = result.edit_url;
    line.appendChild(link);
    job.item.appendChild(line);
  }

  input.addEventListener("change", function () {
    var names = Array.prototype.map.call(input.files, function (f) { return f.name; });
    zoneHint.textContent = names.length ? "Đã chọn: " + names.join(", ") : zoneHintText;
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!input.files.length) { input.focus(); return; }
    addFiles(input.files);
    input.value = "";
    zoneHint.textContent = zoneHintText;
  });

  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("drop-active");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("drop-active"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      addFiles(event.dataTransfer.files);
    }
  });
  // A file dropped beside the zone must not make the browser leave the page to open it.
  window.addEventListener("dragover", function (event) { event.preventDefault(); });
  window.addEventListener("drop", function (event) { event.preventDefault(); });
})();
