// The profile: the display name others see on one's comments (until set, a pseudonym).

import { me, updateMe } from "../api.js";
import { alertBox, busy, field, h, values } from "../dom.js";

const DISPLAY_NAME_MAX = 40;

export async function render(main) {
  const user = await me();
  const box = alertBox();
  const status = h("p", { role: "status", class: "status" });
  const shown = h("strong", {}, user.public_name);
  const form = h(
    "form",
    { class: "card" },
    field(
      "Display name",
      h("input", { name: "display_name", required: true, maxlength: DISPLAY_NAME_MAX, value: user.display_name || "" }),
      "Shown with your comments. Your email is never shown to others.",
    ),
    h("button", { type: "submit" }, "Save profile"),
    box,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const { display_name: name } = values(form); // before busy(): disabled controls drop out of FormData
    const updated = await busy(form, box, () => updateMe({ display_name: name }));
    if (updated) {
      shown.textContent = updated.public_name;
      status.textContent = "Saved.";
    }
  });
  main.append(h("h1", {}, "Profile"), h("p", {}, "Others see you as ", shown, "."), form, status);
}
