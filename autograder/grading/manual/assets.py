"""The review page's style sheet and its one script, as text (they travel inside the wheel).

The script keeps a draft of the scores in the browser's storage, counts what is
scored, checks each score against the task's maximum, and downloads the scores as
the CSV ``coursekit review --import`` reads: one row per answer whose score or
comment differs from the one in force (or whose answer changed since it was
graded). Cells that a spreadsheet would run as a formula get a leading apostrophe,
as every CSV the kit writes (:mod:`autograder.spreadsheet`).
"""

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 0 auto; max-width: 1280px;
       padding: 0 24px 48px; }
.bar { position: sticky; top: 0; z-index: 2; background: #f6f8fa; border-bottom: 1px solid #ddd;
       padding: 8px 12px; display: flex; flex-wrap: wrap; gap: 14px; align-items: center; }
.bar button { font: inherit; padding: 3px 12px; }
#message.bad { color: #b03a2e; font-weight: 600; } #message.good { color: #2e7d32; }
h1 { margin: 18px 0 0; font-size: 24px; } .note { color: #666; }
.task { background: #fbfbf4; border: 1px solid #e6e4c8; padding: 4px 16px 10px;
        margin: 12px 0 24px; }
.task details { margin-top: 8px; } .task summary { font-weight: 600; cursor: pointer; }
article.answer { border: 1px solid #ddd; border-left: 5px solid #9dbbdc; margin: 18px 0;
                 padding: 4px 14px 10px; }
article.answer.scored { border-left-color: #2e7d32; }
article.answer.changed { border-left-color: #d9822b; }
article.answer.hidden { display: none; }
h3 { margin: 8px 0 2px; } h3 .state { font-weight: normal; font-size: 13px; color: #666;
                                       margin-left: 10px; }
.context { margin: 0 0 6px; font-size: 13px; color: #555; }
.columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; }
.columns h4 { margin: 4px 0; font-size: 13px; text-transform: uppercase; color: #777; }
.text { background: #fff; } .outputs img { max-width: 100%; display: block; margin: 4px 0; }
pre { margin: 4px 0; padding: 6px; background: #fafafa; border: 1px solid #eee;
      font: 12px/1.35 ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere;
      max-height: 320px; overflow: auto; }
pre.error { color: #b03a2e; }
table { border-collapse: collapse; } th, td { padding: 2px 8px; border-bottom: 1px solid #eee; }
.form { display: flex; gap: 18px; align-items: flex-start; margin-top: 8px; }
.form input.score { width: 5em; font: inherit; }
.form label.comment { flex: 1; display: flex; gap: 8px; }
.form textarea { flex: 1; font: inherit; }
input.bad { outline: 2px solid #b03a2e; }
"""

SCRIPT = r"""
(() => {
  "use strict";
  const page = document.body.dataset;
  const max = Number(page.max);
  const storeKey = ["coursekit-review", page.assignment, page.notebook, page.task, page.made]
    .join("|");
  const ta = document.getElementById("ta");
  const message = document.getElementById("message");
  const answers = [...document.querySelectorAll("article.answer")];
  const field = (a, name) => a.querySelector(name === "score" ? "input.score" : "textarea.comment");
  let draft = {};
  try { draft = JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { draft = {}; }
  if (draft.ta && !ta.value) ta.value = draft.ta;
  for (const a of answers) {
    const kept = (draft.rows || {})[a.dataset.student];
    if (kept) { field(a, "score").value = kept[0]; field(a, "comment").value = kept[1]; }
  }
  const isChanged = (a) =>
    a.dataset.stale === "1" ||
    field(a, "score").value.trim() !== a.dataset.score ||
    field(a, "comment").value.trim() !== a.dataset.comment;
  const scoreOf = (a) => {
    const text = field(a, "score").value.trim();
    const value = Number(text);
    if (text === "") return null;
    return Number.isFinite(value) && value >= 0 && value <= max ? value : NaN;
  };
  function update() {
    let scored = 0;
    const rows = {};
    for (const a of answers) {
      const score = scoreOf(a);
      field(a, "score").classList.toggle("bad", Number.isNaN(score));
      a.classList.toggle("scored", score !== null && !Number.isNaN(score));
      if (score !== null) scored += 1;
      if (isChanged(a)) {
        rows[a.dataset.student] = [field(a, "score").value, field(a, "comment").value];
      }
    }
    document.getElementById("count").textContent = `${scored} of ${answers.length} scored`;
    try { localStorage.setItem(storeKey, JSON.stringify({ ta: ta.value, rows })); } catch (e) {}
    const only = document.getElementById("only-open").checked;
    for (const a of answers) a.classList.toggle("hidden", only && a.classList.contains("scored"));
  }
  const COLUMNS = ["assignment", "notebook", "task", "student", "score", "comment", "ta",
                   "based_on"];
  const formulaStart = /^[=+\-@\t\r\n\uff1d\uff0b\uff0d\uff20]/;
  const cell = (value) => {
    let text = String(value);
    if (formulaStart.test(text) && !/^-?[0-9]+(\.[0-9]+)?$/.test(text)) text = "'" + text;
    return /[",\r\n;\t]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  };
  function say(text, good) {
    message.textContent = text;
    message.className = good ? "good" : "bad";
  }
  function download() {
    const name = ta.value.trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) {
      say("Type your name (letters, digits, . _ - @) first.", false); ta.focus(); return;
    }
    const lines = [COLUMNS];
    for (const a of answers) {
      if (!isChanged(a)) continue;
      const score = scoreOf(a);
      const comment = field(a, "comment").value.trim();
      if (Number.isNaN(score)) {
        say(`${a.dataset.student}: a score from 0 to ${max}, please.`, false);
        field(a, "score").focus(); return;
      }
      if (score === null && comment === "") continue;
      lines.push([page.assignment, page.notebook, page.task, a.dataset.student,
                  score === null ? "" : String(score), comment, name, a.dataset.basedOn]);
    }
    if (lines.length === 1) { say("Nothing new to download.", false); return; }
    const text = lines.map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    link.download = `scores-${page.assignment}-${page.task}-${name}.csv`;
    document.body.appendChild(link); link.click(); link.remove();
    say(`${lines.length - 1} score(s) in ${link.download}: import it with coursekit review.`, true);
  }
  document.addEventListener("input", update);
  document.getElementById("only-open").addEventListener("change", update);
  document.getElementById("download").addEventListener("click", download);
  update();
})();
"""
