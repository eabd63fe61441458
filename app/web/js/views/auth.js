// Sign up, confirm with the emailed code, log in.

import { accounts } from "../api.js";
import { alertBox, busy, field, h, navigate, values } from "../dom.js";

const PASSWORD_HINT = "At least 12 characters, with upper and lower case letters and a digit.";

function emailInput(value) {
  return h("input", { name: "email", type: "email", autocomplete: "email", required: true, value: value || "" });
}

export function renderSignup(main) {
  const box = alertBox();
  const form = h(
    "form",
    { class: "card narrow", novalidate: false },
    field("Email", emailInput()),
    field(
      "Password",
      h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 12 }),
      PASSWORD_HINT,
    ),
    box,
    h("button", { type: "submit" }, "Create account"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { email, password } = values(form);
    const ok = await busy(form, box, async () => {
      await accounts.signup(email, password);
      return true;
    });
    if (ok) navigate(`/confirm?email=${encodeURIComponent(email)}`);
  });
  main.append(
    h("h1", {}, "Create your account"),
    form,
    h("p", {}, "Already have one? ", h("a", { href: "#/login" }, "Log in")),
  );
}

export function renderConfirm(main, params) {
  const box = alertBox();
  const status = h("p", { class: "status", role: "status" });
  const form = h(
    "form",
    { class: "card narrow" },
    h("p", {}, "We emailed you a confirmation code. Enter it below to activate your account."),
    field("Email", emailInput(params.get("email"))),
    field("Confirmation code", codeInput()),
    box,
    status,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Confirm"), h("button", { type: "button", class: "secondary", name: "resend" }, "Send a new code")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { email, code } = values(form);
    const ok = await busy(form, box, async () => {
      await accounts.confirm(email, code);
      return true;
    });
    if (ok) navigate(`/login?email=${encodeURIComponent(email)}&confirmed=1`);
  });
  form.elements.resend.addEventListener("click", async () => {
    const { email } = values(form);
    status.textContent = "";
    if (!form.elements.email.reportValidity()) return;
    const ok = await busy(form, box, async () => {
      await accounts.resend(email);
      return true;
    });
    if (ok) status.textContent = `A new code is on its way to ${email}.`;
  });
  main.append(h("h1", {}, "Confirm your email"), form);
}

export function renderLogin(main, params) {
  const box = alertBox();
  const confirmHint = h("p", { hidden: true }, h("a", { href: "#/confirm" }, "Enter your confirmation code"));
  const form = h(
    "form",
    { class: "card narrow" },
    params.get("confirmed") ? h("p", { class: "success", role: "status" }, "Your account is confirmed. Log in to continue.") : null,
    params.get("reset") ? h("p", { class: "success", role: "status" }, "Your password is changed. Log in with the new one.") : null,
    params.get("next") ? h("p", { role: "status" }, "Log in to continue.") : null,
    field("Email", emailInput(params.get("email"))),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    box,
    confirmHint,
    h("button", { type: "submit" }, "Log in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { email, password } = values(form);
    confirmHint.hidden = true;
    const ok = await busy(form, box, async () => {
      try {
        await accounts.login(email, password);
      } catch (error) {
        if (error.code === "user_not_confirmed") {
          confirmHint.firstChild.href = `#/confirm?email=${encodeURIComponent(email)}`;
          confirmHint.hidden = false;
        }
        // The service words it for every caller ("wrong email, password or token"); a person
        // logging in sent no token.
        if (error.code === "invalid_credentials") throw new Error("The email or the password is wrong.");
        if (error.code === "account_suspended") {
          throw new Error("Your account is suspended: an administrator has suspended it, so you cannot log in.");
        }
        throw error;
      }
      return true;
    });
    if (!ok) return;
    const next = params.get("next");
    navigate(next && next.startsWith("/") ? next : "/");
  });
  main.append(
    h("h1", {}, "Log in"),
    form,
    h("p", {}, h("a", { href: "#/forgot" }, "Forgot your password?")),
    h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Create an account")),
  );
}

function codeInput() {
  return h("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true, pattern: "[0-9A-Za-z]+" });
}

export function renderForgot(main, params) {
  const box = alertBox();
  const form = h(
    "form",
    { class: "card narrow" },
    h("p", {}, "We will email you a code to choose a new password."),
    field("Email", emailInput(params.get("email"))),
    box,
    h("button", { type: "submit" }, "Send code"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { email } = values(form);
    const ok = await busy(form, box, async () => {
      await accounts.forgot(email);
      return true;
    });
    if (ok) navigate(`/reset?email=${encodeURIComponent(email)}`);
  });
  main.append(h("h1", {}, "Reset your password"), form);
}

export function renderReset(main, params) {
  const box = alertBox();
  const form = h(
    "form",
    { class: "card narrow" },
    h("p", {}, "If an account uses this address, a code is on its way. Enter it with your new password."),
    field("Email", emailInput(params.get("email"))),
    field("Code", codeInput()),
    field(
      "New password",
      h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 12 }),
      PASSWORD_HINT,
    ),
    box,
    h("button", { type: "submit" }, "Change password"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { email, code, password } = values(form);
    const ok = await busy(form, box, async () => {
      await accounts.reset(email, code, password);
      return true;
    });
    if (ok) navigate(`/login?email=${encodeURIComponent(email)}&reset=1`);
  });
  main.append(h("h1", {}, "Choose a new password"), form);
}
