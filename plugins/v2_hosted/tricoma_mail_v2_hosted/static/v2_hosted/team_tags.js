/* Tags in the v2 client (issue 15, point 6): IMAP keywords with a name and a colour, shown as
   chips in the list and the reading pane, a filter in the toolbar, a menu and the keys 1 to 9
   (as in Thunderbird) to set or remove a tag on the chosen messages.

   Listens to client.js's DOM events (v2:list-rendered, v2:conversation-opened) and asks it to
   reload the list with v2:reload-list; the filter is the "tag" parameter of the list's
   data-list-filter (other team scripts may put their own parameters there). The tags, the
   user's rights and every word come from core's tag API (web/tag_api.py). */
(function () {
  "use strict";
  var root = document.getElementById("v2-client");
  var script = document.currentScript;
  if (!root || !script) { return; }
  var API = script.dataset.tagsApi;
  var itemsEl = document.getElementById("v2-items");
  var reader = document.getElementById("v2-reader");
  var toolbar = root.querySelector(".v2-toolbar");
  var info = { tags: [], can_tag: false, words: {} };
  var byKeyword = {};
  var rows = [];        // the rows of the last v2:list-rendered, by index
  var opened = null;    // the message open in the reading pane: {messageId, keywords}
  var filterEl = null, setEl = null, statusEl = null;

  function word(key, values) {
    var text = info.words[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.replace("%(" + name + ")s", values[name]); });
    return text;
  }
  function call(method, path, body) { return window.tricomaMailJSON.request(method, API + path, body); }
  function say(text) { if (statusEl) { statusEl.textContent = text; } }
  function failed(error) { say(word("error", { message: error.message })); }

  // A keyword another client set that this mailbox has not named: shown by itself, in grey.
  var NOT_TAGS = ["$forwarded", "forwarded", "$junk", "junk", "$notjunk", "notjunk", "nonjunk", "$mdnsent",
                  "$phishing", "$submitpending", "$submitted", "$hasattachment", "$hasnoattachment", "$istrusted",
                  "$label0", "$answered", "$unknown", "$seen", "$autojunk", "$autonotjunk", "$muted", "$notify"];
  function tagOf(keyword) {
    var lower = String(keyword).toLowerCase();
    if (byKeyword[lower]) { return byKeyword[lower]; }
    if (lower.charAt(0) === "\\" || NOT_TAGS.indexOf(lower) >= 0 || lower.indexOf("$mailflagbit") === 0) { return null; }
    return { keyword: lower, name: keyword, css_class: "tag-808080", unknown: true };
  }
  function tagsOf(keywords) {
    var seen = {}, found = [];
    (keywords || []).forEach(function (keyword) {
      var tag = tagOf(keyword);
      if (tag && !seen[tag.keyword]) { seen[tag.keyword] = true; found.push(tag); }
    });
    var order = info.tags.map(function (t) { return t.keyword; });
    return found.sort(function (a, b) {
      var x = order.indexOf(a.keyword), y = order.indexOf(b.keyword);
      return (x < 0 ? 999 : x) - (y < 0 ? 999 : y) || a.name.localeCompare(b.name);
    });
  }
  function chip(tag) {
    var el = document.createElement("span");
    el.className = "v2-tag " + tag.css_class;
    el.dataset.keyword = tag.keyword;
    el.textContent = tag.name;
    return el;
  }
  function hasTag(keywords, keyword) {
    return (keywords || []).some(function (k) { return String(k).toLowerCase() === keyword; });
  }

  // -- the toolbar: filter, tag menu, status ------------------------------------------------------
  function option(value, text, selected) {
    var el = document.createElement("option");
    el.value = value; el.textContent = text; el.selected = !!selected;
    return el;
  }
  function currentFilter() { return new URLSearchParams(root.dataset.listFilter || "").get("tag") || ""; }
  function buildToolbar() {
    var box = document.getElementById("v2-tag-tools");
    if (!box) {
      box = document.createElement("span");
      box.id = "v2-tag-tools";
      box.className = "v2-tag-tools";
      var live = document.getElementById("v2-live");
      toolbar.insertBefore(box, live);
    }
    box.textContent = "";
    var label = document.createElement("label");
    label.htmlFor = "v2-tag-filter";
    label.textContent = word("tags") + ":";
    box.appendChild(label);
    filterEl = document.createElement("select");
    filterEl.id = "v2-tag-filter";
    filterEl.title = word("filter");
    filterEl.appendChild(option("", word("all_tags"), !currentFilter()));
    info.tags.forEach(function (tag) { filterEl.appendChild(option(tag.keyword, tag.name, tag.keyword === currentFilter())); });
    filterEl.addEventListener("change", function () { setFilter(filterEl.value); });
    box.appendChild(filterEl);
    if (info.can_tag) {
      setEl = document.createElement("select");
      setEl.id = "v2-tag-set";
      setEl.setAttribute("aria-label", word("set_tag"));
      setEl.title = word("shortcut");
      setEl.appendChild(option("", word("tag") + "…", true));
      info.tags.forEach(function (tag, index) {
        setEl.appendChild(option(tag.keyword, (index < 9 ? (index + 1) + "  " : "") + tag.name, false));
      });
      setEl.addEventListener("change", function () {
        var keyword = setEl.value;
        setEl.value = "";
        if (keyword) { toggle(keyword); }
      });
      box.appendChild(setEl);
    }
    if (info.can_define) {
      var link = document.createElement("a");
      link.href = info.settings_url;
      link.textContent = word("manage");
      box.appendChild(link);
    }
    statusEl = document.createElement("span");
    statusEl.id = "v2-tag-status";
    statusEl.className = "v2-status";
    statusEl.setAttribute("role", "status");
    statusEl.setAttribute("aria-live", "polite");
    box.appendChild(statusEl);
  }
  function setFilter(keyword) {
    var params = new URLSearchParams(root.dataset.listFilter || "");
    if (keyword) { params.set("tag", keyword); } else { params.delete("tag"); }
    var text = params.toString();
    if (text) { root.dataset.listFilter = text; } else { delete root.dataset.listFilter; }
    root.dataset.tagFilter = keyword;
    root.dispatchEvent(new CustomEvent("v2:reload-list", { detail: { by: "tags" } }));
  }
  // Another script may set data-list-filter anew (a team view): keep the tag in it.
  new MutationObserver(function () {
    var wanted = root.dataset.tagFilter || "";
    var params = new URLSearchParams(root.dataset.listFilter || "");
    if ((params.get("tag") || "") === wanted) { return; }
    if (wanted) { params.set("tag", wanted); } else { params.delete("tag"); }
    var text = params.toString();
    if (text) { root.dataset.listFilter = text; } else { delete root.dataset.listFilter; }
    root.dispatchEvent(new CustomEvent("v2:reload-list", { detail: { by: "tags" } }));
  }).observe(root, { attributes: true, attributeFilter: ["data-list-filter"] });

  // -- chips in the list and the reading pane -----------------------------------------------------
  function decorateList() {
    rows.forEach(function (row) {
      var li = document.getElementById("v2-row-" + row.index);
      if (!li || String(li.dataset.id) !== String(row.messageId)) { return; }
      var old = li.querySelector(".v2-tags");
      if (old) { old.remove(); }
      var shown = tagsOf(row.keywords);
      li.dataset.tags = shown.map(function (t) { return t.keyword; }).join(" ");
      if (!shown.length) { return; }
      var box = document.createElement("span");
      box.className = "v2-tags";
      shown.forEach(function (tag) { box.appendChild(chip(tag)); });
      var subject = li.querySelector(".v2-subject");
      if (subject) { subject.insertBefore(box, subject.firstChild); } else { li.appendChild(box); }
      var label = li.getAttribute("aria-label");
      if (label) { li.setAttribute("aria-label", label + ", " + word("tags") + ": " + shown.map(function (t) { return t.name; }).join(", ")); }
    });
  }
  function decorateReader() {
    var head = reader.querySelector(".v2-reader-head");
    if (!head || !opened) { return; }
    var box = head.querySelector(".v2-reader-tags");
    if (!box) {
      box = document.createElement("div");
      box.className = "v2-reader-tags";
      box.setAttribute("aria-label", word("tags"));
      var actions = head.querySelector(".v2-reader-actions");
      head.insertBefore(box, actions || null);
    }
    box.textContent = "";
    tagsOf(opened.keywords).forEach(function (tag) {
      var el = chip(tag);
      if (info.can_tag) {
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "×";
        remove.setAttribute("aria-label", word("remove_tag", { name: tag.name }));
        remove.addEventListener("click", function () { apply([opened.messageId], [], [tag.keyword], tag); });
        el.appendChild(remove);
      }
      box.appendChild(el);
    });
  }

  // -- setting and removing ---------------------------------------------------------------------
  function chosen() {
    var found = [], ids = [];
    itemsEl.querySelectorAll('li.v2-row[aria-selected="true"]').forEach(function (li) {
      var row = rows[+li.dataset.index];
      if (row) { found.push(row); }
    });
    if (!found.length) {
      var cursor = itemsEl.querySelector("li.v2-row.cursor");
      if (cursor && rows[+cursor.dataset.index]) { found.push(rows[+cursor.dataset.index]); }
    }
    found.forEach(function (row) { row.ids.forEach(function (id) { if (ids.indexOf(id) < 0) { ids.push(id); } }); });
    if (!found.length && opened) { return { ids: [opened.messageId], keywords: [opened.keywords] }; }
    return { ids: ids, keywords: found.map(function (row) { return row.keywords; }) };
  }
  function toggle(keyword) {
    var tag = tagOf(keyword);
    var picked = chosen();
    if (!picked.ids.length) { say(word("choose_message")); return; }
    var everywhere = picked.keywords.length > 0 && picked.keywords.every(function (k) { return hasTag(k, keyword); });
    if (everywhere) { apply(picked.ids, [], [keyword], tag); } else { apply(picked.ids, [keyword], [], tag); }
  }
  function removeAll() {  // key 0, as in Thunderbird: every tag off the chosen messages
    var picked = chosen(), keywords = [];
    if (!picked.ids.length) { say(word("choose_message")); return; }
    picked.keywords.forEach(function (list) {
      tagsOf(list).forEach(function (tag) { if (keywords.indexOf(tag.keyword) < 0) { keywords.push(tag.keyword); } });
    });
    if (keywords.length) { apply(picked.ids, [], keywords, null); }
  }
  function apply(ids, add, remove, tag) {
    return call("POST", "/apply", { ids: ids, add: add, remove: remove }).then(function () {
      say(word(add.length ? "tagged" : "untagged",
               { name: tag ? tag.name : tagsOf(add.concat(remove)).map(function (t) { return t.name; }).join(", ") }));
      if (opened && ids.indexOf(opened.messageId) >= 0) {
        var kept = (opened.keywords || []).filter(function (k) { return remove.indexOf(String(k).toLowerCase()) < 0; });
        add.forEach(function (k) { if (!hasTag(kept, k)) { kept.push(k); } });
        opened.keywords = kept;
        decorateReader();
      }
      root.dispatchEvent(new CustomEvent("v2:reload-list", { detail: { by: "tags" } }));
    }).catch(failed);
  }

  // the keys in the shortcut help
  function helpRows() {
    var table = document.querySelector("#v2-help-dialog table");
    if (!table || !info.can_tag || table.querySelector("[data-tags]")) { return; }
    [["1 … 9", word("shortcut")], ["0", word("remove_all")]].forEach(function (pair) {
      var tr = document.createElement("tr"), th = document.createElement("th"), td = document.createElement("td");
      var kbd = document.createElement("kbd");
      tr.dataset.tags = "1";
      th.scope = "row";
      kbd.textContent = pair[0];
      th.appendChild(kbd);
      td.textContent = pair[1];
      tr.appendChild(th); tr.appendChild(td);
      (table.tBodies[0] || table).appendChild(tr);
    });
  }

  // -- wiring ------------------------------------------------------------------------------------
  root.addEventListener("v2:list-rendered", function (event) {
    rows = [];
    (event.detail.rows || []).forEach(function (row) { rows[row.index] = row; });
    decorateList();
  });
  root.addEventListener("v2:conversation-opened", function (event) {
    opened = { messageId: event.detail.messageId, keywords: (event.detail.keywords || []).slice() };
    var row = rows.filter(function (r) { return r.messageId === opened.messageId && r.kind !== "conversation"; })[0];
    if (row) { opened.keywords = row.keywords.slice(); }
    decorateReader();
  });
  document.addEventListener("keydown", function (event) {
    if (!info.can_tag || event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) { return; }
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT"
                   || target.isContentEditable)) { return; }
    if (event.key === "0") { event.preventDefault(); removeAll(); return; }
    if (!/^[1-9]$/.test(event.key)) { return; }
    var tag = info.tags[+event.key - 1];
    if (!tag) { return; }
    event.preventDefault();
    toggle(tag.keyword);
  });

  // The mailbox's tags; again when team mail changed (a tag was made, renamed, recoloured or deleted).
  function loadTags() {
    return call("GET", "").then(function (data) {
      info = data;
      byKeyword = {};
      info.tags.forEach(function (tag) { byKeyword[tag.keyword] = tag; });
      var said = statusEl ? statusEl.textContent : "";
      buildToolbar();
      say(said);
      helpRows();
      decorateList();
      decorateReader();
      root.dataset.tagsReady = "1";
    });
  }
  root.addEventListener("v2:live", function (event) {
    if ((event.detail.changes || []).indexOf("team") >= 0) { loadTags().catch(function () {}); }
  });
  loadTags().catch(function () { root.dataset.tagsReady = "error"; });
}());
