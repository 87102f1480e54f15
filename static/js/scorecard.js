/* A unit's rank history per scheme (Apache ECharts, vendored): rank 1 at the top.
   Tooltips are drawn on the canvas (renderMode "richText"): ECharts' HTML tooltip writes
   style attributes, which the site's Content-Security-Policy refuses. */
(function () {
  "use strict";
  var source = document.getElementById("rank-history-data");
  if (!source || typeof echarts === "undefined") {
    return;
  }
  var boards = JSON.parse(source.textContent);
  var charts = [];
  document.querySelectorAll(".rank-history").forEach(function (el) {
    var board = boards[parseInt(el.getAttribute("data-index"), 10)];
    if (!board) {
      return;
    }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: { renderMode: "richText", trigger: "axis" },
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: board.periods },
      yAxis: { type: "value", inverse: true, min: 1, minInterval: 1, name: board.rank_label },
      series: [{ name: board.rank_label, type: "line", data: board.ranks, connectNulls: false }]
    });
    el.setAttribute("data-rendered", "1");
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
