// Search as you type on a registry's list page: fetch the same page, swap the results.
// No inline script anywhere (the Content-Security-Policy forbids it); without
// JavaScript the form is a plain GET form.
(function () {
  "use strict";
  var form = document.getElementById("search");
  var results = document.getElementById("results");
  if (!form || !results || !window.fetch) { return; }
  var timer = null;
  var seq = 0;
  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (value) { params.append(key, value); }
    });
    var text = params.toString();
    return form.getAttribute("action") + (text ? "?" + text : "");
  }
  function refresh() {
    var url = query();
    var mine = ++seq;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null || mine !== seq) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("results");
        if (!fresh) { return; }
        // keep the live region itself, so that screen readers announce the new results
        var nodes = Array.prototype.map.call(fresh.childNodes, function (node) {
          return document.importNode(node, true);
        });
        results.replaceChildren.apply(results, nodes);
        history.replaceState(null, "", url);
      })
      .catch(function () { /* keep the current results; the form still submits */ });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  });
})();
