/* tricoma mail, v1 interface: small progressive enhancements. Every page works without this
   file; it adds select-all in lists, address completion, uploads with a progress bar, drafts
   saved every 30 seconds, and hides the "Sent — Undo" banner when undo is no longer possible.
   The CSP allows no inline script: this file is the only script of the client's pages. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* -- message lists ------------------------------------------------------------------------ */

  function setUpLists() {
    document.querySelectorAll("form.message-list").forEach(function (form) {
      var all = form.querySelector("input.select-all");
      var boxes = Array.prototype.slice.call(form.querySelectorAll('tbody input[name="ids"]'));
      var last = null;
      if (all) {
        all.hidden = false;
        all.addEventListener("change", function () {
          boxes.forEach(function (box) { box.checked = all.checked; });
        });
      }
      boxes.forEach(function (box, index) {
        box.addEventListener("click", function (event) {
          if (event.shiftKey && last !== null) {
            var from = Math.min(last, index), to = Math.max(last, index);
            for (var i = from; i <= to; i++) { boxes[i].checked = box.checked; }
          }
          last = index;
          if (all) { all.checked = boxes.every(function (b) { return b.checked; }); }
        });
      });
    });
  }

  function setUpBanners() {
    /* the undo button of "Sent" goes when the mail may leave: undo would only fail then */
    document.querySelectorAll(".mail-banner [data-hide-after]").forEach(function (undo) {
      var seconds = parseInt(undo.getAttribute("data-hide-after"), 10);
      if (!isNaN(seconds)) {
        window.setTimeout(function () { undo.remove(); }, Math.max(seconds, 0) * 1000);
      }
    });
  }

  function setUpPrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  /* -- compose: address completion ---------------------------------------------------------- */

  function setUpCompletion(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.getAttribute("data-complete");
    var timer = null, asked = "";
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var value = input.value;
        var cut = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
        var prefix = cut >= 0 ? value.slice(0, cut + 1) + " " : "";
        var typed = value.slice(cut + 1).trim();
        if (typed.length < 2 || typed === asked || typed.indexOf("<") >= 0) { return; }
        asked = typed;
        fetch(url + "?q=" + encodeURIComponent(typed), {credentials: "same-origin", headers: {"Accept": "application/json"}})
          .then(function (response) { return response.ok ? response.json() : {addresses: []}; })
          .then(function (data) {
            list.textContent = "";
            (data.addresses || []).forEach(function (entry) {
              var option = document.createElement("option");
              option.value = prefix + entry.label;
              list.appendChild(option);
            });
          })
          .catch(function () { /* completion is a convenience; typing still works */ });
      }, 200);
    });
  }

  /* -- compose: uploads --------------------------------------------------------------------- */

  function uploadedTokens(form) {
    return Array.prototype.map.call(form.querySelectorAll('input[name="attachment"]:checked'), function (box) {
      return box.value;
    });
  }

  function uploadedBytes(form) {
    var total = 0;
    form.querySelectorAll("li.upload").forEach(function (item) {
      var box = item.querySelector('input[name="attachment"]');
      if (box && box.checked) { total += parseInt(item.getAttribute("data-size") || "0", 10); }
    });
    return total;
  }

  function addUploaded(form, list, item, data) {
    item.textContent = "";
    item.className = "upload";
    item.setAttribute("data-token", data.token);
    item.setAttribute("data-size", data.size);
    var box = document.createElement("input");
    box.type = "checkbox";
    box.name = "attachment";
    box.value = data.token;
    box.id = "attachment-" + data.token;
    box.checked = true;
    var label = document.createElement("label");
    label.htmlFor = box.id;
    label.textContent = data.filename + " ";
    var size = document.createElement("span");
    size.className = "hint";
    size.textContent = data.size_text;
    label.appendChild(size);
    item.appendChild(box);
    item.appendChild(label);
    form.dispatchEvent(new Event("input"));
  }

  function upload(form, list, file) {
    var limit = parseInt(form.getAttribute("data-upload-limit"), 10);
    var item = document.createElement("li");
    item.className = "upload pending";
    var name = document.createElement("span");
    name.textContent = file.name + " ";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    item.appendChild(name);
    item.appendChild(bar);
    list.appendChild(item);
    if (file.size + uploadedBytes(form) > limit) {
      fail(item, form.getAttribute("data-too-large"));
      return;
    }
    var request = new XMLHttpRequest();
    request.open("POST", form.getAttribute("data-upload-url"));
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    request.setRequestHeader("X-File-Type", file.type || "application/octet-stream");
    request.setRequestHeader("X-Uploaded", uploadedTokens(form).join(","));
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) { bar.value = Math.round(event.loaded * 100 / event.total); }
    });
    request.addEventListener("load", function () {
      var data = {};
      try { data = JSON.parse(request.responseText); } catch (error) { data = {}; }
      if (request.status === 200 && data.token) {
        addUploaded(form, list, item, data);
      } else {
        fail(item, data.error || form.getAttribute("data-upload-failed"));
      }
    });
    request.addEventListener("error", function () { fail(item, form.getAttribute("data-upload-failed")); });
    request.send(file);
  }

  function fail(item, message) {
    item.className = "upload failed";
    var progress = item.querySelector("progress");
    if (progress) { progress.remove(); }
    var text = document.createElement("span");
    text.className = "field-error";
    text.setAttribute("role", "alert");
    text.textContent = message;
    item.appendChild(text);
    window.setTimeout(function () { item.remove(); }, 15000);
  }

  /* -- compose: drafts ---------------------------------------------------------------------- */

  var NOT_CONTENT = ["files", "csrf_token", "draft_uid", "draft_mailbox"];  /* bookkeeping, not the mail */

  function snapshot(form) {
    var parts = [];
    new FormData(form).forEach(function (value, key) {
      if (NOT_CONTENT.indexOf(key) < 0) { parts.push(key + "=" + value); }
    });
    return parts.join("&");
  }

  function worthSaving(form) {
    return ["to", "cc", "bcc", "subject", "body"].some(function (name) {
      var field = form.elements[name];
      return field && field.value.trim() !== "";
    }) || uploadedTokens(form).length > 0;
  }

  /* The form as the server sent it (a reset copy): what was typed before this deferred script
     ran counts as changed and is saved at the first interval. */
  function sentSnapshot(form) {
    var copy = form.cloneNode(true);
    copy.reset();
    return snapshot(copy);
  }

  function setUpDrafts(form) {
    var status = document.getElementById("draft-status");
    var seconds = parseInt(form.getAttribute("data-autosave-seconds"), 10) || 30;
    var saved = sentSnapshot(form), busy = false, submitting = false, held = null, waited = false;
    if (snapshot(form) !== saved) { form.setAttribute("data-draft", "dirty"); }
    // A mail sent while an autosave is on its way would name the draft before that one, and the
    // copy the save stores would stay in Drafts: the send waits for the save's answer (at most
    // 10 s), then goes with the draft it stored.
    function sendHeld() {
      if (!held) { return; }
      var submitter = held.submitter;
      held = null;
      if (!form.requestSubmit) { form.submit(); } else if (submitter) { form.requestSubmit(submitter); } else { form.requestSubmit(); }
    }
    form.addEventListener("submit", function (event) {
      if (busy && !waited) {
        event.preventDefault();
        if (!held) {
          held = {submitter: event.submitter || null};
          window.setTimeout(function () { waited = true; sendHeld(); }, 10000);
        }
        return;
      }
      submitting = true;
    });
    // data-draft tells whether what the form holds now is on the server ("saved") or not yet
    // ("dirty"); the browser tests wait for it.
    form.addEventListener("input", function () { form.setAttribute("data-draft", "dirty"); });
    // Leaving with changes not yet saved (a click in the navigation, the Back button): the
    // browser asks first, as Thunderbird and Roundcube do.
    window.addEventListener("beforeunload", function (event) {
      if (submitting || snapshot(form) === saved || !worthSaving(form)) { return; }
      event.preventDefault();
      event.returnValue = "";  // what older browsers look for
    });
    window.setInterval(function () {
      if (busy || submitting || !worthSaving(form)) { return; }
      var now = snapshot(form);
      if (now === saved) { return; }
      busy = true;
      status.textContent = form.getAttribute("data-saving");
      var data = new FormData(form);
      data.delete("files");
      fetch(form.getAttribute("data-draft-url"), {
        method: "POST", body: data, credentials: "same-origin",
        headers: {"X-CSRFToken": csrfToken(), "X-Requested-With": "XMLHttpRequest", "Accept": "application/json"}
      }).then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      }).then(function (result) {
        if (result.ok) {
          form.elements.draft_uid.value = result.body.draft_uid;
          form.elements.draft_mailbox.value = result.body.draft_mailbox;
          // what was sent is saved; what was typed while it was on its way is saved next time
          saved = now;
          form.setAttribute("data-draft", snapshot(form) === saved ? "saved" : "dirty");
          status.textContent = result.body.message;
        } else {
          status.textContent = result.body.error || form.getAttribute("data-save-failed");
        }
      }).catch(function () {
        status.textContent = form.getAttribute("data-save-failed");
      }).then(function () { busy = false; sendHeld(); });
    }, seconds * 1000);
  }

  function setUpCompose() {
    var form = document.getElementById("compose-form");
    if (!form) { return; }
    form.querySelectorAll("input[data-complete]").forEach(setUpCompletion);
    form.setAttribute("data-completion", "ready");  // what typed from now on is completed
    var files = document.getElementById("compose-files");
    var list = document.getElementById("upload-list");
    if (files && list && window.XMLHttpRequest && window.FormData) {
      var uploadChosen = function () {
        Array.prototype.forEach.call(files.files, function (file) { upload(form, list, file); });
        files.value = "";  // uploaded already: not sent again with the form
      };
      files.addEventListener("change", uploadChosen);
      if (files.files.length) { uploadChosen(); }  // chosen while this script was still loading
    }
    form.addEventListener("submit", function () {
      var when = form.elements.send_at && form.elements.send_at.value;
      if (when) {
        var moment = new Date(when);
        if (!isNaN(moment.getTime())) { form.elements.tz_offset.value = String(moment.getTimezoneOffset()); }
      }
    });
    setUpDrafts(form);
  }

  function setUpSyncProgress() {
    var notice = document.querySelector("[data-sync-status]");
    if (!notice) { return; }
    var bar = notice.querySelector("progress");
    function poll() {
      fetch(notice.getAttribute("data-sync-status"), {credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          if (!status) { return; }
          if (status.complete && !status.running) { window.location.reload(); return; }
          if (bar && status.on_server) { bar.max = status.on_server; bar.value = status.cached; }
          window.setTimeout(poll, 2000);
        });
    }
    window.setTimeout(poll, 2000);
  }

  function start() {
    setUpSyncProgress();
    setUpLists();
    setUpBanners();
    setUpPrint();
    setUpCompose();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
