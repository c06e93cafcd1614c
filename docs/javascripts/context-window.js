// The context-window slider on the cost page. Every number it shows is a string the build
// computed (attnsheet.evidence.render.cost) and published as JSON at the site-root-relative
// path in the slider's data-src attribute; this file only picks the row the slider points at.
// Material's instant navigation swaps pages without reloading scripts, so the slider is set up
// on every page change (document$), not once.
(function () {
  "use strict";

  // This file lives at <site>/javascripts/, so the site's root is one folder up.
  const siteRoot = new URL("..", document.currentScript.src);
  const tables = new Map(); // path -> the JSON, fetched once per visit

  function load(path) {
    if (!tables.has(path)) {
      tables.set(path, fetch(new URL(path, siteRoot)).then((response) => {
        if (!response.ok) {
          throw new Error(`${path}: HTTP ${response.status}`);
        }
        return response.json();
      }));
    }
    return tables.get(path);
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
    for (const widget of document.querySelectorAll("[data-context-slider]")) {
      load(widget.dataset.src)
        .then((data) => setUp(widget, data))
        .catch((error) => console.error("context-window slider:", error));
    }
  });
})();
