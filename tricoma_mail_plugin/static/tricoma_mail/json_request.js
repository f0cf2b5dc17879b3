/* What the mail client's scripts share (v1 compose's reply templates, every script of the v2
   client): JSON requests to the app with its CSRF token, and elements made with a class and text.
   Loaded before them (deferred scripts run in order); a page may load it more than once. */
(function () {
  "use strict";
  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; }
  /* A JSON request; resolves to the answer's JSON, rejects with the server's error message. */
  function request(method, url, body) {
    var options = { method: method, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf(), "X-Requested-With": "XMLHttpRequest" } };
    if (body !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || response.statusText); }
        return data;
      });
    });
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  window.tricomaMailJSON = { csrf: csrf, request: request, el: el };
})();
