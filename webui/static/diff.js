// The version diff page: draw both versions with the vendored bpmn-js viewer and colour what changed —
// added elements green on the new one, removed red on the old one, changed orange on both.
(function () {
  "use strict";
  if (!window.BpmnJS || !window.fetch) {
    return;
  }
  var kinds = [["data-added", "elevflow-added"], ["data-removed", "elevflow-removed"],
               ["data-changed", "elevflow-changed"]];
  Array.prototype.forEach.call(document.querySelectorAll(".diff-diagram"), function (box) {
    var viewer = new window.BpmnJS({ container: box });
    window.fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        kinds.forEach(function (pair) {
          (box.getAttribute(pair[0]) || "").split(" ").forEach(function (id) {
            if (id && registry.get(id)) {
              canvas.addMarker(id, pair[1]);
            }
          });
        });
        box.setAttribute("data-rendered", "true");
      });
  });
})();
