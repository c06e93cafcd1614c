/* Attention explorer: pick a model (the encoder all-MiniLM-L6-v2 or the decoder-only
 * SmolLM2-135M-Instruct), a sentence, a layer and a head and see that head's weight table,
 * with the row of "it" highlighted, each value on hover or tap, and for the causal model the
 * masked cells above the diagonal hatched.
 *
 * The data are JSON files the evidence build writes into the site: an index
 * (data/page/a3-pretrained-explorer.json, named in the container's data-src, relative to the
 * site's root, not to the page) listing each model and every analysed sentence, and one file
 * of weights per model and sentence, fetched when it is first shown. Plain JavaScript, nothing fetched from another origin.
 * Material's instant navigation swaps pages without reloading scripts, so setup runs on
 * every page change through document$; without JavaScript the static figure inside the
 * container stays.
 */
(function () {
  "use strict";

  // This file lives at <site>/javascripts/, so the site's root is one folder up.
  var siteRoot = new URL("..", document.currentScript.src);

  // Viridis at eleven evenly spaced points, the colormap of the static figures.
  var VIRIDIS = [
    [68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142],
    [33, 145, 140], [34, 168, 132], [68, 191, 112], [122, 209, 81], [189, 223, 38],
    [253, 231, 37],
  ];

  function colour(value) {
    var x = Math.min(Math.max(value, 0), 1) * (VIRIDIS.length - 1);
    var i = Math.min(Math.floor(x), VIRIDIS.length - 2);
    var f = x - i;
    return VIRIDIS[i].map(function (c, k) {
      return Math.round(c + f * (VIRIDIS[i + 1][k] - c));
    });
  }

  // Black or white text, whichever contrasts more with the cell (WCAG relative luminance);
  // the switch point 0.179 keeps both sides above a 4.5:1 contrast ratio.
  function textColour(rgb) {
    var lin = rgb.map(function (c) {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    return luminance > 0.179 ? "#000000" : "#ffffff";
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Replace a select's options (a new model has other layers, heads or sentences).
  function refill(box, options, selected) {
    box.replaceChildren();
    options.forEach(function (text, value) {
      var option = element("option", { value: String(value) }, text);
      if (value === selected) option.selected = true;
      box.appendChild(option);
    });
  }

  function select(id, label, options, selected) {
    var wrapper = element("div", { class: "attn-explorer__control" });
    wrapper.appendChild(element("label", { for: id }, label));
    var box = element("select", { id: id });
    refill(box, options, selected);
    wrapper.appendChild(box);
    return { wrapper: wrapper, box: box };
  }

  function range(n, prefix) {
    var out = [];
    for (var i = 0; i < n; i++) out.push(prefix + (i + 1));
    return out;
  }

  function sentenceTexts(model) {
    return model.sentences.map(function (s) { return s.text; });
  }

  function build(root, index) {
    var uid = "attn-explorer-" + Math.random().toString(36).slice(2, 8);
    var models = index.models;
    var data = models[0]; // the model shown; its sentences, layers and heads fill the menus
    var start = data["default"];
    var model = select(uid + "-model", "Model",
      models.map(function (m) { return m.model; }), 0);
    var sentence = select(uid + "-sentence", "Sentence", sentenceTexts(data), start.sentence);
    var layer = select(uid + "-layer", "Layer", range(data.layers, "layer "), start.layer);
    var head = select(uid + "-head", "Head", range(data.heads, "head "), start.head);

    var controls = element("div", { class: "attn-explorer__controls" });
    [model, sentence, layer, head].forEach(function (c) { controls.appendChild(c.wrapper); });
    var note = element("p", { class: "attn-explorer__note" });
    var summary = element("p", { class: "attn-explorer__summary", "aria-live": "polite" });
    var readout = element("p", { class: "attn-explorer__readout" },
      "Point at or tap a cell to read its weight.");
    var caption = element("p", { class: "attn-explorer__caption", "aria-hidden": "true" });
    var scroller = element("div", {
      class: "attn-explorer__scroller", tabindex: "0", role: "region",
      "aria-label": "Attention weight table (scrolls sideways on narrow screens)",
    });
    var widget = element("div", { class: "attn-explorer__widget" });
    [controls, note, summary, caption, scroller, readout].forEach(function (n) {
      widget.appendChild(n);
    });

    var weights = {}; // "model/sentence" -> its weights, fetched when first shown

    function chooseModel() {
      data = models[Number(model.box.value)];
      var first = data["default"];
      refill(sentence.box, sentenceTexts(data), first.sentence);
      refill(layer.box, range(data.layers, "layer "), first.layer);
      refill(head.box, range(data.heads, "head "), first.head);
      render();
    }

    function render() {
      var index = Number(sentence.box.value);
      var key = model.box.value + "/" + index;
      note.textContent = data.note;
      if (!weights[key]) {
        summary.textContent = "Loading the weights of this sentence\u2026";
        load(data.sentences[index].src)
          .then(function (loaded) { weights[key] = loaded.weights; render(); })
          .catch(function (error) {
            summary.textContent = "Could not load this sentence's weights (" +
              error.message + ").";
          });
        return;
      }
      var s = data.sentences[index];
      var l = Number(layer.box.value);
      var h = Number(head.box.value);
      var table = weights[key][l][h]; // (n, n): row = query token, column = key token
      var tokens = s.tokens;
      var grid = element("table", { class: "attn-explorer__table" });
      var about = "Layer " + (l + 1) + ", head " + (h + 1) + ": row i is how token i weighs " +
        "every token (rows sum to 1). The row of \u201cit\u201d is outlined." +
        (data.causal ? " Hatched cells are later tokens, which the causal mask hides." : "");
      // The table's caption is for screen readers; the same words are shown above the
      // scrolling area, where a phone's narrow screen does not cut them off.
      grid.appendChild(element("caption", {}, about));
      caption.textContent = about;
      var headRow = element("tr");
      headRow.appendChild(element("th", { scope: "col", class: "attn-explorer__corner" },
        "query \u2193 key \u2192"));
      tokens.forEach(function (t) { headRow.appendChild(element("th", { scope: "col" }, t)); });
      var thead = element("thead");
      thead.appendChild(headRow);
      grid.appendChild(thead);
      var body = element("tbody");
      table.forEach(function (row, i) {
        var tr = element("tr", i === s.it ? { class: "attn-explorer__it" } : {});
        tr.appendChild(element("th", { scope: "row" }, tokens[i]));
        row.forEach(function (value, j) {
          if (data.causal && j > i) { // masked: no weight, and nothing to read
            tr.appendChild(element("td", { class: "attn-explorer__masked",
              title: "masked: a later token" }));
            return;
          }
          var rgb = colour(value);
          var cell = element("td", {
            "data-value": String(value),
            "data-query": tokens[i],
            "data-key": tokens[j],
            title: tokens[i] + " \u2192 " + tokens[j] + ": " + value.toFixed(3),
            style: "background:rgb(" + rgb.join(",") + ");color:" + textColour(rgb),
          }, value.toFixed(2));
          tr.appendChild(cell);
        });
        body.appendChild(tr);
      });
      grid.appendChild(body);
      scroller.replaceChildren(grid);

      var itRow = table[s.it];
      var ranked = itRow.map(function (v, j) { return [v, j]; })
        .sort(function (a, b) { return b[0] - a[0]; }).slice(0, 3);
      // The whole sentence first: on a phone the menu cuts it short, often before the word
      // that tells the pair apart.
      summary.textContent = "\u201c" + s.text + "\u201d From \u201cit\u201d in layer " +
        (l + 1) + ", head " + (h + 1) +
        ", the largest weights: " + ranked.map(function (p) {
          return tokens[p[1]] + " " + p[0].toFixed(3);
        }).join(", ") + ".";
    }

    function show(event) {
      var cell = event.target.closest("td[data-value]");
      if (!cell) return;
      readout.textContent = "\u201c" + cell.dataset.query + "\u201d \u2192 \u201c" +
        cell.dataset.key + "\u201d: " + Number(cell.dataset.value).toFixed(3);
    }

    model.box.addEventListener("change", chooseModel);
    [sentence, layer, head].forEach(function (c) { c.box.addEventListener("change", render); });
    scroller.addEventListener("mouseover", show);
    scroller.addEventListener("click", show);  // a tap on a touch screen
    root.insertBefore(widget, root.firstChild);
    // The static figure is the no-JavaScript version of the same view. (The hidden
    // attribute would lose to Material's `figure { display: flex }`.)
    var fallback = root.querySelector("figure");
    if (fallback) fallback.style.display = "none";
    render();
    root.dataset.ready = "true";
  }

  // JSON at a path relative to the site's root.
  function load(path) {
    var url = new URL(path, siteRoot);
    return fetch(url).then(function (response) {
      if (!response.ok) throw new Error(response.status + " " + url);
      return response.json();
    });
  }

  function setup(root) {
    if (root.dataset.ready || root.dataset.loading) return;
    root.dataset.loading = "true";
    load(root.dataset.src)
      .then(function (data) { build(root, data); })
      .catch(function (error) {
        // Leave the static figure in place and say why the explorer is missing.
        root.insertBefore(element("p", { class: "attn-explorer__error" },
          "The interactive explorer could not load its data (" + error.message + ")."),
          root.firstChild);
      })
      .then(function () { delete root.dataset.loading; });
  }

  // Each explorer fetches its data only when a reader scrolls near it: most visits to the
  // page never reach it, and the first screen then loads without it.
  function init() {
    var roots = document.querySelectorAll(".attn-explorer[data-src]");
    if (!("IntersectionObserver" in window)) {
      roots.forEach(setup);
      return;
    }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        observer.unobserve(entry.target);
        setup(entry.target);
      });
    }, { rootMargin: "600px 0px" });
    roots.forEach(function (root) { observer.observe(root); });
  }

  if (typeof window.document$ !== "undefined") {
    window.document$.subscribe(init); // every page, instant navigation included
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
