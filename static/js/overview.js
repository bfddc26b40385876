// Home page: the live overview's three uPlot charts (calls, rates, security) over the last hour.
//
// They start from the page's JSON block (vosadmin/core/overview.py page_data: the last hour of
// samples) and take each new sample the server pushes over the WebSocket (OverviewConsumer);
// points older than an hour drop off the left. Each chart's figure carries data-points (how
// many points it shows) and data-last (the time of its newest point).
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("overview-data").textContent);
  var socketPath = document.currentScript.getAttribute("data-socket");
  var colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
  var samples = data.samples.slice();
  var charts = [];

  function columns(series) {
    return [samples.map(function (s) { return s.t; })].concat(series.map(function (item) {
      return samples.map(function (s) { return s[item.key]; });
    }));
  }

  function lastHour() {
    var end = samples.length ? samples[samples.length - 1].t : Date.now() / 1000;
    return [end - data.history_seconds, end];
  }

  function build(figure) {
    var name = figure.getAttribute("data-chart");
    var series = data.series.filter(function (item) { return item.chart === name; });
    var options = {
      width: Math.max(figure.clientWidth, 320),
      height: 200,
      scales: {
        x: { time: true, range: lastHour },
        y: { range: function (u, min, max) { return [0, Math.max(max || 0, 1) * 1.1]; } },
      },
      series: [{}].concat(series.map(function (item, index) {
        return { label: item.label, stroke: colours[index % colours.length], width: 2 };
      })),
      legend: { live: true },
    };
    var chart = { figure: figure, series: series, plot: new uPlot(options, columns(series), figure) };
    charts.push(chart);
    mark(chart);
  }

  function mark(chart) {
    chart.figure.setAttribute("data-points", String(samples.length));
    chart.figure.setAttribute("data-last", samples.length ? String(samples[samples.length - 1].t) : "");
  }

  function add(sample) {
    samples.push(sample);
    var oldest = sample.t - data.history_seconds;
    while (samples.length && samples[0].t <= oldest) samples.shift();
    charts.forEach(function (chart) {
      chart.plot.setData(columns(chart.series));
      mark(chart);
    });
  }

  document.querySelectorAll(".overview-chart").forEach(build);
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) {
      chart.plot.setSize({ width: Math.max(chart.figure.clientWidth, 320), height: 200 });
    });
  });
  window.liveSocket(socketPath, function (event) {
    if (event.event === "sample") add(event.sample);
  });
})();
