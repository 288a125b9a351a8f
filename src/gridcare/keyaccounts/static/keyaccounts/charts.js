// Charts of the key-account screens (ECharts): the 360 view's consumption/demand trend and the pipeline. Fed by
// the JSON the page embeds with json_script; a static file so that the Content-Security-Policy forbids inline code.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  function data(id) { var node = document.getElementById(id); return node ? JSON.parse(node.textContent) : null; }
  function chart(id) { var node = document.getElementById(id); return node ? echarts.init(node) : null; }
  var trend = data("trend-data"), box = document.getElementById("chart-trend");
  if (trend && box) {
    var kwh = box.dataset.labelKwh, kw = box.dataset.labelDemand;
    chart("chart-trend").setOption({
      tooltip: {trigger: "axis"}, legend: {data: [kwh, kw]}, grid: {left: 60, right: 60},
      xAxis: {type: "category", data: trend.months},
      yAxis: [{type: "value", name: "kWh"}, {type: "value", name: "kW"}],
      series: [{name: kwh, type: "bar", data: trend.kwh}, {name: kw, type: "line", yAxisIndex: 1, data: trend.demand}]
    });
    box.dataset.chartsReady = "1";
  }
  var pipe = data("pipeline-data"), figures = document.getElementById("pipeline-figures");
  if (pipe && figures) {
    var conversion = figures.dataset.labelConversion;
    chart("chart-stages").setOption({tooltip: {}, xAxis: {type: "category", data: pipe.stages},
      yAxis: {type: "value"}, series: [{type: "bar", data: pipe.totals}]});
    [["chart-owners", pipe.by_owner], ["chart-regions", pipe.by_region]].forEach(function (pair) {
      var by = pair[1];
      var series = by.series.map(function (s) { return {name: s.stage, type: "bar", stack: "n", data: s.counts}; });
      series.push({name: conversion, type: "line", yAxisIndex: 1, data: by.conversion});
      chart(pair[0]).setOption({tooltip: {trigger: "axis"}, legend: {type: "scroll"}, grid: {left: 40, right: 50, top: 60},
        xAxis: {type: "category", data: by.names}, yAxis: [{type: "value"}, {type: "value", max: 100, name: "%"}],
        series: series});
    });
    figures.dataset.chartsReady = "1";
  }
});
