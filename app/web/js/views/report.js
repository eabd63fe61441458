// "Report": a disclosure with a reason, for a video or a comment the reader did not make.

import { moderation } from "../api.js";
import { alertBox, busy, field, h, values } from "../dom.js";

export function reportForm(targetType, targetId, what) {
  const box = alertBox();
  const status = h("span", { role: "status", class: "status" });
  const form = h(
    "form",
    { class: "report-form" },
    field(`Why report this ${what}?`, h("textarea", { name: "reason", rows: 2, required: true, maxlength: 1000 })),
    h("button", { type: "submit" }, `Send report`),
    status,
    box,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const { reason } = values(form);
    const ok = await busy(form, box, async () => {
      await moderation.report(targetType, targetId, reason);
      return true;
    });
    if (ok) {
      form.reset();
      status.textContent = "Reported. Thank you; a moderator will look at it.";
    }
  });
  return h("details", { class: "report" }, h("summary", {}, `Report ${what}`), form);
}

/** What the owner of hidden content sees: that it is hidden, and why. */
export function hiddenNotice(reason, what) {
  return reason
    ? h("p", { class: "notice hidden-notice" }, `Hidden by a moderator: only you can see this ${what}. Reason: ${reason}`)
    : null;
}
