// Draw every element with a data-plotly attribute (a Plotly figure as JSON), on page load
// and after HTMX swaps in new content.
(function () {
  function draw(root) {
    root.querySelectorAll("[data-plotly]:not([data-drawn])").forEach(function (element) {
      var figure = JSON.parse(element.getAttribute("data-plotly"));
      window.Plotly.newPlot(element, figure.data, figure.layout,
                            {displayModeBar: false, responsive: true});
      element.setAttribute("data-drawn", "true");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
