// Answer distributions of a satisfaction survey (ECharts), fed by the JSON the page embeds with json_script; a static
// file so that the Content-Security-Policy forbids inline code.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var node = document.getElementById("distribution-data");
  if (!node || typeof echarts === "undefined") { return; }
  JSON.parse(node.textContent).forEach(function (item) {
    var box = document.getElementById("chart-" + item.id);
    if (!box) { return; }
    echarts.init(box).setOption({
      tooltip: {}, grid: {left: 40, right: 10, top: 10, bottom: 30},
      xAxis: {type: "category", data: item.labels}, yAxis: {type: "value", minInterval: 1},
      series: [{type: "bar", data: item.counts}]
    });
    box.dataset.chartsReady = "1";
  });
});
