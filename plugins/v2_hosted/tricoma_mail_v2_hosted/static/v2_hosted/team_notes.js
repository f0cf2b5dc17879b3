/* Internal notes in the v2 reading pane, and the live count of the user's notices.
   Notes belong to the open conversation (named by its Message-IDs, as all team mail); they stay
   in tricoma mail's database and never go out by mail or onto the IMAP server. "@login" mentions
   a colleague who may read the mailbox (suggested while typing); they get a notice. Listens to
   client.js's DOM events (v2:conversation-opened, v2:live); "n" writes a note. */
(function () {
  "use strict";
  var root = document.getElementById("v2-client");
  var configEl = document.getElementById("v2-notes-config");
  if (!root || !configEl) { return; }
  var CONFIG = JSON.parse(configEl.textContent);
  var WORDS = CONFIG.words;
  var open = null, people = null;

  function word(key, values) {
    var text = WORDS[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.split("%(" + name + ")s").join(values[name]); });
    return text;
  }
  var call = window.tricomaMailJSON.request, el = window.tricomaMailJSON.el;
  function time(iso) {
    var date = new Date(iso);
    return date.toLocaleString(document.documentElement.lang || undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  // -- the notes section of the reading pane ---------------------------------------------------
  function section() {
    var box = document.getElementById("v2-notes");
    if (box) { return box; }
    var reader = document.getElementById("v2-reader");
    var head = reader.querySelector(".v2-reader-head");
    if (!head) { return null; }
    box = el("section", "v2-notes");
    box.id = "v2-notes";
    box.setAttribute("aria-labelledby", "v2-notes-title");
    var title = el("h3", "v2-notes-title", word("notes"));
    title.id = "v2-notes-title";
    box.appendChild(title);
    var hint = el("p", "v2-notes-hint", word("internal"));
    box.appendChild(hint);
    var list = el("ol", "v2-notes-list");
    list.id = "v2-notes-list";
    box.appendChild(list);
    var form = el("form", "v2-note-form");
    form.id = "v2-note-form";
    var label = el("label", "", word("new_note"));
    label.setAttribute("for", "v2-note-text");
    var text = el("textarea");
    text.id = "v2-note-text";
    text.rows = 2;
    text.setAttribute("aria-describedby", "v2-note-error");
    text.placeholder = word("placeholder");
    text.setAttribute("aria-keyshortcuts", "n");
    var suggestions = el("ul", "v2-note-mentions");
    suggestions.id = "v2-note-mentions";
    suggestions.setAttribute("role", "listbox");
    suggestions.setAttribute("aria-label", word("mention"));
    suggestions.hidden = true;
    var error = el("p", "v2-error");
    error.id = "v2-note-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    var add = el("button", "", word("add"));
    add.type = "submit";
    add.id = "v2-note-add";
    add.setAttribute("aria-keyshortcuts", "Control+Enter");
    form.appendChild(label); form.appendChild(text); form.appendChild(suggestions); form.appendChild(error);
    form.appendChild(add);
    box.appendChild(form);
    form.addEventListener("submit", function (event) { event.preventDefault(); save(); });
    text.addEventListener("keydown", function (event) {
      if (!suggestions.hidden && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
        event.preventDefault(); moveSuggestion(event.key === "ArrowDown" ? 1 : -1); return;
      }
      if (!suggestions.hidden && (event.key === "Enter" || event.key === "Tab") && !event.ctrlKey) {
        var chosen = suggestions.querySelector('[aria-selected="true"]');
        if (chosen) { event.preventDefault(); insertMention(chosen.dataset.login); return; }
      }
      if (event.key === "Escape") {
        if (!suggestions.hidden) { suggestions.hidden = true; } else { text.blur(); document.getElementById("v2-items").focus(); }
        event.preventDefault(); event.stopPropagation(); return;
      }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); save(); }
    });
    text.addEventListener("input", suggest);
    head.parentNode.insertBefore(box, head.nextSibling);
    return box;
  }

  function showNotes(notes) {
    var box = section();
    if (!box) { return; }
    var list = document.getElementById("v2-notes-list");
    list.textContent = "";
    notes.forEach(function (note) {
      var item = el("li", "v2-note");
      item.id = "v2-note-" + note.id;
      var meta = el("p", "v2-note-meta");
      meta.appendChild(el("strong", "", note.author.label));
      meta.appendChild(document.createTextNode(" · "));
      var when = el("time", "", time(note.created_at));
      when.dateTime = note.created_at;
      meta.appendChild(when);
      item.appendChild(meta);
      var body = el("p", "v2-note-text");
      // the text, with the mentions of users marked (text nodes only: never HTML)
      var logins = note.mentions.map(function (p) { return p.login.toLowerCase(); });
      note.text.split(/(@[\w][\w.\-]*)/).forEach(function (piece) {
        var login = piece.charAt(0) === "@" ? piece.slice(1).replace(/[.\-]+$/, "").toLowerCase() : "";
        if (login && logins.indexOf(login) >= 0) { body.appendChild(el("mark", "v2-mention", piece)); }
        else { body.appendChild(document.createTextNode(piece)); }
      });
      item.appendChild(body);
      list.appendChild(item);
    });
    list.hidden = !notes.length;
    document.getElementById("v2-notes-title").textContent = notes.length ? word("notes_count", { n: notes.length }) : word("notes");
  }

  function load() {
    var asked = open;
    if (!asked || !asked.messageIds.length) { return Promise.resolve(); }
    return call("POST", CONFIG.notes + "/list", { message_ids: asked.messageIds }).then(function (data) {
      if (open === asked) { showNotes(data.notes); }
    }).catch(function () {});
  }

  function save() {
    var text = document.getElementById("v2-note-text"), error = document.getElementById("v2-note-error");
    if (!open || !text.value.trim()) { return; }
    error.hidden = true;
    var asked = open;
    call("POST", CONFIG.notes, { message_ids: asked.messageIds, text: text.value, subject: asked.subject })
      .then(function () {
        text.value = "";
        document.getElementById("v2-note-mentions").hidden = true;
        return load();
      }).then(function () {
        var status = document.getElementById("v2-live");
        if (status) { status.textContent = word("saved"); }
      }).catch(function (failure) {
        error.textContent = failure.message;
        error.hidden = false;
        text.focus();
      });
  }

  // -- @mentions: suggestions while typing -------------------------------------------------------
  function loadPeople() {
    if (people) { return Promise.resolve(people); }
    return call("GET", CONFIG.notes + "/people").then(function (data) { people = data.people; return people; });
  }
  function typedMention(text) {
    var before = text.value.slice(0, text.selectionStart);
    var match = /(^|[\s(\[])@([\w.\-]*)$/.exec(before);
    return match ? match[2] : null;
  }
  function suggest() {
    var text = document.getElementById("v2-note-text"), list = document.getElementById("v2-note-mentions");
    var typed = typedMention(text);
    if (typed === null) { list.hidden = true; return; }
    loadPeople().then(function (all) {
      var needle = typed.toLowerCase();
      var found = all.filter(function (p) {
        return p.login.toLowerCase().indexOf(needle) === 0 || p.label.toLowerCase().indexOf(needle) >= 0;
      }).slice(0, 8);
      list.textContent = "";
      found.forEach(function (person, index) {
        var li = el("li", "", person.label + " (@" + person.login + ")");
        li.setAttribute("role", "option");
        li.id = "v2-mention-" + person.id;
        li.dataset.login = person.login;
        li.setAttribute("aria-selected", index === 0 ? "true" : "false");
        li.addEventListener("mousedown", function (event) { event.preventDefault(); insertMention(person.login); });
        list.appendChild(li);
      });
      list.hidden = !found.length;
    }).catch(function () { list.hidden = true; });
  }
  function moveSuggestion(step) {
    var options = Array.prototype.slice.call(document.querySelectorAll("#v2-note-mentions [role=option]"));
    var index = options.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    var next = Math.max(0, Math.min(options.length - 1, index + step));
    options.forEach(function (o, i) { o.setAttribute("aria-selected", i === next ? "true" : "false"); });
  }
  function insertMention(login) {
    var text = document.getElementById("v2-note-text");
    var before = text.value.slice(0, text.selectionStart), after = text.value.slice(text.selectionStart);
    before = before.replace(/@([\w.\-]*)$/, "@" + login + " ");
    text.value = before + after;
    text.setSelectionRange(before.length, before.length);
    document.getElementById("v2-note-mentions").hidden = true;
    text.focus();
  }

  root.addEventListener("v2:conversation-opened", function (event) {
    var subject = document.getElementById("v2-reader-subject");
    open = { messageIds: event.detail.messageIds || [], subject: subject ? subject.textContent : "" };
    if (!open.messageIds.length) { return; }
    section();
    showNotes([]);
    load();
  });

  // -- notices: the navigation's count stays live ------------------------------------------------
  function showNoticeCount(count) {
    var link = document.querySelector('nav a[href="' + CONFIG.notices_page + '"]');
    if (!link) { return; }
    var badge = link.querySelector(".badge");
    if (!badge && count) {
      badge = el("span", "badge");
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
    }
    if (badge) { badge.textContent = count ? String(count) : ""; badge.hidden = !count; }
    root.dataset.notices = String(count);
  }
  var lastCount = null;
  function pollNotices() {
    if (document.hidden) { return Promise.resolve(); }
    return call("GET", CONFIG.notices_unread).then(function (data) {
      if (lastCount !== null && data.count > lastCount && data.items.length) {
        var status = document.getElementById("v2-live");
        if (status) { status.textContent = word("new_notice", { text: data.items[0].text }); }
      }
      lastCount = data.count;
      showNoticeCount(data.count);
    }).catch(function () {});
  }
  setInterval(pollNotices, CONFIG.poll_seconds * 1000);
  document.addEventListener("visibilitychange", pollNotices);
  root.addEventListener("v2:live", function (event) {
    if ((event.detail.changes || []).indexOf("team") < 0) { return; }
    load();
    pollNotices();
  });
  pollNotices();

  // -- keyboard: "n" writes a note on the open conversation ------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.key !== "n") { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var t = event.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) { return; }
    var text = document.getElementById("v2-note-text");
    if (text && open) { event.preventDefault(); text.focus(); }
  });
}());
