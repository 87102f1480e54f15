// Rank history charts (Apache ECharts, vendored): one line per unit across the scheme's published
// periods, rank 1 at the top. The data is in the page (json_script); the table beside the chart
// says the same for those without JavaScript. A click on a line opens that unit's history.
// Tooltips are drawn on the canvas (renderMode "richText"): ECharts' HTML tooltip writes style
// attributes, which the site's Content-Security-Policy refuses.
(function () {
  "use strict";

  function draw(element) {
    const source = document.getElementById(element.dataset.source);
    if (!source || typeof echarts === "undefined") return;
    const data = JSON.parse(source.textContent);
    if (!data.periods.length) return;
    const single = data.units.length === 1;
    let worst = 1;
    for (const unit of data.units) {
      for (const rank of unit.ranks) if (rank && rank > worst) worst = rank;
    }
    const series = data.units.map((unit) => ({
      name: unit.name,
      type: "line",
      data: unit.ranks,
      connectNulls: false,
      symbolSize: 7,
      emphasis: { focus: "series" },
      label: single ? { show: true, formatter: (p) => (p.value == null ? "" : String(p.value)) } : undefined,
    }));
    if (single && data.units[0].scores) {
      series.push({
        name: element.dataset.scoreLabel || "score",
        type: "bar",
        yAxisIndex: 1,
        data: data.units[0].scores.map((s) => (s == null ? null : Number(s))),
        itemStyle: { color: "rgba(179, 38, 30, 0.18)" },
        barMaxWidth: 28,
        z: 1,
      });
    }
    const chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { renderMode: "richText", trigger: single ? "axis" : "item" },
      legend: single ? { top: 0 } : { type: "scroll", top: 0 },
      grid: { left: 16, right: single ? 24 : 16, top: 56, bottom: 16, containLabel: true },
      xAxis: { type: "category", data: data.periods, boundaryGap: true },
      yAxis: [
        {
          type: "value",
          inverse: true,
          min: 1,
          max: worst,
          minInterval: 1,
          name: element.dataset.rankLabel || "",
          nameLocation: "start",
          nameGap: 12,
        },
        ...(single ? [{ type: "value", min: 0, max: 100, splitLine: { show: false }, name: element.dataset.scoreLabel || "" }] : []),
      ],
      series: series,
    });
    chart.on("click", (params) => {
      const unit = data.units[params.seriesIndex];
      if (!single && unit && unit.url) window.location.href = unit.url;
    });
    window.addEventListener("resize", () => chart.resize());
    element.dataset.rendered = "1";
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-rank-chart]").forEach(draw);
  });
})();
