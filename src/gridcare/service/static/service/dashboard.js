// Charts of the service dashboard (ECharts), fed by the JSON the page embeds with json_script; a static file so
// that the Content-Security-Policy can forbid inline scripts.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var figures = document.getElementById("dashboard-figures");
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var complianceLabel = figures.dataset.labelCompliance;
  var receivedLabel = figures.dataset.labelReceived;
  var compliance = echarts.init(document.getElementById("chart-compliance"));
  compliance.setOption({
    tooltip: {trigger: "axis"}, legend: {data: [complianceLabel, receivedLabel]},
    xAxis: {type: "category", data: data.months},
    yAxis: [{type: "value", max: 100, name: "%"}, {type: "value", name: receivedLabel}],
    series: [
      {name: complianceLabel, type: "line", data: data.compliance, smooth: true},
      {name: receivedLabel, type: "bar", yAxisIndex: 1, data: data.volumes, itemStyle: {opacity: 0.4}}
    ]
  });
  var backlog = echarts.init(document.getElementById("chart-backlog"));
  backlog.setOption({tooltip: {}, xAxis: {type: "category", data: data.backlog.map(function (b) { return b.status; })},
    yAxis: {type: "value"}, series: [{type: "bar", data: data.backlog.map(function (b) { return b.count; })}]});
  var units = echarts.init(document.getElementById("chart-units"));
  units.setOption({tooltip: {}, series: [{type: "pie", radius: "65%",
    data: data.by_unit.map(function (u) { return {name: u.unit, value: u.count}; })}]});
  figures.dataset.chartsReady = "1";
});
