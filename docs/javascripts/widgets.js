/*
 * Loads a page widget's script only on a page that has the widget (on the first page and on
 * every page reached by instant navigation): the weight explorer on the attention page, the
 * context-window slider on the cost page. Each script loads once and sets itself up through
 * Material's document$, which replays the current page to a late subscriber.
 */
(function () {
  "use strict";
  var scripts = {
    ".attn-explorer[data-src]": "attention-explorer.js",
    "[data-context-slider]": "context-window.js",
  };
  var folder = document.currentScript.src.replace(/[^/]*$/, "");
  var loaded = {};

  function loadWhereUsed() {
    Object.keys(scripts).forEach(function (selector) {
      var file = scripts[selector];
      if (loaded[file] || !document.querySelector(selector)) return;
      loaded[file] = true;
      var script = document.createElement("script");
      script.src = folder + file;
      document.head.appendChild(script);
    });
  }

  if (typeof window.document$ !== "undefined") {
    window.document$.subscribe(loadWhereUsed);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", loadWhereUsed);
  } else {
    loadWhereUsed();
  }
})();
