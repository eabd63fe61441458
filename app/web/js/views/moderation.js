// Moderators: the queue of open reports; hide or restore what was reported, resolve a report.

import { me, moderation } from "../api.js";
import { alertBox, busy, field, formatDate, h, replace, values } from "../dom.js";

function reportItem(report, onDone) {
  const box = alertBox();
  const status = h("span", { role: "status", class: "status" });
  const target = report.target;
  const what = report.target_type === "video" ? "video" : "comment";
  const form = h(
    "form",
    { class: "inline moderation-actions" },
    field("Moderator's reason", h("input", { name: "reason", required: true, maxlength: 1000 })),
    target && !target.hidden_reason ? h("button", { type: "submit", name: "hide", value: "hide" }, `Hide ${what}`) : null,
    target && target.hidden_reason ? h("button", { type: "submit", name: "restore", value: "restore" }, `Restore ${what}`) : null,
    report.status === "open"
      ? h("button", { type: "submit", name: "resolve", value: "resolve", class: "secondary" }, "Resolve report")
      : null,
    status,
    box,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const action = event.submitter?.value || "resolve";
    const { reason } = values(form);
    const done = await busy(form, box, async () => {
      if (action === "hide") await moderation.hide(report.target_type, report.target_id, reason);
      else if (action === "restore") await moderation.restore(report.target_type, report.target_id, reason);
      else await moderation.resolve(report.id, reason);
      return action;
    });
    if (done) onDone(done);
  });
  return h(
    "li",
    { class: "card report-item" },
    h(
      "p",
      { class: "meta" },
      `${what} reported ${formatDate(report.created_at)}: `,
      h("strong", {}, report.reason),
    ),
    target
      ? h(
          "p",
          {},
          h("a", { href: `#/videos/${target.video_id}` }, target.title || "(untitled)"),
          target.body ? h("span", {}, ` — “${target.body}”`) : null,
          target.hidden_reason ? h("span", { class: "status" }, ` (hidden: ${target.hidden_reason})`) : null,
        )
      : h("p", {}, "The reported item has been deleted."),
    form,
  );
}

export async function render(main) {
  const user = await me();
  if (!user?.roles?.includes("moderator")) {
    replace(main, h("h1", {}, "Moderation"), h("p", {}, "Only moderators can see this page."));
    return;
  }
  const box = alertBox();
  const status = h("p", { role: "status", class: "status" });
  const open = h("ol", { class: "reports", "aria-labelledby": "open-heading" });
  const resolved = h("ol", { class: "reports", "aria-labelledby": "resolved-heading" });
  const load = async () => {
    const [waiting, closed] = await Promise.all([
      moderation.queue({ status: "open" }),
      moderation.queue({ status: "resolved" }),
    ]);
    replace(open, ...(waiting.items.length ? waiting.items.map((r) => reportItem(r, done)) : [h("li", {}, "No open reports.")]));
    replace(resolved, ...closed.items.map((r) => reportItem(r, done)));
  };
  const done = (action) => {
    load()
      .then(() => (status.textContent = `Done: ${action}.`))
      .catch((error) => box.show(error));
  };
  replace(
    main,
    h("h1", {}, "Moderation"),
    status,
    box,
    h("h2", { id: "open-heading" }, "Open reports"),
    open,
    h("h2", { id: "resolved-heading" }, "Resolved reports"),
    resolved,
  );
  await load();
}
