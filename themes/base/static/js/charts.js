// Draw the Plotly figures kept as JSON in data-figure attributes, on page load and after
// HTMX swaps, so no inline script is needed under the Content-Security-Policy.
// NOTE: plotly.js adds a few style rules at run time, and style-src 'self' blocks them. The
// charts still draw, and the mode bar, which needs those rules, is switched off.
(function () {
  function draw(root) {
    root.querySelectorAll("[data-figure]").forEach(function (element) {
      if (typeof Plotly === "undefined") {
        return;
      }
      const figure = JSON.parse(element.dataset.figure);
      Plotly.react(element, figure.data, figure.layout, {
        responsive: true, displayModeBar: false,
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.detail.target); });
})();
