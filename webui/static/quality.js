// The process view's heat map, on the routine's diagram as diagram.js draws it: colour each step by how long it takes (CSS classes elevflow-heat-0 … 4) and put its figures beside it
// as an overlay. The figures come from the page as JSON in data-figures, already aggregated and hidden
// where they must be; the same figures are in the table below, so the page works without script.
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!window.elevflowDiagram || !box) {
    return;
  }
  var figures = {};
  try {
    figures = JSON.parse(box.getAttribute("data-figures") || "{}");
  } catch (e) {
    figures = {};
  }
  window.elevflowDiagram(function (viewer) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    registry.filter(function (element) {
      return element.type === "bpmn:UserTask" || element.type === "bpmn:ManualTask";
    }).forEach(function (element) {
      var figure = figures[element.id];
      canvas.addMarker(element.id, "elevflow-heat-" + (figure ? figure.level : 0));
      if (!figure) {
        return;
      }
      var note = document.createElement("div");
      note.className = "heat-note";
      note.textContent = figure.text;
      overlays.add(element.id, "elevflow-heat", { position: { bottom: -4, left: 0 }, html: note });
    });
  });
})();
