/* Team mail on the v2 page: a conversation's assignee and status (in the list and the reading
   pane, by keyboard), the views "mine", "unassigned" and per status, snooze and follow-up
   reminders, and "who is answering" while a reply is open. Listens to the events client.js
   sends (v2:list-rendered, v2:conversation-opened, v2:before-reply, v2:compose-opened,
   v2:compose-closed, v2:live); the server keeps the state by Message-ID (core's team API). */
(function () {
  "use strict";
  var root = document.getElementById("v2-client");
  var script = document.currentScript;
  if (!root || !script) { return; }
  var API = script.dataset.teamApi;  // ends with "/"
  var WORDS = JSON.parse(document.getElementById("v2-team-words").textContent);
  var VIEWS = ["", "mine", "unassigned", "open", "waiting", "done", "snoozed"];
  var BEAT_MS = 15000;
  var team = {
    view: "", rows: [], open: null, openState: null, people: null, me: null,
    compose: null  // {threadId, messageIds, openedAt, beat}
  };

  function word(key, values) {
    var text = WORDS[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.split("%(" + name + ")s").join(values[name]); });
    return text;
  }
  var el = window.tricomaMailJSON.el;
  function call(method, path, body) { return window.tricomaMailJSON.request(method, API + path, body); }
  function say(text) {
    var toast = document.getElementById("v2-toast");
    document.getElementById("v2-toast-text").textContent = text;
    document.getElementById("v2-toast-undo").hidden = true;
    toast.hidden = false;
    clearTimeout(say.timer);
    say.timer = setTimeout(function () { toast.hidden = true; }, 5000);
  }
  function failed(error) { say(error.message); }
  function time(iso) {
    var lang = document.documentElement.lang || undefined;
    return new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  }
  function moment(iso) {
    var lang = document.documentElement.lang || undefined;
    return new Date(iso).toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
  }
  function localInput(date) {  // for <input type=datetime-local>
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return date.getFullYear() + "-" + two(date.getMonth() + 1) + "-" + two(date.getDate()) + "T" +
      two(date.getHours()) + ":" + two(date.getMinutes());
  }
  function subjectOf(row) {
    var li = row ? document.getElementById("v2-row-" + row.index) : null;
    var subject = li ? li.querySelector(".v2-subject") : null;
    return subject ? subject.textContent : "";
  }

  // -- views -------------------------------------------------------------------------------
  var bar = el("div", "v2-team-views");
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", word("views"));
  VIEWS.forEach(function (view) {
    var button = el("button", "v2-team-view", word("view_" + (view || "all")));
    button.type = "button";
    button.dataset.view = view;
    button.setAttribute("aria-pressed", view === team.view ? "true" : "false");
    button.addEventListener("click", function () { chooseView(view); });
    bar.appendChild(button);
  });
  var list = document.getElementById("v2-list");
  list.insertBefore(bar, list.firstChild);

  function chooseView(view) {
    team.view = view;
    if (view) { root.dataset.listFilter = "team=" + view; } else { delete root.dataset.listFilter; }
    root.dataset.teamView = view || "all";
    bar.querySelectorAll("button").forEach(function (button) {
      button.setAttribute("aria-pressed", button.dataset.view === view ? "true" : "false");
    });
    root.dispatchEvent(new CustomEvent("v2:reload-list"));
  }

  // -- the list: chips on each row ------------------------------------------------------------
  root.addEventListener("v2:list-rendered", function (event) {
    team.rows = event.detail.rows;
    team.rows.forEach(function (row) {
      var li = document.getElementById("v2-row-" + row.index);
      if (!li || !row.team || row.kind === "member") { return; }
      var state = row.team;
      li.dataset.teamStatus = state.status;
      if (state.assignee) { li.dataset.teamAssignee = state.assignee.id; }
      var chips = el("span", "v2-team-chips");
      if (state.returned_at && !state.snoozed_until) { chips.appendChild(el("span", "v2-chip back", word("back_on_top"))); }
      if (state.status !== "open") { chips.appendChild(el("span", "v2-chip status-" + state.status, word("status_" + state.status))); }
      if (state.assignee) { chips.appendChild(el("span", "v2-chip assignee" + (state.mine ? " mine" : ""), "→ " + state.assignee.label)); }
      if (state.snoozed_until) { chips.appendChild(el("span", "v2-chip snoozed", "⏰ " + moment(state.snoozed_until))); }
      if (chips.childNodes.length) {
        var label = li.getAttribute("aria-label") || "";
        li.setAttribute("aria-label", label + ", " + Array.prototype.map.call(chips.childNodes, function (c) { return c.textContent; }).join(", "));
      }
      chips.appendChild(rowActions(row, state));
      li.appendChild(chips);
    });
  });

  // Assign and close from the list without opening the conversation (the mouse's way; the
  // keyboard has y, i, d, w).
  function rowActions(row, state) {
    var box = el("span", "v2-row-team-actions");
    var chosen = function () { return { messageIds: row.messageIds, subject: subjectOf(row) }; };
    var assignButton = el("button", "v2-row-assign", "→");
    assignButton.type = "button";
    assignButton.tabIndex = -1;
    assignButton.title = word("assign_title");
    assignButton.setAttribute("aria-label", word("assign_title"));
    assignButton.addEventListener("click", function (event) { event.stopPropagation(); assignDialog(chosen()); });
    var doneButton = el("button", "v2-row-done", state.status === "done" ? "↺" : "✓");
    doneButton.type = "button";
    doneButton.tabIndex = -1;
    doneButton.title = state.status === "done" ? word("status_open") : word("status_done");
    doneButton.setAttribute("aria-label", word("status") + ": " + doneButton.title);
    doneButton.addEventListener("click", function (event) {
      event.stopPropagation();
      setStatus(state.status === "done" ? "open" : "done", chosen());
    });
    box.appendChild(assignButton);
    box.appendChild(doneButton);
    return box;
  }

  function cursorRow() {
    var li = document.querySelector("#v2-items .v2-row.cursor");
    var index = li ? +li.dataset.index : -1;
    var row = team.rows.filter(function (r) { return r.index === index; })[0];
    if (row && row.kind === "member") {
      row = team.rows.filter(function (r) { return r.key === row.key && r.kind === "conversation"; })[0] || row;
    }
    return row || null;
  }
  // What a team action applies to: the row under the cursor, else the open conversation.
  function target() {
    var row = cursorRow();
    if (row && row.messageIds.length) { return { messageIds: row.messageIds, subject: subjectOf(row) }; }
    if (team.open) { return { messageIds: team.open.messageIds, subject: team.open.subject }; }
    return null;
  }
  function change(path, body, message) {
    var chosen = body.target || target();
    if (!chosen) { return Promise.resolve(); }
    delete body.target;
    body.message_ids = chosen.messageIds;
    body.subject = chosen.subject || "";
    return call("POST", path, body).then(function (state) {
      say(message(state));
      root.dispatchEvent(new CustomEvent("v2:reload-list"));
      if (team.open && sameIds(team.open.messageIds, chosen.messageIds)) { showOpen(state); }
      return state;
    }).catch(failed);
  }
  function sameIds(a, b) { return a.some(function (id) { return b.indexOf(id) >= 0; }); }
  function setStatus(status, chosen) {
    return change("status", { status: status, target: chosen }, function () { return word("status_set", { status: word("status_" + status) }); });
  }
  function assign(assignee, chosen) {
    return change("assign", { assignee: assignee, target: chosen }, function (state) {
      return state.assignee ? word("assigned_to", { person: state.assignee.label }) : word("unassigned");
    });
  }

  // -- dialogs --------------------------------------------------------------------------------
  function dialog(titleKey, build, onSave) {
    var box = el("dialog", "v2-dialog v2-team-dialog");
    var form = el("form");
    form.method = "dialog";
    var title = el("h2", null, word(titleKey));
    title.id = "v2-team-dialog-title";
    box.setAttribute("aria-labelledby", title.id);
    form.appendChild(title);
    build(form);
    var buttons = el("div", "v2-buttons");
    var save = el("button", null, word(onSave.label || "save"));
    save.type = "submit";
    save.className = "primary";
    var cancel = el("button", null, word("cancel"));
    cancel.type = "button";
    cancel.addEventListener("click", function () { box.close(); });
    buttons.appendChild(save);
    buttons.appendChild(cancel);
    form.appendChild(buttons);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      box.close();
      onSave(form);
    });
    box.appendChild(form);
    box.addEventListener("close", function () {
      box.remove();
      var items = document.getElementById("v2-items");
      if (items) { items.focus(); }
    });
    root.appendChild(box);
    box.showModal();
    var first = form.querySelector("select, input");
    if (first) { first.focus(); }
    return box;
  }
  function people() {
    if (team.people) { return Promise.resolve(team.people); }
    return call("GET", "people").then(function (data) { team.people = data.people; team.me = data.me; return team.people; });
  }
  function assignDialog(chosen) {
    chosen = chosen || target();
    if (!chosen) { return; }
    people().then(function (found) {
      var save = function (form) { assign(form.elements.assignee.value || null, chosen); };
      save.label = "assign";
      dialog("assign_title", function (form) {
        var label = el("label", null, word("assign_to") + " ");
        var select = el("select");
        select.name = "assignee";
        select.id = "v2-team-assignee";
        var none = el("option", null, word("nobody"));
        none.value = "";
        select.appendChild(none);
        found.forEach(function (p) {
          var option = el("option", null, p.label + (p.id === team.me ? " (" + word("me") + ")" : ""));
          option.value = p.id;
          select.appendChild(option);
        });
        var current = team.open && sameIds(team.open.messageIds, chosen.messageIds) && team.openState && team.openState.assignee;
        if (current) { select.value = current.id; }
        label.appendChild(select);
        form.appendChild(label);
      }, save);
    }).catch(failed);
  }
  function snoozeDialog(chosen) {
    chosen = chosen || target();
    if (!chosen) { return; }
    var tomorrow = new Date(); tomorrow.setDate(tomorrow.getDate() + 1); tomorrow.setHours(8, 0, 0, 0);
    var monday = new Date(); monday.setDate(monday.getDate() + ((8 - monday.getDay()) % 7 || 7)); monday.setHours(8, 0, 0, 0);
    var save = function (form) {
      var value = form.elements.until.value;
      change("snooze", { until: value, tz_offset: String(new Date(value).getTimezoneOffset()), target: chosen },
             function (state) { return word("snoozed_until", { when: moment(state.snoozed_until) }); });
    };
    save.label = "snooze";
    dialog("snooze_title", function (form) {
      var presets = el("div", "v2-team-presets");
      [["snooze_tomorrow", tomorrow], ["snooze_next_week", monday]].forEach(function (preset) {
        var button = el("button", null, word(preset[0]) + " (" + moment(preset[1].toISOString()) + ")");
        button.type = "button";
        button.dataset.preset = preset[0];
        button.addEventListener("click", function () { form.elements.until.value = localInput(preset[1]); form.requestSubmit(); });
        presets.appendChild(button);
      });
      form.appendChild(presets);
      var label = el("label", null, word("snooze_until") + " ");
      var input = el("input");
      input.type = "datetime-local";
      input.name = "until";
      input.required = true;
      input.value = localInput(tomorrow);
      label.appendChild(input);
      form.appendChild(label);
    }, save);
  }
  function followUpDialog(chosen) {
    chosen = chosen || target();
    if (!chosen) { return; }
    var save = function (form) {
      change("follow-up", { due_at_days: +form.elements.days.value, target: chosen },
             function (state) {
               var due = state.reminders.length ? state.reminders[state.reminders.length - 1].due_at : null;
               return word("follow_up_set", { when: due ? moment(due) : "" });
             });
    };
    save.label = "follow_up";
    dialog("follow_up_title", function (form) {
      var label = el("label", null, word("follow_up_days") + " ");
      var input = el("input");
      input.type = "number";
      input.name = "days";
      input.min = "1";
      input.max = "365";
      input.value = "3";
      input.required = true;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + word("days")));
      form.appendChild(label);
    }, save);
  }

  // -- the reading pane: the team bar -----------------------------------------------------------
  root.addEventListener("v2:conversation-opened", function (event) {
    var detail = event.detail;
    var subject = document.getElementById("v2-reader-subject");
    team.open = { messageIds: detail.messageIds || [], key: detail.key, subject: subject ? subject.textContent : "" };
    team.openState = null;
    if (!team.open.messageIds.length) { return; }
    if (detail.team) { showOpen(detail.team); }
    refreshOpen();
  });
  function refreshOpen() {
    var asked = team.open;
    if (!asked || !asked.messageIds.length) { return Promise.resolve(); }
    return call("POST", "conversation", { message_ids: asked.messageIds }).then(function (state) {
      if (team.open === asked) { showOpen(state); }
      return state;
    }).catch(function () {});
  }
  function showOpen(state) {
    team.openState = state;
    var reader = document.getElementById("v2-reader");
    var head = reader.querySelector(".v2-reader-head");
    if (!head) { return; }
    var box = document.getElementById("v2-team-bar");
    if (!box) {
      box = el("div", "v2-team-bar");
      box.id = "v2-team-bar";
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", word("team"));
      head.appendChild(box);
    }
    box.textContent = "";
    var answering = el("p", "v2-answering");
    answering.id = "v2-answering";
    answering.setAttribute("role", "status");
    answering.setAttribute("aria-live", "polite");
    if (state.answering.length === 1) {
      answering.textContent = word("answering", { person: state.answering[0].label, time: time(state.answering[0].since) });
    } else if (state.answering.length > 1) {
      answering.textContent = word("answering_many", { people: state.answering.map(function (p) { return p.label; }).join(", ") });
    }
    answering.hidden = !state.answering.length;
    box.appendChild(answering);

    var who = el("label", "v2-team-field", word("assignee") + " ");
    var assignButton = el("button", "v2-team-assign", state.assignee ? state.assignee.label : word("nobody"));
    assignButton.type = "button";
    assignButton.id = "v2-team-assign";
    assignButton.setAttribute("aria-keyshortcuts", "y");
    assignButton.addEventListener("click", function () { assignDialog({ messageIds: team.open.messageIds, subject: team.open.subject }); });
    who.appendChild(assignButton);
    box.appendChild(who);

    var statusLabel = el("label", "v2-team-field", word("status") + " ");
    var select = el("select");
    select.id = "v2-team-status";
    ["open", "waiting", "done"].forEach(function (status) {
      var option = el("option", null, word("status_" + status));
      option.value = status;
      select.appendChild(option);
    });
    select.value = state.status;
    select.addEventListener("change", function () { setStatus(select.value, { messageIds: team.open.messageIds, subject: team.open.subject }); });
    statusLabel.appendChild(select);
    box.appendChild(statusLabel);

    var snooze = el("button", null, state.snoozed_until ? word("wake") : word("snooze"));
    snooze.type = "button";
    snooze.id = "v2-team-snooze";
    snooze.setAttribute("aria-keyshortcuts", "s");
    snooze.addEventListener("click", function () {
      var chosen = { messageIds: team.open.messageIds, subject: team.open.subject };
      if (team.openState && team.openState.snoozed_until) {
        change("snooze", { wake: true, target: chosen }, function () { return word("wake"); });
      } else { snoozeDialog(chosen); }
    });
    box.appendChild(snooze);
    if (state.snoozed_until) { box.appendChild(el("span", "v2-chip snoozed", word("snoozed_until", { when: moment(state.snoozed_until) }))); }

    var remind = el("button", null, word("follow_up"));
    remind.type = "button";
    remind.id = "v2-team-follow-up";
    remind.setAttribute("aria-keyshortcuts", "b");
    remind.addEventListener("click", function () { followUpDialog({ messageIds: team.open.messageIds, subject: team.open.subject }); });
    box.appendChild(remind);
    state.reminders.forEach(function (reminder) {
      var item = el("span", "v2-chip reminder", word("reminder_pending", { when: moment(reminder.due_at) }));
      item.dataset.reminder = String(reminder.id);
      var cancel = el("button", "v2-chip-cancel", "×");
      cancel.type = "button";
      cancel.setAttribute("aria-label", word("cancel_reminder"));
      cancel.addEventListener("click", function () {
        call("POST", "follow-up/" + reminder.id + "/cancel", {}).then(showOpen).catch(failed);
      });
      item.appendChild(cancel);
      box.appendChild(item);
    });
    showColleagueReply(state);
  }

  // -- who is answering ---------------------------------------------------------------------------
  root.addEventListener("v2:before-reply", function (event) {
    var detail = event.detail;
    if (!detail.messageIds || !detail.messageIds.length) { return; }
    event.preventDefault();  // asked first; v2:start-reply goes on
    call("POST", "conversation", { message_ids: detail.messageIds }).then(function (state) {
      if (!state.answering.length) { go(); return; }
      var first = state.answering[0];
      var save = function () { go(); };
      save.label = "reply_anyway";
      var box = dialog("reply_anyway_title", function (form) {
        form.appendChild(el("p", "v2-team-warning", word("reply_anyway_text", { person: first.label, time: time(first.since) })));
      }, save);
      box.id = "v2-reply-anyway";
      box.querySelector("button[type=button]").focus();  // Enter does not start a second reply by mistake
    }).catch(go);
    function go() { root.dispatchEvent(new CustomEvent("v2:start-reply", { detail: { mode: detail.mode } })); }
  });
  root.addEventListener("v2:compose-opened", function (event) {
    var detail = event.detail;
    if (!detail.messageIds || !detail.messageIds.length) { return; }
    var compose = { messageIds: detail.messageIds, threadId: null, openedAt: new Date(), beat: null };
    team.compose = compose;
    var notice = document.getElementById("v2-team-replied");
    if (notice) { notice.hidden = true; }
    call("POST", "presence", { message_ids: detail.messageIds }).then(function (state) {
      compose.threadId = state.thread_id;
      if (team.compose !== compose) { stopPresence(compose, false); return; }
      compose.beat = setInterval(function () {
        call("POST", "presence/" + compose.threadId + "/beat", {}).catch(function () {});
      }, BEAT_MS);
    }).catch(function () {});
  });
  root.addEventListener("v2:compose-closed", function (event) {
    var compose = team.compose;
    team.compose = null;
    if (compose) { stopPresence(compose, !!event.detail.sent); }
  });
  function stopPresence(compose, sent) {
    clearInterval(compose.beat);
    if (compose.threadId) {
      call("POST", "presence/" + compose.threadId + "/stop", { sent: sent }).then(function (state) {
        if (team.open && team.openState && team.openState.thread_id === state.thread_id) { showOpen(state); }
      }).catch(function () {});
    }
  }
  // A colleague's reply sent while my reply to the same conversation is open is shown in my
  // editor before I send.
  function showColleagueReply(state) {
    var compose = team.compose;
    if (!compose || !state.last_reply || state.last_reply.id === team.me) { return; }
    if (compose.threadId !== null && state.thread_id !== compose.threadId) { return; }
    if (new Date(state.last_reply.at) < compose.openedAt || state.last_reply.id === myId()) { return; }
    var form = document.getElementById("v2-compose-form");
    var notice = document.getElementById("v2-team-replied");
    if (!notice) {
      notice = el("p", "v2-error v2-team-replied");
      notice.id = "v2-team-replied";
      notice.setAttribute("role", "alert");
      form.insertBefore(notice, form.querySelector(".v2-buttons"));
    }
    notice.textContent = word("colleague_replied", { person: state.last_reply.label, time: time(state.last_reply.at) });
    notice.hidden = false;
  }
  function myId() { return team.me || root.dataset.userId || null; }
  function refreshCompose() {
    var compose = team.compose;
    if (!compose) { return; }
    call("POST", "conversation", { message_ids: compose.messageIds }).then(showColleagueReply).catch(function () {});
  }
  root.addEventListener("v2:live", function (event) {
    if ((event.detail.changes || []).indexOf("team") < 0) { return; }
    refreshOpen();
    refreshCompose();
  });

  // -- keyboard -------------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var t = event.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) { return; }
    var handled = true;
    switch (event.key) {
      case "y": assignDialog(); break;
      case "i": assign("me"); break;
      case "d": setStatus("done"); break;
      case "w": setStatus("waiting"); break;
      case "O": setStatus("open"); break;
      case "s": snoozeDialog(); break;
      case "b": followUpDialog(); break;
      case "g": chooseView(VIEWS[(VIEWS.indexOf(team.view) + 1) % VIEWS.length]); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  people().catch(function () {});
  root.dataset.team = "ready";
}());
