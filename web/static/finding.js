// The finding form: an accent-insensitive filter for the conduct-code picker, and evidence
// files hashed here with WebCrypto (SHA-256); only the hex digests are sent.
(function () {
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d")
      .replace(/Đ/g, "D").toLowerCase();
  }
  document.querySelectorAll("input[data-filter]").forEach(function (box) {
    var list = document.getElementById(box.dataset.filter);
    function apply() {
      var words = fold(box.value).split(/\s+/).filter(Boolean);
      list.querySelectorAll("label[data-search]").forEach(function (item) {
        var hay = item.dataset.search;
        var show = words.every(function (w) { return hay.indexOf(w) >= 0; });
        item.classList.toggle("hidden", !show);
      });
    }
    box.addEventListener("input", apply);
    apply();  // what was typed before this script ran (a slow phone), or kept by the browser
  });
  function hex(buffer) {
    return Array.from(new Uint8Array(buffer)).map(function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }
  document.querySelectorAll("input[type=file][data-hash-into]").forEach(function (input) {
    var out = document.getElementById(input.dataset.hashInto);
    input.addEventListener("change", function () {
      var files = Array.from(input.files);
      Promise.all(files.map(function (f) {
        return f.arrayBuffer().then(function (b) { return crypto.subtle.digest("SHA-256", b); });
      })).then(function (digests) {
        var existing = out.value.trim() ? out.value.trim().split(/\s+/) : [];
        out.value = existing.concat(digests.map(hex)).join("\n");
        out.dispatchEvent(new Event("change"));
      });
    });
  });
})();
