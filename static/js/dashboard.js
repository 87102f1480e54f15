/* The dashboard's charts (Apache ECharts, vendored). Every bar, point and slice opens the list
   behind it; the data and the links come from the page (json_script "dashboard-charts").
   Tooltips are drawn on the canvas (renderMode "richText"): ECharts' HTML tooltip writes
   style attributes, which the site's Content-Security-Policy refuses. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var charts = [];
  var num = function (values) {
    return values.map(function (v) { return v === null ? null : parseFloat(v); });
  };

  function mount(id, option, onClick) {
    var el = document.getElementById(id);
    if (!el) {
      return null;
    }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    if (onClick) {
      chart.on("click", onClick);
    }
    el.setAttribute("data-rendered", "1");
    charts.push(chart);
    return chart;
  }
  function open(url) {
    if (url) {
      window.location.href = url;
    }
  }
  var grid = { left: 8, right: 12, top: 36, bottom: 8, containLabel: true };

  var m = data.monthly;
  mount("chart-monthly", {
    tooltip: { renderMode: "richText", trigger: "axis" },
    legend: { data: m.names, top: 0 },
    grid: { left: 8, right: 12, top: 56, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: m.months },
    yAxis: { type: "value" },
    series: [
      { name: m.names[0], type: "bar", data: num(m.ytd) },
      { name: m.names[1], type: "line", data: num(m.schedule), lineStyle: { type: "dashed" } },
      { name: m.names[2], type: "line", data: num(m.last_year) }
    ]
  }, function () { open(m.url); });

  function bars(id, block) {
    return mount(id, {
      tooltip: { renderMode: "richText", trigger: "axis" },
      legend: { data: block.names, top: 0 },
      grid: grid,
      xAxis: { type: "value" },
      yAxis: { type: "category", data: block.labels, inverse: true },
      series: [
        { name: block.names[0], type: "bar", data: num(block.plan) },
        { name: block.names[1], type: "bar", data: num(block.ytd) }
      ]
    }, function (params) { open(block.urls[params.dataIndex]); });
  }
  bars("chart-category", data.category);
  bars("chart-township", data.township);

  var f = data.funnel;
  mount("chart-funnel", {
    tooltip: { renderMode: "richText", trigger: "item" },
    series: [{
      type: "funnel", sort: "none", left: "10%", width: "80%", top: 10, bottom: 10,
      label: { show: true, position: "inside", formatter: "{b}: {c}" },
      data: f.labels.map(function (label, i) { return { name: label, value: f.counts[i] }; })
    }]
  }, function (params) { open(f.urls[params.dataIndex]); });

  var l = data.lights;
  var colours = { red: "#d64545", yellow: "#e0a500", green: "#3a9a5b" };
  mount("chart-lights", {
    tooltip: { renderMode: "richText", trigger: "item", formatter: "{b}: {c} ({d}%)" },
    legend: { top: 0 },
    series: [{
      type: "pie", radius: ["40%", "70%"], top: 24,
      data: l.labels.map(function (label, i) {
        return { name: label, value: l.counts[i], itemStyle: { color: colours[l.keys[i]] } };
      })
    }]
  }, function (params) { open(l.urls[params.dataIndex]); });

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
  document.documentElement.setAttribute("data-charts", String(charts.length));
})();
