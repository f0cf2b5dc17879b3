// The progress of one mailbox move: asks the status URL every second and updates the bar and
// the words in place (no reload) until the move is done, stopped or interrupted; then shows the
// button that starts it again (resume).
(function () {
  "use strict";
  const section = document.getElementById("move-run");
  if (!section) { return; }
  const bar = document.getElementById("move-bar");
  const texts = {
    state_text: document.getElementById("move-state"),
    count_text: document.getElementById("move-count"),
    folder_text: document.getElementById("move-folder"),
  };
  const percent = document.getElementById("move-percent");
  const again = document.getElementById("move-again");
  const EVERY_MS = 1000;

  function show(status) {
    section.dataset.state = status.state;
    bar.value = status.percent;
    bar.textContent = status.percent + " %";
    percent.textContent = status.percent + " %";
    Object.keys(texts).forEach(function (name) {
      if (texts[name].textContent !== status[name]) { texts[name].textContent = status[name]; }
    });
    again.hidden = status.active;
  }

  function ask() {
    fetch(section.dataset.status, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (status) {
        show(status);
        if (status.active) { window.setTimeout(ask, EVERY_MS); }
      })
      .catch(function () { window.setTimeout(ask, EVERY_MS * 3); });  // a hiccup: try again later
  }

  if (section.dataset.state === "queued" || section.dataset.state === "running") {
    window.setTimeout(ask, EVERY_MS / 2);
  }
}());
