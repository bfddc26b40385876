// Gateway report page: the report's rows as a uPlot line chart, one line per gateway (the
// busiest eight), of the metric chosen above it. The data is the page's own JSON block
// (billing/reports.py chart_data), so there is no inline script and no second request.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("report-data").textContent);
  var target = document.getElementById("report-chart");
  var metric = document.getElementById("report-metric");
  var colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  var plot = null;

  function options(name) {
    var series = [{}].concat(data.series.map(function (gateway, index) {
      return { label: gateway.gateway, stroke: colours[index % colours.length], width: 2, spanGaps: false };
    }));
    return {
      width: Math.max(target.clientWidth, 320),
      height: 280,
      series: series,
      axes: [{}, { label: metric.options[metric.selectedIndex].text }],
      scales: { x: { time: true } },
      legend: { live: true },
    };
  }

  function draw() {
    var name = metric.value;
    var values = [data.periods].concat(data.series.map(function (gateway) { return gateway[name]; }));
    if (plot) plot.destroy();
    plot = new uPlot(options(name), values, target);
  }

  if (!data.periods.length) {
    target.textContent = "Nothing to chart.";
    metric.disabled = true;
    return;
  }
  metric.addEventListener("change", draw);
  window.addEventListener("resize", function () {
    if (plot) plot.setSize({ width: Math.max(target.clientWidth, 320), height: 280 });
  });
  draw();
})();
