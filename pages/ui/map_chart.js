// The opinion map's chart: an st.components.v2 component in the app's own page (no iframe), drawn by plotly.js.
//
// st.plotly_chart mounts a new chart whenever its figure changes, and a new WebGL chart is the slow part of a
// colour change. This element is keyed, so it stays mounted: each render redraws it in place with Plotly.react,
// which also keeps the reader's zoom (layout.uirevision). A lasso or box selection sets the state value
// "selection" to the selected points' customdata (contribution ids), a click sets "clicked" (click to pin). plotly.js is loaded once per browser tab
// from data.plotly_url (served by pages/ui/map_chart.py).

function loadPlotly(url) {
  if (!window.__dembiasPlotly) {
    window.__dembiasPlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => reject(new Error("plotly.js did not load from " + url));
      document.head.appendChild(script);
    });
  }
  return window.__dembiasPlotly;
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let chart = parentElement.querySelector("div.dembias-map");
  if (!chart) {
    chart = document.createElement("div");
    chart.className = "dembias-map";
    chart.style.width = "100%";
    parentElement.appendChild(chart);
  }
  const drawing = data.spec + "\u0000" + data.config;
  chart.dataset.pending = "1";
  loadPlotly(data.plotly_url).then((Plotly) => {
    if (chart.__drawn === drawing) {
      delete chart.dataset.pending;
      return;
    }
    const figure = JSON.parse(data.spec);
    chart.style.height = ((figure.layout && figure.layout.height) || 600) + "px";
    return Plotly.react(chart, figure.data, figure.layout, JSON.parse(data.config)).then(() => {
      chart.__drawn = drawing;
      delete chart.dataset.pending;
      if (chart.__listening) return;
      chart.__listening = true;
      chart.on("plotly_selected", (event) => {
        const points = (event && event.points) || [];
        const ids = points.map((p) => p.customdata).filter((c) => c !== undefined && c !== null);
        setStateValue("selection", ids.map(String));
      });
      chart.on("plotly_deselect", () => setStateValue("selection", []));
      // click to pin: the clicked point's id, with the time so that a second click on it is a new value
      chart.on("plotly_click", (event) => {
        const point = event && event.points && event.points[0];
        if (point && point.customdata !== undefined && point.customdata !== null) {
          setStateValue("clicked", { id: String(point.customdata), at: Date.now() });
        }
      });
    });
  }).catch((error) => {
    delete chart.dataset.pending;
    chart.textContent = "The opinion map could not be drawn: " + error.message;
  });
}
