// The context-window slider on the cost page. Every number it shows is a string the build
// computed and wrote into data/cost/context-window.json (attnsheet.evidence.cost); this file
// only picks the row the slider points at. Material's instant navigation swaps pages without
// reloading scripts, so the slider is set up on every page change (document$), not once.
(function () {
  "use strict";

  // This file lives at <site>/javascripts/, so the site's root is one folder up.
  const siteRoot = new URL("..", document.currentScript.src);
  let table = null; // the JSON, fetched once per visit

  function load() {
    if (!table) {
      table = fetch(new URL("data/cost/context-window.json", siteRoot)).then((response) => {
        if (!response.ok) {
          throw new Error(`context-window.json: HTTP ${response.status}`);
        }
        return response.json();
      });
    }
    return table;
  }

  function setUp(widget, data) {
    const slider = widget.querySelector("input[type=range]");
    const show = () => {
      const row = data.rows[Number(slider.value)];
      for (const field of widget.querySelectorAll("[data-field]")) {
        field.textContent = row.labels[field.dataset.field];
      }
      slider.setAttribute("aria-valuetext", `${row.labels.n} tokens`);
    };
    slider.max = String(data.rows.length - 1);
    slider.addEventListener("input", show);
    show();
    widget.hidden = false;
  }

  document$.subscribe(() => {
    const widgets = document.querySelectorAll("[data-context-slider]");
    if (widgets.length === 0) {
      return;
    }
    load()
      .then((data) => widgets.forEach((widget) => setUp(widget, data)))
      .catch((error) => console.error("context-window slider:", error));
  });
})();
