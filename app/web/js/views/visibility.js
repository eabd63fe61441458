import { h } from "../dom.js";

export const VISIBILITIES = [
  ["public", "Public — in the feed and search"],
  ["unlisted", "Unlisted — anyone with the link"],
  ["private", "Private — only you"],
];

export function visibilitySelect(current = "public") {
  return h(
    "select",
    { name: "visibility" },
    VISIBILITIES.map(([value, label]) => h("option", { value, selected: value === current }, label)),
  );
}
