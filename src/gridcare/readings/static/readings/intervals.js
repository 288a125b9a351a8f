// Charts of the interval data (ECharts): the load manager's collection screen and the 用电曲线 tab of the customer
// 360 page. The data come from json_script elements; a static file so that the Content-Security-Policy can forbid
// inline scripts. The tab arrives through htmx, so this file may run more than once: it draws whatever chart
// containers are new, and loads ECharts itself when the page has not.
(function () {
  "use strict";
  var charts = [];

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function draw(node, option) {
    var chart = echarts.init(node);
    chart.setOption(option);
    node.dataset.drawn = "1";
    charts.push(chart);
  }

  function grid() {
    return {left: 48, right: 16, top: 36, bottom: 32, containLabel: false};
  }

  function drawCollection(node, d) {
    var series = d.series.map(function (s) {
      return {name: s.name, type: "line", data: s.data, connectNulls: false, symbolSize: 6};
    });
    if (series.length) {
      series[0].markLine = {silent: true, symbol: "none", label: {position: "insideEndTop", formatter: d.target_label + " {c}%"},
        lineStyle: {type: "dashed", color: "#dc3545"}, data: [{yAxis: d.target}]};
    }
    draw(node, {
      tooltip: {trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; }},
      legend: {type: "scroll", top: 0}, grid: grid(),
      xAxis: {type: "category", data: d.days},
      yAxis: {type: "value", name: "%", max: 100, min: function (v) { return Math.max(0, Math.floor(v.min - 5)); }},
      series: series
    });
  }

  function drawTab(kind, node, d) {
    var kw = function (v) { return v == null ? "—" : v + " kW"; };
    if (kind === "day") {
      draw(node, {tooltip: {trigger: "axis", valueFormatter: kw}, grid: grid(),
        xAxis: {type: "category", data: d.slots}, yAxis: {type: "value", name: "kW"},
        series: [{name: d.labels.day, type: "line", data: d.day, areaStyle: {opacity: 0.15}, showSymbol: false}]});
    } else if (kind === "typical") {
      draw(node, {tooltip: {trigger: "axis", valueFormatter: kw}, legend: {top: 0}, grid: grid(),
        xAxis: {type: "category", data: d.slots}, yAxis: {type: "value", name: "kW"},
        series: [{name: d.labels.weekday, type: "line", data: d.weekday, showSymbol: false},
                 {name: d.labels.weekend, type: "line", data: d.weekend, showSymbol: false}]});
    } else if (kind === "tou") {
      draw(node, {tooltip: {trigger: "item", valueFormatter: function (v) { return v + " kWh"; }},
        series: [{type: "pie", radius: ["30%", "55%"], data: d.tou, label: {formatter: "{b}\n{d}%"}}]});
    } else if (kind === "demand") {
      draw(node, {tooltip: {trigger: "axis", valueFormatter: kw}, grid: grid(),
        xAxis: {type: "category", data: d.months}, yAxis: {type: "value", name: "kW"},
        series: [{name: d.labels.demand, type: "bar", data: d.demand}]});
    }
  }

  function drawAll() {
    var collection = data("collection-data");
    var tab = data("interval-data");
    document.querySelectorAll("[data-interval-chart]").forEach(function (node) {
      if (node.dataset.drawn) { return; }
      var kind = node.dataset.intervalChart;
      if (kind === "collection" && collection) { drawCollection(node, collection); }
      else if (tab) { drawTab(kind, node, tab); }
    });
    document.body.dataset.intervalCharts = "ready";
  }

  function withEcharts(done) {
    if (window.echarts) { done(); return; }
    var source = document.getElementById("interval-echarts");
    var loader = document.querySelector("script[data-echarts-loader]");
    if (!loader) {
      loader = document.createElement("script");
      loader.src = source.dataset.src;
      loader.dataset.echartsLoader = "1";
      document.head.appendChild(loader);
    }
    loader.addEventListener("load", done);
  }

  function start() {
    if (!document.querySelector("[data-interval-chart]:not([data-drawn])")) { return; }
    withEcharts(drawAll);
  }

  if (window.gridcareIntervals) { window.gridcareIntervals(); return; }
  window.gridcareIntervals = start;
  window.addEventListener("resize", function () {
    charts = charts.filter(function (c) { return !c.isDisposed() && document.body.contains(c.getDom()); });
    charts.forEach(function (c) { c.resize(); });
  });
  document.addEventListener("htmx:afterSettle", start);
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
