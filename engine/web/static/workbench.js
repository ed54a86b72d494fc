// Checks the edited policy as the author types (debounced), shows the checker's located errors (with a button
// for each sure fix), lint's warnings and the verdicts on the chosen example; formats the text as `fmt` does.
// Every value is inserted as text, never as HTML.
(function () {
  const source = document.getElementById("source");
  if (!source) return;
  const file = source.dataset.file;
  const diag = document.getElementById("diagnostics");
  const live = document.getElementById("live-verdicts");
  const pick = document.getElementById("case-example");
  const asOf = document.getElementById("edit-as-of");
  let timer = null, caseText = null, seq = 0;

  function text(el, value) { el.textContent = value; return el; }
  function row(cls, value) { return text(Object.assign(document.createElement("div"), {className: cls}), value); }

  async function loadCase() {
    caseText = null;
    if (pick.value) {
      const r = await fetch("/case?example=" + encodeURIComponent(pick.value));
      const html = await r.text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      caseText = doc.getElementById("case").value;
    }
    check();
  }

  async function check() {
    const mine = ++seq;
    const r = await fetch("/api/check", {method: "POST", headers: {"content-type": "application/json"},
      body: JSON.stringify({file: file, text: source.value, case: caseText, as_of: asOf ? asOf.value : ""})});
    const out = await r.json();
    if (mine !== seq) return;
    diag.replaceChildren();
    live.replaceChildren();
    if (out.error) { diag.append(row("error", out.error)); return; }
    if (!out.errors.length) diag.append(row("ok", "no errors"));
    for (const e of out.errors) {
      const r = row("error", `${e.file}:${e.line}:${e.column}: ${e.message}`);
      if (e.fix) {
        const b = text(Object.assign(document.createElement("button"), {type: "button", className: "fix"}),
          `write '${e.fix.text}'`);
        b.addEventListener("click", () => applyFix(e.fix));
        r.append(" ", b);
      }
      diag.append(r);
    }
    for (const w of out.warnings || []) diag.append(row("warning", w.text));
    if (out.result && out.result.verdicts) {
      for (const v of out.result.verdicts) {
        if (v.outcome === "not_applicable") continue;
        live.append(row("verdict " + v.outcome, `${v.outcome.toUpperCase()} ${v.id} [${v.clause}] ${v.message || ""}`));
      }
    }
  }

  // a fix's columns count code points (as the checker does), not UTF-16 units: Array.from splits by code point
  function applyFix(fix) {
    const lines = source.value.split("\n");
    const chars = Array.from(lines[fix.line - 1] || "");
    chars.splice(fix.start, fix.end - fix.start, ...Array.from(fix.text));
    lines[fix.line - 1] = chars.join("");
    source.value = lines.join("\n");
    check();
  }

  document.getElementById("format").addEventListener("click", async () => {
    const r = await fetch("/api/format", {method: "POST", headers: {"content-type": "application/json"},
      body: JSON.stringify({file: file, text: source.value})});
    const out = await r.json();
    const status = document.getElementById("save-status");
    if (out.text == null) { text(status, "not formatted: " + out.error); return; }
    text(status, out.text === source.value ? "already formatted" : "formatted (not saved)");
    source.value = out.text;
    check();
  });

  source.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 400); });
  pick.addEventListener("change", loadCase);
  if (asOf) asOf.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 400); });
  document.getElementById("impact-form").addEventListener("submit", () => {
    document.getElementById("impact-text").value = source.value;
    if (asOf) document.getElementById("impact-as-of").value = asOf.value;
  });
  document.getElementById("save").addEventListener("click", async () => {
    const r = await fetch("/api/save", {method: "POST", headers: {"content-type": "application/json"},
      body: JSON.stringify({file: file, text: source.value})});
    const out = await r.json();
    text(document.getElementById("save-status"), out.saved ? "saved" : "not saved: fix the errors first");
  });
})();
