// Checks the edited policy as the author types (debounced), shows the checker's located errors and the
// verdicts on the chosen example. Every value is inserted as text, never as HTML.
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
    for (const e of out.errors) diag.append(row("error", `${e.file}:${e.line}:${e.column}: ${e.message}`));
    if (out.result && out.result.verdicts) {
      for (const v of out.result.verdicts) {
        if (v.outcome === "not_applicable") continue;
        live.append(row("verdict " + v.outcome, `${v.outcome.toUpperCase()} ${v.id} [${v.clause}] ${v.message || ""}`));
      }
    }
  }

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
