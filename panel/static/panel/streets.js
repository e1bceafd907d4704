/* The panel's map background: the street graph's vector tiles, served by this server
   (GET /api/v1/geo/tiles/streets/{z}/{x}/{y}.mvt, layer "streets"), styled by kind: main streets
   wide and sand-coloured with a brown casing, streets narrower, pedestrian streets lilac, footpaths brown
   dashes, cycleways blue dashes, steps red ladders. With a tile server configured (MAP_TILE_URL),
   its images are the background instead. Data © OpenStreetMap contributors (ODbL). */
(function () {
  "use strict";

  var COPYRIGHT = "https://www.openstreetmap.org/copyright";
  var cache = {};

  function zoomOf(resolution) {
    return Math.log2(156543.03392804097 / resolution);
  }

  // Widths grow with the zoom: a main street is 6 px at zoom 16, 3 px at 14, never under 1.5.
  function width(base, zoom) {
    return Math.max(1.5, base * Math.pow(2, (zoom - 16) * 0.5));
  }

  function stroke(color, w, dash) {
    return new ol.style.Stroke({color: color, width: w, lineDash: dash || undefined, lineCap: dash ? "butt" : "round"});
  }

  var KINDS = {
    main: function (z) {
      return [new ol.style.Style({stroke: stroke("#c08a4a", width(8, z) + 1), zIndex: 1}),
              new ol.style.Style({stroke: stroke("#fcd6a4", width(6, z)), zIndex: 6})];
    },
    street: function (z) {
      return [new ol.style.Style({stroke: stroke("#a8a8a8", width(6, z) + 1), zIndex: 1}),
              new ol.style.Style({stroke: stroke("#ffffff", width(4.5, z)), zIndex: 5})];
    },
    pedestrian: function (z) {
      return [new ol.style.Style({stroke: stroke("#c6bfd6", width(5, z)), zIndex: 1}),
              new ol.style.Style({stroke: stroke("#ece8f4", width(3.8, z)), zIndex: 4})];
    },
    path: function (z) {
      return [new ol.style.Style({stroke: stroke("#9b7d62", width(1.6, z) + 0.4, [4, 3]), zIndex: 3})];
    },
    cycleway: function (z) {
      return [new ol.style.Style({stroke: stroke("#3f72c4", width(1.6, z) + 0.4, [5, 3]), zIndex: 3})];
    },
    steps: function (z) {
      return [new ol.style.Style({stroke: stroke("#c0392b", width(4, z) + 1, [1.5, 2]), zIndex: 7})];
    }
  };

  function style(feature, resolution) {
    var kind = feature.get("kind");
    if (!KINDS[kind]) { kind = "path"; }
    var zoom = Math.round(zoomOf(resolution) * 2) / 2;
    var key = kind + "@" + zoom;
    if (!cache[key]) { cache[key] = KINDS[kind](zoom); }
    return cache[key];
  }

  function attribution(text) {
    return '<a href="' + COPYRIGHT + '" target="_blank" rel="noopener noreferrer">' + text + "</a>";
  }

  /* The streets layer. Below its lowest zoom it is not drawn (the server does not serve it); above
     its highest, the highest tiles are stretched (their precision allows it). */
  function layer(config, options) {
    var source = new ol.source.VectorTile({
      format: new ol.format.MVT(),
      url: config.streets_url,
      minZoom: config.streets_min_zoom,
      maxZoom: config.streets_max_zoom,
      attributions: attribution(config.streets_attribution),
      attributionsCollapsible: false
    });
    return new ol.layer.VectorTile({
      source: source,
      style: style,
      minZoom: config.streets_min_zoom - 0.5,
      visible: !(options && options.hidden),
      className: "panel-streets-layer",
      properties: {name: "streets"}
    });
  }

  function raster(config) {
    return new ol.layer.Tile({
      source: new ol.source.XYZ({url: config.tile_url, attributions: config.attribution, crossOrigin: "anonymous"}),
      properties: {name: "raster"}
    });
  }

  /* One layer for a form's map: the tile server's images if there is one, else the streets. */
  function background(config) {
    return config.tile_url ? raster(config) : layer(config);
  }

  window.VoisinageStreets = {layer: layer, raster: raster, background: background, style: style};
})();
