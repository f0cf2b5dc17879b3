/* The v2 compose dialog's attachments and autosave, as the v1 form has them. Files are picked
   or dropped onto the dialog and uploaded one by one to core's upload store (its limit, its
   error); each shows as a chip that can be removed; the tokens go with the mail and the draft
   (client.js reads the form's "attachment" inputs). A forward and a reopened draft bring the
   original's attachments (v2:compose-filled). A changed draft is saved every autosave interval
   through core's draft service (v2:save-draft). The reading pane gets "Forward as attachment"
   and, in Drafts, "Edit draft". No page reload. */
(function () {
  "use strict";
  var root = document.getElementById("v2-client");
  var configEl = document.getElementById("v2-compose-files-config");
  var form = document.getElementById("v2-compose-form");
  var dialog = document.getElementById("v2-compose-dialog");
  var template = document.getElementById("v2-compose-files-template");
  if (!root || !configEl || !form || !dialog || !template) { return; }
  var CONFIG = JSON.parse(configEl.textContent);
  var $ = function (id) { return document.getElementById(id); };

  function word(key, values) {
    var text = CONFIG.words[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.replace("%(" + name + ")s", values[name]); });
    return text;
  }
  var csrf = window.tricomaMailJSON.csrf;

  // The fieldset goes into the form, before the draft status line.
  form.insertBefore(template.content.cloneNode(true), $("v2-draft-status"));
  var list = $("v2-attachment-list"), input = $("v2-file-input"), addButton = $("v2-add-files");
  var errorEl = $("v2-attachment-error"), statusEl = $("v2-attachment-status");
  var pending = 0;  // uploads under way: the mail waits for them

  function showError(text) { errorEl.textContent = text; errorEl.hidden = false; }
  function clearError() { errorEl.textContent = ""; errorEl.hidden = true; }
  function say(text) { statusEl.textContent = text; }

  function chips() { return Array.prototype.slice.call(list.querySelectorAll("li.v2-attachment[data-token]")); }
  // what is attached and what is still on its way count against the limit
  function usedBytes() {
    return Array.prototype.reduce.call(list.querySelectorAll("li.v2-attachment"),
      function (sum, li) { return sum + (parseInt(li.dataset.size, 10) || 0); }, 0);
  }

  function chip(data) {
    var li = document.createElement("li");
    li.className = "v2-attachment";
    li.dataset.token = data.token;
    li.dataset.size = String(data.size);
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "attachment";
    token.value = data.token;
    li.appendChild(token);
    var name = document.createElement("span");
    name.className = "v2-attachment-name";
    name.textContent = data.filename;
    li.appendChild(name);
    var size = document.createElement("span");
    size.className = "v2-attachment-size";
    size.textContent = data.size_text;
    li.appendChild(size);
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "v2-attachment-remove";
    remove.setAttribute("aria-label", word("remove", { name: data.filename }));
    remove.title = word("remove", { name: data.filename });
    remove.textContent = "×";
    remove.addEventListener("click", function () { removeChip(li, data); });
    li.appendChild(remove);
    return li;
  }

  function removeChip(li, data) {
    var all = chips(), at = all.indexOf(li);
    var next = all[at + 1] || all[at - 1];
    li.remove();
    (next ? next.querySelector("button") : addButton).focus();
    say(word("removed", { name: data.filename }));
    fetch(CONFIG.remove_url.replace("TOKEN", encodeURIComponent(data.token)), {
      method: "DELETE", credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf(), "X-Requested-With": "XMLHttpRequest" }
    }).catch(function () { /* left for the store's daily clean-up */ });
  }

  function setAttachments(items) {
    list.textContent = "";
    (items || []).forEach(function (data) { if (data && data.token) { list.appendChild(chip(data)); } });
  }

  // One file, as v1 uploads it: the body is the file, its name and type in headers. One after
  // the other, so that the server's limit counts each with those before it.
  var queue = Promise.resolve();
  function upload(file) {
    clearError();
    if (file.size + usedBytes() > CONFIG.limit) { showError(word("too_large") + " (" + file.name + ")"); return; }
    var li = document.createElement("li");
    li.className = "v2-attachment pending";
    li.dataset.size = String(file.size);
    var name = document.createElement("span");
    name.className = "v2-attachment-name";
    name.textContent = file.name;
    li.appendChild(name);
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", word("uploading", { name: file.name }));
    li.appendChild(bar);
    list.appendChild(li);
    pending += 1;
    queue = queue.then(function () { return new Promise(function (finished) { send(file, li, bar, finished); }); });
  }
  function send(file, li, bar, finished) {
    say(word("uploading", { name: file.name }));
    var request = new XMLHttpRequest();
    request.open("POST", CONFIG.upload_url);
    request.setRequestHeader("X-CSRFToken", csrf());
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    request.setRequestHeader("X-File-Type", file.type || "application/octet-stream");
    request.setRequestHeader("X-Uploaded", chips().map(function (c) { return c.dataset.token; }).join(","));
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) { bar.value = Math.round(event.loaded * 100 / event.total); }
    });
    function done(data) {
      pending -= 1;
      finished();
      if (li.parentNode !== list) { return; }  // the dialog was started afresh meanwhile
      if (data && data.token) {
        list.replaceChild(chip(data), li);
        say(word("uploaded", { name: data.filename }));
      } else {
        li.remove();
        say("");
        showError((data && data.error) || word("upload_failed"));
      }
    }
    request.addEventListener("load", function () {
      var data = {};
      try { data = JSON.parse(request.responseText); } catch (error) { data = {}; }
      done(request.status === 200 ? data : { error: data.error || word("upload_failed") });
    });
    request.addEventListener("error", function () { done(null); });
    request.send(file);
  }
  function uploadAll(files) { Array.prototype.forEach.call(files || [], upload); }

  addButton.addEventListener("click", function () { input.click(); });
  input.addEventListener("change", function () { uploadAll(input.files); input.value = ""; });

  // -- drag and drop onto the compose dialog -----------------------------------------------------
  function carriesFiles(event) {
    var types = event.dataTransfer ? event.dataTransfer.types : [];
    return Array.prototype.indexOf.call(types, "Files") >= 0;
  }
  var depth = 0;
  dialog.addEventListener("dragenter", function (event) {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    depth += 1;
    dialog.classList.add("v2-dropping");
  });
  dialog.addEventListener("dragover", function (event) {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  dialog.addEventListener("dragleave", function (event) {
    if (!carriesFiles(event)) { return; }
    depth = Math.max(0, depth - 1);
    if (!depth) { dialog.classList.remove("v2-dropping"); }
  });
  dialog.addEventListener("drop", function (event) {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    depth = 0;
    dialog.classList.remove("v2-dropping");
    uploadAll(event.dataTransfer.files);
  });
  // A file dropped beside the dialog must not replace the page (and what is typed in it).
  ["dragover", "drop"].forEach(function (name) {
    window.addEventListener(name, function (event) { if (carriesFiles(event)) { event.preventDefault(); } });
  });

  // -- the mail waits for its uploads -----------------------------------------------------------
  function holdWhileUploading(event) {
    if (!pending) { return; }
    event.preventDefault();
    event.stopImmediatePropagation();
    showError(word("wait_for_uploads"));
  }
  dialog.addEventListener("submit", holdWhileUploading, true);
  dialog.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey || event.target.name === "send_at")) {
      holdWhileUploading(event);
    }
  }, true);
  dialog.addEventListener("click", function (event) {  // "Send later" → "Schedule"
    if (event.target && event.target.id === "v2-schedule") { holdWhileUploading(event); }
  }, true);

  // -- autosave: every interval, only when changed, through core's draft service ----------------
  var SNAPSHOT_FIELDS = ["to", "cc", "bcc", "subject", "body", "send_at"];
  var saved = "", busy = false, timer = null;
  function snapshot() {
    return JSON.stringify(SNAPSHOT_FIELDS.map(function (name) { return form.elements[name] ? form.elements[name].value : ""; })
      .concat(chips().map(function (c) { return c.dataset.token; })));
  }
  function worthSaving() {
    return ["to", "cc", "bcc", "subject", "body"].some(function (name) {
      return form.elements[name] && form.elements[name].value.trim() !== "";
    }) || chips().length > 0;
  }
  function autosave() {
    if (!dialog.open || busy || pending || !worthSaving()) { return; }
    var now = snapshot();
    if (now === saved) { return; }
    var ask = { saving: null }, line = $("v2-draft-status"), before = line.textContent;
    busy = true;
    line.textContent = word("saving");
    root.dispatchEvent(new CustomEvent("v2:save-draft", { detail: ask }));
    Promise.resolve(ask.saving).then(function (ok) {
      if (ok) { saved = now; } else if (ok === false) { line.textContent = word("save_failed"); } else { line.textContent = before; }
    }).catch(function () { line.textContent = word("save_failed"); })
      .then(function () { busy = false; });
  }
  function startAutosave() {
    clearInterval(timer);
    saved = snapshot();
    timer = setInterval(autosave, Math.max(1, CONFIG.autosave_seconds) * 1000);
  }
  root.addEventListener("v2:compose-filled", function (event) {
    clearError();
    say("");
    setAttachments(event.detail && event.detail.attachments);
    startAutosave();
  });
  // What a save sent counts as saved when it answers, not what the form holds by then: text
  // typed while a save is on its way is saved by the next autosave.
  var beingSaved = null;
  root.addEventListener("v2:draft-saving", function () { beingSaved = snapshot(); });
  root.addEventListener("v2:draft-saved", function () { if (beingSaved !== null) { saved = beingSaved; } beingSaved = null; });
  dialog.addEventListener("close", function () { clearInterval(timer); timer = null; });
  // Closed (Escape, Cancel) with changes not saved yet: kept as a draft, as Outlook and Gmail do,
  // and said so; the text typed was lost before.
  root.addEventListener("v2:compose-closed", function (event) {
    if (event.detail.sent || pending || !worthSaving() || snapshot() === saved) { return; }
    var ask = { saving: null };
    root.dispatchEvent(new CustomEvent("v2:save-draft", { detail: ask }));
    Promise.resolve(ask.saving).then(function (ok) {
      var text = ok ? word("kept_as_draft") : ok === false ? word("save_failed") : null;
      if (text) { root.dispatchEvent(new CustomEvent("v2:toast", { detail: { text: text } })); }
    });
  });

  // -- the reading pane: forward as attachment, and edit a draft ---------------------------------
  function action(name, label, mode) {
    var button = document.createElement("button");
    button.type = "button";
    button.dataset.action = name;
    button.textContent = label;
    button.addEventListener("click", function () {
      root.dispatchEvent(new CustomEvent("v2:start-reply", { detail: { mode: mode } }));
    });
    return button;
  }
  root.addEventListener("v2:conversation-opened", function (event) {
    var bar = document.querySelector("#v2-reader .v2-reader-actions");
    if (!bar || bar.querySelector('[data-action="forward_attachment"]')) { return; }
    var forward = bar.querySelector('[data-action="forward"]');
    bar.insertBefore(action("forward_attachment", word("forward_attachment"), "forward_attachment"),
                     forward ? forward.nextSibling : null);
    var folder = document.querySelector('.v2-folder.current');
    if (folder && folder.dataset.role === "drafts" && event.detail.folder === folder.dataset.folder) {
      var edit = action("edit_draft", word("edit_draft"), "draft");
      edit.className = "primary";
      bar.insertBefore(edit, bar.firstChild);
    }
  });
}());
