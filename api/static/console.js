// The console's small enhancements: countdowns that tick, and the reports' charts.
// Everything they show is on the page without JavaScript too.
(function () {
  "use strict";
  var serverNow = Date.parse(document.body.dataset.now || "");
  var skew = isNaN(serverNow) ? 0 : serverNow - Date.now();

  function span(ms) {
    var whole = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var left = Date.parse(el.dataset.deadline) - now;
      el.textContent = left >= 0 ? span(left) + " left" : "overdue by " + span(left);
      el.classList.toggle("overdue", left < 0);
    });
  }

  function charts() {
    var data = document.getElementById("chart-data");
    if (!data || !window.Chart) return;
    var figures = JSON.parse(data.textContent);
    var colours = { A: "#b42318", B: "#9a4a00", C: "#1f5fbf" };
    document.querySelectorAll("canvas[data-figure]").forEach(function (canvas) {
      var series = figures[canvas.dataset.figure] || {};
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: figures.months,
          datasets: Object.keys(series).map(function (level) {
            return { label: "Level " + level, data: series[level], backgroundColor: colours[level] };
          })
        },
        options: { animation: false, responsive: true, scales: { y: { beginAtZero: true } } }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    charts();
  });
})();
