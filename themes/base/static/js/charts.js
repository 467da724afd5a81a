// Draw every element with a data-plotly attribute (a Plotly figure as JSON), on page load
// and after HTMX swaps in new content. A figure whose layout.meta.drill is a URL with DAY
// in it opens that URL for the clicked day.
(function () {
  function draw(root) {
    root.querySelectorAll("[data-plotly]:not([data-drawn])").forEach(function (element) {
      var figure = JSON.parse(element.getAttribute("data-plotly"));
      window.Plotly.newPlot(element, figure.data, figure.layout,
                            {displayModeBar: false, responsive: true});
      element.setAttribute("data-drawn", "true");
      var drill = figure.layout && figure.layout.meta && figure.layout.meta.drill;
      if (drill) {
        element.on("plotly_click", function (event) {
          var day = String(event.points[0].x).slice(0, 10);
          window.location.href = drill.replace("DAY", encodeURIComponent(day));
        });
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
