// The lint banner: the traps the selected runs fell into (the server's findings),
// errors first, each dismissable for the page's life.

import { h, replaceChildren, isolated } from "./dom.js";
import { bannerFindings } from "../model/findings.js";

const LEVEL_TEXT = { error: "Error", warning: "Warning", info: "Info" };

export class LintBanner {
  constructor() {
    this.dismissed = new Set(); // findingKey()s the user closed
    this.entries = [];
    this.el = h("div", { class: "lrt-banner", testid: "lint-banner", role: "region", "aria-label": "Learning-rate traps", hidden: true });
  }

  /** Shows the findings of these entries ([{run, name, timeline}]); none: hidden. */
  render(entries) {
    this.entries = entries;
    const items = bannerFindings(entries, this.dismissed);
    this.el.hidden = items.length === 0;
    const several = entries.length > 1;
    replaceChildren(
      this.el,
      items.map((item) =>
        h(
          "div",
          {
            class: `lrt-finding lrt-finding-${item.level}`,
            testid: "lint-finding",
            "data-code": item.code,
            "data-level": item.level,
            "data-run": item.run,
            "data-epochs": item.epochs.join(","),
          },
          h("span", { class: "lrt-finding-level", "data-field": "level", text: LEVEL_TEXT[item.level] }),
          h(
            "div",
            { class: "lrt-finding-body" },
            h(
              "div",
              { class: "lrt-finding-message", "data-field": "message" },
              several ? [h("strong", {}, isolated(item.runName)), ": "] : [],
              item.message,
            ),
            item.fix ? h("div", { class: "lrt-finding-fix", "data-field": "fix" }, "Fix: ", item.fix) : [],
            item.epochsText
              ? h("div", { class: "lrt-finding-epochs lrt-muted", "data-field": "epochs", text: item.epochsText })
              : [],
          ),
          h("button", {
            type: "button",
            class: "lrt-finding-dismiss",
            testid: "dismiss-finding",
            "aria-label": "Dismiss",
            text: "\u00d7",
            onclick: () => {
              this.dismissed.add(item.key);
              this.render(this.entries);
            },
          }),
        ),
      ),
    );
  }
}
