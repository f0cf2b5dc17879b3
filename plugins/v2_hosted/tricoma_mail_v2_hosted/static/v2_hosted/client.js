/* The v2 mail client: three panes, conversations, live updates (server-sent events), drag and
   drop or a folder picker (key m) to move, range selection, keyboard shortcuts, compose with undo
   send and send later. No page reload. */
(function () {
  "use strict";
  var root = document.getElementById("v2-client");
  if (!root) { return; }
  var WORDS = JSON.parse(document.getElementById("v2-words").textContent);
  var PHONE = window.matchMedia("(max-width: 48rem)");
  var API = root.dataset.api;
  var BODY_URL = root.dataset.bodyUrl;
  var MESSAGE_PAGES = { print: root.dataset.printUrl, source: root.dataset.sourceUrl };  // core's, in a new tab
  var $ = function (id) { return document.getElementById(id); };
  var itemsEl = $("v2-items"), folderList = $("v2-folder-list"), reader = $("v2-reader");
  var searchEl = $("v2-search"), convEl = $("v2-conversations");

  var state = {
    folder: "INBOX", folders: [], rows: [], cursor: -1, anchor: -1, selected: {},
    expanded: {}, open: null, lastUndo: null, query: "", layout: {
      folders_width: +root.dataset.foldersWidth, list_width: +root.dataset.listWidth,
      conversations: convEl.checked }
  };

  function word(key, values) {
    var text = WORDS[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.replace("%(" + name + ")s", values[name]); });
    return text;
  }

  // DOM events the team scripts (team_state.js, team_notes.js, team_tags.js) listen to.
  function emit(name, detail) {
    var event = new CustomEvent(name, { detail: detail, cancelable: true });
    root.dispatchEvent(event);
    return !event.defaultPrevented;
  }
  function conversationOf(messageId) {
    return state.rows.filter(function (row) { return row.conversation && row.ids.concat(
      row.conversation.messages.map(function (m) { return m.id; })).indexOf(messageId) >= 0; })[0];
  }

  var csrf = window.tricomaMailJSON.csrf;
  function call(method, path, body) { return window.tricomaMailJSON.request(method, API + path, body); }

  function failed(error) { toast(word("error", { message: error.message }), null); }

  // -- toast with undo ------------------------------------------------------------------------
  var toastTimer = null;
  function toast(text, undo, undoLabel) {
    $("v2-toast-text").textContent = text;
    $("v2-toast-undo").hidden = !undo;
    $("v2-toast-undo").textContent = undoLabel || word("undo");
    state.lastUndo = undo || state.lastUndo;
    $("v2-toast").hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { $("v2-toast").hidden = true; }, undo ? 12000 : 5000);
  }
  function undoLast() {
    var undo = state.lastUndo;
    state.lastUndo = null;
    $("v2-toast").hidden = true;
    if (!undo) { toast(word("nothing_to_undo"), null); return; }
    undo();
  }
  $("v2-toast-undo").addEventListener("click", undoLast);
  root.addEventListener("v2:toast", function (event) { toast(event.detail.text, null); });  // from the other scripts

  // -- folders --------------------------------------------------------------------------------
  function loadFolders() {
    return call("GET", "/folders").then(function (data) { showFolders(data.folders); });
  }
  function showFolders(folders) {
    state.folders = folders;
    folderList.textContent = "";
    folders.forEach(function (folder) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "v2-folder" + (folder.name === state.folder ? " current" : "");
      button.dataset.folder = folder.name;
      if (folder.role) { button.dataset.role = folder.role; }
      if (folder.name === state.folder) { button.setAttribute("aria-current", "true"); }
      var label = document.createElement("span");
      label.textContent = folder.label;
      button.appendChild(label);
      var count = document.createElement("span");
      count.className = "v2-count";
      count.textContent = folder.unseen ? String(folder.unseen) : "";
      button.appendChild(count);
      button.setAttribute("aria-label", folder.label + (folder.unseen ? ", " + folder.unseen + " " + word("unread") : ""));
      button.addEventListener("click", function () { openFolder(folder.name); });
      button.addEventListener("dragover", function (event) { event.preventDefault(); button.classList.add("drop"); });
      button.addEventListener("dragleave", function () { button.classList.remove("drop"); });
      button.addEventListener("drop", function (event) {
        event.preventDefault();
        button.classList.remove("drop");
        var ids = (event.dataTransfer.getData("text/plain") || "").split(",").filter(Boolean).map(Number);
        if (ids.length) { moveTo(ids, folder.name, folder.label); }
      });
      li.appendChild(button);
      folderList.appendChild(li);
    });
  }
  // The host's navigation shows each mailbox's INBOX unread count and their sum on the unified
  // inbox ("Alle Posteingänge"): the event stream sends them ([[link URL, count], …]) as they change.
  function showNavigationBadges(badges) {
    var links = document.querySelectorAll("nav a[href]");
    badges.forEach(function (pair) {
      Array.prototype.forEach.call(links, function (link) {
        if (link.getAttribute("href") !== pair[0]) { return; }
        var badge = link.querySelector(".badge");
        if (!badge && pair[1]) {
          badge = document.createElement("span");
          badge.className = "badge";
          link.appendChild(document.createTextNode(" "));
          link.appendChild(badge);
        }
        if (badge) { badge.textContent = pair[1] ? String(pair[1]) : ""; badge.hidden = !pair[1]; }
      });
    });
  }
  function openFolder(name) {
    state.folder = name;
    state.selected = {}; state.cursor = -1; state.anchor = -1;
    showFolders(state.folders);
    loadList().then(function () { itemsEl.focus(); });
  }

  // -- the list -------------------------------------------------------------------------------
  var listRequests = 0;
  var LIST_STEP = 200;  // messages more each time the user reaches the end of the list…
  var LIST_MAX = 5000;  // …up to the server's most (a longer way back is a search)
  function loadList() {
    var query = "?folder=" + encodeURIComponent(state.folder) + "&conversations=" + (state.layout.conversations ? "1" : "0");
    if (state.query) { query += "&q=" + encodeURIComponent(state.query); }
    if (root.dataset.listFilter) { query += "&" + root.dataset.listFilter; }
    // another folder, search or filter starts with the newest LIST_STEP again
    if (query !== state.listKey) { state.listKey = query; state.listLimit = LIST_STEP; }
    query += "&limit=" + state.listLimit;
    var asked = ++listRequests;  // answers may come out of order: only the newest is shown
    return call("GET", "/messages" + query).then(function (data) {
      if (asked === listRequests) { showList(data); }
    }).catch(failed);
  }

  function rowsOf(data) {
    var rows = [];
    data.items.forEach(function (item) {
      if (data.mode === "messages") { rows.push({ kind: "message", message: item, ids: [item.id] }); return; }
      var inFolder = item.messages.filter(function (m) { return m.folder === state.folder; });
      var head = inFolder.length ? inFolder[inFolder.length - 1] : item.latest;
      rows.push({ kind: "conversation", conversation: item, message: head, key: item.key,
                  ids: inFolder.map(function (m) { return m.id; }) });
      if (state.expanded[item.key]) {
        item.messages.forEach(function (m) { rows.push({ kind: "member", message: m, ids: [m.id], key: item.key }); });
      }
    });
    return rows;
  }

  function showList(data) {
    var keep = state.rows[state.cursor];
    var keepId = keep ? keep.message.id : null;
    state.lastData = data;
    state.rows = rowsOf(data);
    state.cursor = -1;
    state.rows.forEach(function (row, index) { if (keepId !== null && row.message.id === keepId && state.cursor < 0) { state.cursor = index; } });
    render();
  }

  // After every drawing of the list (a new list, a cursor move): the team scripts add to the rows.
  function listRendered() {
    emit("v2:list-rendered", { mailboxId: +root.dataset.mailboxId, folder: state.folder,
      mode: state.lastData ? state.lastData.mode : null,
      rows: state.rows.map(function (row, index) {
        var item = row.conversation || row.message;
        return { index: index, kind: row.kind, key: row.key || null, ids: row.ids, messageId: row.message.id,
                 messageIds: item.message_ids || [], team: item.team || null, keywords: item.keywords || [] };
      }) });
  }

  function render() {
    itemsEl.textContent = "";
    if (!state.rows.length) {
      var empty = document.createElement("li");
      empty.className = "v2-empty";
      empty.setAttribute("role", "presentation");
      empty.textContent = word("no_messages");
      itemsEl.appendChild(empty);
      itemsEl.removeAttribute("aria-activedescendant");
      listRendered();
      return;
    }
    state.rows.forEach(function (row, index) { itemsEl.appendChild(rowElement(row, index)); });
    if (state.lastData && state.lastData.more && state.listLimit < LIST_MAX) { itemsEl.appendChild(moreElement()); }
    if (state.cursor >= 0) { itemsEl.setAttribute("aria-activedescendant", "v2-row-" + state.cursor); }
    listRendered();
  }

  // The end of a long folder: older messages come when it scrolls into view, with the button, or
  // with j / arrow down on the last row.
  // Scrolled to, that is: a list that fits its pane (a filtered view, say) waits for the button.
  var listPane = $("v2-list");  // the list's scrolling pane
  var moreObserver = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    var scrolls = listPane.scrollHeight > listPane.clientHeight + 1;
    if (scrolls && entries.some(function (entry) { return entry.isIntersecting; })) { loadMore(); }
  }, { root: listPane }) : null;
  function moreElement() {
    var li = document.createElement("li");
    li.className = "v2-more";
    li.setAttribute("role", "presentation");
    var button = document.createElement("button");
    button.type = "button";
    button.id = "v2-more";
    button.textContent = word("load_more");
    button.addEventListener("click", loadMore);
    li.appendChild(button);
    if (moreObserver) { moreObserver.disconnect(); moreObserver.observe(li); }
    return li;
  }
  var loadingMore = false;
  function loadMore() {
    if (loadingMore || !(state.lastData && state.lastData.more) || state.listLimit >= LIST_MAX) { return; }
    loadingMore = true;
    state.listLimit += LIST_STEP;
    loadList().then(function () { loadingMore = false; }, function () { loadingMore = false; });
  }

  function rowElement(row, index) {
    var m = row.message, li = document.createElement("li");
    li.id = "v2-row-" + index;
    li.className = "v2-row " + row.kind + (m.seen ? "" : " unread") + (index === state.cursor ? " cursor" : "");
    li.setAttribute("role", "option");
    li.dataset.id = String(m.id);
    li.dataset.index = String(index);
    if (row.key) { li.dataset.key = row.key; }
    var selected = row.ids.length > 0 && row.ids.every(function (id) { return state.selected[id]; });
    li.setAttribute("aria-selected", selected ? "true" : "false");
    li.draggable = row.ids.length > 0;
    var label = [m.seen ? "" : word("unread"), m.from, m.subject, m.date_text];
    if (row.kind === "conversation") {
      var toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "v2-expand";
      toggle.tabIndex = -1;
      toggle.setAttribute("aria-expanded", state.expanded[row.key] ? "true" : "false");
      toggle.setAttribute("aria-label", state.expanded[row.key] ? word("collapse") : word("expand"));
      toggle.textContent = state.expanded[row.key] ? "▾" : "▸";
      toggle.addEventListener("click", function (event) { event.stopPropagation(); toggleThread(row.key); });
      li.appendChild(toggle);
      li.setAttribute("aria-expanded", state.expanded[row.key] ? "true" : "false");
      label.push(word("messages_in_thread", { n: row.conversation.count }));
    }
    var from = span("v2-from", m.from || "—");
    var subject = span("v2-subject", m.subject || "—");
    var date = span("v2-date", m.date_text);
    li.appendChild(from);
    if (row.kind === "conversation" && row.conversation.count > 1) {
      li.appendChild(span("v2-thread-count", String(row.conversation.count)));
    }
    if (row.kind === "member") { li.appendChild(span("v2-folder-badge", m.folder)); }
    if (m.flagged) { li.appendChild(span("v2-flag", "⚑")); label.push(word("flagged")); }
    li.appendChild(subject);
    li.appendChild(date);
    li.setAttribute("aria-label", label.filter(Boolean).join(", "));
    li.addEventListener("click", function (event) { clickRow(index, event); });
    li.addEventListener("dragstart", function (event) {
      if (!selected) { selectOnly(index); }
      event.dataTransfer.setData("text/plain", chosenIds().join(","));
      event.dataTransfer.effectAllowed = "move";
    });
    return li;
  }

  function span(className, text) {
    var el = document.createElement("span");
    el.className = className;
    el.textContent = text;
    return el;
  }

  function toggleThread(key) {
    state.expanded[key] = !state.expanded[key];
    if (state.lastData) { showList(state.lastData); }
  }

  // -- selection ------------------------------------------------------------------------------
  function selectOnly(index) {
    state.selected = {};
    state.rows[index].ids.forEach(function (id) { state.selected[id] = true; });
    state.cursor = state.anchor = index;
  }
  function selectRange(from, to) {
    state.selected = {};
    for (var i = Math.min(from, to); i <= Math.max(from, to); i++) {
      state.rows[i].ids.forEach(function (id) { state.selected[id] = true; });
    }
    state.cursor = to;
  }
  function clickRow(index, event) {
    if (event.shiftKey && state.anchor >= 0) { selectRange(state.anchor, index); render(); return; }
    if (event.ctrlKey || event.metaKey) {
      var on = !state.rows[index].ids.every(function (id) { return state.selected[id]; });
      state.rows[index].ids.forEach(function (id) { if (on) { state.selected[id] = true; } else { delete state.selected[id]; } });
      state.cursor = state.anchor = index;
      render();
      return;
    }
    selectOnly(index);
    render();
    openMessage(state.rows[index].message);
  }
  function chosenIds() {
    var ids = Object.keys(state.selected).map(Number);
    if (!ids.length && state.rows[state.cursor]) { ids = state.rows[state.cursor].ids.slice(); }
    if (!ids.length && state.open) { ids = [state.open.id]; }
    return ids;
  }
  function moveCursor(step, extend) {
    if (!state.rows.length) { return; }
    if (step > 0 && state.cursor === state.rows.length - 1) { loadMore(); }
    var next = Math.max(0, Math.min(state.rows.length - 1, (state.cursor < 0 ? -1 : state.cursor) + step));
    if (extend) {
      if (state.anchor < 0) { state.anchor = state.cursor < 0 ? next : state.cursor; }
      selectRange(state.anchor, next);
    } else {
      selectOnly(next);
    }
    render();
    var el = $("v2-row-" + next);
    if (el && el.scrollIntoView) { el.scrollIntoView({ block: "nearest" }); }
  }

  // -- reading pane ---------------------------------------------------------------------------
  // The attachments of an opened mail, below its header: a download link each (core's route) and
  // "Open" for what a browser shows safely. Asked for only when the list says it has some.
  function showAttachments(message, header) {
    call("GET", "/messages/" + message.id + "/attachments").then(function (answer) {
      if (state.open !== message || !answer.attachments.length) { return; }
      var list = document.createElement("ul");
      list.className = "v2-reader-attachments";
      list.setAttribute("aria-label", word("attachments"));
      answer.attachments.forEach(function (part) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = part.url;
        link.setAttribute("download", "");
        link.textContent = part.filename;
        item.appendChild(link);
        var size = document.createElement("span");
        size.className = "v2-size";
        size.textContent = " " + part.size_text;
        item.appendChild(size);
        if (part.open_url) {
          var open = document.createElement("a");
          open.href = part.open_url;
          open.target = "_blank";
          open.rel = "noopener";
          open.className = "v2-open";
          open.textContent = word("open");
          item.appendChild(open);
        }
        list.appendChild(item);
      });
      header.appendChild(list);
    }).catch(function () { /* the body still shows; the list is what failed */ });
  }

  // Remote images the body left out (core's body route counts them in a header): shown once,
  // or always for the sender (core's setting, as the v1 reading page offers them).
  function offerRemoteImages(message, frame) {
    var url = BODY_URL.replace("999999999", String(message.id));
    fetch(url, { method: "HEAD", credentials: "same-origin" }).then(function (response) {
      var blocked = parseInt(response.headers.get("X-Remote-Images-Blocked") || "0", 10);
      if (!blocked || state.open !== message) { return; }
      var bar = document.createElement("div");
      bar.className = "v2-remote-notice";
      bar.setAttribute("role", "status");
      var text = document.createElement("span");
      text.textContent = word(blocked === 1 ? "remote_blocked_one" : "remote_blocked", { num: blocked });
      bar.appendChild(text);
      [["remote_show", function () { frame.src = url + "?remote=1"; bar.remove(); }],
       ["remote_always", function () {
         var form = new FormData();
         form.append("allow", "1");
         fetch(root.dataset.remoteImagesUrl.replace("999999999", String(message.id)), { method: "POST", body: form,
           credentials: "same-origin", headers: { "X-CSRFToken": csrf(), "X-Requested-With": "XMLHttpRequest" } })
           .then(function (answer) {
             if (!answer.ok) { throw new Error(answer.statusText); }
             frame.src = url + "?shown=" + Date.now();
             bar.remove();
           }).catch(failed);
       }]].forEach(function (spec) {
        var button = document.createElement("button");
        button.type = "button";
        button.dataset.action = spec[0];
        button.textContent = word(spec[0]);
        button.addEventListener("click", spec[1]);
        bar.appendChild(button);
      });
      frame.parentNode.insertBefore(bar, frame);
    }).catch(function () { /* the mail still shows, without its remote images */ });
  }

  function openMessage(message) {
    state.open = message;
    reader.textContent = "";
    var header = document.createElement("header");
    header.className = "v2-reader-head";
    var title = document.createElement("h2");
    title.id = "v2-reader-subject";
    title.textContent = message.subject || "—";
    header.appendChild(title);
    var facts = document.createElement("dl");
    [["from", message.from], ["to", message.to], ["cc", message.cc], ["date", message.date_full]].filter(function (pair) {
      return pair[0] !== "cc" || pair[1];  // Cc only when the mail has one
    }).forEach(function (pair) {
      var dt = document.createElement("dt"); dt.textContent = word(pair[0]);
      var dd = document.createElement("dd"); dd.textContent = pair[1] || "—";
      facts.appendChild(dt); facts.appendChild(dd);
    });
    header.appendChild(facts);
    var bar = document.createElement("div");
    bar.className = "v2-reader-actions";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", word("reading_pane"));
    [["reply", "r", function () { startCompose("reply"); }], ["reply_all", "a", function () { startCompose("reply_all"); }],
     ["forward", "f", function () { startCompose("forward"); }], ["archive", "e", function () { archive(); }],
     ["move", "m", function () { openMovePicker(); }], ["delete", "Delete", function () { remove(); }]].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.action = spec[0];
      button.textContent = word(spec[0]);
      button.setAttribute("aria-keyshortcuts", spec[1]);
      if (spec[0] === "move") { button.setAttribute("aria-haspopup", "dialog"); }
      button.addEventListener("click", spec[2]);
      bar.appendChild(button);
    });
    Object.keys(MESSAGE_PAGES).forEach(function (name) {
      var link = document.createElement("a");
      link.className = "v2-message-page";
      link.dataset.page = name;
      link.href = MESSAGE_PAGES[name].replace("999999999", String(message.id));
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = word(name);
      bar.appendChild(link);
    });
    header.appendChild(bar);
    reader.appendChild(header);
    if (message.has_attachment) { showAttachments(message, header); }
    var frame = document.createElement("iframe");
    frame.className = "v2-body";
    frame.title = message.subject || word("body");
    frame.setAttribute("sandbox", "allow-popups allow-popups-to-escape-sandbox");
    frame.src = BODY_URL.replace("999999999", String(message.id));
    reader.appendChild(frame);
    // asked once the body is there (then the server has it rendered), not beside the requests of opening it
    frame.addEventListener("load", function () { offerRemoteImages(message, frame); }, { once: true });
    reader.setAttribute("aria-labelledby", "v2-reader-subject");
    if (PHONE.matches) {  // the panes are stacked (client.css): the mail comes into view, and the focus with it
      reader.scrollIntoView({ block: "start" });
      title.tabIndex = -1;
      title.focus({ preventScroll: true });
    }
    var opened = conversationOf(message.id);
    emit("v2:conversation-opened", { mailboxId: +root.dataset.mailboxId, folder: state.folder, messageId: message.id,
      key: opened ? opened.key : null, messageIds: opened ? opened.conversation.message_ids : (message.message_ids || []),
      team: opened ? opened.conversation.team || null : message.team || null, keywords: message.keywords || [] });
    if (!message.seen) {
      call("POST", "/actions", { action: "read", ids: [message.id] }).then(function () {
        message.seen = true;
        markSeenInList(message.id);
      }).catch(function () {});
    }
  }
  function markSeenInList(id) {
    state.rows.forEach(function (row) { if (row.message.id === id) { row.message.seen = true; } });
    render();
  }

  // -- actions --------------------------------------------------------------------------------
  function afterChange() { return Promise.all([loadFolders(), loadList()]); }

  // Delete, archive and move answer with a token that undoes them.
  function undoable(request, text) {
    if (!request.ids.length) { return; }
    clearOpenIf(request.ids);
    call("POST", "/actions", request).then(function (data) {
      afterChange();
      toast(text(data), function () {
        call("POST", "/undo", { token: data.undo }).then(function (result) {
          toast(word(result.restored ? "undone" : "undo_failed"), null);
          afterChange();
        }).catch(failed);
      });
    }).catch(failed);
  }
  function inTrash() {
    var current = folderNamed(state.folder);
    return Boolean(current && current.role === "trash");
  }
  function remove() {
    var ids = chosenIds();
    if (!ids.length) { return; }
    if (!inTrash()) {
      undoable({ action: "delete", ids: ids }, function () { return word("deleted"); });
      return;
    }
    // in Trash a delete is for good: asked first, and no undo (as in v1 and Thunderbird)
    if (!window.confirm(word("delete_for_good_confirm", { count: ids.length }))) { return; }
    clearOpenIf(ids);
    call("POST", "/actions", { action: "delete_for_good", ids: ids }).then(function (data) {
      afterChange();
      toast(word("deleted_for_good", { count: data.done }), null);
    }).catch(failed);
  }
  function archive() {
    undoable({ action: "archive", ids: chosenIds() },
             function (data) { return word("moved", { folder: folderLabel(data.target) }); });
  }
  function moveTo(ids, target, label) {
    if (target === state.folder) { return; }
    undoable({ action: "move", ids: ids, target: target }, function () { return word("moved", { folder: label }); });
  }

  // -- the folder picker (key m, "Move…"): any folder without the mouse, then moveTo as a drop ---
  var picker = $("v2-move-dialog"), pickerList = $("v2-move-list");
  var picking = { ids: [], folders: [], index: 0, opener: null };
  function openMovePicker() {
    var ids = chosenIds();
    if (!ids.length) { toast(word("choose_first"), null); return; }
    var folders = state.folders.filter(function (f) { return f.name !== state.folder; });
    if (!folders.length) { toast(word("no_other_folder"), null); return; }
    // focus goes back where it came from (the "Move…" button or the list) when the dialog closes
    picking = { ids: ids, folders: folders, index: 0, opener: document.activeElement };
    pickerList.textContent = "";
    picking.folders.forEach(function (folder, index) {
      var option = document.createElement("li");
      option.id = "v2-move-option-" + index;
      option.setAttribute("role", "option");
      option.dataset.folder = folder.name;
      option.textContent = folder.label;
      if (folder.label !== folder.name) { option.title = folder.name; }
      option.addEventListener("click", function () { choosePicked(index); });
      pickerList.appendChild(option);
    });
    pickFolder(0);
    picker.showModal();
    pickerList.focus();
  }
  function pickFolder(index) {
    if (!picking.folders.length) { return; }
    picking.index = Math.max(0, Math.min(picking.folders.length - 1, index));
    Array.prototype.forEach.call(pickerList.children, function (option, at) {
      option.setAttribute("aria-selected", at === picking.index ? "true" : "false");
    });
    var current = $("v2-move-option-" + picking.index);
    pickerList.setAttribute("aria-activedescendant", current.id);
    if (current.scrollIntoView) { current.scrollIntoView({ block: "nearest" }); }
  }
  function choosePicked(index) {
    var folder = picking.folders[index];
    picker.close();
    if (folder) { moveTo(picking.ids, folder.name, folder.label); }
  }
  pickerList.addEventListener("keydown", function (event) {
    var step = { ArrowDown: 1, ArrowUp: -1, PageDown: 5, PageUp: -5 }[event.key];
    if (step) { pickFolder(picking.index + step); }
    else if (event.key === "Home") { pickFolder(0); }
    else if (event.key === "End") { pickFolder(picking.folders.length - 1); }
    else if (event.key === "Enter" || event.key === " ") { choosePicked(picking.index); }
    else if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
      // type-ahead: the next folder whose name starts with the letter
      var letter = event.key.toLocaleLowerCase(), count = picking.folders.length;
      for (var n = 1; n <= count; n++) {
        var at = (picking.index + n) % count;
        if (picking.folders[at].label.toLocaleLowerCase().indexOf(letter) === 0) { pickFolder(at); break; }
      }
    } else { return; }
    event.preventDefault();
    // the page's own keys (Enter opens, Space selects) must not act on the list behind the dialog
    event.stopPropagation();
  });
  $("v2-move-ok").addEventListener("click", function () { choosePicked(picking.index); });
  $("v2-move-cancel").addEventListener("click", function () { picker.close(); });
  picker.addEventListener("close", function () {  // Escape closes it too
    var back = picking.opener && document.contains(picking.opener) && picking.opener !== document.body
      ? picking.opener : itemsEl;
    back.focus();
  });
  function toggleRead() {
    var ids = chosenIds();
    if (!ids.length) { return; }
    var row = state.rows[state.cursor];
    var action = row && !row.message.seen ? "read" : "unread";
    call("POST", "/actions", { action: action, ids: ids }).then(function () {
      toast(word(action === "read" ? "marked_read" : "marked_unread"), null);
      afterChange();
    }).catch(failed);
  }
  function folderNamed(name) {
    return state.folders.filter(function (f) { return f.name === name; })[0];
  }
  function folderLabel(name) {
    var found = folderNamed(name);
    return found ? found.label : name;
  }
  function clearOpenIf(ids) {
    if (state.open && ids.indexOf(state.open.id) >= 0) {
      state.open = null;
      reader.textContent = "";
      var p = document.createElement("p"); p.className = "v2-empty"; p.textContent = word("no_message_open");
      reader.appendChild(p);
    }
    state.selected = {};
  }

  // -- compose --------------------------------------------------------------------------------
  var dialog = $("v2-compose-dialog"), form = $("v2-compose-form");
  var FIELDS = ["to", "cc", "bcc", "subject", "body", "in_reply_to", "references", "compose_id", "send_at",
                "source", "mode", "draft_uid", "draft_mailbox"];
  // Drafts go through v1's own draft endpoint: one place saves them, for both interfaces.
  var draftSaving = null;  // a save under way: sending waits for it (compose_files.js autosaves)
  function saveDraft() {
    if (sending) { return Promise.resolve(null); }
    // One save at a time: two at once would each store a copy before either removed the old one.
    if (draftSaving) { return draftSaving.then(saveDraft); }
    emit("v2:draft-saving", {});  // compose_files.js notes what this save holds
    var values = formValues(), body = new URLSearchParams();
    Object.keys(values).forEach(function (name) {
      if (name === "attachments") { values[name].forEach(function (token) { body.append("attachment", token); }); }
      else { body.append(name, values[name]); }
    });
    body.append("from", root.dataset.mailboxId);
    draftSaving = fetch(root.dataset.draftUrl, { method: "POST", credentials: "same-origin", body: body,
      headers: { "Accept": "application/json", "X-CSRFToken": csrf(), "X-Requested-With": "XMLHttpRequest" } })
      .then(function (response) { return response.json().then(function (data) { return [response.ok, data]; }); })
      .then(function (answer) {
        if (!answer[0]) { throw new Error(answer[1].error || "?"); }
        form.elements.draft_uid.value = answer[1].draft_uid;
        form.elements.draft_mailbox.value = answer[1].draft_mailbox;
        $("v2-draft-status").textContent = answer[1].message;
        emit("v2:draft-saved", {});
        return true;
      }).catch(function (error) {
        $("v2-compose-error").textContent = error.message;
        $("v2-compose-error").hidden = false;
        return false;
      }).then(function (ok) { draftSaving = null; return ok; });
    return draftSaving;
  }
  $("v2-save-draft").addEventListener("click", saveDraft);
  root.addEventListener("v2:save-draft", function (event) { event.detail.saving = saveDraft(); });
  function fill(values) {
    FIELDS.forEach(function (name) { form.elements[name].value = values[name] || ""; });
    $("v2-send-later").open = !!values.send_at;
    $("v2-draft-status").textContent = "";
    if (!form.elements.compose_id.value) { form.elements.compose_id.value = String(Date.now()) + Math.random().toString(16).slice(2); }
    emit("v2:compose-filled", { attachments: values.attachments || [] });  // compose_files.js shows them
  }
  function showCompose(values, titleKey) {
    fill(values);
    $("v2-compose-title").textContent = word(titleKey);
    $("v2-compose-error").hidden = true;
    dialog.showModal();
    (values.to ? form.elements.body : form.elements.to).focus();
    if (values.to) { form.elements.body.setSelectionRange(0, 0); }
  }
  function startCompose(mode, anyway) {
    if (!mode) { showCompose({}, "compose_title"); return; }
    var message = state.open || (state.rows[state.cursor] || {}).message;
    if (!message) { return; }
    var thread = conversationOf(message.id);
    var detail = { mode: mode, messageId: message.id, key: thread ? thread.key : null,
                   messageIds: thread ? thread.conversation.message_ids : (message.message_ids || []) };
    // a team script may ask first (a colleague is answering): it sends v2:start-reply to go on
    if (!anyway && (mode === "reply" || mode === "reply_all") && !emit("v2:before-reply", detail)) { return; }
    call("GET", "/compose?mode=" + mode + "&source=" + message.id).then(function (values) {
      showCompose(values, { forward: "forward_title", forward_attachment: "forward_title", draft: "draft_title" }[mode] || "reply_title");
      emit("v2:compose-opened", detail);
    }).catch(failed);
  }
  root.addEventListener("v2:start-reply", function (event) { startCompose(event.detail.mode, true); });
  root.addEventListener("v2:reload-list", function () { loadList(); });
  dialog.addEventListener("close", function () { emit("v2:compose-closed", { sent: dialog.dataset.sent === "1" }); dialog.dataset.sent = ""; });
  function formValues() {
    var values = {};
    FIELDS.forEach(function (name) { values[name] = form.elements[name].value; });
    if (values.send_at) { values.tz_offset = String(new Date(values.send_at).getTimezoneOffset()); }
    values.attachments = Array.prototype.map.call(form.querySelectorAll('input[name="attachment"]'),
                                                  function (input) { return input.value; });
    return values;
  }
  var sending = false;  // no draft is saved while the mail is on its way (it would outlive it)
  // "Send" sends now (after the undo window); "Schedule" under "Send later" at the chosen time.
  function send(schedule) {
    schedule = schedule === true;
    if (draftSaving) { draftSaving.then(function () { send(schedule); }); return; }
    if (sending) { return; }
    sending = true;
    var values = formValues();
    var asked = Object.assign({}, values, { schedule: schedule });
    if (!schedule) { asked.send_at = ""; asked.tz_offset = ""; }
    call("POST", "/send", asked).then(function (data) {
      sending = false;
      dialog.dataset.sent = "1";
      dialog.close();
      itemsEl.focus();
      var text = data.scheduled ? word("scheduled_at", { time: data.scheduled_text }) : word("sent");
      if (data.undo_seconds > 0.5) {
        toast(text, function () {
          call("POST", "/sent/" + data.item_id + "/undo", {}).then(function (result) {
            toast(word("send_undone"), null);
            values.compose_id = "";
            values.attachments = result.attachments || [];
            showCompose(values, "compose_title");
          }).catch(failed);
        }, data.scheduled ? word("cancel_sending") : null);
      } else {
        toast(text, null);
      }
    }).catch(function (error) {
      sending = false;
      $("v2-compose-error").textContent = error.message;
      $("v2-compose-error").hidden = false;
      if (schedule) { $("v2-send-later").open = true; }
    });
  }
  $("v2-schedule").addEventListener("click", function () { send(true); });
  form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); send(); }
    else if (event.key === "Enter" && event.target === form.elements.send_at) { event.preventDefault(); send(true); }
    if ((event.key === "s" || event.key === "S") && (event.ctrlKey || event.metaKey)) { event.preventDefault(); saveDraft(); }
  });
  $("v2-compose-cancel").addEventListener("click", function () { dialog.close(); itemsEl.focus(); });
  $("v2-compose").addEventListener("click", function () { startCompose(null); });

  // -- help -----------------------------------------------------------------------------------
  var help = $("v2-help-dialog");
  $("v2-help").addEventListener("click", function () { help.showModal(); });
  $("v2-help-close").addEventListener("click", function () { help.close(); itemsEl.focus(); });

  // -- keyboard -------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (dialog.open || help.open || document.querySelector("dialog[open]")) { return; }
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
    if (typing) {
      if (event.key === "Escape" || (event.key === "Enter" && target === searchEl)) { itemsEl.focus(); event.preventDefault(); }
      if (event.key === "ArrowDown" && target === searchEl) { itemsEl.focus(); moveCursor(1, false); event.preventDefault(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && target.classList && target.classList.contains("v2-splitter")) { return; }
    // Enter and Space on a button (or link) press it, as everywhere else
    if ((event.key === "Enter" || event.key === " ") && target && /^(BUTTON|A|SELECT|SUMMARY)$/.test(target.tagName)) { return; }
    var handled = true;
    switch (event.key) {
      case "j": case "ArrowDown": moveCursor(1, event.shiftKey); break;
      case "J": moveCursor(1, true); break;
      case "k": case "ArrowUp": moveCursor(-1, event.shiftKey); break;
      case "K": moveCursor(-1, true); break;
      case "Enter": case "o":
        if (state.rows[state.cursor]) { openMessage(state.rows[state.cursor].message); } break;
      case " ":
        if (state.rows[state.cursor]) {
          var row = state.rows[state.cursor];
          var on = !row.ids.every(function (id) { return state.selected[id]; });
          row.ids.forEach(function (id) { if (on) { state.selected[id] = true; } else { delete state.selected[id]; } });
          state.anchor = state.cursor;
          render();
        } break;
      case "ArrowRight": case "ArrowLeft":
        var current = state.rows[state.cursor];
        if (current && current.kind === "conversation" && (!!state.expanded[current.key]) !== (event.key === "ArrowRight")) {
          toggleThread(current.key);
        } else { handled = false; }
        break;
      case "r": startCompose("reply"); break;
      case "a": startCompose("reply_all"); break;
      case "f": startCompose("forward"); break;
      case "c": startCompose(null); break;
      case "Delete": case "#": remove(); break;
      case "e": archive(); break;
      case "m": openMovePicker(); break;
      case "u": toggleRead(); break;
      case "z": undoLast(); break;
      case "/": searchEl.focus(); break;
      case "?": help.showModal(); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  // -- search as you type --------------------------------------------------------------------
  var searchTimer = null;
  searchEl.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () { state.query = searchEl.value.trim(); state.cursor = -1; loadList(); }, 200);
  });

  // -- conversations toggle and pane widths (remembered per user) -------------------------
  function saveLayout() { call("POST", "/layout", state.layout).catch(function () {}); }
  convEl.addEventListener("change", function () {
    state.layout.conversations = convEl.checked;
    state.expanded = {};
    saveLayout();
    loadList();
  });
  function applyWidths() {
    $("v2-folders").style.width = state.layout.folders_width + "px";
    $("v2-list").style.width = state.layout.list_width + "px";
    document.querySelectorAll(".v2-splitter").forEach(function (splitter) {
      splitter.setAttribute("aria-valuenow", String(state.layout[splitter.dataset.pane]));
    });
  }
  var saveTimer = null;
  function setWidth(pane, width) {
    state.layout[pane] = Math.max(120, Math.min(1200, Math.round(width)));
    applyWidths();
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveLayout, 400);
  }
  document.querySelectorAll(".v2-splitter").forEach(function (splitter) {
    var pane = splitter.dataset.pane;
    splitter.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();
        setWidth(pane, state.layout[pane] + (event.key === "ArrowRight" ? 20 : -20));
      }
    });
    splitter.addEventListener("pointerdown", function (event) {
      var startX = event.clientX, startWidth = state.layout[pane];
      splitter.setPointerCapture(event.pointerId);
      function move(e) { setWidth(pane, startWidth + e.clientX - startX); }
      function up() { splitter.removeEventListener("pointermove", move); splitter.removeEventListener("pointerup", up); }
      splitter.addEventListener("pointermove", move);
      splitter.addEventListener("pointerup", up);
    });
  });

  // -- live updates ---------------------------------------------------------------------------
  function listen() {
    var source = new EventSource(API + "/events");
    source.addEventListener("open", function () { $("v2-live").textContent = word("live"); root.dataset.live = "on"; });
    source.addEventListener("error", function () { $("v2-live").textContent = word("offline"); root.dataset.live = "off"; });
    source.addEventListener("folders", function (event) {
      var data = JSON.parse(event.data);
      emit("v2:live", data);
      var before = {};
      state.folders.forEach(function (f) { before[f.name] = f.messages + ":" + f.unseen; });
      var moved = data.changes.length > 0 || data.folders.some(function (f) {
        return before[f.name] !== undefined && before[f.name] !== f.messages + ":" + f.unseen;
      });
      var grew = data.folders.some(function (f) { return f.name === state.folder && before[f.name] && f.messages > +before[f.name].split(":")[0]; });
      showFolders(data.folders);
      if (moved) { loadList(); }
      if (grew || data.changes.indexOf("new") >= 0) { $("v2-live").textContent = word("new_mail"); }
    });
    source.addEventListener("navigation", function (event) { showNavigationBadges(JSON.parse(event.data).badges); });
  }

  // The first list and the live stream wait for DOMContentLoaded: the team scripts, compose_files.js
  // and reply_templates.js are deferred after this one and have attached their listeners by then
  // (on a slow connection they may still be loading when this runs), so none misses the first
  // v2:list-rendered or v2:live, and data-ready="1" means that every script of the page runs.
  applyWidths();
  document.addEventListener("DOMContentLoaded", function () {
    loadFolders().then(loadList).then(function () { itemsEl.focus(); root.dataset.ready = "1"; });
    listen();
  });
}());
