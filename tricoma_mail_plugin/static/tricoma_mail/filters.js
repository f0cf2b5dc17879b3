// The rule editor shows, in each row, only the inputs its choice uses: the header name for
// "Header", the folder or address for "Move"/"Forward", "keep a copy" for "Forward". Without
// this script every input shows and the server ignores the unused ones.
(function () {
  "use strict";

  function wire(row, choiceName, shownFor) {
    const choice = row.querySelector(`select[name^="${choiceName}"]`);
    if (!choice) return;
    const update = () => {
      for (const [selector, kinds] of shownFor) {
        const element = row.querySelector(selector);
        if (element) element.hidden = !kinds.includes(choice.value);
      }
    };
    choice.addEventListener("change", update);
    update();
  }

  function setUp() {
    const editor = document.querySelector("form.rule-editor");
    if (!editor) return;
    const moveKinds = (editor.dataset.argumentKinds || "").split(" ").filter(Boolean);
    for (const row of editor.querySelectorAll(".condition")) {
      wire(row, "cond_field_", [['input[name^="cond_header_"]', ["header"]]]);
    }
    for (const row of editor.querySelectorAll(".rule-action")) {
      wire(row, "action_kind_", [
        ['input[name^="action_argument_"]', moveKinds],
        ["label.keep-copy", ["forward"]],
      ]);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
