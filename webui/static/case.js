// The case page's diagram (drawn by diagram.js): mark the steps the case has passed and those it waits
// on now. The ids come from the page as data attributes.
(function () {
  "use strict";
  if (!window.elevflowDiagram) {
    return;
  }
  window.elevflowDiagram(function (viewer, box) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    [["data-completed", "elevflow-completed"], ["data-current", "elevflow-current"]].forEach(function (pair) {
      (box.getAttribute(pair[0]) || "").split(" ").forEach(function (id) {
        if (id && registry.get(id)) {
          canvas.addMarker(id, pair[1]);
        }
      });
    });
  });
})();
