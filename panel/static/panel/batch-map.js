/* The rounds of a delivery day on a map (OpenLayers served by this project), and the planning's
   progress while the Celery worker computes it. Tiles come from the configured tile server; when
   they cannot load, the rounds are still drawn on a blank background. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("rounds-config").textContent);
  var data = JSON.parse(document.getElementById("rounds-data").textContent);

  function pollProgress() {
    fetch(config.progress_url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        document.getElementById("panel-progress-bar").value = p.percent;
        document.getElementById("panel-progress-percent").textContent = p.percent;
        document.getElementById("panel-progress-stage").textContent = p.stage;
        document.getElementById("panel-batch-status").textContent = p.status_label;
        if (p.status === "pending" || p.status === "planning") {
          window.setTimeout(pollProgress, 800);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(pollProgress, 2000); });
  }
  if (config.planning) { pollProgress(); }

  var layers = [];
  if (config.tile_url) {
    layers.push(new ol.layer.Tile({
      source: new ol.source.XYZ({url: config.tile_url, attributions: config.attribution, crossOrigin: "anonymous"})
    }));
  }
  var features = new ol.format.GeoJSON().readFeatures(data, {
    dataProjection: "EPSG:4326", featureProjection: "EPSG:3857"
  });
  function style(feature) {
    var p = feature.getProperties();
    if (p.kind === "hub") {
      return new ol.style.Style({
        image: new ol.style.RegularShape({
          points: 4, radius: 11, angle: Math.PI / 4,
          fill: new ol.style.Fill({color: "#222"}), stroke: new ol.style.Stroke({color: "#fff", width: 2})
        }),
        text: new ol.style.Text({text: "Hub", offsetY: -18, font: "bold 12px sans-serif",
          fill: new ol.style.Fill({color: "#222"}), stroke: new ol.style.Stroke({color: "#fff", width: 3})}),
        zIndex: 30
      });
    }
    if (p.kind === "round") {
      return new ol.style.Style({
        stroke: new ol.style.Stroke({color: p.colour, width: 3, lineDash: [8, 5]}), zIndex: 10
      });
    }
    return new ol.style.Style({
      image: new ol.style.Circle({radius: 10, fill: new ol.style.Fill({color: p.colour}),
        stroke: new ol.style.Stroke({color: "#fff", width: 2})}),
      text: new ol.style.Text({text: String(p.position), font: "bold 11px sans-serif",
        fill: new ol.style.Fill({color: "#fff"})}),
      zIndex: 20
    });
  }
  var source = new ol.source.Vector({features: features});
  layers.push(new ol.layer.Vector({source: source, style: style}));
  var map = new ol.Map({
    target: "rounds-map",
    layers: layers,
    view: new ol.View({center: ol.proj.fromLonLat([24.94, 60.17]), zoom: 14})
  });
  if (features.length) {
    map.getView().fit(source.getExtent(), {padding: [40, 40, 40, 40], maxZoom: 17});
  }
  var target = document.getElementById("rounds-map");
  target.dataset.features = String(features.length);
  target.dataset.rounds = String(features.filter(function (f) { return f.get("kind") === "round"; }).length);
  target.dataset.ready = "1";
})();
