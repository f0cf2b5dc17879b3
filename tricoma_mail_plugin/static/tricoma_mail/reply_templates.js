/* Reply templates and quick replies in every compose form (v1 compose, v2 compose, a record's
   mail dialog): a "Templates" button and Alt+T open a picker (type to filter, arrows, Enter);
   the chosen template is filled in by the server with the fields of the record the mail is
   about. A field without a value stays as {{ name }}: it is named under the text, and the
   form's send buttons wait until it is filled in (the server refuses such a mail as well).
   The form carries its settings as data attributes (data-reply-templates). No inline script. */
(function () {
  "use strict";

  var request = window.tricomaMailJSON.request;  /* json_request.js, loaded before */
  var UNFILLED = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

  function setUp(form) {
    var words = JSON.parse(form.getAttribute("data-templates-words") || "{}");
    var subject = form.querySelector(form.getAttribute("data-templates-subject"));
    var body = form.querySelector(form.getAttribute("data-templates-body"));
    if (!body) { return; }
    var sendButtons = Array.prototype.slice.call(form.querySelectorAll(form.getAttribute("data-templates-send") || "[type=submit]"));
    var variables = [], labels = {}, templates = [];

    function word(key, values) {
      var text = words[key] || key;
      Object.keys(values || {}).forEach(function (name) { text = text.split("%(" + name + ")s").join(values[name]); });
      return text;
    }
    function mailboxIds() {
      var fixed = form.getAttribute("data-templates-mailbox-id");
      if (fixed) { return [fixed]; }
      var field = form.elements[form.getAttribute("data-templates-mailbox-field") || "mailbox"];
      if (!field) { return []; }
      if (field.options) { return Array.prototype.map.call(field.options, function (o) { return o.value; }); }
      return [field.value];
    }
    function currentMailbox() {
      var fixed = form.getAttribute("data-templates-mailbox-id");
      if (fixed) { return +fixed; }
      var field = form.elements[form.getAttribute("data-templates-mailbox-field") || "mailbox"];
      return field ? +field.value : null;
    }
    function messageIds() {
      var ids = [];
      (form.getAttribute("data-templates-ids-fields") || "in_reply_to references").split(" ").forEach(function (name) {
        var field = form.elements[name];
        if (field && field.value) { ids = ids.concat(field.value.match(/<[^<>\s]+>/g) || []); }
      });
      return ids;
    }
    function isReply() { var field = form.elements.in_reply_to; return !!(field && field.value); }

    // -- the button, the missing fields' note, the picker ---------------------------------------
    var bar = document.createElement("div");
    bar.className = "reply-templates-bar";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "reply-templates-open";
    button.textContent = word("button");
    button.setAttribute("aria-haspopup", "dialog");
    button.setAttribute("aria-keyshortcuts", "Alt+T");
    bar.appendChild(button);
    var status = document.createElement("span");
    status.className = "reply-templates-status";
    status.setAttribute("role", "status");
    bar.appendChild(status);
    var missing = document.createElement("p");
    missing.className = "reply-templates-missing field-error";
    missing.setAttribute("role", "alert");
    missing.hidden = true;
    var anchor = body.closest(".field, label") || body;
    anchor.parentNode.insertBefore(bar, anchor);
    anchor.parentNode.insertBefore(missing, anchor.nextSibling);

    var picker = document.createElement("dialog");
    picker.className = "reply-templates-picker";
    picker.setAttribute("aria-label", word("title"));
    var heading = document.createElement("h2");
    heading.textContent = word("title");
    var filter = document.createElement("input");
    filter.type = "search";
    filter.className = "reply-templates-filter";
    filter.setAttribute("aria-label", word("filter"));
    filter.placeholder = word("filter");
    filter.autocomplete = "off";
    var list = document.createElement("ul");
    list.className = "reply-templates-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", word("title"));
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = word("close");
    picker.appendChild(heading); picker.appendChild(filter); picker.appendChild(list); picker.appendChild(close);
    (form.closest("dialog") || document.body).appendChild(picker);
    var shown = [], cursor = 0;

    function load() {
      var query = mailboxIds().map(function (id) { return "mailbox=" + encodeURIComponent(id); }).join("&");
      return request("GET", form.getAttribute("data-templates-list-url") + "?" + query).then(function (data) {
        templates = data.templates; variables = data.variables;
      });
    }
    function renderList() {
      var text = filter.value.trim().toLowerCase();
      shown = templates.filter(function (t) { return !text || t.name.toLowerCase().indexOf(text) >= 0; });
      cursor = Math.min(cursor, Math.max(shown.length - 1, 0));
      list.textContent = "";
      if (!shown.length) {
        var none = document.createElement("li");
        none.setAttribute("role", "presentation");
        none.textContent = word("none");
        list.appendChild(none);
        filter.removeAttribute("aria-activedescendant");
        return;
      }
      shown.forEach(function (template, index) {
        var li = document.createElement("li");
        li.id = "reply-template-option-" + template.id;
        li.setAttribute("role", "option");
        li.dataset.templateId = String(template.id);
        li.setAttribute("aria-selected", index === cursor ? "true" : "false");
        li.className = index === cursor ? "cursor" : "";
        li.textContent = template.name + " · " + word(template.kind) + " · " + template.language.toUpperCase() +
          " · " + (template.personal ? word("personal") : template.mailbox);
        li.addEventListener("click", function () { choose(template); });
        list.appendChild(li);
      });
      filter.setAttribute("aria-activedescendant", "reply-template-option-" + shown[cursor].id);
    }
    function openPicker() {
      status.textContent = word("loading");
      load().then(function () {
        status.textContent = "";
        filter.value = ""; cursor = 0;
        renderList();
        picker.showModal();
        filter.focus();
      }).catch(function (error) { status.textContent = error.message; });
    }
    function closePicker() { if (picker.open) { picker.close(); } body.focus(); }
    filter.addEventListener("input", function () { cursor = 0; renderList(); });
    filter.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        cursor = Math.max(0, Math.min(shown.length - 1, cursor + (event.key === "ArrowDown" ? 1 : -1)));
        renderList();
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (shown[cursor]) { choose(shown[cursor]); }
      }
    });
    picker.addEventListener("cancel", function (event) { event.preventDefault(); closePicker(); });
    close.addEventListener("click", closePicker);
    button.addEventListener("click", openPicker);
    document.addEventListener("keydown", function (event) {
      if (event.altKey && !event.ctrlKey && !event.metaKey && (event.key === "t" || event.key === "T" || event.code === "KeyT")
          && form.offsetParent !== null && !picker.open) {
        event.preventDefault();
        openPicker();
      }
    });

    function insertAtCursor(text) {
      var start = body.selectionStart || 0, end = body.selectionEnd || start;
      body.value = body.value.slice(0, start) + text + body.value.slice(end);
      body.setSelectionRange(start + text.length, start + text.length);
    }
    function choose(template) {
      closePicker();
      status.textContent = word("loading");
      request("POST", form.getAttribute("data-templates-render-url").replace("/0/", "/" + template.id + "/"), {
        mailbox_id: currentMailbox(), reference: form.getAttribute("data-templates-reference") || null,
        message_ids: messageIds()
      }).then(function (data) {
        (data.missing || []).forEach(function (field) { labels[field.name] = field.label; });
        if (data.kind === "template" && !isReply()) {
          body.value = data.body;  // a new mail (or a record's): the template is the text
        } else if (data.kind === "template") {
          body.setSelectionRange(0, 0);  // a reply: above the quoted mail
          insertAtCursor(data.body);
        } else {
          insertAtCursor(data.body);  // a quick reply: where the cursor is
        }
        // a reply keeps its "Re: …" subject: the conversation stays one
        if (data.subject && subject && !isReply()) { subject.value = data.subject; }
        status.textContent = word("inserted", { name: template.name });
        body.dispatchEvent(new Event("input", { bubbles: true }));
        check();
        body.focus();
      }).catch(function (error) { status.textContent = error.message; });
    }

    // -- nothing leaves with a {{ field }} -------------------------------------------------------
    function unfilled() {
      var found = [], text = (subject ? subject.value : "") + "\n" + body.value, match;
      UNFILLED.lastIndex = 0;
      while ((match = UNFILLED.exec(text)) !== null) {
        if ((variables.indexOf(match[1]) >= 0 || labels[match[1]]) && found.indexOf(match[1]) < 0) { found.push(match[1]); }
      }
      return found;
    }
    function check() {
      var names = unfilled();
      missing.hidden = !names.length;
      missing.textContent = names.length ? word("missing", { fields: names.map(function (name) {
        return (labels[name] || name) + " ({{ " + name + " }})"; }).join(", ") }) : "";
      sendButtons.forEach(function (b) {
        if (names.length) { b.setAttribute("aria-disabled", "true"); b.dataset.templatesBlocked = "1"; }
        else if (b.dataset.templatesBlocked) { b.removeAttribute("aria-disabled"); delete b.dataset.templatesBlocked; }
      });
      form.dataset.templatesMissing = names.join(" ");
      return names;
    }
    function blockIfUnfilled(event) {
      var submitter = event.submitter;
      if (submitter && submitter.value === "draft") { return; }
      if (check().length) {
        event.preventDefault();
        event.stopImmediatePropagation();
        missing.setAttribute("tabindex", "-1");
        missing.focus();
      }
    }
    form.addEventListener("submit", blockIfUnfilled, true);
    // v2's Ctrl+Enter sends without a submit event: catch it on the way down
    (form.closest("dialog") || form).addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && check().length) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    }, true);
    [body, subject].forEach(function (field) { if (field) { field.addEventListener("input", check); } });
    // a compose dialog (v2) is filled by script when it opens: look again then
    var dialog = form.closest("dialog");
    if (dialog && window.MutationObserver) {
      new MutationObserver(function () { if (dialog.open) { status.textContent = ""; check(); } })
        .observe(dialog, { attributes: true, attributeFilter: ["open"] });
    }
    load().then(check).catch(function () {});
  }

  document.querySelectorAll("form[data-reply-templates]").forEach(setUp);
}());
