// Charts of the credit-score and budget screens (ECharts), fed by json_script data (no inline code under the CSP).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  function data(id) { var node = document.getElementById(id); return node ? JSON.parse(node.textContent) : null; }
  var credit = data("credit-data"), box = document.getElementById("chart-credit");
  if (credit && box && window.echarts) {
    echarts.init(box).setOption({
      tooltip: {trigger: "axis"}, grid: {left: 40, right: 20, top: 20, bottom: 30},
      xAxis: {type: "category", data: credit.months}, yAxis: {type: "value", min: 0, max: 100},
      series: [{name: box.dataset.labelScore, type: "line", data: credit.scores, markLine: {silent: true, symbol: "none",
        data: credit.grades.map(function (g) { return {yAxis: g[1], label: {formatter: g[0]}}; })}}]
    });
    box.dataset.chartsReady = "1";
  }
  var budget = data("budget-data"), chartBox = document.getElementById("chart-budget");
  if (budget && chartBox && window.echarts) {
    var b = chartBox.dataset.labelBudget, s = chartBox.dataset.labelSpent;
    echarts.init(chartBox).setOption({
      tooltip: {trigger: "axis"}, legend: {data: [b, s]}, grid: {left: 80, right: 20},
      xAxis: {type: "category", data: budget.regions}, yAxis: {type: "value", name: "元"},
      series: [{name: b, type: "bar", data: budget.budget}, {name: s, type: "bar", data: budget.spent}]
    });
    chartBox.dataset.chartsReady = "1";
  }
});
