/* The rounds of a delivery day on a map (OpenLayers served by this project), and the planning's
   progress while the Celery worker computes it. Below the rounds, the street graph's vector tiles
   (streets.js), or a tile server's images when one is configured (the streets can then be switched
   on from the legend). Each round is drawn along its real legs in its colour; a dashed line is a
   link drawn straight: to a home's area (never to its door) or a leg without a computed path.

   For tests, the map tells what it drew on #rounds-map: data-ready (the rounds are drawn),
   data-streets-ready (street tiles loaded and rendered), data-street-features (features in the
   street tiles loaded), data-round-vertices and data-round-stops (JSON, per round number). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("rounds-config").textContent);
  var data = JSON.parse(document.getElementById("rounds-data").textContent);
  var target = document.getElementById("rounds-map");

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
  if (config.tile_url) { layers.push(window.VoisinageStreets.raster(config)); }
  var streets = window.VoisinageStreets.layer(config, {hidden: Boolean(config.tile_url)});
  layers.push(streets);

  var features = new ol.format.GeoJSON().readFeatures(data, {
    dataProjection: "EPSG:4326", featureProjection: "EPSG:3857"
  });
  var WHITE = "#ffffff";
  function style(feature) {
    var p = feature.getProperties();
    if (p.kind === "hub") {
      return new ol.style.Style({
        image: new ol.style.RegularShape({
          points: 4, radius: 12, angle: Math.PI / 4,
          fill: new ol.style.Fill({color: "#111"}), stroke: new ol.style.Stroke({color: WHITE, width: 2})
        }),
        text: new ol.style.Text({text: "Hub", offsetY: -20, font: "bold 13px sans-serif",
          fill: new ol.style.Fill({color: "#111"}), stroke: new ol.style.Stroke({color: WHITE, width: 3})}),
        zIndex: 40
      });
    }
    if (p.kind === "round") {
      return [
        new ol.style.Style({stroke: new ol.style.Stroke({color: WHITE, width: 8, lineCap: "round", lineJoin: "round"}), zIndex: 10}),
        new ol.style.Style({stroke: new ol.style.Stroke({color: p.colour, width: 4.5, lineCap: "round", lineJoin: "round"}), zIndex: 11})
      ];
    }
    if (p.kind === "link") {
      return new ol.style.Style({
        stroke: new ol.style.Stroke({color: p.colour, width: 2.5, lineDash: [6, 6]}), zIndex: 9
      });
    }
    return new ol.style.Style({
      image: new ol.style.Circle({radius: 11, fill: new ol.style.Fill({color: p.colour}),
        stroke: new ol.style.Stroke({color: WHITE, width: 2})}),
      text: new ol.style.Text({text: String(p.position), font: "bold 12px sans-serif",
        fill: new ol.style.Fill({color: WHITE})}),
      zIndex: 20 + (p.position || 0) / 1000
    });
  }
  var source = new ol.source.Vector({features: features});
  layers.push(new ol.layer.Vector({source: source, style: style, properties: {name: "rounds"}}));
  var map = new ol.Map({
    target: "rounds-map",
    layers: layers,
    controls: ol.control.defaults.defaults({attributionOptions: {collapsible: false}}).extend([new ol.control.ScaleLine()]),
    view: new ol.View({center: ol.proj.fromLonLat([24.94, 60.17]), zoom: 15})
  });
  if (features.length) {
    map.getView().fit(source.getExtent(), {padding: [40, 40, 40, 40], maxZoom: 17});
  }

  // The streets layer switch of the legend.
  var toggle = document.getElementById("rounds-streets-toggle");
  if (toggle) {
    toggle.checked = streets.getVisible();
    toggle.addEventListener("change", function () { streets.setVisible(toggle.checked); });
  }

  // What was drawn, for tests and for anyone reading the page.
  var vertices = {};
  var stops = {};
  var rounds = {};
  features.forEach(function (f) {
    var round = f.get("round");
    if (round) { rounds[round] = true; }
    if (f.get("kind") === "round") {
      var count = 0;
      f.getGeometry().getLineStrings().forEach(function (line) { count += line.getCoordinates().length; });
      vertices[round] = (vertices[round] || 0) + count;
    } else if (f.get("kind") === "stop") {
      stops[round] = (stops[round] || 0) + 1;
    }
  });
  target.dataset.features = String(features.length);
  target.dataset.rounds = String(Object.keys(rounds).length);
  target.dataset.roundVertices = JSON.stringify(vertices);
  target.dataset.roundStops = JSON.stringify(stops);

  var streetFeatures = 0;
  var tilesLoaded = 0;
  streets.getSource().on("tileloadend", function (event) {
    var loaded = event.tile.getFeatures ? event.tile.getFeatures() : null;
    tilesLoaded += 1;
    streetFeatures += loaded ? loaded.length : 0;
  });
  map.on("rendercomplete", function () {
    target.dataset.streetFeatures = String(streetFeatures);
    target.dataset.streetTiles = String(tilesLoaded);
    if (!streets.getVisible() || tilesLoaded > 0) { target.dataset.streetsReady = "1"; }
  });
  window.voisinageRoundsMap = map;
  target.dataset.ready = "1";
})();
