// movielake report: embeds each question's Vega-Lite chart and links them.
//
// The page carries its film rows once (#movielake-data, a list per column); each chart that
// names a dataset (films, gems, roi_bins, month_hits) gets its own copy of the rows. The selection (a decade, a
// genre) lives here: a click on a Q2 bar or the selectors set it, and every chart that declares
// the picked_decade / picked_genre parameters is told. window.movielake exposes the views and
// the selection (for tests and the curious); body[data-ready] is set once every chart is drawn.
(() => {
  "use strict";

  const data = JSON.parse(document.getElementById("movielake-data").textContent);
  const selection = { decade: null, genre: null };
  const views = {};
  const decadeInput = document.getElementById("pick-decade");
  const genreInput = document.getElementById("pick-genre");
  const status = document.getElementById("selection-status");

  function rows(columns) {
    const names = Object.keys(columns);
    const count = names.length ? columns[names[0]].length : 0;
    const out = new Array(count);
    for (let i = 0; i < count; i += 1) {
      const row = {};
      for (const name of names) row[name] = columns[name][i];
      out[i] = row;
    }
    return out;
  }

  function describe() {
    const bins = data.roi_bins; // exact counts: a decade, one genre ("" for all genres)
    let shown = 0;
    for (let i = 0; i < bins.films.length; i += 1) {
      if ((selection.decade === null || bins.decade[i] === selection.decade) &&
        bins.genre[i] === (selection.genre ?? "")) shown += bins.films[i];
    }
    const parts = [];
    if (selection.decade !== null) parts.push(`${selection.decade}s`);
    if (selection.genre !== null) parts.push(selection.genre);
    const what = parts.length ? parts.join(" · ") : "all films";
    status.textContent = `Showing ${what}: ${shown.toLocaleString("en")} films with a ROI`;
    for (const note of document.querySelectorAll(".linked-note")) {
      note.hidden = !parts.length;
      note.textContent = `The chart shows ${what} only; the sentence and the table answer for all films.`;
    }
  }

  async function apply() {
    decadeInput.value = selection.decade === null ? "" : String(selection.decade);
    genreInput.value = selection.genre === null ? "" : selection.genre;
    describe();
    await Promise.all(Object.values(views).map((view) => {
      for (const [name, value] of [["picked_decade", selection.decade], ["picked_genre", selection.genre]]) {
        try {
          view.signal(name, value);
        } catch (_) {
          // a chart without the selection (Q4's artists) keeps showing all
        }
      }
      return view.runAsync();
    }));
  }

  function pick(change) {
    Object.assign(selection, change);
    document.body.dataset.selection = `${selection.decade ?? ""}|${selection.genre ?? ""}`;
    return apply();
  }

  async function embed(element) {
    const spec = JSON.parse(document.getElementById(`spec-${element.dataset.view}`).textContent);
    for (const name of Object.keys(spec.datasets || {})) {
      if (name in data) spec.datasets[name] = rows(data[name]);
    }
    const result = await vegaEmbed(element, spec, { renderer: element.dataset.renderer, actions: false });
    views[element.dataset.view] = result.view;
  }

  document.getElementById("selection").hidden = false;
  decadeInput.addEventListener("change", () => pick({ decade: decadeInput.value ? Number(decadeInput.value) : null }));
  genreInput.addEventListener("change", () => pick({ genre: genreInput.value || null }));
  document.getElementById("clear-selection").addEventListener("click", () => pick({ decade: null, genre: null }));

  const ready = Promise.all([...document.querySelectorAll(".chart[data-view]")].map(embed)).then(() => {
    if (views.q2) {
      views.q2.addEventListener("click", (_event, item) => {
        const decade = item && item.datum ? item.datum.decade : undefined;
        if (decade === undefined) return;
        pick({ decade: decade === selection.decade ? null : decade });
      });
    }
    return apply();
  }).then(() => {
    document.body.dataset.ready = "true";
  });
  window.movielake = { views, selection, pick, ready };
})();
